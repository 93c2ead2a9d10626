use std::borrow::Cow;
use std::fmt;

use crate::tera2::SESSION_KEY;

/// Rewrites the method-call form of the session helper into Tera's keyword form.
///
/// | written | becomes |
/// | --- | --- |
/// | `session().has(ARG)` | `session(has=ARG)` |
/// | `session().get(ARG)` | `session(get=ARG)` |
/// | `session().get(ARG, DEFAULT)` | `session(get=ARG, default=DEFAULT)` |
/// | `session().all()` | `session(all=true)` |
///
/// This is the form the [Tera 1 loaders](crate::tera1) use: every helper use
/// becomes a call of the registered `session()` function, which works in
/// both Tera versions. The Tera 2 loaders use [`rewrite_tera2`] instead.
///
/// Only code is rewritten: the inside of `{{ }}` and `{% %}` (with their `-`
/// whitespace-control forms). Text, `{# #}` comments, string literals and
/// `{% raw %}…{% endraw %}` blocks come back as they were. `ARG` may be any
/// expression, `session()` calls included. Newlines are never added or
/// removed, so a line number in a Tera error is a line of the file as written.
/// A source with nothing to rewrite comes back borrowed.
///
/// An unknown method (`session().nope()`), a wrong number of arguments or an
/// unclosed call is an error that names the line and column.
///
/// ```
/// use session_tera::rewrite;
///
/// let source = "{% if session().has('flash') %}{{ session().get('flash') }}{% endif %}";
/// assert_eq!(
///     rewrite(source)?,
///     "{% if session(has='flash') %}{{ session(get='flash') }}{% endif %}"
/// );
/// // Text and strings are not code:
/// assert_eq!(rewrite("session().has('x') {{ 'session().has(1)' }}")?, "session().has('x') {{ 'session().has(1)' }}");
/// # Ok::<(), session_tera::RewriteError>(())
/// ```
///
/// The rewrite assumes Tera's default delimiters.
pub fn rewrite(source: &str) -> Result<Cow<'_, str>, RewriteError> {
    rewrite_to(source, Target::Keyword)
}

/// Rewrites the method-call form of the session helper for Tera 2: into
/// reads of the bound session map, [`SESSION_KEY`] (`__session_views`), so
/// that a helper use costs about what reading a context variable costs.
///
/// With `S` for `__session_views`:
///
/// | written | becomes |
/// | --- | --- |
/// | `session().has('k')` | `(true if S?.k else 'k' in (S or session()))` |
/// | `session().get('k')` | `(S?.k or (S.k if 'k' in (S or session()) else none))` |
/// | `session().get('k', DEFAULT)` | the same, with `DEFAULT` in place of `none` |
/// | `session().all()` | `session(all=true)`, as [`rewrite`] |
///
/// A key that is a string but not a name (`'my-key'`) is read as `S['my-key']`,
/// a key that is a variable or a path (`level`, `cfg.key`, `keys[0]`) as
/// `S[level]`. The common case — the key is there and its value is truthy —
/// is one lookup. A falsy value (`0`, `""`, `false`, `null`) or a missing key
/// takes the second branch, which asks the map whether it holds the key, so
/// `has` stays true for falsy values and `get` of a missing key gives `none`
/// (or the default, evaluated only then).
///
/// A bound session is never falsy ([`bind`](crate::bind) gives an empty
/// session a marker entry), so `(S or session())` calls `session()` only when
/// nothing is bound, and that call fails with the error that says so, at the
/// line of the helper use.
///
/// Any other key expression (a call, a filter, `~`, a number, another
/// `session()` use…) goes through the keyword form of [`rewrite`],
/// `session(get=KEY)`, so a key is never evaluated twice unless it is a
/// literal or a path.
///
/// The rest is as for [`rewrite`]: only code is rewritten, newlines stay
/// where they were (a call spread over lines keeps its line count; its
/// newlines move before the default, or to the end of the expression), the
/// same errors for unknown methods and wrong argument counts.
///
/// ```
/// let out = session_tera::rewrite_tera2("{% if session().has('flash') %}{{ session().get(level) }}{% endif %}")?;
/// assert_eq!(
///     out,
///     "{% if (true if __session_views?.flash else 'flash' in (__session_views or session())) %}\
///      {{ (__session_views?[level] or (__session_views[level] if level in (__session_views or session()) else none)) }}{% endif %}"
/// );
/// # Ok::<(), session_tera::RewriteError>(())
/// ```
pub fn rewrite_tera2(source: &str) -> Result<Cow<'_, str>, RewriteError> {
    rewrite_to(source, Target::Lookup)
}

/// What a helper use is rewritten into.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    /// `session(has=…)`: the registered function (Tera 1 and 2).
    Keyword,
    /// Reads of the bound map, falling back to `Keyword` for complex keys (Tera 2).
    Lookup,
}

fn rewrite_to(source: &str, target: Target) -> Result<Cow<'_, str>, RewriteError> {
    // Nearly every template has no helper call at all: skip the scan.
    if !source.contains("session") {
        return Ok(Cow::Borrowed(source));
    }
    let mut rewriter = Rewriter {
        src: source,
        bytes: source.as_bytes(),
        target,
        out: String::new(),
        scratch: String::new(),
        copied: 0,
        calls: Vec::new(),
        brackets: Vec::new(),
        changed: false,
    };
    rewriter.template()?;
    if !rewriter.changed {
        return Ok(Cow::Borrowed(source));
    }
    let Rewriter {
        mut out, copied, ..
    } = rewriter;
    out.push_str(&source[copied..]);
    Ok(Cow::Owned(out))
}

/// A `session()` call the rewrite cannot translate; see [`rewrite`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RewriteError {
    line: usize,
    column: usize,
    message: String,
}

impl RewriteError {
    /// The 1-based line of the offending `session()` call.
    pub fn line(&self) -> usize {
        self.line
    }

    /// The 1-based column (in characters) of the offending `session()` call.
    pub fn column(&self) -> usize {
        self.column
    }

    /// What is wrong, without the position.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for RewriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

impl std::error::Error for RewriteError {}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Method {
    Has,
    Get,
    All,
}

impl Method {
    fn name(self) -> &'static str {
        match self {
            Method::Has => "has",
            Method::Get => "get",
            Method::All => "all",
        }
    }
}

/// A `session().method(` whose `)` has not been seen yet.
struct OpenCall {
    method: Method,
    /// Where `session` starts, for error positions.
    start: usize,
    /// How many brackets were open outside the call.
    depth: usize,
    /// Arguments separated so far (commas at the call's own depth).
    commas: usize,
    /// Whether the current argument has any non-blank text.
    has_text: bool,
    /// Blank lines between `session` and the call's `(`, moved inside.
    newlines: usize,
    /// Where the call's arguments start in `out`.
    out_start: usize,
    /// Where each argument after the first starts in `out` (the separating
    /// commas are not copied).
    cuts: Vec<usize>,
    /// Whether the last comma was a trailing one (`get(k, )`).
    trailing_comma: bool,
    /// How many `[` are open around the call (Tera 2 allows 4 nested subscripts).
    squares: usize,
}

struct Rewriter<'a> {
    src: &'a str,
    bytes: &'a [u8],
    target: Target,
    out: String,
    /// Where a call's rewritten form is built (kept to reuse its allocation).
    scratch: String,
    /// `src[..copied]` is already in `out` (rewritten where needed).
    copied: usize,
    calls: Vec<OpenCall>,
    brackets: Vec<u8>,
    changed: bool,
}

impl Rewriter<'_> {
    /// Copies `src[copied..upto]` to `out` and skips `src[upto..resume]`.
    fn copy_and_skip(&mut self, upto: usize, resume: usize) {
        if !self.changed {
            self.changed = true;
            self.out.reserve(self.src.len() + self.src.len() / 2);
        }
        self.out.push_str(&self.src[self.copied..upto]);
        self.copied = resume;
    }

    fn error(&self, at: usize, message: String) -> RewriteError {
        let before = &self.src[..at];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        RewriteError {
            line,
            column: before[line_start..].chars().count() + 1,
            message,
        }
    }

    /// Text mode: finds the code and skips comments and raw blocks.
    fn template(&mut self) -> Result<(), RewriteError> {
        let mut pos = 0;
        while let Some(offset) = self.src[pos..].find('{') {
            let open = pos + offset;
            match self.bytes.get(open + 1) {
                Some(b'{') => pos = self.code(open + 2, b"}}")?,
                Some(b'%') => {
                    pos = match self.raw_block(open) {
                        Some(end) => end,
                        None => self.code(open + 2, b"%}")?,
                    }
                }
                Some(b'#') => match find(self.bytes, open + 2, b"#}") {
                    Some(end) => pos = end + 2,
                    // An unclosed comment: Tera reports it; nothing here is code.
                    None => return Ok(()),
                },
                _ => pos = open + 1,
            }
        }
        Ok(())
    }

    /// If a `{% raw %}` tag starts at `open`, the end of its `{% endraw %}`.
    /// An unclosed raw block runs to the end of the source.
    fn raw_block(&self, open: usize) -> Option<usize> {
        let mut pos = tag_named(self.bytes, open, b"raw")?;
        while let Some(tag) = find(self.bytes, pos, b"{%") {
            if let Some(end) = tag_named(self.bytes, tag, b"endraw") {
                return Some(end);
            }
            pos = tag + 2;
        }
        Some(self.bytes.len())
    }

    /// Code mode, from `start` to the closing delimiter `close`; returns the
    /// position after it.
    fn code(&mut self, start: usize, close: &[u8; 2]) -> Result<usize, RewriteError> {
        let bytes = self.bytes;
        let mut pos = start;
        // The last significant byte before `pos`, to tell `x.session` from `session`.
        let mut previous = [b' ', b' '];
        let end = loop {
            let Some(&byte) = bytes.get(pos) else {
                break bytes.len();
            };
            if bytes[pos..].starts_with(close) {
                break pos + 2;
            }
            if byte.is_ascii_whitespace() {
                pos += 1;
                continue;
            }
            let token_start = pos;
            self.mark_argument_text(byte);
            match byte {
                b'"' | b'\'' | b'`' => pos = skip_string(bytes, pos),
                b'(' | b'[' | b'{' => {
                    self.brackets.push(byte);
                    pos += 1;
                }
                b')' | b']' | b'}' => {
                    self.close_bracket(byte, pos)?;
                    pos += 1;
                }
                b',' => {
                    self.comma(pos);
                    pos += 1;
                }
                _ if is_word(byte) => {
                    let word_end = pos + bytes[pos..].iter().take_while(|b| is_word(**b)).count();
                    let attribute = previous[1] == b'.' || previous == [b':', b':'];
                    pos = if &bytes[pos..word_end] == b"session" && !attribute {
                        self.session_call(pos, word_end)?
                    } else {
                        word_end
                    };
                }
                _ => pos += 1,
            }
            previous = [previous[1], bytes[pos - 1]];
            if pos - token_start > 1 {
                previous[0] = bytes[pos - 2];
            }
        };
        if let Some(call) = self.calls.first() {
            return Err(self.error(
                call.start,
                format!(
                    "session().{}( is not closed before the end of the tag",
                    call.method.name()
                ),
            ));
        }
        self.brackets.clear();
        Ok(end)
    }

    /// At `session` (`start..word_end`): rewrites the opening of
    /// `session().method(` and returns where scanning goes on.
    fn session_call(&mut self, start: usize, word_end: usize) -> Result<usize, RewriteError> {
        let bytes = self.bytes;
        let mut newlines = 0;
        let mut skip = |pos: usize| {
            let blank = bytes[pos..]
                .iter()
                .take_while(|b| b.is_ascii_whitespace())
                .count();
            newlines += bytes[pos..pos + blank]
                .iter()
                .filter(|b| **b == b'\n')
                .count();
            pos + blank
        };
        let expect = |pos: usize, byte: u8| (bytes.get(pos) == Some(&byte)).then_some(pos + 1);
        // `session ( ) . name (`, any blanks between; anything else is not ours.
        let Some(pos) = expect(skip(word_end), b'(') else {
            return Ok(word_end);
        };
        let Some(pos) = expect(skip(pos), b')') else {
            return Ok(word_end);
        };
        let Some(pos) = expect(skip(pos), b'.') else {
            return Ok(word_end);
        };
        let name_start = skip(pos);
        let name_len = bytes[name_start..]
            .iter()
            .take_while(|b| is_word(**b))
            .count();
        let name = &self.src[name_start..name_start + name_len];
        let Some(open) = expect(skip(name_start + name_len), b'(') else {
            return Ok(word_end);
        };
        let method = match name {
            "has" => Method::Has,
            "get" => Method::Get,
            "all" => Method::All,
            _ => {
                return Err(self.error(
                    start,
                    format!(
                        "session() has no method `{name}`; it has has(key), get(key) or get(key, default), and all()"
                    ),
                ));
            }
        };
        // The call's text is built when it closes, from its arguments as
        // rewritten by then; `session().name(` itself is not copied.
        self.copy_and_skip(start, open);
        self.calls.push(OpenCall {
            method,
            start,
            depth: self.brackets.len(),
            commas: 0,
            has_text: false,
            newlines,
            out_start: self.out.len(),
            cuts: Vec::new(),
            trailing_comma: false,
            squares: self.brackets.iter().filter(|b| **b == b'[').count(),
        });
        self.brackets.push(b'(');
        Ok(open)
    }

    /// Notes that the innermost open call's current argument is not blank.
    fn mark_argument_text(&mut self, byte: u8) {
        let depth = self.brackets.len();
        if let Some(call) = self.calls.last_mut() {
            let own_level = depth == call.depth + 1;
            let separates = own_level && matches!(byte, b',' | b')' | b']' | b'}');
            if !separates {
                call.has_text = true;
            }
        }
    }

    fn comma(&mut self, pos: usize) {
        let depth = self.brackets.len();
        let Some(call) = self.calls.last_mut() else {
            return;
        };
        if depth != call.depth + 1 {
            return;
        }
        call.commas += 1;
        // A trailing comma (`get(k, )`) separates nothing: it is not counted.
        let next = self.bytes[pos + 1..]
            .iter()
            .find(|b| !b.is_ascii_whitespace());
        if next == Some(&b')') && call.has_text {
            call.commas -= 1;
            call.trailing_comma = true;
        } else {
            call.has_text = false;
        }
        // Cut the arguments here; the comma is not copied.
        self.copy_and_skip(pos, pos + 1);
        let cut = self.out.len();
        if let Some(call) = self.calls.last_mut() {
            call.cuts.push(cut);
        }
    }

    fn close_bracket(&mut self, byte: u8, pos: usize) -> Result<(), RewriteError> {
        let closes_call = self
            .calls
            .last()
            .is_some_and(|call| self.brackets.len() == call.depth + 1);
        if closes_call {
            let call = self.calls.pop().expect("checked above");
            self.brackets.pop();
            if byte != b')' {
                return Err(self.error(
                    call.start,
                    format!(
                        "session().{}( is closed by `{}`",
                        call.method.name(),
                        byte as char
                    ),
                ));
            }
            let args = call.commas + usize::from(call.has_text);
            let ok = match call.method {
                Method::Has => args == 1 && call.has_text,
                Method::Get => (1..=2).contains(&args) && call.has_text,
                Method::All => args == 0,
            };
            if !ok {
                let takes = match call.method {
                    Method::Has => "1 argument (the key)",
                    Method::Get => "1 or 2 arguments (the key, then a default)",
                    Method::All => "no arguments",
                };
                return Err(self.error(
                    call.start,
                    format!(
                        "session().{}() takes {takes}, got {args}",
                        call.method.name()
                    ),
                ));
            }
            self.finish_call(&call, pos);
            return Ok(());
        }
        // Unbalanced brackets outside a helper call are Tera's to report.
        if self.brackets.last() == Some(&opening(byte)) {
            self.brackets.pop();
        }
        Ok(())
    }
}

impl Rewriter<'_> {
    /// At the `)` (at `pos`) of a valid call: replaces the call's arguments,
    /// already in `out`, with its rewritten form.
    fn finish_call(&mut self, call: &OpenCall, pos: usize) {
        self.copy_and_skip(pos, pos + 1);
        let mut rewritten = std::mem::take(&mut self.scratch);
        rewritten.clear();
        let text = &self.out[call.out_start..];
        // A valid call has at most two arguments, and a trailing comma.
        let mut args = [""; 3];
        let mut count = 0;
        let mut from = 0;
        for cut in call.cuts.iter().take(2) {
            args[count] = &text[from..cut - call.out_start];
            count += 1;
            from = cut - call.out_start;
        }
        args[count] = &text[from..];
        count += 1;
        let tail = if call.trailing_comma {
            count -= 1;
            args[count]
        } else {
            ""
        };
        let args = &args[..count];
        let done = self.target == Target::Lookup && lookup(&mut rewritten, call, args, tail);
        if !done {
            keyword(&mut rewritten, call, args, tail);
        }
        self.out.truncate(call.out_start);
        self.out.push_str(&rewritten);
        self.scratch = rewritten;
    }
}

/// `session(has=ARG)`, `session(get=ARG, default=DEFAULT)` or `session(all=true)`.
fn keyword(out: &mut String, call: &OpenCall, args: &[&str], tail: &str) {
    out.push_str("session(");
    push_newlines(out, call.newlines);
    out.push_str(match call.method {
        Method::Has => "has=",
        Method::Get => "get=",
        Method::All => "all=true",
    });
    out.push_str(args.first().copied().unwrap_or(""));
    if let Some(default) = args.get(1) {
        out.push_str(", default=");
        out.push_str(default);
    }
    out.push_str(tail);
    out.push(')');
}

/// Writes the Tera 2 form of a call (see [`rewrite_tera2`]); false, with
/// nothing written, when it goes through the keyword form.
fn lookup(out: &mut String, call: &OpenCall, args: &[&str], tail: &str) -> bool {
    const S: &str = SESSION_KEY;
    // `all()` needs the function (it leaves out the empty-session marker).
    if call.method == Method::All {
        return false;
    }
    let arg = args.first().copied().unwrap_or("");
    let Some(key) = Key::classify(arg.trim(), call.squares) else {
        return false;
    };
    // Blank lines around the key (which has none inside) and before the
    // call's `(` go before the default, or at the end.
    let moved = call.newlines + newlines_in(arg);
    out.push('(');
    if call.method == Method::Has {
        out.push_str("true if ");
        key.read(out, true);
        out.push_str(" else ");
        out.push_str(key.expression());
        out.push_str(" in (");
        out.push_str(S);
        out.push_str(" or session())");
        push_newlines(out, moved);
    } else {
        key.read(out, true);
        out.push_str(" or (");
        key.read(out, false);
        out.push_str(" if ");
        out.push_str(key.expression());
        out.push_str(" in (");
        out.push_str(S);
        out.push_str(" or session()) else ");
        push_newlines(out, moved);
        out.push_str(args.get(1).copied().unwrap_or("none"));
        out.push(')');
    }
    push_newlines(out, newlines_in(tail));
    out.push(')');
    true
}

/// A session key simple enough to be evaluated more than once: a string
/// literal, or a variable with `.name` and `[literal]` steps.
enum Key<'a> {
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
    fn classify(key: &'a str, squares: usize) -> Option<Self> {
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
    fn expression(&self) -> &'a str {
        match self {
            Key::Name { literal, .. } => literal,
            Key::Index(key) => key,
        }
    }

    /// Writes the read of the key in the bound map: `S.name` or `S[key]`,
    /// or with `optional`, `S?.name` or `S?[key]` (undefined, not an error,
    /// when nothing is bound).
    fn read(&self, out: &mut String, optional: bool) {
        out.push_str(SESSION_KEY);
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

fn newlines_in(text: &str) -> usize {
    text.bytes().filter(|b| *b == b'\n').count()
}

fn push_newlines(out: &mut String, count: usize) {
    out.extend(std::iter::repeat_n('\n', count));
}

fn opening(close: u8) -> u8 {
    match close {
        b')' => b'(',
        b']' => b'[',
        _ => b'{',
    }
}

fn is_word(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

fn find(haystack: &[u8], from: usize, needle: &[u8; 2]) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(2)
        .position(|w| w == needle)
        .map(|i| from + i)
}

/// The end of the string literal opening at `start` (past its closing quote,
/// or the end of the source if it is not closed). A backslash escapes the
/// next character, as in Tera 2 and MiniJinja.
fn skip_string(bytes: &[u8], start: usize) -> usize {
    let quote = bytes[start];
    let mut pos = start + 1;
    while let Some(&byte) = bytes.get(pos) {
        if byte == b'\\' {
            pos += 2;
        } else if byte == quote {
            return pos + 1;
        } else {
            pos += 1;
        }
    }
    bytes.len()
}

/// If `{% name %}` (with optional `-` and blanks) starts at `open`, its end.
fn tag_named(bytes: &[u8], open: usize, name: &[u8]) -> Option<usize> {
    let mut pos = open + 2;
    if bytes.get(pos) == Some(&b'-') {
        pos += 1;
    }
    pos += blanks(bytes, pos);
    if !bytes.get(pos..)?.starts_with(name) {
        return None;
    }
    pos += name.len();
    pos += blanks(bytes, pos);
    if bytes.get(pos) == Some(&b'-') {
        pos += 1;
    }
    bytes.get(pos..)?.starts_with(b"%}").then_some(pos + 2)
}

fn blanks(bytes: &[u8], from: usize) -> usize {
    bytes[from.min(bytes.len())..]
        .iter()
        .take_while(|b| b.is_ascii_whitespace())
        .count()
}

#[cfg(test)]
mod tests {
    use super::{rewrite, rewrite_tera2};

    fn ok(source: &str) -> String {
        rewrite(source).expect("rewrites").into_owned()
    }

    fn tera2(source: &str) -> String {
        let out = rewrite_tera2(source).expect("rewrites").into_owned();
        assert_eq!(
            out.matches('\n').count(),
            source.matches('\n').count(),
            "{out}"
        );
        out
    }

    /// The Tera 2 forms, with `S` for the bound map.
    fn s(form: &str) -> String {
        form.replace('S', "__session_views")
    }

    fn err(source: &str) -> String {
        rewrite(source).expect_err("is an error").to_string()
    }

    #[test]
    fn rewrites_the_three_methods() {
        assert_eq!(ok("{{ session().has('a') }}"), "{{ session(has='a') }}");
        assert_eq!(ok("{{ session().get(\"a\") }}"), "{{ session(get=\"a\") }}");
        assert_eq!(
            ok("{{ session().get('a', 'b') }}"),
            "{{ session(get='a', default= 'b') }}"
        );
        assert_eq!(ok("{{ session().all() }}"), "{{ session(all=true) }}");
        assert_eq!(
            ok("{{session().all()|length}}"),
            "{{session(all=true)|length}}"
        );
    }

    #[test]
    fn only_in_code() {
        for source in [
            "session().has('a')",
            "{# {{ session().has('a') }} #}",
            "{{ 'session().has(\"a\")' }}",
            "{{ \"it's session().has('a')\" }}",
            "{{ `session().get('a')` }}",
            "{% raw %}{{ session().has('a') }}{% endraw %}",
            "{%- raw -%} {% if session().has('a') %} {%- endraw -%}",
            "{{ user.session().has('a') }}",
            "{{ m::session().has('a') }}",
            "{{ my_session().has('a') }}",
            "{{ session(has='a') }}",
            "{{ session }}",
            "{% raw %}{{ session().has('a') }}",
        ] {
            assert_eq!(ok(source), source, "{source}");
        }
    }

    #[test]
    fn whitespace_control_forms() {
        assert_eq!(
            ok("{%- if session().has('a') -%}{{- session().get('a') -}}{%- endif %}"),
            "{%- if session(has='a') -%}{{- session(get='a') -}}{%- endif %}"
        );
    }

    #[test]
    fn code_after_raw_and_comments_is_rewritten() {
        assert_eq!(
            ok("{% raw %}session().has(1){% endraw %}{# session().has(2) #}{{ session().has(3) }}"),
            "{% raw %}session().has(1){% endraw %}{# session().has(2) #}{{ session(has=3) }}"
        );
    }

    #[test]
    fn any_expression_as_argument() {
        assert_eq!(
            ok("{{ session().get(keys[0] ~ (\"x)\" | lower), {'a': [1, (2)]}) }}"),
            "{{ session(get=keys[0] ~ (\"x)\" | lower), default= {'a': [1, (2)]}) }}"
        );
        assert_eq!(
            ok("{{ session().get(session().get('k'), session().all()) }}"),
            "{{ session(get=session(get='k'), default= session(all=true)) }}"
        );
        assert_eq!(ok("{{ session().has('a',) }}"), "{{ session(has='a') }}");
        assert_eq!(
            ok("{{ f(session().has('a'), 2) }}"),
            "{{ f(session(has='a'), 2) }}"
        );
    }

    #[test]
    fn keeps_newlines() {
        let source = "{{ session ( )\n  . get (\n 'a'\n ) }}\n{{ session().has(x) }}";
        let rewritten = ok(source);
        assert_eq!(
            rewritten,
            "{{ session(\nget=\n 'a'\n ) }}\n{{ session(has=x) }}"
        );
        assert_eq!(rewritten.lines().count(), source.lines().count());
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(
            err("a\n{{ x }}{{ session().nope('a') }}"),
            "line 2, column 11: session() has no method `nope`; it has has(key), get(key) or get(key, default), and all()"
        );
        assert_eq!(
            err("{{ session().has() }}"),
            "line 1, column 4: session().has() takes 1 argument (the key), got 0"
        );
        assert_eq!(
            err("{{ session().has('a', 'b') }}"),
            "line 1, column 4: session().has() takes 1 argument (the key), got 2"
        );
        assert_eq!(
            err("{{ session().get(1, 2, 3) }}"),
            "line 1, column 4: session().get() takes 1 or 2 arguments (the key, then a default), got 3"
        );
        assert_eq!(
            err("{{ session().all(1) }}"),
            "line 1, column 4: session().all() takes no arguments, got 1"
        );
        assert_eq!(
            err("\n\n{% if session().has('a' %}"),
            "line 3, column 7: session().has( is not closed before the end of the tag"
        );
        assert_eq!(
            err("{{ session().has('a'] }}"),
            "line 1, column 4: session().has( is closed by `]`"
        );
    }

    #[test]
    fn tera2_reads_the_bound_map() {
        assert_eq!(
            tera2("{{ session().has('a') }}"),
            s("{{ (true if S?.a else 'a' in (S or session())) }}")
        );
        assert_eq!(
            tera2("{{ session().get(\"a\") }}"),
            s("{{ (S?.a or (S.a if \"a\" in (S or session()) else none)) }}")
        );
        assert_eq!(
            tera2("{{ session().get('a', 'b') }}"),
            s("{{ (S?.a or (S.a if 'a' in (S or session()) else  'b')) }}")
        );
        assert_eq!(
            tera2("{{session().all()|length}}"),
            "{{session(all=true)|length}}"
        );
    }

    #[test]
    fn tera2_keys_that_are_not_names_are_subscripts() {
        for key in ["'my-key'", "'true'", "'loop'", "'1a'", "''", "'é'", "`a b`"] {
            assert_eq!(
                tera2(&format!("{{{{ session().has({key}) }}}}")),
                s(&format!(
                    "{{{{ (true if S?[{key}] else {key} in (S or session())) }}}}"
                )),
            );
        }
        for key in ["level", "cfg.key", "keys[0]", "a.b[-1]['c'].d", "x[\"y\"]"] {
            assert_eq!(
                tera2(&format!("{{{{ session().get({key}) }}}}")),
                s(&format!(
                    "{{{{ (S?[{key}] or (S[{key}] if {key} in (S or session()) else none)) }}}}"
                )),
            );
        }
    }

    /// Keys that are not simple go through the keyword form: evaluated once,
    /// with the function's own errors for non-string literals.
    #[test]
    fn tera2_complex_keys_use_the_keyword_form() {
        for key in [
            "1",
            "none",
            "true",
            "'a' ~ 'b'",
            "level | lower",
            "(\"a\")",
            "f(x=1)",
            "keys[i]",
            "keys[0][1]x",
            "'it\\'s'",
            "a . b",
            "a.",
            "loop.index",
        ] {
            assert_eq!(
                tera2(&format!("{{{{ session().has({key}) }}}}")),
                format!("{{{{ session(has={key}) }}}}"),
            );
            assert_eq!(
                tera2(&format!("{{{{ session().get({key}, 2) }}}}")),
                format!("{{{{ session(get={key}, default= 2) }}}}"),
            );
        }
        // A call in the key is rewritten; the outer call keeps it evaluated once.
        assert_eq!(
            tera2("{{ session().get(session().get('k')) }}"),
            s("{{ session(get=(S?.k or (S.k if 'k' in (S or session()) else none))) }}")
        );
        // A call in the default is rewritten in place.
        assert_eq!(
            tera2("{{ session().get('a', session().get('b', 1)) }}"),
            s(
                "{{ (S?.a or (S.a if 'a' in (S or session()) else  (S?.b or (S.b if 'b' in (S or session()) else  1)))) }}"
            )
        );
    }

    /// Tera 2 allows four nested subscripts: a path key inside enough `[`
    /// goes through the keyword form instead of adding one.
    #[test]
    fn tera2_respects_the_subscript_nesting_limit() {
        assert!(tera2("{{ a[b[c[session().has(k)]]] }}").contains("__session_views?[k]"));
        assert!(tera2("{{ a[b[session().has(k[0])]] }}").contains("__session_views?[k[0]]"));
        assert_eq!(
            tera2("{{ a[b[c[session().has(k[0])]]] }}"),
            "{{ a[b[c[session(has=k[0])]]] }}"
        );
        assert_eq!(
            tera2("{{ a[b[c[d[session().has(k)]]]] }}"),
            "{{ a[b[c[d[session(has=k)]]]] }}"
        );
        // Names need no subscript.
        assert!(tera2("{{ a[b[c[d[session().has('k')]]]] }}").contains("__session_views?.k"));
    }

    #[test]
    fn tera2_keeps_newlines() {
        assert_eq!(
            tera2("{{ session ( )\n  . get (\n 'a'\n ) }}\n{{ session().has(x) }}"),
            s(
                "{{ (S?.a or (S.a if 'a' in (S or session()) else \n\n\nnone)) }}\n{{ (true if S?[x] else x in (S or session())) }}"
            )
        );
        // The default stays on its line.
        assert_eq!(
            tera2("{{ session().get(\n  'a',\n  nope.x\n) }}"),
            s("{{ (S?.a or (S.a if 'a' in (S or session()) else \n\n  nope.x\n)) }}")
        );
        assert_eq!(
            tera2("{{ session().has('a',\n) }}{{ session().all(\n) }}"),
            s("{{ (true if S?.a else 'a' in (S or session())\n) }}{{ session(all=true\n) }}")
        );
        // A multi-line key is not simple: kept as written in the keyword form.
        assert_eq!(
            tera2("{{ session().has('a'\n ~ 'b') }}"),
            "{{ session(has='a'\n ~ 'b') }}"
        );
    }

    #[test]
    fn tera2_only_in_code_and_idempotent() {
        for source in [
            "session().has('a')",
            "{# {{ session().has('a') }} #}",
            "{{ 'session().has(\"a\")' }}",
            "{% raw %}{{ session().has('a') }}{% endraw %}",
            "{{ user.session().has('a') }}",
            "{{ session(has='a') }}",
        ] {
            assert_eq!(tera2(source), source, "{source}");
        }
        let once = tera2(
            "{{ session().get(session().get(k), session().all()) }}{% if session().has('x') %}{% endif %}",
        );
        assert_eq!(tera2(&once), once);
    }

    #[test]
    fn tera2_errors_are_the_same() {
        for source in [
            "a\n{{ x }}{{ session().nope('a') }}",
            "{{ session().has() }}",
            "{{ session().get(1, 2, 3) }}",
            "\n\n{% if session().has('a' %}",
            "{{ session().has('a'] }}",
        ] {
            assert_eq!(
                rewrite_tera2(source).expect_err(source),
                rewrite(source).expect_err(source)
            );
        }
    }

    #[test]
    fn unchanged_sources_are_borrowed() {
        assert!(matches!(
            rewrite("{{ session_id }} session().has(1)"),
            Ok(std::borrow::Cow::Borrowed(_))
        ));
    }
}
