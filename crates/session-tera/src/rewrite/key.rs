//! Session keys simple enough to read straight from the bound map in Tera 2.

use crate::binding::SESSION_DATA_KEY;

/// A session key simple enough to be evaluated more than once: a string
/// literal, or a variable with `.name` and `[literal]` steps.
pub(super) enum Key<'a> {
    /// `'name'`: read as `S.name`.
    Name { name: &'a str, literal: &'a str },
    /// Any other string literal, or a path: read as `S[key]`.
    Index(&'a str),
}

/// Words Tera reads as something other than a variable or an attribute.
const KEYWORDS: &[&str] = &[
    "true", "True", "false", "False", "none", "None", "null", "and", "or", "not", "in", "is", "if",
    "else", "loop", "self", "continue", "break",
];

/// Tera 2 allows this many nested `[` subscripts.
const MAX_SUBSCRIPT_NESTING: usize = 4;

impl<'a> Key<'a> {
    /// `key` is the argument without its surrounding blanks; `squares` the
    /// `[` open around the call.
    pub(super) fn classify(key: &'a str, squares: usize) -> Option<Self> {
        let bytes = key.as_bytes();
        let first = *bytes.first()?;
        if matches!(first, b'"' | b'\'' | b'`') {
            // One literal and nothing else, with no escapes to interpret.
            let end = plain_string_end(bytes, 0)?;
            if end != bytes.len() {
                return None;
            }
            let name = &key[1..end - 1];
            if is_name(name) {
                return Some(Key::Name { name, literal: key });
            }
            return (squares < MAX_SUBSCRIPT_NESTING).then_some(Key::Index(key));
        }
        // A path: `name`, then `.name` or `[literal]` steps.
        let root = bytes.iter().take_while(|b| is_word(**b)).count();
        if !is_name(&key[..root]) {
            return None;
        }
        let mut pos = root;
        let mut subscripts = false;
        while pos < bytes.len() {
            match bytes[pos] {
                b'.' => {
                    let len = bytes[pos + 1..].iter().take_while(|b| is_word(**b)).count();
                    if len == 0 {
                        return None;
                    }
                    pos += 1 + len;
                }
                b'[' => {
                    let inner = pos + 1;
                    let end = match bytes.get(inner)? {
                        b'"' | b'\'' | b'`' => plain_string_end(bytes, inner)?,
                        _ => {
                            let sign = usize::from(bytes[inner] == b'-');
                            let digits = bytes[inner + sign..]
                                .iter()
                                .take_while(|b| b.is_ascii_digit())
                                .count();
                            if digits == 0 {
                                return None;
                            }
                            inner + sign + digits
                        }
                    };
                    if bytes.get(end) != Some(&b']') {
                        return None;
                    }
                    subscripts = true;
                    pos = end + 1;
                }
                _ => return None,
            }
        }
        let nesting = squares + 1 + usize::from(subscripts);
        (nesting <= MAX_SUBSCRIPT_NESTING).then_some(Key::Index(key))
    }

    /// The key as an expression: the literal or the path.
    pub(super) fn expression(&self) -> &'a str {
        match self {
            Key::Name { literal, .. } => literal,
            Key::Index(key) => key,
        }
    }

    /// Writes the read of the key in the bound map: `S.name` or `S[key]`,
    /// or with `optional`, `S?.name` or `S?[key]` (undefined, not an error,
    /// when nothing is bound).
    pub(super) fn read(&self, out: &mut String, optional: bool) {
        out.push_str(SESSION_DATA_KEY);
        if optional {
            out.push('?');
        }
        match self {
            Key::Name { name, .. } => {
                out.push('.');
                out.push_str(name);
            }
            Key::Index(key) => {
                out.push('[');
                out.push_str(key);
                out.push(']');
            }
        }
    }
}

/// A name Tera reads as a variable or an attribute: ASCII letters, digits
/// and `_`, not starting with a digit, not a keyword.
fn is_name(word: &str) -> bool {
    let bytes = word.as_bytes();
    bytes.first().is_some_and(|b| !b.is_ascii_digit())
        && bytes.iter().all(|b| is_word(*b))
        && !KEYWORDS.contains(&word)
}

/// The end of the string literal opening at `start` if it is closed on the
/// same line and has no backslash; `None` otherwise.
fn plain_string_end(bytes: &[u8], start: usize) -> Option<usize> {
    let quote = bytes[start];
    let len = bytes[start + 1..].iter().position(|b| *b == quote)?;
    let content = &bytes[start + 1..start + 1 + len];
    if content.iter().any(|b| matches!(b, b'\\' | b'\n' | b'\r')) {
        return None;
    }
    Some(start + len + 2)
}

pub(super) fn is_word(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}
