//! A session's stored state: values kept as validated JSON text, the two
//! sorted maps (session and flash), and the per-key changes drivers apply.

mod changes;
mod session_data;
mod stored_value;
mod value_map;

pub use changes::Changes;
pub use session_data::{Overlay, SessionData};
pub use stored_value::StoredValue;
pub use value_map::ValueMap;

/// Which of a session's two maps a key lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bucket {
    /// Session data: kept until deleted, reset or expired.
    Session,
    /// Flash data: kept until the flash is cleared (see [`clears_flash`](crate::integration::clears_flash)).
    Flash,
}

#[cfg(test)]
mod tests;
