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
//! rewrite. For Tera 2, [`rewrite_tera2`] turns each use into reads of the
//! session map bound to the render, so a helper use costs about what reading
//! a context variable costs:
//!
//! ```text
//! session().has('success')   →  (true if __session_views?.success else 'success' in (__session_views or session()))
//! session().get(level, 'x')  →  (__session_views?[level] or (__session_views[level] if level in (__session_views or session()) else 'x'))
//! ```
//!
//! A key that is a string literal or a variable (or a path such as `cfg.key`)
//! is read there; any other key expression, and `session().all()`, go through
//! Tera's keyword form of the registered `session()` function —
//! `session(has=key)`, `session(get=key, default=d)`, `session(all=true)` —
//! which also works when written by hand. Tera 1 gets the keyword form for
//! every use ([`rewrite`]). The rewrite is a small lexer: it touches code only
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
//! snapshot of the session's data in the context under [`SESSION_DATA_KEY`], as a
//! map; the rewritten templates read it, and `session()` reads it through its
//! [`tera::State`]. No thread-local: renders on many threads each see their
//! own session. A bound map is never falsy (an empty session's map holds one
//! marker entry under a key that is not a string), so `(__session_views or
//! session())` reaches `session()` only when nothing is bound, and a render
//! with no session bound fails with an error that says so, at the line of the
//! helper use. Included templates see the session; Tera 2 components have
//! isolated contexts, so a component that uses `session()` declares the
//! implicit parameter `@__session_views`.
//!
//! # Errors
//!
//! `session().nope()`, a wrong number of arguments or an unclosed call fail
//! the load with the template's name, line and column. A bad keyword call
//! written by hand, or a key that is a literal but not a string
//! (`session().has(1)`), fails the render with Tera's usual report of the line.
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
//! - In Tera 2 a key held in a variable is looked up as it is: a number or
//!   a boolean (never a session key) reads as missing rather than failing.
//! - The rewrite assumes Tera's default delimiters.
//!
//! [session-views]: https://github.com/session-views/session-views
#![deny(missing_docs)]

mod binding;
mod call;
mod loader;
mod rewrite;
mod tera2;

#[cfg(feature = "tera1")]
pub mod tera1;

pub use binding::SESSION_DATA_KEY;
pub use rewrite::{RewriteError, rewrite, rewrite_tera2};
pub use tera2::{
    add_raw_template, add_raw_templates, add_to_tera, bind, load_templates, new, render,
};
