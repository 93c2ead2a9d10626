//! Test support for drivers: a cookie-keeping [`Browser`] and the
//! [`conformance_tests!`](crate::conformance_tests) suite that every driver
//! runs (enable the `testing` feature in `dev-dependencies`).
//!
//! ```ignore
//! // in a driver crate's tests/conformance.rs
//! session_core::conformance_tests!(|| async { my_manager().await });
//! ```

mod browser;
pub mod model;
pub mod suite;

pub use browser::Browser;
