#![doc = include_str!("../docs/lib.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

#[doc(inline)]
pub use session_core::*;

#[cfg(any(feature = "minijinja", feature = "tera"))]
mod views;

#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
#[doc(inline)]
pub use session_tower::{
    CsrfBody, CsrfError, CsrfLayer, Redirect, SessionLayer, SessionService, sessions, try_sessions,
};

#[cfg(any(feature = "minijinja", feature = "tera"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "minijinja", feature = "tera"))))]
pub use views::{TEMPLATES_AUTO_RELOAD, TemplateLoadError, ViewError, Views, ViewsBuilder};

#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
#[doc(inline)]
pub use session_tower::{CurrentSession, SessionRejection, Sessions};

#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
#[doc(inline)]
pub use session_redis::{RedisDriver, RedisDriverBuilder};

#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
#[doc(inline)]
pub use session_postgres::{PostgresDriver, PostgresDriverBuilder};

/// `session()` for MiniJinja (the `session-minijinja` crate).
#[cfg(feature = "minijinja")]
#[cfg_attr(docsrs, doc(cfg(feature = "minijinja")))]
pub mod minijinja {
    #[doc(inline)]
    pub use session_minijinja::*;
}

/// `session()` for Tera (the `session-tera` crate).
#[cfg(any(feature = "tera", feature = "tera1"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "tera", feature = "tera1"))))]
pub mod tera {
    #[doc(inline)]
    pub use session_tera::*;
}
