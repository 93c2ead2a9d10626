//! # session-views
//!
//! Masonite-style sessions and flash messages for Rust web apps, and a
//! `session()` helper that template authors call the same way in MiniJinja
//! and Tera.
//!
//! This crate is the facade: it re-exports the workspace's crates, the
//! optional ones behind features.
//!
//! | feature | crate | what it adds |
//! | --- | --- | --- |
//! | (always) | `session-core` | [`Session`], drivers, [`SessionManager`], [`SessionConfig`] |
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
#![deny(missing_docs)]

#[doc(inline)]
pub use session_core::*;
