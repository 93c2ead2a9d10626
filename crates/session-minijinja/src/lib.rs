//! The `session()` template helper of [session-views] for [MiniJinja](minijinja).
//!
//! Templates read the request's session with three calls, the same in
//! MiniJinja and (through `session-tera`) in Tera:
//!
//! | call | returns |
//! | --- | --- |
//! | `session().has(key)` | true when `key` is in the session or flash data, whatever its value |
//! | `session().get(key)` | the flash value, else the session value, else undefined (renders as nothing) |
//! | `session().get(key, default)` | the same, with `default` for a missing key |
//! | `session().all()` | session data overlaid with flash data, as a map |
//!
//! Values are autoescaped like any other value.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use minijinja::{Environment, context};
//! use session_core::{RequestContext, SessionManager};
//!
//! let mut env = Environment::new();
//! session_minijinja::add_to_environment(&mut env);
//! env.add_template(
//!     "messages.html",
//!     "{% if session().has('success') %}<p>{{ session().get('success') }}</p>{% endif %}",
//! )?;
//!
//! let manager = SessionManager::builder().build()?;
//! let sessions = manager.request(RequestContext::new());
//! let session = sessions.session().await?;
//! session.flash("success", "Saved <b>!</b>")?;
//!
//! let html = session_minijinja::render(&env.get_template("messages.html")?, context! {}, &session)?;
//! assert_eq!(html, "<p>Saved &lt;b&gt;!&lt;&#x2f;b&gt;</p>");
//! # Ok(()) }
//! ```
//!
//! # Binding the session to a render
//!
//! The session travels in the render context under a hidden key,
//! [`SESSION_KEY`], which [`render`] and [`context`] add. A context value
//! (rather than MiniJinja's render-local state, which cannot be filled before
//! a render starts) is what included templates and macros — imported ones too —
//! can see, and it needs no thread-local: two renders on one thread, or one
//! render moved between threads, each see their own session. A render without
//! it fails with an error naming the cause, never with another request's data.
//!
//! # Errors
//!
//! `session().nope()` (an unknown method), a wrong number of arguments or a
//! key that is not a string fail the render with a MiniJinja error that
//! carries the template name and line.
//!
//! [session-views]: https://github.com/session-views/session-views
#![deny(missing_docs)]

mod binding;
mod object;

pub use binding::{SESSION_KEY, add_to_environment, context, render};
