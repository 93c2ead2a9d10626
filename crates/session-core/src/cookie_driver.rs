use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cookie::Cookie;
use hkdf::Hkdf;
use rand::RngCore;
use sha2::Sha256;

use crate::driver::{DriverState, Loaded, SaveRequest, SessionDriver};
use crate::{
    Bucket, ConfigError, CookieSettings, RequestContext, SessionConfig, SessionData, SessionError,
    StoredValue,
};

/// The largest `Set-Cookie` line a value may need: browsers drop larger cookies.
pub const MAX_COOKIE_BYTES: usize = 4096;

const FORMAT_VERSION: u8 = 1;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const EXPIRY_LEN: usize = 8;
const HKDF_SALT: &[u8] = b"session-views cookie driver";
/// The format version is bound into the key itself: a value sealed in
/// another format cannot open under this key, whatever its version byte says.
const HKDF_INFO: &[u8] = b"aes-256-gcm key, format 1";

/// Sessions kept in the browser: each session key in its own encrypted cookie
/// `s_<key>`, each flash key in `f_<key>`.
///
/// Every value is sealed with AES-256-GCM under a key derived from the app
/// secret by HKDF-SHA256, with a fresh random 96-bit nonce. The cookie's name
/// is authenticated as associated data, so a value copied into another cookie does not
/// open, and the expiry (now + lifetime) is sealed inside, so a cookie replayed
/// after it expired is refused whatever its `Max-Age` said. The format starts
/// with a version byte. A cookie that does not open — tampered, forged,
/// expired, or sealed under a key no longer configured — is ignored and
/// removed from the browser; it never causes an error or a panic.
///
/// **Key rotation:** the current secret seals; previous secrets
/// ([`SessionConfig::with_previous_secret`]) still open, and a value opened
/// under one is sealed again under the current secret in the same response.
///
/// **Small sessions only.** A value whose cookie would pass
/// [`MAX_COOKIE_BYTES`] is refused by `set`/`flash` with an error naming the
/// key and the size. Browsers also cap the number of cookies per site (about
/// 50) and servers cap request headers (often 8–16 KB), so keep a few small
/// keys here; when a session outgrows that, switch `SESSION_DRIVER` to `redis`.
///
/// The `s_` and `f_` cookie-name prefixes belong to this driver: an unrelated
/// cookie with such a name fails to open and is removed. A key that is not a
/// plain cookie-name token (letters, digits, `_`, `-`, `.`) is stored under
/// `s!<base64url of the key>` (`f!` for flash) instead of being sent raw.
///
/// A cookie is re-written only when its key changed, when it was opened under
/// an old secret, or when less than half its lifetime is left (so an active
/// user's session does not end mid-use).
///
/// ```
/// use session_core::{CookieDriver, SessionConfig};
///
/// let config = SessionConfig::default().with_secret(b"0123456789abcdef0123456789abcdef")?;
/// let driver = CookieDriver::from_config(&config)?;
/// # let _ = driver;
/// # Ok::<(), session_core::ConfigError>(())
/// ```
pub struct CookieDriver {
    ciphers: Vec<Aes256Gcm>,
    lifetime: Duration,
    cookies: CookieSettings,
    /// The bytes a `Set-Cookie` line spends on `=` and the attributes.
    attribute_bytes: usize,
}

/// What `load` tells `save` about the request's cookies.
#[derive(Default)]
struct CookieState {
    rejected: Vec<String>,
    stale: Vec<(Bucket, String)>,
}

impl CookieDriver {
    /// A driver from `config`: its secret (required), previous secrets,
    /// lifetime and cookie attributes.
    pub fn from_config(config: &SessionConfig) -> Result<Self, ConfigError> {
        let secret = config.secret().ok_or(ConfigError::MissingSecret)?;
        let ciphers = std::iter::once(secret)
            .chain(config.previous_secrets())
            .map(derive_cipher)
            .collect();
        let cookies = CookieSettings::from_config(config);
        let sample = cookies.cookie(String::new(), String::new(), Some(config.lifetime()));
        Ok(CookieDriver {
            ciphers,
            lifetime: config.lifetime(),
            attribute_bytes: sample.to_string().len(),
            cookies,
        })
    }

    /// Seals `value` for the cookie `name`, valid until `expires_at` (Unix seconds).
    fn seal(
        &self,
        name: &str,
        value: &StoredValue,
        expires_at: u64,
    ) -> Result<String, SessionError> {
        let mut buf = Vec::with_capacity(1 + NONCE_LEN + EXPIRY_LEN + 128 + TAG_LEN);
        buf.push(FORMAT_VERSION);
        let mut nonce = [0u8; NONCE_LEN];
        // ThreadRng is a ChaCha CSPRNG seeded (and reseeded) from the OS:
        // unpredictable nonces without a system call per cookie.
        rand::thread_rng().try_fill_bytes(&mut nonce).map_err(|e| {
            SessionError::backend("cookie", format!("no randomness for a nonce: {e}"))
        })?;
        buf.extend_from_slice(&nonce);
        let body = buf.len();
        buf.extend_from_slice(&expires_at.to_be_bytes());
        buf.extend_from_slice(value.as_json().as_bytes());
        let (header, plaintext) = buf.split_at_mut(body);
        let tag = self.ciphers[0]
            .encrypt_in_place_detached(Nonce::from_slice(&header[1..]), name.as_bytes(), plaintext)
            .map_err(|_| SessionError::backend("cookie", "AES-GCM refused to seal a value"))?;
        buf.extend_from_slice(&tag);
        Ok(URL_SAFE_NO_PAD.encode(&buf))
    }

    /// Opens the cookie `name`: the value, its expiry, and whether it was
    /// sealed under a previous secret. `None` for anything that does not open.
    fn open(&self, name: &str, sealed: &str, now: u64) -> Option<(StoredValue, u64, bool)> {
        let mut buf = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        if buf.len() < 1 + NONCE_LEN + TAG_LEN + EXPIRY_LEN || buf[0] != FORMAT_VERSION {
            return None;
        }
        let (header, rest) = buf.split_at_mut(1 + NONCE_LEN);
        let (body, tag) = rest.split_at_mut(rest.len() - TAG_LEN);
        let nonce = Nonce::from_slice(&header[1..]);
        let tag = aes_gcm::Tag::from_slice(tag);
        let aad = name.as_bytes();
        let last = self.ciphers.len() - 1;
        let mut opened_with = None;
        for (index, cipher) in self.ciphers.iter().enumerate() {
            // Decryption works in place; a failed attempt must not spoil the
            // ciphertext for the next key, so all but the last try a copy.
            if index == last {
                if cipher
                    .decrypt_in_place_detached(nonce, aad, body, tag)
                    .is_ok()
                {
                    opened_with = Some(index);
                }
                break;
            }
            let mut attempt = body.to_vec();
            if cipher
                .decrypt_in_place_detached(nonce, aad, &mut attempt, tag)
                .is_ok()
            {
                body.copy_from_slice(&attempt);
                opened_with = Some(index);
                break;
            }
        }
        let index = opened_with?;
        let plaintext = &*body;
        let (expiry, json) = plaintext.split_at(EXPIRY_LEN);
        let expires_at = u64::from_be_bytes(expiry.try_into().ok()?);
        if expires_at <= now {
            return None;
        }
        // Sealed by us, so valid JSON unless the secret leaked; checked anyway.
        let value = StoredValue::from_json_str(std::str::from_utf8(json).ok()?).ok()?;
        Some((value, expires_at, index > 0))
    }

    fn sealed_cookie(
        &self,
        bucket: Bucket,
        name: String,
        value: &StoredValue,
        now: u64,
    ) -> Result<Cookie<'static>, SessionError> {
        let sealed = self.seal(&name, value, now + self.lifetime.as_secs())?;
        // Flash cookies last until the browser closes; the sealed expiry
        // still bounds them.
        let max_age = (bucket == Bucket::Session).then_some(self.lifetime);
        Ok(self.cookies.cookie(name, sealed, max_age))
    }

    fn set_cookie_len(&self, name: &str, json_len: usize) -> usize {
        let raw = 1 + NONCE_LEN + EXPIRY_LEN + json_len + TAG_LEN;
        name.len() + raw.div_ceil(3) * 4 - (3 - raw % 3) % 3 + self.attribute_bytes
    }
}

fn derive_cipher(secret: &[u8]) -> Aes256Gcm {
    let mut key = [0u8; 32];
    // 32 bytes is far below HKDF-SHA256's output limit, so expand cannot fail.
    let _ = Hkdf::<Sha256>::new(Some(HKDF_SALT), secret).expand(HKDF_INFO, &mut key);
    Aes256Gcm::new(&key.into())
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn is_plain_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// An RFC 6265 cookie-name token: visible ASCII, no separators.
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b))
}

/// The cookie name for `key`: `s_key`/`f_key`, or `s!`/`f!` plus the key in
/// base64url when the key is not a plain token.
pub fn cookie_name(bucket: Bucket, key: &str) -> String {
    let prefix = match bucket {
        Bucket::Session => 's',
        Bucket::Flash => 'f',
    };
    let mut name = String::with_capacity(2 + key.len() * 4 / 3 + 3);
    name.push(prefix);
    if is_plain_key(key) {
        name.push('_');
        name.push_str(key);
    } else {
        name.push('!');
        URL_SAFE_NO_PAD.encode_string(key, &mut name);
    }
    name
}

/// The bucket and key a cookie name stands for, if it is one of this driver's.
/// `Err(())` for a name with our prefix that does not decode.
fn parse_cookie_name(name: &str) -> Option<Result<(Bucket, Cow<'_, str>), ()>> {
    let bucket = match name.as_bytes().first()? {
        b's' => Bucket::Session,
        b'f' => Bucket::Flash,
        _ => return None,
    };
    let rest = &name[1..];
    if let Some(key) = rest.strip_prefix('_') {
        return Some(if is_plain_key(key) {
            Ok((bucket, Cow::Borrowed(key)))
        } else {
            Err(())
        });
    }
    let encoded = rest.strip_prefix('!')?;
    let key = URL_SAFE_NO_PAD
        .decode(encoded)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .filter(|key| !is_plain_key(key));
    Some(key.map(|key| (bucket, Cow::Owned(key))).ok_or(()))
}

#[async_trait]
impl SessionDriver for CookieDriver {
    async fn load(&self, request: &RequestContext) -> Result<Loaded, SessionError> {
        let now = unix_now();
        let mut data = SessionData::default();
        let mut state = CookieState::default();
        for (name, sealed) in request.cookies() {
            // A name that is not a cookie-name token is none this driver
            // sets, and echoing it into a removal would emit a broken
            // `Set-Cookie` (a newline, say, from a hand-made header).
            if !is_token(name) {
                continue;
            }
            let Some(parsed) = parse_cookie_name(name) else {
                continue;
            };
            let opened = parsed
                .ok()
                .and_then(|(bucket, key)| Some((bucket, key, self.open(name, sealed, now)?)));
            let Some((bucket, key, (value, expires_at, old_key))) = opened else {
                state.rejected.push(name.to_owned());
                continue;
            };
            let half_spent = expires_at.saturating_sub(now) < self.lifetime.as_secs() / 2;
            if old_key || (bucket == Bucket::Session && half_spent) {
                state.stale.push((bucket, key.clone().into_owned()));
            }
            data.bucket_mut(bucket).insert(key, value);
        }
        let needs_save = !state.rejected.is_empty() || !state.stale.is_empty();
        Ok(Loaded {
            id: None,
            data: Arc::new(data),
            // The usual request has nothing to remove or refresh: no state.
            state: needs_save.then(|| Box::new(state) as DriverState),
            needs_save,
        })
    }

    async fn save(&self, save: SaveRequest<'_>) -> Result<Vec<Cookie<'static>>, SessionError> {
        let now = unix_now();
        let empty = CookieState::default();
        let state = save
            .state
            .and_then(|s| s.downcast_ref::<CookieState>())
            .unwrap_or(&empty);
        // One Set-Cookie per name; later entries win (a write over a clear).
        let mut out: BTreeMap<String, Cookie<'static>> = BTreeMap::new();
        for name in &state.rejected {
            out.insert(name.clone(), self.cookies.removal(name.clone()));
        }
        // The cookies the request carried are read again from the request
        // rather than listed at load: most requests never need them.
        for bucket in [Bucket::Session, Bucket::Flash] {
            if save.changes.clears(bucket) {
                for (name, _) in save.request.cookies() {
                    if is_token(name)
                        && matches!(parse_cookie_name(name), Some(Ok((b, _))) if b == bucket)
                    {
                        out.insert(name.to_owned(), self.cookies.removal(name.to_owned()));
                    }
                }
            }
        }
        for (bucket, key) in &state.stale {
            if let Some(value) = save.data.bucket(*bucket).get(key) {
                let name = cookie_name(*bucket, key);
                out.insert(name.clone(), self.sealed_cookie(*bucket, name, value, now)?);
            }
        }
        for bucket in [Bucket::Session, Bucket::Flash] {
            for (key, op) in save.changes.bucket(bucket) {
                let name = cookie_name(bucket, key);
                match op {
                    Some(value) => {
                        let cookie = self.sealed_cookie(bucket, name.clone(), value, now)?;
                        out.insert(name, cookie);
                    }
                    None if save.request.cookie(&name).is_some() => {
                        out.insert(name.clone(), self.cookies.removal(name));
                    }
                    None => {
                        out.remove(&name);
                    }
                }
            }
        }
        Ok(out.into_values().collect())
    }

    fn check_value(
        &self,
        key: &str,
        bucket: Bucket,
        value: &StoredValue,
    ) -> Result<(), SessionError> {
        let json_len = value.as_json().len();
        let size = self.set_cookie_len(&cookie_name(bucket, key), json_len);
        if size > MAX_COOKIE_BYTES {
            return Err(SessionError::ValueTooLarge {
                key: key.to_owned(),
                size,
                limit: MAX_COOKIE_BYTES,
                driver: "cookie",
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stored(value: serde_json::Value) -> StoredValue {
        StoredValue::try_from(value).expect("a shallow value")
    }

    fn driver_with(secret: &[u8], previous: &[&[u8]]) -> CookieDriver {
        let mut config = SessionConfig::default()
            .with_secret(secret)
            .expect("secret");
        for old in previous {
            config = config.with_previous_secret(old).expect("secret");
        }
        CookieDriver::from_config(&config).expect("driver")
    }

    const KEY_A: &[u8] = b"A secret of thirty-two bytes....";
    const KEY_B: &[u8] = b"Another secret of 32 bytes or so";

    #[test]
    fn seal_then_open_round_trips_and_each_seal_differs() {
        let driver = driver_with(KEY_A, &[]);
        let value = stored(json!({"name": "Ada", "roles": ["admin"]}));
        let now = unix_now();
        let a = driver.seal("s_user", &value, now + 60).expect("seal");
        let b = driver.seal("s_user", &value, now + 60).expect("seal");
        assert_ne!(a, b, "a fresh nonce per seal");
        assert_eq!(
            driver.open("s_user", &a, now),
            Some((value, now + 60, false))
        );
    }

    #[test]
    fn a_value_under_another_name_does_not_open() {
        let driver = driver_with(KEY_A, &[]);
        let now = unix_now();
        let sealed = driver
            .seal("s_role", &stored(json!("admin")), now + 60)
            .expect("seal");
        assert!(driver.open("s_role", &sealed, now).is_some());
        assert_eq!(driver.open("s_user", &sealed, now), None);
        assert_eq!(driver.open("f_role", &sealed, now), None);
    }

    #[test]
    fn expired_cookie_is_refused() {
        let driver = driver_with(KEY_A, &[]);
        let now = unix_now();
        let sealed = driver
            .seal("s_user", &stored(json!(1)), now - 1)
            .expect("seal");
        assert_eq!(driver.open("s_user", &sealed, now), None);
    }

    #[test]
    fn wrong_key_is_refused_and_previous_key_opens_as_old() {
        let now = unix_now();
        let old = driver_with(KEY_B, &[]);
        let sealed = old
            .seal("s_user", &stored(json!("x")), now + 60)
            .expect("seal");
        assert_eq!(driver_with(KEY_A, &[]).open("s_user", &sealed, now), None);
        let rotated = driver_with(KEY_A, &[KEY_B]);
        assert_eq!(
            rotated.open("s_user", &sealed, now),
            Some((stored(json!("x")), now + 60, true))
        );
    }

    #[test]
    fn version_byte_and_truncation_are_checked() {
        let driver = driver_with(KEY_A, &[]);
        let now = unix_now();
        let sealed = driver
            .seal("s_k", &stored(json!(1)), now + 60)
            .expect("seal");
        let mut raw = URL_SAFE_NO_PAD.decode(&sealed).expect("b64");
        raw[0] = 2;
        assert_eq!(driver.open("s_k", &URL_SAFE_NO_PAD.encode(&raw), now), None);
        for cut in [0, 1, 10, 36, sealed.len() - 1] {
            assert_eq!(
                driver.open("s_k", &sealed[..cut], now),
                None,
                "cut at {cut}"
            );
        }
        assert_eq!(driver.open("s_k", "not base64!", now), None);
    }

    #[test]
    fn names_encode_keys_that_are_not_tokens() {
        for key in [
            "user",
            "a.b-c_d",
            "with space",
            "semi;colon",
            "eq=",
            "ünï",
            "",
            "s_x",
        ] {
            for bucket in [Bucket::Session, Bucket::Flash] {
                let name = cookie_name(bucket, key);
                assert!(
                    name.bytes()
                        .all(|b| b.is_ascii_graphic() && !b";,=\"\\".contains(&b)),
                    "{name:?} is not a cookie token"
                );
                assert_eq!(
                    parse_cookie_name(&name),
                    Some(Ok((bucket, Cow::Borrowed(key))))
                );
            }
        }
        assert_eq!(parse_cookie_name("session_id"), None);
        assert_eq!(parse_cookie_name("other"), None);
        assert_eq!(parse_cookie_name("s_bad%"), Some(Err(())));
        assert_eq!(parse_cookie_name("f!!!"), Some(Err(())));
        // a plain key smuggled through the encoded form is not a second name for it
        let smuggled = format!("s!{}", URL_SAFE_NO_PAD.encode("user"));
        assert_eq!(parse_cookie_name(&smuggled), Some(Err(())));
    }

    /// Found by fuzzing (`fuzz/` target `cookie`): a name with a newline,
    /// possible through `RequestContext::from_cookie_header`, was echoed
    /// into a removal `Set-Cookie` that is not a valid header.
    #[tokio::test(flavor = "current_thread")]
    async fn cookies_whose_names_are_not_tokens_are_ignored_not_echoed() {
        let config = SessionConfig::default().with_secret(KEY_A).expect("secret");
        let manager = crate::SessionManager::builder()
            .driver(
                "cookie",
                CookieDriver::from_config(&config).expect("driver"),
            )
            .default_driver("cookie")
            .build()
            .expect("manager");
        let header = "s!YSBi\nf_success=x; s x=1; s_\u{e9}=2; s(=3; s_bad%=4";
        let sessions = manager.request(RequestContext::from_cookie_header(header));
        let session = sessions.session().await.expect("load");
        assert_eq!(session.all(), json!({}));
        let set = sessions.finish(http::StatusCode::OK).await.expect("save");
        let names: Vec<&str> = set.iter().map(|c| c.name()).collect();
        assert_eq!(names, ["s_bad%"], "only the token is ours to remove");
        for cookie in &set {
            assert!(http::HeaderValue::try_from(cookie.to_string()).is_ok());
        }
        assert!(is_token("s!YSBi") && is_token("f_a.b-c") && is_token("s_bad%"));
        assert!(!is_token("") && !is_token("s x") && !is_token("s\nx") && !is_token("s=x"));
    }

    #[test]
    fn predicted_cookie_length_is_exact() {
        let driver = driver_with(KEY_A, &[]);
        for n in 0..40 {
            let value = stored(json!("x".repeat(n)));
            let json_len = value.as_json().len();
            let cookie = driver
                .sealed_cookie(Bucket::Session, "s_k".into(), &value, unix_now())
                .expect("seal");
            assert_eq!(
                driver.set_cookie_len("s_k", json_len),
                cookie.to_string().len(),
                "{n}"
            );
        }
    }
}
