use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use cookie::Cookie;
use parking_lot::Mutex;
use sha2::{Digest, Sha256};

use crate::driver::{Loaded, SaveRequest, SessionDriver};
use crate::{
    CookieSettings, RequestContext, SESSION_ID_BYTES, SessionConfig, SessionData, SessionError,
    SessionId,
};

const SHARDS: usize = 64;

/// Sessions kept in the process's memory: the default driver.
///
/// Each session is found by an opaque random [`SessionId`] in an `HttpOnly`
/// cookie (`session_id` unless configured). Nothing is stored and no cookie
/// is set until a request writes something. The store is bounded: a session
/// idle for longer than the lifetime is gone, expired entries are swept as
/// new ones arrive, and beyond the maximum number of sessions the least
/// recently used are evicted, a small batch at a time. Sessions live in up to
/// 64 independently locked shards (one per 256 sessions of the bound), so
/// requests on different cores rarely wait for each other, and no lock is
/// held across an `.await`.
///
/// Memory sessions belong to one process: with several workers or machines,
/// use the cookie or redis driver.
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
    cookie_name: String,
    cookies: CookieSettings,
    keying: Keying,
    epoch: Instant,
    ip_salt: [u8; 32],
    evictions: AtomicU64,
}

enum Keying {
    Cookie,
    ClientIp { trusted_proxies: Vec<IpAddr> },
}

#[derive(Default)]
struct Shard {
    map: HashMap<SessionId, Entry, BuildHasherDefault<IdHasher>>,
    /// Ids that regenerate, invalidate or an emptying save ended, and where
    /// their data went; see [`Moved`].
    moved: HashMap<SessionId, Moved, BuildHasherDefault<IdHasher>>,
    last_sweep_ms: u64,
}

/// Left behind for a while when an id ends (regenerate, invalidate, a save
/// that empties the session), so that a request still running on the old id
/// cannot bring the session back: its changes follow the data to `to`
/// (nowhere, when the session ended), and its response sets no cookie.
/// Without it, a slow request finishing after a logout would store its
/// whole, logged-in view under a fresh id — and log the user back in.
struct Moved {
    to: Option<SessionId>,
    until_ms: u64,
}

/// A full shard evicts its least recently used 1/`EVICTION_BATCH` at once.
const EVICTION_BATCH: usize = 32;

/// How long an ended id remembers where its data went.
const MOVED_FOR_MS: u64 = 10 * 60 * 1000;

/// A stored session: one immutable, shared copy of its data. A request
/// that loads it takes a reference (no copy, no parse); a request that writes
/// makes its own copy, and its save puts a new one in place. Values are kept
/// as their JSON text in sorted vectors, so an idle session costs a few
/// hundred bytes.
struct Entry {
    data: Arc<SessionData>,
    touched_ms: u64,
}

/// The data a request loaded, handed from `load` to `save`: when the entry
/// still holds this very copy, nothing was written meanwhile.
struct LoadedData(Arc<SessionData>);

/// True when `entry` still holds the copy `save`'s request loaded: nothing
/// was written meanwhile, so the stored data with the request's changes is
/// exactly the request's own view, [`SaveRequest::data`].
fn unchanged_since_load(save: &SaveRequest<'_>, entry: &Entry) -> bool {
    save.state
        .and_then(|state| state.downcast_ref::<LoadedData>())
        .is_some_and(|loaded| Arc::ptr_eq(&loaded.0, &entry.data))
}

/// Session ids are uniformly random (or a salted SHA-256 for IP keying),
/// and only the server creates them, so their first bytes are already a good
/// hash; hashing them again would only cost time.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8).take(1) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 ^= u64::from_le_bytes(word);
        }
    }
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

    fn shard(&self, id: &SessionId) -> &Mutex<Shard> {
        // The hash uses the first bytes; the shard comes from the last ones so
        // the two stay independent.
        &self.shards[self.shard_index(id)]
    }

    fn expired(&self, entry: &Entry, now: u64) -> bool {
        now.saturating_sub(entry.touched_ms) > self.lifetime_ms
    }

    fn sweep(&self, shard: &mut Shard, now: u64) {
        shard.map.retain(|_, entry| !self.expired(entry, now));
        shard.moved.retain(|_, moved| moved.until_ms > now);
        shard.last_sweep_ms = now;
    }

    fn shard_index(&self, id: &SessionId) -> usize {
        usize::from(id.as_bytes()[SESSION_ID_BYTES - 1]) % self.shards.len()
    }

    /// Runs `f` with the shards of `first` and `second` locked (in index
    /// order, so two such calls cannot deadlock); `None` when both ids live
    /// in the same shard, which `f` then gets once.
    fn with_two_shards<R>(
        &self,
        first: &SessionId,
        second: &SessionId,
        f: impl FnOnce(&mut Shard, Option<&mut Shard>) -> R,
    ) -> R {
        let (i, j) = (self.shard_index(first), self.shard_index(second));
        if i == j {
            return f(&mut self.shards[i].lock(), None);
        }
        let (mut a, mut b) = if i < j {
            let a = self.shards[i].lock();
            (a, self.shards[j].lock())
        } else {
            let b = self.shards[j].lock();
            (self.shards[i].lock(), b)
        };
        f(&mut a, Some(&mut b))
    }

    /// Records, in `id`'s shard (locked by the caller, in the same critical
    /// section that removed the entry), that `id` ended and its data, if
    /// any, went to `to`.
    fn record_moved(&self, shard: &mut Shard, id: SessionId, to: Option<SessionId>, now: u64) {
        if shard.moved.len() >= self.shard_capacity {
            shard.moved.retain(|_, moved| moved.until_ms > now);
        }
        if shard.moved.len() < self.shard_capacity {
            let until_ms = now.saturating_add(MOVED_FOR_MS.min(self.lifetime_ms));
            shard.moved.insert(id, Moved { to, until_ms });
        }
    }

    /// Where the data of an ended `id` went: `None` if `id` did not end
    /// (it is live, or unknown), `Some(None)` if the session ended. `shard`
    /// is `id`'s, locked by the caller.
    fn moved_to(shard: &Shard, id: &SessionId, now: u64) -> Option<Option<SessionId>> {
        if shard.map.contains_key(id) {
            return None;
        }
        shard
            .moved
            .get(id)
            .filter(|moved| moved.until_ms > now)
            .map(|moved| moved.to)
    }

    /// Applies a late request's changes where the data of its ended id went
    /// (following at most a few regenerations); nothing when the session ended.
    fn apply_moved(
        &self,
        mut to: Option<SessionId>,
        save: &SaveRequest<'_>,
        now: u64,
    ) -> Result<(), SessionError> {
        for _ in 0..4 {
            let Some(id) = to else { return Ok(()) };
            let mut shard = self.shard(&id).lock();
            if let Some(entry) = shard.map.get_mut(&id) {
                // Only this request's own changes: never its stale view, and
                // never a clear, which belonged to the session it loaded.
                let changes = crate::Changes {
                    clear_session: false,
                    clear_flash: false,
                    regenerate: false,
                    ..save.changes.clone()
                };
                changes.apply_to(Arc::make_mut(&mut entry.data));
                entry.touched_ms = now;
                return Ok(());
            }
            to = shard.moved.get(&id).and_then(|moved| moved.to);
        }
        Ok(())
    }

    /// The id a request refers to: its cookie, or its client address when IP
    /// keying is on.
    fn request_id(&self, request: &RequestContext) -> Result<Option<SessionId>, SessionError> {
        match &self.keying {
            Keying::Cookie => Ok(request.cookie(&self.cookie_name).and_then(SessionId::parse)),
            Keying::ClientIp { trusted_proxies } => match request.client_ip(trusted_proxies) {
                Some(ip) => Ok(Some(self.ip_id(ip))),
                None => Err(SessionError::backend(
                    "memory",
                    "client-IP keying is on, but the request carries no client address; \
                     the integration must call RequestContext::with_peer_ip",
                )),
            },
        }
    }

    fn ip_id(&self, ip: IpAddr) -> SessionId {
        let mut hasher = Sha256::new();
        hasher.update(self.ip_salt);
        match ip {
            IpAddr::V4(v4) => hasher.update(v4.octets()),
            IpAddr::V6(v6) => hasher.update(v6.octets()),
        }
        let digest = hasher.finalize();
        let mut bytes = [0u8; SESSION_ID_BYTES];
        bytes.copy_from_slice(&digest[..SESSION_ID_BYTES]);
        SessionId::from_bytes(bytes)
    }

    fn insert(&self, id: SessionId, data: Arc<SessionData>, now: u64) {
        self.insert_locked(&mut self.shard(&id).lock(), id, data, now);
    }

    /// Stores a new entry in `shard` (`id`'s, locked by the caller), making
    /// room first when the shard is full.
    fn insert_locked(&self, shard: &mut Shard, id: SessionId, data: Arc<SessionData>, now: u64) {
        let entry = Entry {
            data,
            touched_ms: now,
        };
        if shard.map.len() >= self.shard_capacity
            || now.saturating_sub(shard.last_sweep_ms) >= self.sweep_every_ms
        {
            self.sweep(shard, now);
        }
        if shard.map.len() >= self.shard_capacity {
            // Finding the least recently used takes a scan of the shard, so
            // each scan evicts a batch of the oldest: one scan per eviction
            // made every new session in a full store pay for a whole scan
            // (and halved the rate of logins once the store was full).
            let batch = (self.shard_capacity / EVICTION_BATCH).max(1);
            let mut ages: Vec<(u64, SessionId)> = shard
                .map
                .iter()
                .map(|(id, entry)| (entry.touched_ms, *id))
                .collect();
            let batch = batch.min(ages.len());
            if batch > 0 {
                ages.select_nth_unstable(batch - 1);
                for (_, oldest) in &ages[..batch] {
                    shard.map.remove(oldest);
                }
                self.evictions.fetch_add(batch as u64, Ordering::Relaxed);
            }
        }
        shard.map.insert(id, entry);
    }

    fn id_cookie(&self, id: &SessionId) -> Cookie<'static> {
        // No Max-Age: the server-side idle lifetime decides when the session
        // ends, and a browser-session cookie never outlives an active session.
        self.cookies
            .cookie(self.cookie_name.clone(), id.to_string(), None)
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
            // The address is the id: nothing to regenerate, no cookie to set.
            let Some(id) = self.request_id(save.request)? else {
                return Ok(Vec::new());
            };
            // Read, change and store back under one lock: two requests from
            // one address both keep their writes.
            let mut shard = self.shard(&id).lock();
            if shard.map.get(&id).is_some_and(|e| self.expired(e, now)) {
                shard.map.remove(&id);
            }
            if let Some(entry) = shard.map.get_mut(&id) {
                save.changes.apply_to(Arc::make_mut(&mut entry.data));
                entry.touched_ms = now;
                if entry.data.is_empty() {
                    shard.map.remove(&id);
                }
            } else if !save.data.is_empty() {
                self.insert_locked(&mut shard, id, save.data.clone(), now);
            }
            return Ok(Vec::new());
        }

        let Some(old) = save.id.copied() else {
            // A new session: what this request wrote is all there is.
            if save.data.is_empty() {
                return Ok(Vec::new());
            }
            let id = SessionId::generate();
            self.insert(id, save.data.clone(), now);
            return Ok(vec![self.id_cookie(&id)]);
        };
        if !save.changes.regenerate {
            let mut shard = self.shard(&old).lock();
            if let Some(entry) = shard.map.get_mut(&old) {
                // Per-key changes on the stored entry, under its shard lock:
                // what other requests wrote meanwhile stays. When nothing was
                // written meanwhile (the entry holds the copy this request
                // loaded), that is exactly the request's own view: it is
                // stored as it is, without applying the changes again.
                let data = if unchanged_since_load(&save, entry) {
                    save.data.clone()
                } else {
                    let mut stored = entry.data.clone();
                    save.changes.apply_to(Arc::make_mut(&mut stored));
                    stored
                };
                if data.is_empty() {
                    // Removed and marked ended in one critical section: a
                    // request still running on this id sees one or the other.
                    shard.map.remove(&old);
                    self.record_moved(&mut shard, old, None, now);
                    return Ok(vec![self.cookies.removal(self.cookie_name.clone())]);
                }
                entry.data = data;
                entry.touched_ms = now;
                return Ok(Vec::new());
            }
            if let Some(to) = Self::moved_to(&shard, &old, now) {
                // Another request ended this id while this one ran.
                drop(shard);
                self.apply_moved(to, &save, now)?;
                return Ok(Vec::new());
            }
            // The entry expired or was evicted during the request: store this
            // request's whole view under a new id rather than lose it.
        }

        // The data moves to a new id (regenerate, or the entry is gone). Both
        // shards stay locked from reading the old entry to storing the new
        // one and marking the old id as moved, so a request on the old id
        // finds the session either still there or moved, never neither (it
        // would store its stale view under a fresh id and revive the session).
        enum Outcome {
            Stored,
            Emptied,
            AlreadyMoved(Option<SessionId>),
        }
        let new = SessionId::generate();
        let outcome = self.with_two_shards(&old, &new, |old_shard, new_shard| {
            let data = match old_shard.map.remove(&old) {
                Some(mut entry) => {
                    let data = if unchanged_since_load(&save, &entry) {
                        save.data.clone()
                    } else {
                        save.changes.apply_to(Arc::make_mut(&mut entry.data));
                        entry.data
                    };
                    if data.is_empty() {
                        self.record_moved(old_shard, old, None, now);
                        return Outcome::Emptied;
                    }
                    self.record_moved(old_shard, old, Some(new), now);
                    data
                }
                None => {
                    if let Some(to) = Self::moved_to(old_shard, &old, now) {
                        return Outcome::AlreadyMoved(to);
                    }
                    if save.data.is_empty() {
                        return Outcome::Emptied;
                    }
                    save.data.clone()
                }
            };
            let destination = match new_shard {
                Some(shard) => shard,
                None => old_shard,
            };
            self.insert_locked(destination, new, data, now);
            Outcome::Stored
        });
        match outcome {
            Outcome::Stored => Ok(vec![self.id_cookie(&new)]),
            Outcome::Emptied => Ok(vec![self.cookies.removal(self.cookie_name.clone())]),
            Outcome::AlreadyMoved(to) => {
                self.apply_moved(to, &save, now)?;
                Ok(Vec::new())
            }
        }
    }
}

/// Configures a [`MemoryDriver`].
pub struct MemoryDriverBuilder {
    lifetime: Duration,
    max_sessions: usize,
    cookie_name: String,
    cookies: CookieSettings,
    keying: Keying,
}

impl MemoryDriverBuilder {
    fn from_config(config: &SessionConfig) -> Self {
        MemoryDriverBuilder {
            lifetime: config.lifetime(),
            max_sessions: config.max_sessions(),
            cookie_name: config.id_cookie_name().to_owned(),
            cookies: CookieSettings::from_config(config),
            keying: Keying::Cookie,
        }
    }

    /// How long a session lives without a request (default 2 hours).
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// The most sessions kept; beyond it the least recently used are evicted
    /// (default 100 000). The bound is kept per shard (each holds an equal
    /// part), so the store may evict slightly before it holds exactly this many;
    /// a full shard evicts its least recently used 1/32 at once (at least one).
    pub fn max_sessions(mut self, max: usize) -> Self {
        self.max_sessions = max.max(1);
        self
    }

    /// The name of the session-id cookie (default `session_id`).
    pub fn cookie_name(mut self, name: impl Into<String>) -> Self {
        self.cookie_name = name.into();
        self
    }

    /// The attributes of the session-id cookie.
    pub fn cookie_settings(mut self, settings: CookieSettings) -> Self {
        self.cookies = settings;
        self
    }

    /// **Opt-in, and unsafe behind NAT:** keys sessions by the client's IP
    /// address instead of a cookie, as Masonite 1.x did. Everyone behind one
    /// NAT, corporate proxy or carrier-grade NAT then shares one session —
    /// one user's login is everyone's. Use it only where each address is one
    /// user (a kiosk network, an internal tool) and cookies are impossible.
    ///
    /// `trusted_proxies` are the addresses of reverse proxies you run; only
    /// for requests from them is `X-Forwarded-For` believed (see
    /// [`RequestContext::client_ip`]). With IP keying, `regenerate()` has
    /// nothing to change.
    pub fn key_by_client_ip(mut self, trusted_proxies: Vec<IpAddr>) -> Self {
        self.keying = Keying::ClientIp { trusted_proxies };
        self
    }

    /// Builds the driver.
    pub fn build(self) -> MemoryDriver {
        let lifetime_ms = u64::try_from(self.lifetime.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let mut ip_salt = [0u8; 32];
        SessionId::generate()
            .as_bytes()
            .iter()
            .chain(SessionId::generate().as_bytes())
            .zip(ip_salt.iter_mut())
            .for_each(|(b, s)| *s = *b);
        // At least 256 sessions a shard (a small store gets one shard and an
        // exact LRU order), and a per-shard bound rounded down, so the total
        // never passes `max_sessions`.
        let shards = (self.max_sessions / 256).clamp(1, SHARDS);
        MemoryDriver {
            shards: (0..shards).map(|_| Mutex::new(Shard::default())).collect(),
            shard_capacity: (self.max_sessions / shards).max(1),
            lifetime_ms,
            sweep_every_ms: (lifetime_ms / 4).max(1),
            cookie_name: self.cookie_name,
            cookies: self.cookies,
            keying: self.keying,
            epoch: Instant::now(),
            ip_salt,
            evictions: AtomicU64::new(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use http::StatusCode;
    use serde_json::json;

    use crate::{RequestContext, SessionManager};

    /// `save` skips the second parse only when the entry is still the text
    /// this request loaded; a write in between takes the per-key path.
    #[tokio::test]
    async fn a_save_after_another_write_keeps_both_changes() {
        let manager = SessionManager::builder().build().expect("manager");
        let first = manager.request(RequestContext::new());
        first
            .session()
            .await
            .expect("load")
            .set("a", 1)
            .expect("set");
        let cookie = first.finish(StatusCode::OK).await.expect("save")[0]
            .stripped()
            .to_string();

        let slow = manager.request(RequestContext::from_cookie_header(&cookie));
        let fast = manager.request(RequestContext::from_cookie_header(&cookie));
        let slow_session = slow.session().await.expect("load");
        fast.session()
            .await
            .expect("load")
            .set("b", 2)
            .expect("set");
        assert!(fast.finish(StatusCode::OK).await.expect("save").is_empty());
        slow_session.set("c", 3).expect("set");
        assert!(slow.finish(StatusCode::OK).await.expect("save").is_empty());

        let check = manager.request(RequestContext::from_cookie_header(&cookie));
        let all = check.session().await.expect("load").all();
        assert_eq!(all, json!({"a": 1, "b": 2, "c": 3}));
    }
}
