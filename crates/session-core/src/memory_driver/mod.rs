use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use cookie::Cookie;
use parking_lot::Mutex;

use crate::driver::{Loaded, SaveRequest, SessionDriver};
use crate::{SessionConfig, SessionError, driver::IdCookie, integration::RequestContext};

mod builder;
mod keying;
mod save;
mod shard;
#[cfg(test)]
mod tests;

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
/// writes something. The store is bounded: a session idle for longer than the
/// lifetime is gone, expired entries are swept as new ones arrive, and beyond
/// the maximum number of sessions the least recently used are evicted, a
/// small batch at a time. Sessions live in up to 64 independently locked
/// shards (one per 256 sessions of the bound), so requests on different cores
/// rarely wait for each other, and no lock is held across an `.await`.
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
    shard_capacity: usize,
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

    /// A driver configured from `config` (lifetime, maximum sessions, cookie attributes).
    pub fn from_config(config: &SessionConfig) -> Self {
        MemoryDriverBuilder::from_config(config).build()
    }

    /// The number of sessions stored (expired ones not yet swept included).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().map.len()).sum()
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
        let data = match shard.map.get_mut(&id) {
            Some(entry) if !self.expired(entry, now) => {
                entry.touched_ms = now;
                entry.data.clone()
            }
            Some(_) => {
                shard.map.remove(&id);
                return Ok(Loaded::empty());
            }
            None => return Ok(Loaded::empty()),
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
            return Ok(self.save_new(&save, now));
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
}

impl fmt::Debug for MemoryDriver {
    /// Shows the settings, not the sessions (whose ids are credentials) nor
    /// the salt of client-IP keying; takes no lock.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryDriver")
            .field("shards", &self.shards.len())
            .field("shard_capacity", &self.shard_capacity)
            .field("lifetime", &Duration::from_millis(self.lifetime_ms))
            .field("id_cookie", &self.id_cookie)
            .field("keying", &self.keying)
            .field("evictions", &self.evictions())
            .finish_non_exhaustive()
    }
}
