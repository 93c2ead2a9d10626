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
mod save;
mod sealing;
#[cfg(test)]
mod tests;

pub use names::cookie_name;
pub(crate) use names::is_token;
use names::parse_cookie_name;
use sealing::{Opened, Sealer, sealed_len};

/// The largest `Set-Cookie` line a value may need: browsers drop larger cookies.
pub const MAX_COOKIE_BYTES: usize = 4096;

/// Sessions kept in the browser: each session key in its own encrypted cookie
/// `s_<key>`, each flash key in `f_<key>`.
///
/// Every value is sealed with AES-256-GCM under a key derived from the app
/// secret by HKDF-SHA256, with a fresh random 96-bit nonce. The cookie's name
/// is authenticated as associated data, so a value copied into another cookie
/// does not open. Sealed inside are an expiry and the session's start, so a
/// cookie replayed after it expired is refused whatever its `Max-Age` said:
///
/// - a session cookie expires [`SessionConfig::lifetime`] after it was last
///   written, and is written again (refreshed) once half of that is spent;
/// - a flash cookie expires [`SessionConfig::flash_lifetime`] after it was
///   written (5 minutes by default), so a copy of one taken before the flash
///   was cleared is soon worthless;
/// - no cookie outlives [`SessionConfig::absolute_lifetime`] (12 hours by
///   default) counted from the session's start, however often it is
///   refreshed or rewritten. The session starts with the first key written
///   to a browser that has none, and again at `regenerate` (call it at
///   login) or `invalidate`/`reset`, which seal every key anew.
///
/// The format starts with a version byte. A cookie that does not open —
/// tampered, forged, expired, past the absolute lifetime, sealed in an older
/// format, or sealed under a key no longer configured — is ignored and
/// removed from the browser; it never causes an error or a panic.
///
/// **Stateless, so not revocable.** Nothing is kept on the server: a copied
/// session cookie works until it expires (at most the absolute lifetime), a
/// copied flash cookie until the flash lifetime passes, even after the
/// response that removed them. Use a server-side driver where logout must
/// end a session at once.
///
/// **Key rotation:** the current secret seals; previous secrets
/// ([`SessionConfig::with_previous_secret`]) still open, and a value opened
/// under one is sealed again under the current secret in the same response.
///
/// **Small sessions only.** A value whose `Set-Cookie` line would pass
/// [`MAX_COOKIE_BYTES`] is refused by `set`/`flash` with an error naming the
/// key and the size; the size is computed exactly for each kind of cookie
/// (a flash cookie carries no `Max-Age`). Browsers also cap the number of
/// cookies per site (about 50) and servers cap request headers (often
/// 8–16 KB), so keep a few small keys here; when a session outgrows that,
/// switch `SESSION_DRIVER` to a server-side driver.
///
/// The `s_` and `f_` cookie-name prefixes belong to this driver: an unrelated
/// cookie with such a name fails to open and is removed — at most
/// [`MAX_REJECTED_REMOVALS`](Self::MAX_REJECTED_REMOVALS) of them per
/// response. A key that is not a plain cookie-name token (letters, digits,
/// `_`, `-`, `.`) is stored under `s!<base64url of the key>` (`f!` for flash)
/// instead of being sent raw.
///
/// A cookie is re-written only when its key changed, when it was opened under
/// an old secret, or when less than half its lifetime is left (so an active
/// user's session does not end mid-use).
///
/// ```
/// use session_core::{CookieDriver, SessionConfig};
///
/// // In production: SESSION_SECRET from `openssl rand -base64 48`.
/// let config = SessionConfig::default()
///     .with_secret(b"q3Vb0c5Xv0m3l7mJ6qRZ8k1yH9wqB8xq0Jr6Zx0iV2Wq7d8m")?;
/// let driver = CookieDriver::from_config(&config)?;
/// # let _ = driver;
/// # Ok::<(), session_core::ConfigError>(())
/// ```
pub struct CookieDriver {
    sealer: Sealer,
    /// A session cookie's idle lifetime (never more than the absolute one).
    lifetime: Duration,
    /// A flash cookie's lifetime (never more than the absolute one).
    flash_lifetime: Duration,
    /// The longest any cookie lives after its session started, in seconds.
    absolute_lifetime: u64,
    cookies: CookieSettings,
    /// The bytes a session cookie's `Set-Cookie` line spends on `=` and the
    /// attributes, `Max-Age` included.
    session_attribute_bytes: usize,
    /// The same for a flash cookie, which has no `Max-Age`.
    flash_attribute_bytes: usize,
}

/// What `load` tells `save` about the request's cookies. Only a request
/// with cookies to remove or refresh has one.
#[derive(Default)]
struct CookieState {
    /// Cookies that did not open, to remove: at most
    /// [`CookieDriver::MAX_REJECTED_REMOVALS`]; any more are ignored.
    rejected: Vec<String>,
    /// Cookies to seal again (old key, or half their lifetime spent): the
    /// bucket, the key and the session start they keep.
    stale: Vec<(Bucket, String, u64)>,
    /// The earliest session start among the cookies that opened.
    started: Option<u64>,
    /// What opened: when cookies were rejected, clearing a bucket removes
    /// these rather than every cookie with our prefix the request carried.
    loaded: Arc<SessionData>,
}

impl CookieDriver {
    /// The most cookies that did not open one response removes. A request
    /// can carry thousands of junk `s_…=` cookies; answering each with a
    /// removal would make the response many times larger than the request.
    /// Past this many the rest are ignored, exactly as the removed ones are:
    /// never read, never trusted. An honest browser holds only cookies this
    /// driver sealed, and loses its rejected ones within a few responses.
    pub const MAX_REJECTED_REMOVALS: usize = 32;

    /// A driver from `config`: its secret (required), previous secrets,
    /// lifetimes and cookie attributes. A configuration that fails
    /// [`SessionConfig::validate`] is refused.
    pub fn from_config(config: &SessionConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        let secret = config.secret().ok_or(ConfigError::MissingSecret)?;
        let sealer = Sealer::new(secret, config.previous_secrets());
        let cookies = CookieSettings::from_config(config);
        let absolute = config.absolute_lifetime();
        let lifetime = config.lifetime().min(absolute);
        let attribute_bytes = |max_age| {
            cookies
                .cookie(String::new(), String::new(), max_age)
                .to_string()
                .len()
        };
        Ok(CookieDriver {
            sealer,
            lifetime,
            flash_lifetime: config.flash_lifetime().min(absolute),
            absolute_lifetime: absolute.as_secs(),
            session_attribute_bytes: attribute_bytes(Some(lifetime)),
            flash_attribute_bytes: attribute_bytes(None),
            cookies,
        })
    }

    /// The cookie for `value`, valid until its lifetime passes or its
    /// session's absolute lifetime ends, whichever comes first.
    fn sealed_cookie(
        &self,
        bucket: Bucket,
        name: String,
        value: &StoredValue,
        now: u64,
        started_at: u64,
    ) -> Result<Cookie<'static>, SessionError> {
        let lifetime = match bucket {
            Bucket::Session => self.lifetime,
            Bucket::Flash => self.flash_lifetime,
        };
        let expires_at = now
            .saturating_add(lifetime.as_secs())
            .min(self.deadline(started_at));
        let sealed = self.sealer.seal(&name, value, expires_at, started_at)?;
        // Flash cookies last until the browser closes; the sealed expiry
        // bounds them. Session cookies keep one `Max-Age`, the lifetime, so
        // that `check_value` knows their size exactly; one sent after its
        // sealed expiry is refused and removed.
        let max_age = (bucket == Bucket::Session).then_some(self.lifetime);
        Ok(self.cookies.cookie(name, sealed, max_age))
    }

    /// When a session that started at `started_at` ends, however active.
    fn deadline(&self, started_at: u64) -> u64 {
        started_at.saturating_add(self.absolute_lifetime)
    }

    /// The exact length of the `Set-Cookie` line of a `bucket` cookie named
    /// `name` holding `json_len` bytes of JSON.
    fn set_cookie_len(&self, bucket: Bucket, name: &str, json_len: usize) -> usize {
        let attributes = match bucket {
            Bucket::Session => self.session_attribute_bytes,
            Bucket::Flash => self.flash_attribute_bytes,
        };
        name.len() + sealed_len(json_len) + attributes
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
                let opened = self.sealer.open(name, sealed, now)?;
                (self.deadline(opened.started_at) > now).then_some((bucket, key, opened))
            });
            let Some((bucket, key, opened)) = opened else {
                if state.rejected.len() < Self::MAX_REJECTED_REMOVALS {
                    state.rejected.push(name.to_owned());
                }
                continue;
            };
            let Opened {
                value,
                expires_at,
                started_at,
                old_key,
            } = opened;
            state.started = Some(state.started.map_or(started_at, |s| s.min(started_at)));
            // A session cookie is refreshed once half its lifetime is spent,
            // unless the absolute lifetime already caps it.
            let refresh = bucket == Bucket::Session
                && expires_at.saturating_sub(now) < self.lifetime.as_secs() / 2
                && expires_at < self.deadline(started_at);
            if old_key || refresh {
                state
                    .stale
                    .push((bucket, key.clone().into_owned(), started_at));
            }
            data.bucket_mut(bucket).insert(key, value);
        }
        let needs_save = !state.rejected.is_empty() || !state.stale.is_empty();
        let data = Arc::new(data);
        Ok(Loaded {
            id: None,
            // The usual request has nothing to remove or refresh: no state.
            state: needs_save.then(|| {
                state.loaded = data.clone();
                Box::new(state) as DriverState
            }),
            data,
            needs_save,
        })
    }

    async fn save(&self, save: SaveRequest<'_>) -> Result<Vec<Cookie<'static>>, SessionError> {
        let state = save.state.and_then(|s| s.downcast_ref::<CookieState>());
        self.save_cookies(&save, state, unix_now())
    }

    fn check_value(
        &self,
        key: &str,
        bucket: Bucket,
        value: &StoredValue,
    ) -> Result<(), SessionError> {
        let json_len = value.as_json().len();
        let size = self.set_cookie_len(bucket, &cookie_name(bucket, key), json_len);
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
            .field("flash_lifetime", &self.flash_lifetime)
            .field(
                "absolute_lifetime",
                &Duration::from_secs(self.absolute_lifetime),
            )
            .field("cookies", &self.cookies)
            .finish_non_exhaustive()
    }
}
