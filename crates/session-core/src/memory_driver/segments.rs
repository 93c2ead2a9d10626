//! The sessions of one shard, in two segments, and which of them to evict.
//!
//! A new session starts *on probation*. When a later request loads it, it
//! came back and moves to the *protected* segment. Eviction takes the least
//! recently used sessions on probation first, and protected ones only when
//! no probation session is left. So a flood of sessions that are created
//! and never used again (one-shot logins from a script) cycles through the
//! probation segment and cannot push out users who came back. The protected
//! segment keeps at most 80% of the shard (sessions and bytes): beyond
//! that, its least recently used are the first to go, so new sessions
//! always have room.
//!
//! Finding the least recently used takes a scan of the shard, so each scan
//! frees a batch (1/32 of the shard) rather than one session: a new session
//! in a full store pays for a scan once per batch. Loading a session is one
//! table lookup and a few counter updates.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::Arc;

use super::budget::Limits;
use super::shard::IdHasher;
use crate::driver::{SessionData, SessionId};

/// A full shard frees 1/`EVICTION_BATCH` of its bounds at once.
const EVICTION_BATCH: usize = 32;

/// A stored session: one immutable, shared copy of its data. A request
/// that loads it takes a reference (no copy, no parse); a request that
/// writes makes its own copy, and its save puts a new one in place.
pub(super) struct Entry {
    pub(super) data: Arc<SessionData>,
    pub(super) touched_ms: u64,
    /// What the session is counted for (see [`session_bytes`](super::budget::session_bytes)).
    bytes: usize,
    /// It came back: a later request loaded it (the protected segment).
    returned: bool,
}

impl Entry {
    pub(super) fn returned(&self) -> bool {
        self.returned
    }
}

/// The sessions of one shard, and their totals.
#[derive(Default)]
pub(super) struct Sessions {
    map: HashMap<SessionId, Entry, BuildHasherDefault<IdHasher>>,
    bytes: usize,
    protected: usize,
    protected_bytes: usize,
}

impl Sessions {
    pub(super) fn len(&self) -> usize {
        self.map.len()
    }

    pub(super) fn bytes(&self) -> usize {
        self.bytes
    }

    pub(super) fn get(&self, id: &SessionId) -> Option<&Entry> {
        self.map.get(id)
    }

    pub(super) fn contains(&self, id: &SessionId) -> bool {
        self.map.contains_key(id)
    }

    /// A request loads `id`: its data, if it is stored and live, and the
    /// session counts as having come back. An expired session is removed.
    pub(super) fn revisit(
        &mut self,
        id: &SessionId,
        now: u64,
        lifetime_ms: u64,
    ) -> Option<Arc<SessionData>> {
        let entry = self.map.get_mut(id)?;
        if now.saturating_sub(entry.touched_ms) > lifetime_ms {
            self.remove(id);
            return None;
        }
        entry.touched_ms = now;
        if !entry.returned {
            entry.returned = true;
            self.protected += 1;
            self.protected_bytes += entry.bytes;
        }
        Some(entry.data.clone())
    }

    /// Stores a session that is not in the shard (the caller made room).
    pub(super) fn insert(
        &mut self,
        id: SessionId,
        data: Arc<SessionData>,
        bytes: usize,
        returned: bool,
        now: u64,
    ) {
        let entry = Entry {
            data,
            touched_ms: now,
            bytes,
            returned,
        };
        self.count(&entry, true);
        if let Some(old) = self.map.insert(id, entry) {
            self.count(&old, false);
        }
    }

    /// Replaces the data of the stored session `id`.
    pub(super) fn replace(
        &mut self,
        id: &SessionId,
        data: Arc<SessionData>,
        bytes: usize,
        now: u64,
    ) {
        let Some(entry) = self.map.get_mut(id) else {
            return;
        };
        self.bytes = self.bytes - entry.bytes + bytes;
        if entry.returned {
            self.protected_bytes = self.protected_bytes - entry.bytes + bytes;
        }
        entry.data = data;
        entry.bytes = bytes;
        entry.touched_ms = now;
    }

    pub(super) fn remove(&mut self, id: &SessionId) -> Option<Entry> {
        let entry = self.map.remove(id)?;
        self.count(&entry, false);
        Some(entry)
    }

    /// Removes the sessions idle for longer than `lifetime_ms`.
    pub(super) fn remove_expired(&mut self, now: u64, lifetime_ms: u64) {
        let Sessions {
            map,
            bytes,
            protected,
            protected_bytes,
        } = self;
        map.retain(|_, entry| {
            let live = now.saturating_sub(entry.touched_ms) <= lifetime_ms;
            if !live {
                *bytes -= entry.bytes;
                if entry.returned {
                    *protected -= 1;
                    *protected_bytes -= entry.bytes;
                }
            }
            live
        });
    }

    /// True when `sessions` more sessions and `bytes` more bytes fit.
    pub(super) fn fits(&self, limits: &Limits, sessions: usize, bytes: usize) -> bool {
        self.map.len() + sessions <= limits.sessions && self.bytes + bytes <= limits.bytes
    }

    /// Evicts until `sessions` more sessions and `bytes` more bytes fit,
    /// and a batch more (see the module docs for the order). `keep` (the
    /// session being saved) is never evicted. Returns how many were evicted.
    pub(super) fn make_room(
        &mut self,
        limits: &Limits,
        sessions: usize,
        bytes: usize,
        keep: Option<&SessionId>,
    ) -> usize {
        if self.fits(limits, sessions, bytes) {
            return 0;
        }
        let max_len = (limits.sessions + 1)
            .saturating_sub(sessions)
            .saturating_sub((limits.sessions / EVICTION_BATCH).max(1));
        let max_bytes = limits
            .bytes
            .saturating_sub(bytes)
            .saturating_sub(limits.bytes / EVICTION_BATCH);
        let mut probation = Vec::new();
        let mut protected = Vec::new();
        for (id, entry) in &self.map {
            if Some(id) == keep {
                continue;
            }
            let candidate = (entry.touched_ms, *id, entry.bytes);
            if entry.returned {
                protected.push(candidate);
            } else {
                probation.push(candidate);
            }
        }
        protected.sort_unstable();
        probation.sort_unstable();
        // Beyond its bounds, the protected segment's least recently used go
        // first: the segment shrinks back to its share before a session on
        // probation is evicted.
        let (mut count, mut count_bytes, mut demoted) = (self.protected, self.protected_bytes, 0);
        while demoted < protected.len()
            && (count > limits.protected_sessions || count_bytes > limits.protected_bytes)
        {
            count -= 1;
            count_bytes -= protected[demoted].2;
            demoted += 1;
        }
        let order = protected[..demoted]
            .iter()
            .chain(&probation)
            .chain(&protected[demoted..]);
        let mut evicted = 0;
        for (_, id, _) in order {
            if self.map.len() <= max_len && self.bytes <= max_bytes {
                break;
            }
            self.remove(id);
            evicted += 1;
        }
        evicted
    }

    fn count(&mut self, entry: &Entry, add: bool) {
        let sign = |total: &mut usize, n: usize| {
            *total = if add { *total + n } else { *total - n };
        };
        sign(&mut self.bytes, entry.bytes);
        if entry.returned {
            sign(&mut self.protected, 1);
            sign(&mut self.protected_bytes, entry.bytes);
        }
    }
}
