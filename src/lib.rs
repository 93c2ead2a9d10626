//! # session-views
//!
//! Masonite-style sessions and flash messages for Rust web apps, and a
//! `session()` helper that template authors call the same way in MiniJinja
//! and Tera:
//!
//! ```jinja
//! {% if session().has('success') %}<div class="alert alert-success">{{ session().get('success') }}</div>{% endif %}
//! ```
//!
//! This crate is the facade: the core is always here, the rest behind features.
//!
//! | feature | crate | what it adds |
//! | --- | --- | --- |
//! | (always) | `session-core` | [`Session`], [`SessionManager`], [`SessionConfig`], [`MemoryDriver`], [`CookieDriver`], the [`SessionDriver`] trait |
//! | `tower` | `session-tower` | `SessionLayer`, `Redirect` (hyper 1, axum 0.8, any tower stack) |
//! | `axum` | `session-tower` | `Sessions` / `CurrentSession` extractors, `IntoResponse` |
//! | `minijinja` | `session-minijinja` | [`minijinja`] module: `add_to_environment`, `render`; `Views::minijinja` |
//! | `tera` | `session-tera` | [`tera`] module: the rewriting loader, `render`; `Views::tera` |
//! | `tera1` | `session-tera` | `tera::tera1`: the same for Tera 1 |
//! | `redis` | `session-redis` | `RedisDriver` |
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use session_views::{RequestContext, SessionManager, http::StatusCode};
//!
//! let manager = SessionManager::builder().build()?;
//! let sessions = manager.request(RequestContext::new());
//! sessions.session().await?.flash("success", "Saved!")?;
//! let cookies = sessions.finish(StatusCode::SEE_OTHER).await?;
//! assert_eq!(cookies.len(), 1); // the new session's id
//! # Ok(()) }
//! ```
//!
//! The demo server (`cargo run --example app`) shows a whole hyper app.
#![deny(missing_docs)]

#[doc(inline)]
pub use session_core::*;

#[cfg(any(feature = "minijinja", feature = "tera"))]
mod views;

#[cfg(feature = "tower")]
#[doc(inline)]
pub use session_tower::{Redirect, SessionLayer, SessionService, sessions, try_sessions};

#[cfg(any(feature = "minijinja", feature = "tera"))]
pub use views::{ViewError, Views};

#[cfg(feature = "axum")]
#[doc(inline)]
pub use session_tower::{CurrentSession, SessionRejection, Sessions};

#[cfg(feature = "redis")]
#[doc(inline)]
pub use session_redis::{RedisDriver, RedisDriverBuilder};

/// `session()` for MiniJinja (the `session-minijinja` crate).
#[cfg(feature = "minijinja")]
pub mod minijinja {
    #[doc(inline)]
    pub use session_minijinja::*;
}

/// `session()` for Tera (the `session-tera` crate).
#[cfg(any(feature = "tera", feature = "tera1"))]
pub mod tera {
    #[doc(inline)]
    pub use session_tera::*;
}
