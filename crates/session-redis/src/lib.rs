#![doc = include_str!("../docs/lib.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

mod builder;
mod connection;
mod driver;
mod keys;
mod scripts;

pub use builder::{
    DEFAULT_COOKIE_NAME, DEFAULT_KEY_PREFIX, DEFAULT_MAX_VALUE_BYTES, DEFAULT_URL,
    RedisDriverBuilder, URL_VAR,
};
pub use driver::RedisDriver;
