use std::net::IpAddr;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::budget::{Limits, MIN_BYTES};
use super::keying::Keying;
use super::shard::{SHARDS, Shard};
use super::{DRIVER, MemoryDriver};
use crate::{
    SessionConfig,
    driver::{CookieSettings, IdCookie, SessionId},
};

/// Configures a [`MemoryDriver`].
#[derive(Debug)]
pub struct MemoryDriverBuilder {
    lifetime: Duration,
    max_sessions: usize,
    max_bytes: usize,
    max_value_bytes: usize,
    id_cookie: IdCookie,
    keying: Keying,
}

impl MemoryDriverBuilder {
    pub(super) fn from_config(config: &SessionConfig) -> Self {
        MemoryDriverBuilder {
            lifetime: config.lifetime(),
            max_sessions: config.max_sessions(),
            max_bytes: config.max_bytes(),
            max_value_bytes: config.max_value_bytes(),
            id_cookie: IdCookie::for_driver(config, DRIVER),
            keying: Keying::Cookie,
        }
    }

    /// How long a session lives without a request (default 2 hours).
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// The most sessions kept; beyond it the least recently used are evicted
    /// (default 100 000), those that never came back first. The bound is
    /// kept per shard (each holds an equal part), so the store may evict
    /// slightly before it holds exactly this many; a full shard evicts 1/32
    /// of its part at once (at least one).
    pub fn max_sessions(mut self, max: usize) -> Self {
        self.max_sessions = max.max(1);
        self
    }

    /// The byte budget (default 64 MiB, at least 64 KiB): what the sessions
    /// are counted for ([`MemoryDriver::bytes`]) plus an eighth kept for
    /// remembering ended ids. Beyond it sessions are evicted as beyond
    /// [`max_sessions`](Self::max_sessions). It also sets the most one
    /// session may take ([`MemoryDriver::max_session_bytes`]).
    pub fn max_bytes(mut self, max: usize) -> Self {
        self.max_bytes = max;
        self
    }

    /// The most one value may take, its key and its JSON text (default
    /// 64 KiB): [`Session::set`](crate::Session::set) and
    /// [`Session::flash`](crate::Session::flash) refuse a larger one with
    /// [`SessionError::ValueTooLarge`](crate::SessionError::ValueTooLarge).
    /// It is lowered, if need be, to what fits one session.
    pub fn max_value_bytes(mut self, max: usize) -> Self {
        self.max_value_bytes = max.max(1);
        self
    }

    /// The name of the session-id cookie (default `session_id`; see
    /// [`IdCookie`] for how server-side drivers name theirs).
    pub fn cookie_name(mut self, name: impl Into<String>) -> Self {
        self.id_cookie = self.id_cookie.with_name(name);
        self
    }

    /// The attributes of the session-id cookie.
    pub fn cookie_settings(mut self, settings: CookieSettings) -> Self {
        self.id_cookie = self.id_cookie.with_settings(settings);
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
    /// [`RequestContext::client_ip`](crate::integration::RequestContext::client_ip)).
    /// With IP keying, `regenerate()` has nothing to change.
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
        // exact eviction order), at least 16 of the largest values' worth of bytes
        // (so a session holds a few), and per-shard bounds rounded down, so
        // the totals never pass the store's.
        let max_bytes = self.max_bytes.max(MIN_BYTES);
        let shards = (self.max_sessions / 256)
            .min(max_bytes / self.max_value_bytes.saturating_mul(16).max(1))
            .clamp(1, SHARDS);
        let limits = Limits::for_shard(self.max_sessions / shards, max_bytes / shards);
        MemoryDriver {
            shards: (0..shards).map(|_| Mutex::new(Shard::default())).collect(),
            limits,
            max_value_bytes: self.max_value_bytes.min(limits.value_bytes()),
            lifetime_ms,
            sweep_every_ms: (lifetime_ms / 4).max(1),
            id_cookie: self.id_cookie,
            keying: self.keying,
            epoch: Instant::now(),
            ip_salt,
            evictions: AtomicU64::new(0),
        }
    }
}
