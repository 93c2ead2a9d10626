//! Plumbing for framework integrations (a tower layer, a template engine):
//! one request's view of the sessions, and the rule for what a response
//! does to them.
//!
//! An integration builds a [`RequestContext`] from the request's headers,
//! asks the [`SessionManager`](crate::SessionManager) for the request's
//! [`RequestSessions`], hands them to the handler, and when the response is
//! known calls [`RequestSessions::finish`] with its status, which applies
//! [`clears_flash`] and [`saves_changes`] and returns the cookies to set
//! ([`append_set_cookies`] writes them into a header map).

pub use crate::lifecycle::{clears_flash, saves_changes};
pub use crate::manager::RequestSessions;
pub use crate::request::{RequestContext, append_set_cookies};
