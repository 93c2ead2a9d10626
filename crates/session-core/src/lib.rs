//! The core of [session-views]: Masonite-style sessions and flash messages
//! for Rust web apps, with no HTTP server, template engine or Redis client
//! in its dependencies.
//!
//! - [`Session`]: `set`, `get`, `has`, `all`, `flash`, `delete`, `pull`,
//!   `reset`, `reset_flash`, `keep`/`reflash`, `regenerate`, `invalidate`.
//! - [`SessionDriver`]: where sessions live. Drivers receive per-key
//!   [`Changes`], never a whole record, so concurrent requests that change
//!   different keys do not overwrite each other.
//! - [`MemoryDriver`] (the default) and [`CookieDriver`] (AES-256-GCM
//!   cookies); `session-redis` adds a Redis driver.
//! - [`SessionManager`] holds the drivers by name; [`RequestSessions`] is one
//!   request's view of them; [`clears_flash`] is the flash rule every
//!   integration applies.
//!
//! # One request, without any HTTP framework
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use http::StatusCode;
//! use session_core::{RequestContext, SessionManager};
//!
//! let manager = SessionManager::builder().build()?;
//!
//! // POST /login: flash a message and redirect.
//! let sessions = manager.request(RequestContext::new());
//! let session = sessions.session().await?;
//! session.set("user", serde_json::json!({"name": "Ada"}))?;
//! session.flash("success", "Welcome back, Ada!")?;
//! let set_cookies = sessions.finish(StatusCode::SEE_OTHER).await?;
//! let cookie = set_cookies[0].stripped().to_string(); // "session_id=..."
//!
//! // GET /dashboard (200 OK): the flash shows once...
//! let sessions = manager.request(RequestContext::from_cookie_header(&cookie));
//! assert!(sessions.session().await?.has("success"));
//! sessions.finish(StatusCode::OK).await?;
//!
//! // ...and is gone on the next page; the user stays.
//! let sessions = manager.request(RequestContext::from_cookie_header(&cookie));
//! let session = sessions.session().await?;
//! assert!(!session.has("success"));
//! assert_eq!(session.get("user").unwrap()["name"], "Ada");
//! # Ok(()) }
//! ```
//!
//! [session-views]: https://github.com/session-views/session-views
#![deny(missing_docs)]

mod config;
mod cookie_driver;
mod cookie_settings;
mod data;
mod driver;
mod error;
mod id;
mod id_cookie;
mod lifecycle;
mod manager;
mod memory_driver;
mod request;
mod session;
#[cfg(feature = "testing")]
pub mod testing;

pub use async_trait::async_trait;
pub use config::{MIN_SECRET_BYTES, SessionConfig};
pub use cookie_driver::{CookieDriver, MAX_COOKIE_BYTES, cookie_name};
pub use cookie_settings::CookieSettings;
pub use data::{Bucket, Changes, Overlay, SessionData, StoredValue, ValueMap};
pub use driver::{DriverState, Loaded, SaveRequest, SessionDriver};
pub use error::{BoxError, ConfigError, SessionError};
pub use id::{SESSION_ID_BYTES, SessionId};
pub use id_cookie::IdCookie;
pub use lifecycle::{clears_flash, saves_changes};
pub use manager::{RequestSessions, SessionManager, SessionManagerBuilder};
pub use memory_driver::{MemoryDriver, MemoryDriverBuilder};
pub use request::{RequestContext, append_set_cookies};
pub use session::Session;

/// Re-exported so drivers and integrations use the same versions.
pub use cookie;
pub use http;
pub use serde_json;
