//! The names the rewritten templates and both engines' `session()` agree on.
//!
//! The rewrite writes them into templates and the engine modules register
//! and bind under them; keeping them here lets the rewrite stay independent
//! of either engine.

/// The name of the helper: what template authors call, what both Tera
/// versions register as a function, and what the rewrite writes.
pub(crate) const FUNCTION_NAME: &str = "session";

/// The context key that carries the bound session's data into a Tera 2 render.
///
/// [`bind`](crate::bind) and [`render`](crate::render) set it to a map of the
/// session's data (session data overlaid with flash data); the rewritten
/// templates read it directly (`__session_views?.success`, see
/// [`rewrite_tera2`](crate::rewrite_tera2)) and the `session()` function
/// through its [`tera::State`].
///
/// Tera 2 components have isolated contexts: a component that uses
/// `session()` declares it as an implicit parameter,
/// `{% component alerts(@__session_views) %}`.
pub const SESSION_DATA_KEY: &str = "__session_views";
