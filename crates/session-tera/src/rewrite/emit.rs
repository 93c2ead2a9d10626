//! Writing the rewritten source: text and code copied as they are, each
//! helper call replaced by its keyword or Tera 2 form with its newlines kept.

use std::borrow::Cow;

use super::Target;
use super::key::is_simple;
use super::method::{Method, Tera2Form};
use super::open_call::OpenCall;
use crate::names::HAS_TEST;

/// The output of a rewrite, built as the lexer goes: the source is copied
/// lazily, up to each place that changes, so a source with nothing to
/// rewrite is never copied.
pub(super) struct Emitter<'a> {
    src: &'a str,
    target: Target,
    out: String,
    /// Where a call's rewritten form is built (kept to reuse its allocation).
    scratch: String,
    /// `src[..copied]` is already in `out` (rewritten where needed).
    copied: usize,
    changed: bool,
}

impl<'a> Emitter<'a> {
    pub(super) fn new(src: &'a str, target: Target) -> Self {
        Emitter {
            src,
            target,
            out: String::new(),
            scratch: String::new(),
            copied: 0,
            changed: false,
        }
    }

    /// How much is written so far: where the next copied text goes.
    pub(super) fn len(&self) -> usize {
        self.out.len()
    }

    /// Copies `src[copied..upto]` to the output and skips `src[upto..resume]`.
    pub(super) fn copy_and_skip(&mut self, upto: usize, resume: usize) {
        if !self.changed {
            self.changed = true;
            self.out.reserve(self.src.len() + self.src.len() / 2);
        }
        self.out.push_str(&self.src[self.copied..upto]);
        self.copied = resume;
    }

    /// At the `)` (at `pos`) of a valid call: replaces the call's arguments,
    /// already in the output, with its rewritten form.
    pub(super) fn finish_call(&mut self, call: &OpenCall, pos: usize) {
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
        let done = self.target == Target::Tera2 && tera2(&mut rewritten, call, args, tail);
        if !done {
            keyword(&mut rewritten, call, args, tail);
        }
        self.out.truncate(call.out_start);
        self.out.push_str(&rewritten);
        self.scratch = rewritten;
    }

    /// The rewritten source: borrowed when nothing was rewritten.
    pub(super) fn finish(self) -> Cow<'a, str> {
        if !self.changed {
            return Cow::Borrowed(self.src);
        }
        let Emitter {
            src,
            mut out,
            copied,
            ..
        } = self;
        out.push_str(&src[copied..]);
        Cow::Owned(out)
    }
}

/// The keyword form: `session(has=ARG)`, `session(get=ARG, default=DEFAULT)`,
/// `session(all=true)`, `errors(first=ARG)`, `old(field=ARG, default=DEFAULT)`…
fn keyword(out: &mut String, call: &OpenCall, args: &[&str], tail: &str) {
    out.push_str(call.method.helper().name());
    out.push('(');
    push_newlines(out, call.newlines);
    out.push_str(call.method.keyword());
    out.push_str(args.first().copied().unwrap_or(""));
    if let Some(default) = args.get(1) {
        out.push_str(", default=");
        out.push_str(default);
    }
    out.push_str(tail);
    out.push(')');
}

/// Writes the Tera 2 form of a call (see [`rewrite_tera2`](crate::rewrite_tera2));
/// false, with nothing written, when it goes through the keyword form.
fn tera2(out: &mut String, call: &OpenCall, args: &[&str], tail: &str) -> bool {
    // `all()` and `any()` have no argument to apply a test or filter to.
    let Some(form) = call.method.tera2_form() else {
        return false;
    };
    let arg = args.first().copied().unwrap_or("");
    let trimmed = arg.trim();
    let simple = is_simple(trimmed);
    let write_key = |out: &mut String| {
        if simple {
            out.push_str(trimmed);
        } else {
            out.push('(');
            out.push_str(arg);
            out.push(')');
        }
    };
    out.push('(');
    if simple {
        // No newline inside the key: the blank lines around it and before
        // the call's `(` go before the default, or at the end.
        let moved = call.newlines + newlines_in(arg);
        write_key(out);
        match args.get(1) {
            None => {
                push_form(out, form);
                push_newlines(out, moved);
            }
            // The key is written twice so that the default is evaluated
            // only when the key is missing.
            Some(default) if call.method == Method::Get => {
                push_form(out, form);
                out.push_str(" if ");
                write_key(out);
                push_form(out, Tera2Form::Test(HAS_TEST));
                out.push_str(" else ");
                push_newlines(out, moved);
                out.push_str(default);
            }
            // `old`'s default is evaluated with the call, as in MiniJinja.
            Some(default) => {
                push_form(out, form);
                out.push_str("(default=");
                push_newlines(out, moved);
                out.push_str(default);
                out.push(')');
            }
        }
    } else {
        // The key as written, with its lines, after the blank lines before
        // the call's `(` (as in the keyword form); evaluated once, and the
        // default with it.
        push_newlines(out, call.newlines);
        write_key(out);
        push_form(out, form);
        if let Some(default) = args.get(1) {
            out.push_str("(default=");
            out.push_str(default);
            out.push(')');
        }
    }
    push_newlines(out, newlines_in(tail));
    out.push(')');
    true
}

/// ` is NAME` for a test, ` | NAME` for a filter.
fn push_form(out: &mut String, form: Tera2Form) {
    match form {
        Tera2Form::Test(name) => {
            out.push_str(" is ");
            out.push_str(name);
        }
        Tera2Form::Filter(name) => {
            out.push_str(" | ");
            out.push_str(name);
        }
    }
}

fn newlines_in(text: &str) -> usize {
    text.bytes().filter(|b| *b == b'\n').count()
}

fn push_newlines(out: &mut String, count: usize) {
    out.extend(std::iter::repeat_n('\n', count));
}
