//! The `session()` template helper of [session-views] for [Tera](tera) 2 —
//! and Tera 1 behind the `tera1` feature ([`tera1`]).
//!
//! Template authors write the same calls as in MiniJinja:
//!
//! | written | reads |
//! | --- | --- |
//! | `session().has(key)` | true when `key` is in the session or flash data, whatever its value |
//! | `session().get(key)` | the flash value, else the session value, else none (renders as nothing) |
//! | `session().get(key, default)` | the same, with `default` for a missing key |
//! | `session().all()` | session data overlaid with flash data, as a map |
//!
//! Tera's grammar has no method calls, so templates are loaded through a
//! [`rewrite`] into Tera's keyword form — `session(has=key)`,
//! `session(get=key, default=d)`, `session(all=true)` — which also works when
//! written by hand. The rewrite is a small lexer: it touches code only
//! (`{{ }}` and `{% %}`), never text, comments, strings or `{% raw %}` blocks,
//! and keeps every line where it was, so Tera's errors point at the line as
//! written (the snippet in the error shows the rewritten form).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use session_core::{RequestContext, SessionManager};
//!
//! let mut tera = tera::Tera::new();
//! session_tera::add_raw_template(
//!     &mut tera,
//!     "messages.html",
//!     "{% if session().has('success') %}<p>{{ session().get('success') }}</p>{% endif %}",
//! )?;
//! // Or every template of a directory or glob: session_tera::new("templates")?
//!
//! let manager = SessionManager::builder().build()?;
//! let sessions = manager.request(RequestContext::new());
//! let session = sessions.session().await?;
//! session.flash("success", "Saved <b>!</b>")?;
//!
//! let html = session_tera::render(&tera, "messages.html", &tera::Context::new(), &session)?;
//! assert_eq!(html, "<p>Saved &lt;b&gt;!&lt;/b&gt;</p>");
//! # Ok(()) }
//! ```
//!
//! # Binding the session to a render
//!
//! [`render`] (or [`bind`] on a [`tera::Context`] you then render) puts a
//! snapshot of the session's data in the context under [`SESSION_KEY`];
//! `session()` reads it through its [`tera::State`]. No thread-local: renders
//! on many threads each see their own session, and a render with no session
//! bound fails with an error that says so. Included templates see it; Tera 2
//! components have isolated contexts, so a component that calls `session()`
//! declares the implicit parameter `@__session_views`.
//!
//! # Errors
//!
//! `session().nope()`, a wrong number of arguments or an unclosed call fail
//! the load with the template's name, line and column. A bad keyword call
//! written by hand fails the render with Tera's usual report of the line.
//!
//! # What differs from MiniJinja
//!
//! - Tera cannot read an attribute of a call's result:
//!   `{% set user = session().get('user') %}{{ user.name }}` works in both.
//! - Tera 1 wants a boolean from a function used directly in `{% if %}`;
//!   `has` gives one, the result of `get` goes through `{% set %}` first.
//! - MiniJinja prints booleans as `True`/`False`, Tera as `true`/`false`.
//! - The engines spell some escaped characters differently (`'` is `&#39;`
//!   in Tera 2 and `&#x27;` in MiniJinja and Tera 1; MiniJinja and Tera 1
//!   also escape `/`).
//! - The rewrite assumes Tera's default delimiters.
//!
//! [session-views]: https://github.com/session-views/session-views
#![deny(missing_docs)]

mod call;
mod loader;
mod rewrite;
mod tera2;

#[cfg(feature = "tera1")]
pub mod tera1;

pub use rewrite::{RewriteError, rewrite};
pub use tera2::{
    SESSION_KEY, add_raw_template, add_raw_templates, add_to_tera, bind, load_templates, new,
    render,
};
