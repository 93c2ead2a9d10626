//! Scanning a template: text, `{# #}` comments and `{% raw %}` blocks are
//! skipped; in code (`{{ }}` and `{% %}`) string literals are skipped,
//! brackets are tracked, and each helper use (`session().method(`,
//! `errors().method(`, `old(`) is followed to its `)` with its arguments
//! counted, for the emitter to rewrite.

use std::borrow::Cow;

use super::Target;
use super::emit::Emitter;
use super::error::RewriteError;
use super::key::is_word;
use super::method::{Helper, Method};
use super::open_call::OpenCall;

/// Rewrites `src` for `target`; see [`rewrite`](crate::rewrite).
pub(super) fn rewrite(src: &str, target: Target) -> Result<Cow<'_, str>, RewriteError> {
    let mut lexer = Lexer {
        src,
        bytes: src.as_bytes(),
        emit: Emitter::new(src, target),
        escapes: target == Target::Tera2,
        calls: Vec::new(),
        brackets: Vec::new(),
    };
    lexer.template()?;
    Ok(lexer.emit.finish())
}

struct Lexer<'a> {
    src: &'a str,
    bytes: &'a [u8],
    emit: Emitter<'a>,
    /// Whether a backslash in a string literal escapes the next character.
    escapes: bool,
    /// The helper calls open at this point, innermost last.
    calls: Vec<OpenCall>,
    /// The brackets open at this point, innermost last.
    brackets: Vec<u8>,
}

impl Lexer<'_> {
    fn error(&self, at: usize, message: String) -> RewriteError {
        RewriteError::at(self.src, at, message)
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
                b'"' | b'\'' | b'`' => pos = skip_string(bytes, pos, self.escapes),
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
                    pos = match Helper::of_word(&bytes[pos..word_end]) {
                        Some(helper) if !attribute => {
                            self.helper_call(helper, pos, word_end, previous[1])?
                        }
                        _ => word_end,
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
                    "{}( is not closed before the end of the tag",
                    call.method.written()
                ),
            ));
        }
        self.brackets.clear();
        Ok(end)
    }

    /// At a helper's name (`start..word_end`, after the byte `before`):
    /// rewrites the opening of `session().method(`, `errors().method(` or
    /// `old(` and returns where scanning goes on.
    fn helper_call(
        &mut self,
        helper: Helper,
        start: usize,
        word_end: usize,
        before: u8,
    ) -> Result<usize, RewriteError> {
        let bytes = self.bytes;
        let mut newlines = 0;
        let mut skip = |pos: usize| {
            let blank = blanks(bytes, pos);
            newlines += bytes[pos..pos + blank]
                .iter()
                .filter(|b| **b == b'\n')
                .count();
            pos + blank
        };
        let expect = |pos: usize, byte: u8| (bytes.get(pos) == Some(&byte)).then_some(pos + 1);
        // `NAME ( ) . method (` or `old (`, any blanks between; anything else is not ours.
        let Some(pos) = expect(skip(word_end), b'(') else {
            return Ok(word_end);
        };
        let (method, open) = if helper.has_methods() {
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
            let Some(method) = helper.method(name) else {
                return Err(self.error(
                    start,
                    format!(
                        "{}() has no method `{name}`; it has {}",
                        helper.name(),
                        helper.methods()
                    ),
                ));
            };
            (method, open)
        } else {
            // `x | old(…)` is a filter, `{% macro old(…) %}` a definition,
            // `old(field=…)` the keyword form already: the word is not the helper.
            let defines = matches!(word_before(bytes, start), b"macro" | b"component");
            if before == b'|' || defines || starts_with_keyword(bytes, pos) {
                return Ok(word_end);
            }
            (Method::Old, pos)
        };
        // The call's text is built when it closes, from its arguments as
        // rewritten by then; `session().name(` itself is not copied.
        self.emit.copy_and_skip(start, open);
        self.calls.push(OpenCall {
            method,
            start,
            depth: self.brackets.len(),
            commas: 0,
            has_text: false,
            newlines,
            out_start: self.emit.len(),
            cuts: Vec::new(),
            trailing_comma: false,
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
        self.emit.copy_and_skip(pos, pos + 1);
        let cut = self.emit.len();
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
                    format!("{}( is closed by `{}`", call.method.written(), byte as char),
                ));
            }
            let args = call.commas + usize::from(call.has_text);
            let (min, max) = call.method.arity();
            // Every argument but a trailing comma's has text.
            if !(min..=max).contains(&args) || (args > 0 && !call.has_text) {
                return Err(self.error(
                    call.start,
                    format!(
                        "{}() takes {}, got {args}",
                        call.method.written(),
                        call.method.takes()
                    ),
                ));
            }
            self.emit.finish_call(&call, pos);
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

fn find(haystack: &[u8], from: usize, needle: &[u8; 2]) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(2)
        .position(|w| w == needle)
        .map(|i| from + i)
}

/// The end of the string literal opening at `start` (past its closing quote,
/// or the end of the source if it is not closed). The three quotes (`"`,
/// `'`, `` ` ``) read alike and a string may span lines, in both versions.
/// With `escapes` (Tera 2's lexer) a backslash escapes the next character,
/// so `"a\"b"` is one string; without (Tera 1's grammar, which has no
/// escapes) a string ends at the next quote of its kind, so `"\"` is a
/// whole string holding one backslash.
fn skip_string(bytes: &[u8], start: usize, escapes: bool) -> usize {
    let quote = bytes[start];
    let mut pos = start + 1;
    while let Some(&byte) = bytes.get(pos) {
        if byte == quote {
            return pos + 1;
        }
        pos += if escapes && byte == b'\\' { 2 } else { 1 };
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

/// The word that ends before `pos`, blanks between allowed (empty if none).
fn word_before(bytes: &[u8], pos: usize) -> &[u8] {
    let end = bytes[..pos]
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    let len = bytes[..end]
        .iter()
        .rev()
        .take_while(|b| is_word(**b))
        .count();
    &bytes[end - len..end]
}

/// Whether the arguments starting at `pos` open with `name=` (not `name ==`).
fn starts_with_keyword(bytes: &[u8], pos: usize) -> bool {
    let pos = pos + blanks(bytes, pos);
    let len = bytes[pos..].iter().take_while(|b| is_word(**b)).count();
    let pos = pos + len + blanks(bytes, pos + len);
    len > 0 && bytes.get(pos) == Some(&b'=') && bytes.get(pos + 1) != Some(&b'=')
}

fn blanks(bytes: &[u8], from: usize) -> usize {
    bytes[from.min(bytes.len())..]
        .iter()
        .take_while(|b| b.is_ascii_whitespace())
        .count()
}
