//! The store's shards: the sessions each holds, the ids that ended there,
//! locking two of them at once, sweeping, and storing within the bounds.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use parking_lot::Mutex;

use super::MemoryDriver;
use super::segments::Sessions;
use crate::driver::{SESSION_ID_BYTES, SessionData, SessionId};

/// The most shards a store has.
pub(super) const SHARDS: usize = 64;

/// How long an ended id is remembered.
const ENDED_FOR_MS: u64 = 10 * 60 * 1000;

/// A full table of ended ids forgets its oldest 1/`ENDED_BATCH` at once.
const ENDED_BATCH: usize = 32;

#[derive(Default)]
pub(super) struct Shard {
    pub(super) sessions: Sessions,
    /// Ids that regenerate, invalidate or an emptying save ended, until
    /// when they are remembered; see [`MemoryDriver::end_id`].
    ended: HashMap<SessionId, u64, BuildHasherDefault<IdHasher>>,
    last_sweep_ms: u64,
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

    pub(super) fn sweep(&self, shard: &mut Shard, now: u64) {
        shard.sessions.remove_expired(now, self.lifetime_ms);
        shard.ended.retain(|_, until_ms| *until_ms > now);
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
    /// section that removed its session), that `id` ended. For a while (ten
    /// minutes at most) a request still running on it is refused when it
    /// saves ([`SessionError::StaleSession`](crate::SessionError::StaleSession))
    /// instead of storing what it loaded under a fresh id: a slow request
    /// finishing after a logout would otherwise log the user back in.
    pub(super) fn end_id(&self, shard: &mut Shard, id: SessionId, now: u64) {
        if shard.ended.len() >= self.limits.ended {
            shard.ended.retain(|_, until_ms| *until_ms > now);
        }
        if shard.ended.len() >= self.limits.ended {
            // The oldest are the least likely to have a request still running.
            let mut until: Vec<u64> = shard.ended.values().copied().collect();
            let batch = (self.limits.ended / ENDED_BATCH).clamp(1, until.len());
            let (_, cutoff, _) = until.select_nth_unstable(batch - 1);
            let cutoff = *cutoff;
            shard.ended.retain(|_, until_ms| *until_ms > cutoff);
        }
        let until_ms = now.saturating_add(ENDED_FOR_MS.min(self.lifetime_ms));
        shard.ended.insert(id, until_ms);
    }

    /// True when `id` ended (and is not stored again). `shard` is `id`'s,
    /// locked by the caller.
    pub(super) fn has_ended(shard: &Shard, id: &SessionId, now: u64) -> bool {
        !shard.sessions.contains(id) && shard.ended.get(id).is_some_and(|until| *until > now)
    }

    /// Stores a session that is not stored yet in `shard` (`id`'s, locked
    /// by the caller), making room first when the shard is full. `bytes` is
    /// what it is counted for, checked against the per-session limit by the
    /// caller.
    pub(super) fn insert_locked(
        &self,
        shard: &mut Shard,
        id: SessionId,
        data: Arc<SessionData>,
        bytes: usize,
        returned: bool,
        now: u64,
    ) {
        if !shard.sessions.fits(&self.limits, 1, bytes)
            || now.saturating_sub(shard.last_sweep_ms) >= self.sweep_every_ms
        {
            self.sweep(shard, now);
        }
        let evicted = shard.sessions.make_room(&self.limits, 1, bytes, None);
        if evicted > 0 {
            self.evictions.fetch_add(evicted as u64, Ordering::Relaxed);
        }
        shard.sessions.insert(id, data, bytes, returned, now);
    }

    /// Replaces the data of the stored session `id` in `shard` (locked by
    /// the caller); a session that grew may push others out.
    pub(super) fn replace_locked(
        &self,
        shard: &mut Shard,
        id: &SessionId,
        data: Arc<SessionData>,
        bytes: usize,
        now: u64,
    ) {
        shard.sessions.replace(id, data, bytes, now);
        let evicted = shard.sessions.make_room(&self.limits, 0, 0, Some(id));
        if evicted > 0 {
            self.evictions.fetch_add(evicted as u64, Ordering::Relaxed);
        }
    }
}
