//! The `session()` template helper for Tera (work in progress).
#![deny(missing_docs)]

mod call;
mod loader;
mod rewrite;
mod tera2;

#[cfg(feature = "tera1")]
pub mod tera1;

pub use rewrite::{RewriteError, rewrite};
pub use tera2::{
    SESSION_KEY, add_raw_template, add_raw_templates, add_to_tera, bind, load_templates, new,
    render,
};
