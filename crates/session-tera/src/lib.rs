//! The `session()` template helper for Tera (work in progress).
#![deny(missing_docs)]
