//! The fuzz targets' bodies; see `targets.rs`.

mod targets;

pub use targets::{cookie_header, keys_opened, seeds, session_json, tera_rewrite};
