//! The contract for driver authors: where sessions are kept.
//!
//! A driver implements [`SessionDriver`]: it [`load`](SessionDriver::load)s a
//! request's session into a [`Loaded`] and [`save`](SessionDriver::save)s the
//! request's per-key [`Changes`], never a whole record, so two concurrent
//! requests that change different keys both keep their change. Values arrive
//! as [`StoredValue`]s (validated JSON text) and are stored as they are.
//!
//! A server-side driver (one that keeps sessions in memory, Redis, a
//! database) keys them by a [`SessionId`] and leaves the cookie to
//! [`IdCookie`], which reads, sets and removes the id cookie the same way for
//! every such driver. [`SessionDriver`]'s docs hold a complete example, and
//! the `testing` feature's conformance suite checks a driver against the
//! semantics every driver shares.

mod contract;

pub use async_trait::async_trait;

pub use self::contract::{DriverState, Loaded, SaveRequest, SessionDriver};
pub use crate::cookie_driver::cookie_name;
pub use crate::cookie_settings::CookieSettings;
pub use crate::data::{Bucket, Changes, Overlay, SessionData, StoredValue, ValueMap};
pub use crate::error::BoxError;
pub use crate::id::{SESSION_ID_BYTES, SessionId};
pub use crate::id_cookie::IdCookie;
