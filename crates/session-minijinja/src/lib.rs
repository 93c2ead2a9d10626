#![doc = include_str!("../docs/lib.md")]
#![deny(missing_docs)]

mod binding;
mod object;

pub use binding::{add_to_environment, context, render};
