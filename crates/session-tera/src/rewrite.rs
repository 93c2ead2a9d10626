use std::borrow::Cow;
use std::fmt;

/// Rewrites the method-call form of the session helper into Tera's keyword form.
///
/// | written | becomes |
/// | --- | --- |
/// | `session().has(ARG)` | `session(has=ARG)` |
/// | `session().get(ARG)` | `session(get=ARG)` |
/// | `session().get(ARG, DEFAULT)` | `session(get=ARG, default=DEFAULT)` |
/// | `session().all()` | `session(all=true)` |
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
    // Nearly every template has no helper call at all: skip the scan.
    if !source.contains("session") {
        return Ok(Cow::Borrowed(source));
    }
    let mut rewriter = Rewriter {
        src: source,
        bytes: source.as_bytes(),
        out: String::new(),
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
}

struct Rewriter<'a> {
    src: &'a str,
    bytes: &'a [u8],
    out: String,
    /// `src[..copied]` is already in `out` (rewritten where needed).
    copied: usize,
    calls: Vec<OpenCall>,
    brackets: Vec<u8>,
    changed: bool,
}

impl Rewriter<'_> {
    /// Copies `src[copied..upto]`, then `replacement`, and skips `src[upto..resume]`.
    fn replace(&mut self, upto: usize, resume: usize, replacement: &str) {
        if !self.changed {
            self.changed = true;
            self.out.reserve(self.src.len() + 64);
        }
        self.out.push_str(&self.src[self.copied..upto]);
        self.out.push_str(replacement);
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
                    self.close_bracket(byte)?;
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
        // Blanks that held newlines move inside the call: the line count stays.
        let mut replacement = String::from("session(");
        replacement.extend(std::iter::repeat_n('\n', newlines));
        replacement.push_str(match method {
            Method::Has => "has=",
            Method::Get => "get=",
            Method::All => "all=true",
        });
        self.replace(start, open, &replacement);
        self.calls.push(OpenCall {
            method,
            start,
            depth: self.brackets.len(),
            commas: 0,
            has_text: false,
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
        // A trailing comma (`get(k, )`) separates nothing: drop it.
        let next = self.bytes[pos + 1..]
            .iter()
            .find(|b| !b.is_ascii_whitespace());
        if next == Some(&b')') && call.has_text {
            call.commas -= 1;
            self.replace(pos, pos + 1, "");
            return;
        }
        let was_first = call.commas == 1 && call.method == Method::Get;
        call.has_text = false;
        if was_first {
            self.replace(pos, pos + 1, ", default=");
        }
    }

    fn close_bracket(&mut self, byte: u8) -> Result<(), RewriteError> {
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
            return Ok(());
        }
        // Unbalanced brackets outside a helper call are Tera's to report.
        if self.brackets.last() == Some(&opening(byte)) {
            self.brackets.pop();
        }
        Ok(())
    }
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
    use super::rewrite;

    fn ok(source: &str) -> String {
        rewrite(source).expect("rewrites").into_owned()
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
    fn unchanged_sources_are_borrowed() {
        assert!(matches!(
            rewrite("{{ session_id }} session().has(1)"),
            Ok(std::borrow::Cow::Borrowed(_))
        ));
    }
}
