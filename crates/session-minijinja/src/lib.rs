#![doc = include_str!("../docs/lib.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

mod args;
mod binding;
mod errors_object;
mod forms;
mod object;

pub use binding::{add_to_environment, context, render};
