//! The names the rewritten templates and both engines' helpers agree on.
//!
//! The rewrite writes them into templates and the engine modules register
//! under them; keeping them here lets the rewrite stay independent of either
//! engine.

/// The name of the session helper: what template authors call, what both
/// Tera versions register as a function, and what the rewrite writes.
pub(crate) const FUNCTION_NAME: &str = "session";

/// The Tera 2 test a `session().has(k)` becomes: `(k is session_has)`.
pub(crate) const HAS_TEST: &str = "session_has";

/// The Tera 2 filter a `session().get(k)` becomes: `(k | session_get)`.
pub(crate) const GET_FILTER: &str = "session_get";

/// The form errors helper: `errors().has(f)` and friends, and the function
/// their keyword form calls (`errors(has=f)`).
pub(crate) const ERRORS_FUNCTION: &str = "errors";

/// The Tera 2 test an `errors().has(f)` becomes: `(f is session_errors_has)`.
pub(crate) const ERRORS_HAS_TEST: &str = "session_errors_has";

/// The Tera 2 filter an `errors().first(f)` becomes.
pub(crate) const ERRORS_FIRST_FILTER: &str = "session_errors_first";

/// The Tera 2 filter an `errors().get(f)` becomes.
pub(crate) const ERRORS_GET_FILTER: &str = "session_errors_get";

/// The old input helper, `old(f)` / `old(f, default)`, and the function its
/// keyword form calls (`old(field=f, default=d)`).
pub(crate) const OLD_FUNCTION: &str = "old";

/// The Tera 2 filter an `old(f)` becomes: `(f | session_old)`.
pub(crate) const OLD_FILTER: &str = "session_old";

/// `csrf_token()`: the same call in every engine, never rewritten.
pub(crate) const CSRF_TOKEN_FUNCTION: &str = "csrf_token";

/// `csrf_field()`: the same call in every engine, never rewritten.
pub(crate) const CSRF_FIELD_FUNCTION: &str = "csrf_field";
