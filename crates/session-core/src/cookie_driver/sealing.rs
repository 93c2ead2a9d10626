//! Sealing a value into a cookie and opening it again: AES-256-GCM under keys
//! derived from the app's secrets by HKDF-SHA256.
//!
//! A sealed value is the base64url of: the format version (one byte), a
//! random 96-bit nonce, the session's start (Unix seconds, 8 bytes
//! big-endian, readable but authenticated), then, encrypted, the expiry (Unix
//! seconds, 8 bytes big-endian) and the value's JSON, then the 16-byte tag.
//! The associated data is the start followed by the cookie's name.
//!
//! The start is in the clear so that a response writing a new key can carry
//! the session's start over from the cookies the request brought without
//! decrypting them again (they were all opened, and so authenticated, when
//! the session was loaded).
//!
//! Values sealed in another format (the first one had no start) do not open:
//! their version byte differs and the key is bound to the format, so such a
//! cookie is treated like any cookie that does not open.

use std::fmt;

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hkdf::Hkdf;
use rand::RngCore;
use sha2::Sha256;

use crate::{SessionError, driver::StoredValue};

const FORMAT_VERSION: u8 = 2;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const TIME_LEN: usize = 8;
/// Version, nonce and start: the part before the ciphertext.
const HEADER_LEN: usize = 1 + NONCE_LEN + TIME_LEN;
/// The base64url characters that encode exactly the header (21 bytes).
const HEADER_CHARS: usize = HEADER_LEN / 3 * 4;
const HKDF_SALT: &[u8] = b"session-views cookie driver";
/// The format version is bound into the key itself: a value sealed in
/// another format cannot open under this key, whatever its version byte says.
const HKDF_INFO: &[u8] = b"aes-256-gcm key, format 2";

/// A value that opened, with what was sealed beside it.
#[derive(Debug, PartialEq)]
pub(super) struct Opened {
    pub(super) value: StoredValue,
    /// When the cookie stops being valid (Unix seconds).
    pub(super) expires_at: u64,
    /// When the session it belongs to started (Unix seconds).
    pub(super) started_at: u64,
    /// Sealed under a previous secret.
    pub(super) old_key: bool,
}

/// The keys of the cookie driver: the current one seals and opens, the
/// previous ones only open.
pub(super) struct Sealer {
    ciphers: Vec<Aes256Gcm>,
}

impl Sealer {
    /// Keys from `current` and then `previous` secrets.
    pub(super) fn new<'a>(current: &'a [u8], previous: impl Iterator<Item = &'a [u8]>) -> Self {
        Sealer {
            ciphers: std::iter::once(current)
                .chain(previous)
                .map(derive_cipher)
                .collect(),
        }
    }

    /// Seals `value` for the cookie `name`, valid until `expires_at`, for a
    /// session that started at `started_at` (Unix seconds).
    pub(super) fn seal(
        &self,
        name: &str,
        value: &StoredValue,
        expires_at: u64,
        started_at: u64,
    ) -> Result<String, SessionError> {
        let json = value.as_json().as_bytes();
        let mut buf = Vec::with_capacity(HEADER_LEN + TIME_LEN + json.len() + TAG_LEN);
        buf.push(FORMAT_VERSION);
        let mut nonce = [0u8; NONCE_LEN];
        // ThreadRng is a ChaCha CSPRNG seeded (and reseeded) from the OS:
        // unpredictable nonces without a system call per cookie.
        rand::thread_rng().try_fill_bytes(&mut nonce).map_err(|e| {
            SessionError::backend("cookie", format!("no randomness for a nonce: {e}"))
        })?;
        buf.extend_from_slice(&nonce);
        let started = started_at.to_be_bytes();
        buf.extend_from_slice(&started);
        buf.extend_from_slice(&expires_at.to_be_bytes());
        buf.extend_from_slice(json);
        let (header, plaintext) = buf.split_at_mut(HEADER_LEN);
        let nonce = Nonce::from_slice(&header[1..=NONCE_LEN]);
        let tag = with_associated_data(&started, name, |aad| {
            self.ciphers[0].encrypt_in_place_detached(nonce, aad, plaintext)
        })
        .map_err(|_| SessionError::backend("cookie", "AES-GCM refused to seal a value"))?;
        buf.extend_from_slice(&tag);
        Ok(URL_SAFE_NO_PAD.encode(&buf))
    }

    /// Opens the cookie `name` at time `now`: the value and what was sealed
    /// with it. `None` for anything that does not open or has expired.
    pub(super) fn open(&self, name: &str, sealed: &str, now: u64) -> Option<Opened> {
        let mut buf = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        if buf.len() < HEADER_LEN + TIME_LEN + TAG_LEN || buf[0] != FORMAT_VERSION {
            return None;
        }
        let (header, rest) = buf.split_at_mut(HEADER_LEN);
        let (body, tag) = rest.split_at_mut(rest.len() - TAG_LEN);
        let nonce = Nonce::from_slice(&header[1..=NONCE_LEN]);
        let started: [u8; TIME_LEN] = header[1 + NONCE_LEN..].try_into().ok()?;
        let tag = aes_gcm::Tag::from_slice(tag);
        let last = self.ciphers.len() - 1;
        let opened_with = with_associated_data(&started, name, |aad| {
            for (index, cipher) in self.ciphers.iter().enumerate() {
                // Decryption works in place; a failed attempt must not spoil
                // the ciphertext for the next key, so all but the last try a copy.
                if index == last {
                    return cipher
                        .decrypt_in_place_detached(nonce, aad, body, tag)
                        .is_ok()
                        .then_some(index);
                }
                let mut attempt = body.to_vec();
                if cipher
                    .decrypt_in_place_detached(nonce, aad, &mut attempt, tag)
                    .is_ok()
                {
                    body.copy_from_slice(&attempt);
                    return Some(index);
                }
            }
            None
        })?;
        let (expiry, json) = body.split_at(TIME_LEN);
        let expires_at = u64::from_be_bytes(expiry.try_into().ok()?);
        if expires_at <= now {
            return None;
        }
        // Sealed by us, so valid JSON unless the secret leaked; checked anyway.
        let value = StoredValue::from_json_str(std::str::from_utf8(json).ok()?).ok()?;
        Some(Opened {
            value,
            expires_at,
            started_at: u64::from_be_bytes(started),
            old_key: opened_with > 0,
        })
    }
}

/// The session start written in the clear part of `sealed`, if it is in this
/// format. Authentic only for a cookie that [`Sealer::open`] accepted.
pub(super) fn started_at(sealed: &str) -> Option<u64> {
    let mut header = [0u8; HEADER_LEN];
    let encoded = sealed.as_bytes().get(..HEADER_CHARS)?;
    let len = URL_SAFE_NO_PAD.decode_slice(encoded, &mut header).ok()?;
    if len != HEADER_LEN || header[0] != FORMAT_VERSION {
        return None;
    }
    let started: [u8; TIME_LEN] = header[1 + NONCE_LEN..].try_into().ok()?;
    Some(u64::from_be_bytes(started))
}

/// Runs `f` with the associated data of a sealed value: its start, then the
/// cookie's name. Built on the stack for the usual short name.
fn with_associated_data<R>(started: &[u8; TIME_LEN], name: &str, f: impl FnOnce(&[u8]) -> R) -> R {
    const STACK: usize = 128;
    let len = TIME_LEN + name.len();
    if len <= STACK {
        let mut aad = [0u8; STACK];
        aad[..TIME_LEN].copy_from_slice(started);
        aad[TIME_LEN..len].copy_from_slice(name.as_bytes());
        f(&aad[..len])
    } else {
        let mut aad = Vec::with_capacity(len);
        aad.extend_from_slice(started);
        aad.extend_from_slice(name.as_bytes());
        f(&aad)
    }
}

/// The length of the sealed form of a value whose JSON is `json_len` bytes.
pub(super) fn sealed_len(json_len: usize) -> usize {
    let raw = HEADER_LEN + TIME_LEN + json_len + TAG_LEN;
    raw.div_ceil(3) * 4 - (3 - raw % 3) % 3
}

impl fmt::Debug for Sealer {
    /// Shows how many keys there are, never the keys.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealer")
            .field("keys", &self.ciphers.len())
            .finish()
    }
}

fn derive_cipher(secret: &[u8]) -> Aes256Gcm {
    let mut key = [0u8; 32];
    // 32 bytes is far below HKDF-SHA256's output limit, so expand cannot fail.
    let _ = Hkdf::<Sha256>::new(Some(HKDF_SALT), secret).expand(HKDF_INFO, &mut key);
    Aes256Gcm::new(&key.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cookie_driver::unix_now;
    use crate::{CookieDriver, SessionConfig};
    use serde_json::json;

    fn stored(value: serde_json::Value) -> StoredValue {
        StoredValue::try_from(value).expect("a shallow value")
    }

    /// The keys of a driver configured with `secret` and `previous` ones.
    fn sealer(secret: &[u8], previous: &[&[u8]]) -> Sealer {
        let mut config = SessionConfig::default()
            .with_secret(secret)
            .expect("secret");
        for old in previous {
            config = config.with_previous_secret(old).expect("secret");
        }
        CookieDriver::from_config(&config).expect("driver").sealer
    }

    fn opened(value: StoredValue, expires_at: u64, started_at: u64, old_key: bool) -> Opened {
        Opened {
            value,
            expires_at,
            started_at,
            old_key,
        }
    }

    const KEY_A: &[u8] = b"A secret of thirty-two bytes....";
    const KEY_B: &[u8] = b"Another secret of 32 bytes or so";

    #[test]
    fn seal_then_open_round_trips_and_each_seal_differs() {
        let driver = sealer(KEY_A, &[]);
        let value = stored(json!({"name": "Ada", "roles": ["admin"]}));
        let now = unix_now();
        let a = driver
            .seal("s_user", &value, now + 60, now - 5)
            .expect("seal");
        let b = driver
            .seal("s_user", &value, now + 60, now - 5)
            .expect("seal");
        assert_ne!(a, b, "a fresh nonce per seal");
        assert_eq!(
            driver.open("s_user", &a, now),
            Some(opened(value, now + 60, now - 5, false))
        );
        assert_eq!(started_at(&a), Some(now - 5));
    }

    #[test]
    fn a_value_under_another_name_does_not_open() {
        let driver = sealer(KEY_A, &[]);
        let now = unix_now();
        let sealed = driver
            .seal("s_role", &stored(json!("admin")), now + 60, now)
            .expect("seal");
        assert!(driver.open("s_role", &sealed, now).is_some());
        assert_eq!(driver.open("s_user", &sealed, now), None);
        assert_eq!(driver.open("f_role", &sealed, now), None);
    }

    /// The start is readable, so it must be authenticated: a cookie whose
    /// start was moved (to stretch its absolute lifetime) does not open.
    #[test]
    fn a_changed_start_does_not_open() {
        let driver = sealer(KEY_A, &[]);
        let now = unix_now();
        let sealed = driver
            .seal("s_user", &stored(json!(1)), now + 60, now - 100)
            .expect("seal");
        let mut raw = URL_SAFE_NO_PAD.decode(&sealed).expect("b64");
        raw[1 + NONCE_LEN..HEADER_LEN].copy_from_slice(&now.to_be_bytes());
        let moved = URL_SAFE_NO_PAD.encode(&raw);
        assert_eq!(started_at(&moved), Some(now), "readable without the key");
        assert_eq!(driver.open("s_user", &moved, now), None);
    }

    #[test]
    fn expired_cookie_is_refused() {
        let driver = sealer(KEY_A, &[]);
        let now = unix_now();
        let sealed = driver
            .seal("s_user", &stored(json!(1)), now - 1, now - 10)
            .expect("seal");
        assert_eq!(driver.open("s_user", &sealed, now), None);
    }

    #[test]
    fn wrong_key_is_refused_and_previous_key_opens_as_old() {
        let now = unix_now();
        let old = sealer(KEY_B, &[]);
        let sealed = old
            .seal("s_user", &stored(json!("x")), now + 60, now)
            .expect("seal");
        assert_eq!(sealer(KEY_A, &[]).open("s_user", &sealed, now), None);
        let rotated = sealer(KEY_A, &[KEY_B]);
        assert_eq!(
            rotated.open("s_user", &sealed, now),
            Some(opened(stored(json!("x")), now + 60, now, true))
        );
    }

    #[test]
    fn version_byte_and_truncation_are_checked() {
        let driver = sealer(KEY_A, &[]);
        let now = unix_now();
        let sealed = driver
            .seal("s_k", &stored(json!(1)), now + 60, now)
            .expect("seal");
        let mut raw = URL_SAFE_NO_PAD.decode(&sealed).expect("b64");
        for version in [0, 1, 3] {
            raw[0] = version;
            let other = URL_SAFE_NO_PAD.encode(&raw);
            assert_eq!(driver.open("s_k", &other, now), None);
            assert_eq!(started_at(&other), None);
        }
        for cut in [0, 1, 10, 27, 28, 36, 56, sealed.len() - 1] {
            assert_eq!(
                driver.open("s_k", &sealed[..cut], now),
                None,
                "cut at {cut}"
            );
        }
        assert_eq!(driver.open("s_k", "not base64!", now), None);
        assert_eq!(started_at("not base64! not base64! not base64!"), None);
        assert_eq!(started_at("é"), None);
    }

    #[test]
    fn long_names_seal_and_open() {
        let driver = sealer(KEY_A, &[]);
        let now = unix_now();
        let name = format!("s_{}", "k".repeat(300));
        let sealed = driver
            .seal(&name, &stored(json!(1)), now + 60, now)
            .expect("seal");
        assert!(driver.open(&name, &sealed, now).is_some());
        assert_eq!(driver.open(&name[..200], &sealed, now), None);
    }

    #[test]
    fn sealed_len_is_exact() {
        let driver = sealer(KEY_A, &[]);
        for n in 0..40 {
            let value = stored(json!("x".repeat(n)));
            let sealed = driver
                .seal("s_k", &value, unix_now(), unix_now())
                .expect("seal");
            assert_eq!(sealed_len(value.as_json().len()), sealed.len(), "{n}");
        }
    }
}
