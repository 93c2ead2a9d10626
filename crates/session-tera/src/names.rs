//! The names the rewritten templates and both engines' `session()` agree on.
//!
//! The rewrite writes them into templates and the engine modules register
//! under them; keeping them here lets the rewrite stay independent of either
//! engine.

/// The name of the helper: what template authors call, what both Tera
/// versions register as a function, and what the rewrite writes.
pub(crate) const FUNCTION_NAME: &str = "session";

/// The Tera 2 test a `session().has(k)` becomes: `(k is session_has)`.
pub(crate) const HAS_TEST: &str = "session_has";

/// The Tera 2 filter a `session().get(k)` becomes: `(k | session_get)`.
pub(crate) const GET_FILTER: &str = "session_get";
