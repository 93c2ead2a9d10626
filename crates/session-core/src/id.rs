use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The number of random bytes in a session id (192 bits).
pub const SESSION_ID_BYTES: usize = 24;

/// An opaque session id: 192 bits from the operating system's CSPRNG.
///
/// Shown to the browser as 32 characters of unpadded base64url. Ids are only
/// ever made by [`SessionId::generate`]; an id a client sends is looked up,
/// never adopted, so a client cannot choose its own id (session fixation).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId([u8; SESSION_ID_BYTES]);

impl SessionId {
    /// A new random id.
    ///
    /// # Panics
    /// Only if the operating system cannot supply randomness, in which case no
    /// secure session can be made at all.
    pub fn generate() -> Self {
        let mut bytes = [0u8; SESSION_ID_BYTES];
        #[allow(clippy::expect_used)]
        getrandom::getrandom(&mut bytes).expect("the OS random number generator failed");
        SessionId(bytes)
    }

    /// Parses the cookie form; `None` for anything that is not exactly an id.
    pub fn parse(text: &str) -> Option<Self> {
        crate::base64url::decode_exact(text.as_bytes()).map(SessionId)
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; SESSION_ID_BYTES] {
        &self.0
    }

    /// Builds an id from raw bytes (for drivers that derive ids, such as the
    /// memory driver's opt-in client-IP keying).
    pub fn from_bytes(bytes: [u8; SESSION_ID_BYTES]) -> Self {
        SessionId(bytes)
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 32];
        let n = URL_SAFE_NO_PAD
            .encode_slice(self.0, &mut buf)
            .map_err(|_| fmt::Error)?;
        f.write_str(std::str::from_utf8(&buf[..n]).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for SessionId {
    /// Debug output hides the id: it is a credential and must not end up in logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionId(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_junk() {
        let id = SessionId::generate();
        let text = id.to_string();
        assert_eq!(text.len(), 32);
        assert_eq!(SessionId::parse(&text), Some(id));
        assert_ne!(SessionId::generate(), id);
        for junk in [
            "",
            "short",
            &text[..31],
            &format!("{text}x"),
            &"!".repeat(32),
        ] {
            assert_eq!(SessionId::parse(junk), None, "{junk:?}");
        }
        assert_eq!(format!("{id:?}"), "SessionId(..)");
    }
}
