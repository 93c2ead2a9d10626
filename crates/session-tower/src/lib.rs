#![doc = include_str!("../docs/lib.md")]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "axum")]
mod axum;
mod cache;
mod csrf;
mod error;
mod layer;
mod redirect;
mod rejection;
mod too_large;

#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use axum::{CurrentSession, SessionRejection, Sessions};
pub use csrf::{
    CsrfBody, CsrfError, CsrfFuture, CsrfLayer, CsrfRejection, CsrfService, DEFAULT_MAX_FORM_BYTES,
};
pub use layer::{ResponseFuture, SessionLayer, SessionService, sessions, try_sessions};
pub use redirect::{MAX_OLD_INPUT_BYTES, Redirect};
pub use rejection::Rejection;
