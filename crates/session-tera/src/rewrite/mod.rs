//! The load-time rewrite of `session().method(…)` into forms Tera parses.
//!
//! `lexer` scans the template and follows each helper call to its end;
//! `emit` writes the rewritten text as it goes, with every newline kept;
//! `key` tells which keys the Tera 2 form can read straight from the bound
//! map. Neither engine module is needed: the names the rewrite writes are in
//! `crate::binding`.

mod emit;
mod error;
mod key;
mod lexer;
mod open_call;
#[cfg(test)]
mod tests;

use std::borrow::Cow;

use crate::binding::FUNCTION_NAME;

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
    /// uses become reads of the bound map, or the keyword form for complex keys.
    Tera2,
}

/// Rewrites the method-call form of the session helper into Tera's keyword form.
///
/// | written | becomes |
/// | --- | --- |
/// | `session().has(ARG)` | `session(has=ARG)` |
/// | `session().get(ARG)` | `session(get=ARG)` |
/// | `session().get(ARG, DEFAULT)` | `session(get=ARG, default=DEFAULT)` |
/// | `session().all()` | `session(all=true)` |
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

/// Rewrites the method-call form of the session helper for Tera 2: into
/// reads of the bound session map, [`SESSION_DATA_KEY`](crate::SESSION_DATA_KEY) (`__session_views`), so
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
/// String literals are read as Tera 2's lexer reads them: `"…"`, `'…'` or
/// `` `…` ``, across lines, a backslash escaping the next character, so
/// `"a\"b"` is one string (and Tera 2 rejects `"\"` as unclosed).
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
    rewrite_to(source, Target::Tera2)
}

fn rewrite_to(source: &str, target: Target) -> Result<Cow<'_, str>, RewriteError> {
    // Nearly every template has no helper call at all: skip the scan.
    if !source.contains(FUNCTION_NAME) {
        return Ok(Cow::Borrowed(source));
    }
    lexer::rewrite(source, target)
}
