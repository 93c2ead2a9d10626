//! The load-time rewrite of `session().method(…)`, `errors().method(…)`
//! and `old(…)` into forms Tera parses.
//!
//! `lexer` scans the template and follows each helper call to its end;
//! `emit` writes the rewritten text as it goes, with every newline kept;
//! `key` tells which keys the Tera 2 form may write twice. Neither engine
//! module is needed: the names the rewrite writes are in `crate::names`.

mod emit;
mod error;
mod key;
mod lexer;
mod method;
mod open_call;
#[cfg(test)]
mod tests;

use std::borrow::Cow;

use method::Helper;

pub use error::RewriteError;

/// The Tera version a template is rewritten for. It decides how string
/// literals are read, so that a helper call is found where that version
/// sees code, and what each helper use becomes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    /// Strings run to the next quote of their kind, with no escapes (Tera
    /// 1's grammar); every use becomes the keyword form `session(has=…)`.
    Tera1,
    /// A backslash escapes the next character in a string (Tera 2's lexer);
    /// uses become the test `session_has` and the filter `session_get`.
    Tera2,
}

/// Rewrites the method-call form of the session and form helpers into
/// Tera's keyword form.
///
/// | written | becomes |
/// | --- | --- |
/// | `session().has(ARG)` | `session(has=ARG)` |
/// | `session().get(ARG)` | `session(get=ARG)` |
/// | `session().get(ARG, DEFAULT)` | `session(get=ARG, default=DEFAULT)` |
/// | `session().all()` | `session(all=true)` |
/// | `errors().any()` | `errors(any=true)` |
/// | `errors().has(ARG)` | `errors(has=ARG)` |
/// | `errors().first(ARG)` | `errors(first=ARG)` |
/// | `errors().get(ARG)` | `errors(get=ARG)` |
/// | `errors().all()` | `errors(all=true)` |
/// | `old(ARG)` | `old(field=ARG)` |
/// | `old(ARG, DEFAULT)` | `old(field=ARG, default=DEFAULT)` |
///
/// `csrf_token()` and `csrf_field()` are Tera calls already. `old` is only
/// the helper where it is called as a function: `x.old(…)`, `m::old(…)`,
/// `x | old(…)`, `{% macro old(…) %}`, `{% component old(…) %}` and the
/// keyword form `old(field=…)` are left as they are.
///
/// This is the rewrite of the [Tera 1 loaders](crate::tera1): every helper use
/// becomes a call of the registered `session()` function. The Tera 2 loaders
/// use [`rewrite_tera2`] instead.
///
/// Only code is rewritten: the inside of `{{ }}` and `{% %}` (with their `-`
/// whitespace-control forms). Text, `{# #}` comments, string literals and
/// `{% raw %}…{% endraw %}` blocks come back as they were. String literals
/// are read as Tera 1 reads them: `"…"`, `'…'` or `` `…` ``, running to the
/// next quote of their kind, across lines, with no escapes, so `"\"` is a
/// whole string and the code after it is code. `ARG` may be any
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
/// // A Tera 1 string ends at its next quote, backslash or not:
/// assert_eq!(
///     rewrite(r#"{{ p | replace(from="\", to="/") }}{{ session().get('k') }}"#)?,
///     r#"{{ p | replace(from="\", to="/") }}{{ session(get='k') }}"#
/// );
/// # Ok::<(), session_tera::RewriteError>(())
/// ```
///
/// The rewrite assumes Tera's default delimiters.
pub fn rewrite(source: &str) -> Result<Cow<'_, str>, RewriteError> {
    rewrite_to(source, Target::Tera1)
}

/// Rewrites the method-call form of the session helper for Tera 2: into the
/// test `session_has` and the filter `session_get` that
/// [`add_to_tera`](crate::add_to_tera) registers, which read the session
/// bound to the render ([`bind`](crate::bind)). A use costs one call, with
/// no argument map to build.
///
/// | written | becomes |
/// | --- | --- |
/// | `session().has(KEY)` | `(KEY is session_has)` |
/// | `session().get(KEY)` | `(KEY \| session_get)` |
/// | `session().get(KEY, DEFAULT)` | `(KEY \| session_get if KEY is session_has else DEFAULT)` |
/// | `session().all()` | `session(all=true)`, as [`rewrite`] |
/// | `errors().has(KEY)` | `(KEY is session_errors_has)` |
/// | `errors().first(KEY)` | `(KEY \| session_errors_first)` |
/// | `errors().get(KEY)` | `(KEY \| session_errors_get)` |
/// | `errors().any()`, `errors().all()` | `errors(any=true)`, `errors(all=true)`, as [`rewrite`] |
/// | `old(KEY)` | `(KEY \| session_old)` |
/// | `old(KEY, DEFAULT)` | `(KEY \| session_old(default=DEFAULT))` |
///
/// That is for a simple key (a field name of `errors()` and `old()` is a
/// key too): a string literal, or a variable or a path
/// (`level`, `cfg.key`, `keys[0]`), which can be written twice, so that the
/// default is evaluated only when the key is missing. Any other key
/// expression (a call, a filter, `~`, a number, another `session()` use…) is
/// evaluated once: `((KEY) is session_has)`, `((KEY) | session_get)` and
/// `((KEY) | session_get(default=DEFAULT))`, the default then evaluated too,
/// as in [`rewrite`]'s keyword form. `old`'s default is evaluated with the
/// call, as in MiniJinja. A key that is not a string fails the render, as
/// does a use with no session bound, at the line of the use.
///
/// String literals are read as Tera 2's lexer reads them: `"…"`, `'…'` or
/// `` `…` ``, across lines, a backslash escaping the next character, so
/// `"a\"b"` is one string (and Tera 2 rejects `"\"` as unclosed).
///
/// The rest is as for [`rewrite`]: only code is rewritten, newlines stay
/// where they were (a call spread over lines keeps its line count; around a
/// simple key its newlines move before the default, or to the end of the
/// expression), the same errors for unknown methods and wrong argument counts.
///
/// ```
/// let out = session_tera::rewrite_tera2(
///     "{% if session().has('flash') %}{{ session().get('flash') }}{% endif %}{{ session().get(level, 'none') }}",
/// )?;
/// assert_eq!(
///     out,
///     "{% if ('flash' is session_has) %}{{ ('flash' | session_get) }}{% endif %}\
///      {{ (level | session_get if level is session_has else  'none') }}"
/// );
/// # Ok::<(), session_tera::RewriteError>(())
/// ```
pub fn rewrite_tera2(source: &str) -> Result<Cow<'_, str>, RewriteError> {
    rewrite_to(source, Target::Tera2)
}

fn rewrite_to(source: &str, target: Target) -> Result<Cow<'_, str>, RewriteError> {
    // Many templates use no helper at all: skip the scan.
    if !Helper::ALL
        .iter()
        .any(|helper| source.contains(helper.name()))
    {
        return Ok(Cow::Borrowed(source));
    }
    lexer::rewrite(source, target)
}
