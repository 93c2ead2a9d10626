//! The store's shards: the sessions each holds, the ids that ended there,
//! locking two of them at once, sweeping and evicting.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use parking_lot::Mutex;

use super::MemoryDriver;
use crate::driver::{SESSION_ID_BYTES, SessionData, SessionId};

/// The most shards a store has.
pub(super) const SHARDS: usize = 64;

/// A full shard evicts its least recently used 1/`EVICTION_BATCH` at once.
const EVICTION_BATCH: usize = 32;

/// How long an ended id remembers where its data went.
const MOVED_FOR_MS: u64 = 10 * 60 * 1000;

#[derive(Default)]
pub(super) struct Shard {
    pub(super) map: HashMap<SessionId, Entry, BuildHasherDefault<IdHasher>>,
    /// Ids that regenerate, invalidate or an emptying save ended, and where
    /// their data went; see [`Moved`].
    pub(super) moved: HashMap<SessionId, Moved, BuildHasherDefault<IdHasher>>,
    last_sweep_ms: u64,
}

/// Left behind for a while when an id ends (regenerate, invalidate, a save
/// that empties the session), so that a request still running on the old id
/// cannot bring the session back: its changes follow the data to `to`
/// (nowhere, when the session ended), and its response sets no cookie.
/// Without it, a slow request finishing after a logout would store its
/// whole, logged-in view under a fresh id — and log the user back in.
pub(super) struct Moved {
    pub(super) to: Option<SessionId>,
    until_ms: u64,
}

/// A stored session: one immutable, shared copy of its data. A request
/// that loads it takes a reference (no copy, no parse); a request that writes
/// makes its own copy, and its save puts a new one in place. Values are kept
/// as their JSON text in sorted vectors, so an idle session costs a few
/// hundred bytes.
pub(super) struct Entry {
    pub(super) data: Arc<SessionData>,
    pub(super) touched_ms: u64,
}

/// Session ids are uniformly random (or a salted SHA-256 for IP keying),
/// and only the server creates them, so their first bytes are already a good
/// hash; hashing them again would only cost time.
#[derive(Default)]
pub(super) struct IdHasher(u64);

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

impl MemoryDriver {
    pub(super) fn shard(&self, id: &SessionId) -> &Mutex<Shard> {
        // The hash uses the first bytes; the shard comes from the last ones so
        // the two stay independent.
        &self.shards[self.shard_index(id)]
    }

    pub(super) fn expired(&self, entry: &Entry, now: u64) -> bool {
        now.saturating_sub(entry.touched_ms) > self.lifetime_ms
    }

    pub(super) fn sweep(&self, shard: &mut Shard, now: u64) {
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
    pub(super) fn with_two_shards<R>(
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
    pub(super) fn record_moved(
        &self,
        shard: &mut Shard,
        id: SessionId,
        to: Option<SessionId>,
        now: u64,
    ) {
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
    pub(super) fn moved_to(shard: &Shard, id: &SessionId, now: u64) -> Option<Option<SessionId>> {
        if shard.map.contains_key(id) {
            return None;
        }
        shard
            .moved
            .get(id)
            .filter(|moved| moved.until_ms > now)
            .map(|moved| moved.to)
    }

    pub(super) fn insert(&self, id: SessionId, data: Arc<SessionData>, now: u64) {
        self.insert_locked(&mut self.shard(&id).lock(), id, data, now);
    }

    /// Stores a new entry in `shard` (`id`'s, locked by the caller), making
    /// room first when the shard is full.
    pub(super) fn insert_locked(
        &self,
        shard: &mut Shard,
        id: SessionId,
        data: Arc<SessionData>,
        now: u64,
    ) {
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
            // each scan evicts a batch of the oldest rather than one: a new
            // session in a full store then pays for a scan only once in a
            // batch.
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
}
