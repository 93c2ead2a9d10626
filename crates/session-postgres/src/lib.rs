#![doc = include_str!("../docs/lib.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

mod builder;
mod connection;
mod driver;
mod identifier;
mod json;
mod sql;
mod sweeper;
#[cfg(feature = "tls")]
mod tls;

pub use builder::{
    DEFAULT_COOKIE_NAME, DEFAULT_MAX_VALUE_BYTES, DEFAULT_SCHEMA, DEFAULT_TABLE, DEFAULT_URL,
    PostgresDriverBuilder, SCHEMA_VAR, TABLE_VAR, URL_VAR,
};
pub use driver::PostgresDriver;
