//! Sessions and flash messages for [hyper](https://hyper.rs) 1 and
//! [axum](https://docs.rs/axum) 0.8 apps, as a [tower](https://docs.rs/tower)
//! layer over the `http` crate's types (no template engine here: rendering
//! with a bound session is `session_views::Views`).
//!
//! - [`SessionLayer`] / [`SessionService`] (whose future is [`ResponseFuture`]):
//!   load on first use, apply the flash rule, save, `Set-Cookie`; 503 when
//!   the store fails.
//! - [`Redirect`]: a redirect that flashes (`Redirect::see_other("/").flash("success", "…")`).
//! - [`sessions`]: the request's [`RequestSessions`](session_core::RequestSessions) in a handler.
//! - Feature `axum`: the `Sessions` and `CurrentSession` extractors,
//!   `IntoResponse` for [`Redirect`] and `SessionRejection`.
//!
//! | feature | adds |
//! | --- | --- |
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

#[cfg(feature = "axum")]
pub use axum::{CurrentSession, SessionRejection, Sessions};
pub use layer::{ResponseFuture, SessionLayer, SessionService, sessions, try_sessions};
pub use redirect::Redirect;
