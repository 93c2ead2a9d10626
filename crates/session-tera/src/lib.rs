#![doc = include_str!("../docs/lib.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

mod binding;
mod call;
mod csrf;
mod loader;
mod names;
mod rewrite;
mod tera2;

#[cfg(feature = "tera1")]
#[cfg_attr(docsrs, doc(cfg(feature = "tera1")))]
pub mod tera1;

pub use binding::{SessionGuard, bind, is_bound};
pub use rewrite::{RewriteError, rewrite, rewrite_tera2};
pub use tera2::{add_raw_template, add_raw_templates, add_to_tera, load_templates, new, render};
