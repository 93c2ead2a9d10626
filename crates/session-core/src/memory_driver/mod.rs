use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use cookie::Cookie;
use parking_lot::Mutex;

use crate::driver::{Bucket, Loaded, SaveRequest, SessionDriver, StoredValue};
use crate::{SessionConfig, SessionError, driver::IdCookie, integration::RequestContext};

mod budget;
mod builder;
mod keying;
mod save;
mod segments;
mod shard;
#[cfg(test)]
mod tests;

use budget::Limits;
pub use builder::MemoryDriverBuilder;
use keying::Keying;
use save::LoadedData;
use shard::Shard;

/// The driver's name: in its errors, and for [`IdCookie::for_driver`].
const DRIVER: &str = "memory";

/// Sessions kept in the process's memory: the default driver.
///
/// Each session is found by an opaque random [`SessionId`](crate::driver::SessionId)
/// in an `HttpOnly` cookie (`session_id` unless configured; see
/// [`IdCookie`]). Nothing is stored and no cookie is set until a request
/// writes something. The store is bounded:
///
/// - a session idle for longer than the lifetime is gone, and expired
///   entries are swept as new ones arrive;
/// - in bytes: a total budget (64 MiB by default, `SESSION_MAX_BYTES`), a
///   limit on one value that [`Session::set`](crate::Session::set) enforces
///   (64 KiB, `SESSION_MAX_VALUE_BYTES`), and one on a whole session (see
///   [`max_session_bytes`](Self::max_session_bytes));
/// - in number: at most 100 000 sessions by default (`SESSION_MAX_SESSIONS`).
///
/// Beyond a bound the least recently used sessions are evicted, a small
/// batch at a time, and sessions that came back (a later request loaded
/// them) go last: a flood of sessions that are created and never used again
/// cannot push out the users who came back (up to 80% of the bounds).
/// Sessions live in up to 64 independently locked shards (each with an
/// equal part of the bounds), so requests on different cores rarely wait
/// for each other, and no lock is held across an `.await`.
///
/// `regenerate()` and `invalidate()` are a boundary: a request that loaded
/// the session before another request changed its id and saves after it
/// is refused with [`SessionError::StaleSession`] and writes nothing.
///
/// Memory sessions belong to one process: with several workers or machines,
/// use the cookie driver or a server-side driver that they share.
///
/// ```
/// use std::time::Duration;
/// use session_core::{MemoryDriver, SessionManager};
///
/// let driver = MemoryDriver::builder()
///     .lifetime(Duration::from_secs(30 * 60))
///     .max_sessions(50_000)
///     .build();
/// let manager = SessionManager::builder().driver("memory", driver).build().unwrap();
/// # let _ = manager;
/// ```
pub struct MemoryDriver {
    shards: Box<[Mutex<Shard>]>,
    /// The bounds of each shard.
    limits: Limits,
    /// The most one value (its key and JSON text) may take.
    max_value_bytes: usize,
    lifetime_ms: u64,
    sweep_every_ms: u64,
    id_cookie: IdCookie,
    keying: Keying,
    epoch: Instant,
    ip_salt: [u8; 32],
    evictions: AtomicU64,
}

impl Default for MemoryDriver {
    fn default() -> Self {
        Self::builder().build()
    }
}

impl MemoryDriver {
    /// A builder with the defaults of [`SessionConfig::default`].
    pub fn builder() -> MemoryDriverBuilder {
        MemoryDriverBuilder::from_config(&SessionConfig::default())
    }

    /// A driver configured from `config` (lifetime, bounds, cookie attributes).
    pub fn from_config(config: &SessionConfig) -> Self {
        MemoryDriverBuilder::from_config(config).build()
    }

    /// The number of sessions stored (expired ones not yet swept included).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().sessions.len()).sum()
    }

    /// The bytes the stored sessions are counted for: an estimate of the
    /// heap they take (their keys and values, and a fixed cost for each
    /// value and session), which stays within the byte budget.
    pub fn bytes(&self) -> usize {
        self.shards.iter().map(|s| s.lock().sessions.bytes()).sum()
    }

    /// The most bytes one session may take: a quarter of one shard's share
    /// of the budget (224 KiB with the defaults). A save that would
    /// make a session larger is refused with [`SessionError::SessionTooLarge`]
    /// and changes nothing, so that one session never pushes out more than a
    /// quarter of the sessions it shares a shard with.
    ///
    /// ```
    /// use session_core::MemoryDriver;
    ///
    /// let driver = MemoryDriver::builder().max_bytes(8 << 20).build();
    /// assert!(driver.max_session_bytes() > 200 << 10);
    /// ```
    pub fn max_session_bytes(&self) -> usize {
        self.limits.session_bytes
    }

    /// The most one value may take, its key and JSON text: larger ones are
    /// refused by `set` and `flash` with [`SessionError::ValueTooLarge`].
    pub fn max_value_bytes(&self) -> usize {
        self.max_value_bytes
    }

    /// True when no session is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of sessions evicted so far because the store was full.
    pub fn evictions(&self) -> u64 {
        self.evictions.load(Ordering::Relaxed)
    }

    /// Removes every expired session now (it also happens as sessions are created).
    pub fn sweep_expired(&self) {
        let now = self.now_ms();
        for shard in self.shards.iter() {
            self.sweep(&mut shard.lock(), now);
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

#[async_trait]
impl SessionDriver for MemoryDriver {
    async fn load(&self, request: &RequestContext) -> Result<Loaded, SessionError> {
        let Some(id) = self.request_id(request)? else {
            return Ok(Loaded::empty());
        };
        let now = self.now_ms();
        let mut shard = self.shard(&id).lock();
        let Some(data) = shard.sessions.revisit(&id, now, self.lifetime_ms) else {
            return Ok(Loaded::empty());
        };
        drop(shard);
        Ok(Loaded {
            id: Some(id),
            data: data.clone(),
            state: Some(Box::new(LoadedData(data))),
            ..Loaded::empty()
        })
    }

    async fn save(&self, save: SaveRequest<'_>) -> Result<Vec<Cookie<'static>>, SessionError> {
        let now = self.now_ms();
        if let Keying::ClientIp { .. } = self.keying {
            return self.save_by_client_ip(&save, now);
        }
        let Some(old) = save.id.copied() else {
            return self.save_new(&save, now);
        };
        if !save.changes.regenerate {
            if let Some(cookies) = self.save_in_place(&save, old, now)? {
                return Ok(cookies);
            }
            // The entry expired or was evicted during the request: store this
            // request's whole view under a new id rather than lose it.
        }
        self.save_to_new_id(&save, old, now)
    }

    fn check_value(
        &self,
        key: &str,
        _bucket: Bucket,
        value: &StoredValue,
    ) -> Result<(), SessionError> {
        let size = key.len().saturating_add(value.as_json().len());
        if size > self.max_value_bytes {
            return Err(SessionError::ValueTooLarge {
                key: key.to_owned(),
                size,
                limit: self.max_value_bytes,
                driver: DRIVER,
            });
        }
        Ok(())
    }
}

impl fmt::Debug for MemoryDriver {
    /// Shows the settings, not the sessions (whose ids are credentials) nor
    /// the salt of client-IP keying; takes no lock.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryDriver")
            .field("shards", &self.shards.len())
            .field("shard_limits", &self.limits)
            .field("max_value_bytes", &self.max_value_bytes)
            .field("lifetime", &Duration::from_millis(self.lifetime_ms))
            .field("id_cookie", &self.id_cookie)
            .field("keying", &self.keying)
            .field("evictions", &self.evictions())
            .finish_non_exhaustive()
    }
}
