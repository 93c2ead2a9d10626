//! The `session()` template helper for MiniJinja (work in progress).
#![deny(missing_docs)]
