use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use cookie::Cookie;

use crate::driver::{DriverState, Loaded, SaveRequest, SessionDriver};
use crate::{
    ConfigError, SessionConfig, SessionError,
    driver::{Bucket, CookieSettings, SessionData, StoredValue},
    integration::RequestContext,
};

mod names;
mod sealing;
#[cfg(test)]
mod tests;

pub use names::cookie_name;
pub(crate) use names::is_token;
use names::parse_cookie_name;
use sealing::{Sealer, sealed_len};

/// The largest `Set-Cookie` line a value may need: browsers drop larger cookies.
pub const MAX_COOKIE_BYTES: usize = 4096;

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
/// keys here; when a session outgrows that, switch `SESSION_DRIVER` to a
/// server-side driver.
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
    sealer: Sealer,
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
        let sealer = Sealer::new(secret, config.previous_secrets());
        let cookies = CookieSettings::from_config(config);
        let sample = cookies.cookie(String::new(), String::new(), Some(config.lifetime()));
        Ok(CookieDriver {
            sealer,
            lifetime: config.lifetime(),
            attribute_bytes: sample.to_string().len(),
            cookies,
        })
    }

    fn sealed_cookie(
        &self,
        bucket: Bucket,
        name: String,
        value: &StoredValue,
        now: u64,
    ) -> Result<Cookie<'static>, SessionError> {
        let sealed = self
            .sealer
            .seal(&name, value, now + self.lifetime.as_secs())?;
        // Flash cookies last until the browser closes; the sealed expiry
        // still bounds them.
        let max_age = (bucket == Bucket::Session).then_some(self.lifetime);
        Ok(self.cookies.cookie(name, sealed, max_age))
    }

    fn set_cookie_len(&self, name: &str, json_len: usize) -> usize {
        name.len() + sealed_len(json_len) + self.attribute_bytes
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
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
            let opened = parsed.ok().and_then(|(bucket, key)| {
                Some((bucket, key, self.sealer.open(name, sealed, now)?))
            });
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

impl fmt::Debug for CookieDriver {
    /// Shows the settings and how many keys there are, never the keys.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CookieDriver")
            .field("sealer", &self.sealer)
            .field("lifetime", &self.lifetime)
            .field("cookies", &self.cookies)
            .finish_non_exhaustive()
    }
}
