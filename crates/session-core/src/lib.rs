#![doc = include_str!("../docs/lib.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

mod config;
mod cookie_driver;
mod cookie_settings;
pub mod csrf;
mod data;
pub mod driver;
mod error;
mod form;
mod id;
mod id_cookie;
pub mod integration;
mod lifecycle;
mod manager;
mod memory_driver;
mod request;
mod session;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;

pub use config::{MIN_SECRET_BYTES, SessionConfig};
pub use cookie_driver::{CookieDriver, MAX_COOKIE_BYTES};
pub use error::{ConfigError, SessionError};
pub use form::{ERRORS_KEY, ErrorBag, OLD_INPUT_KEY};
pub use manager::{SessionManager, SessionManagerBuilder};
pub use memory_driver::{MemoryDriver, MemoryDriverBuilder};
pub use session::Session;

/// Re-exported so drivers and integrations use the same versions.
pub use cookie;
pub use http;
pub use serde_json;
