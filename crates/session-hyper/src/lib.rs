//! Sessions, flash messages and session-aware templates for
//! [hyper](https://hyper.rs) 1 and [axum](https://docs.rs/axum) 0.8
//! apps, as a [tower](https://docs.rs/tower) layer.
//!
//! - [`SessionLayer`] / [`SessionService`] (whose future is [`ResponseFuture`]):
//!   load on first use, apply the flash rule, save, `Set-Cookie`; 503 when
//!   the store fails.
//! - [`Redirect`]: a redirect that flashes (`Redirect::see_other("/").flash("success", "…")`).
//! - [`sessions`]: the request's [`RequestSessions`](session_core::RequestSessions) in a handler.
//! - `Views` (features `minijinja`, `tera`): render a template with the
//!   request's default-driver session bound to `session()`.
//! - Feature `axum`: the `Sessions` and `CurrentSession` extractors,
//!   `IntoResponse` for [`Redirect`] and `SessionRejection`.
//!
//! | feature | adds |
//! | --- | --- |
//! | `minijinja` | `Views::minijinja` |
//! | `tera` | `Views::tera` |
//! | `axum` | extractors and `IntoResponse` |
//!
//! A complete hyper server with both engines is the demo,
//! `cargo run --example app` at the workspace root.
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "axum")]
mod axum;
mod layer;
mod redirect;
#[cfg(any(feature = "minijinja", feature = "tera"))]
mod views;

#[cfg(feature = "axum")]
pub use axum::{CurrentSession, SessionRejection, Sessions};
pub use layer::{ResponseFuture, SessionLayer, SessionService, sessions, try_sessions};
pub use redirect::Redirect;
#[cfg(any(feature = "minijinja", feature = "tera"))]
pub use views::{ViewError, Views};
