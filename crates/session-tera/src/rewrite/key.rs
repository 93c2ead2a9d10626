//! Session keys simple enough to be written twice in the Tera 2 form.

/// Words Tera reads as something other than a variable or an attribute.
const KEYWORDS: &[&str] = &[
    "true", "True", "false", "False", "none", "None", "null", "and", "or", "not", "in", "is", "if",
    "else", "loop", "self", "continue", "break",
];

/// Whether `key` (the argument without its surrounding blanks) is a string
/// literal, or a variable with `.name` and `[literal]` steps: an expression
/// that evaluates to the same value every time at the cost of a lookup, and
/// that needs no parentheses before `is` or `|`.
pub(super) fn is_simple(key: &str) -> bool {
    let bytes = key.as_bytes();
    let Some(&first) = bytes.first() else {
        return false;
    };
    if matches!(first, b'"' | b'\'' | b'`') {
        // One literal and nothing else.
        return plain_string_end(bytes, 0) == Some(bytes.len());
    }
    // A path: `name`, then `.name` or `[literal]` steps.
    let root = bytes.iter().take_while(|b| is_word(**b)).count();
    if !is_name(&key[..root]) {
        return false;
    }
    let mut pos = root;
    while pos < bytes.len() {
        match bytes[pos] {
            b'.' => {
                let len = bytes[pos + 1..].iter().take_while(|b| is_word(**b)).count();
                if len == 0 {
                    return false;
                }
                pos += 1 + len;
            }
            b'[' => {
                let Some(end) = literal_end(bytes, pos + 1) else {
                    return false;
                };
                if bytes.get(end) != Some(&b']') {
                    return false;
                }
                pos = end + 1;
            }
            _ => return false,
        }
    }
    true
}

/// The end of the string or integer literal at `start`.
fn literal_end(bytes: &[u8], start: usize) -> Option<usize> {
    match bytes.get(start)? {
        b'"' | b'\'' | b'`' => plain_string_end(bytes, start),
        &first => {
            let sign = usize::from(first == b'-');
            let digits = bytes[start + sign..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            (digits > 0).then_some(start + sign + digits)
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
