#![doc = include_str!("../docs/lib.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

mod binding;
mod object;

pub use binding::{add_to_environment, context, render};
