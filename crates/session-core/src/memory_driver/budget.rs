//! What one shard may hold, and what a session is counted for in bytes.

use crate::driver::{SessionData, ValueMap};

/// The fixed cost of one stored session beyond its keys and values: its
/// slot in the shard's table (with the spare room a hash table keeps), the
/// allocation of its shared copy and the buffers of its two maps.
pub(super) const SESSION_OVERHEAD: usize = 256;

/// The fixed cost of one key and value beyond their text: the map's slot
/// and the two reference-counted allocations, with the allocator's own.
pub(super) const VALUE_OVERHEAD: usize = 112;

/// What one ended id costs while it is remembered: its slot in the table.
pub(super) const ENDED_BYTES: usize = 80;

/// The smallest byte budget a store gets, so that a session with a value
/// or two always fits.
pub(super) const MIN_BYTES: usize = 64 * 1024;

/// The share of a shard's sessions and bytes that sessions which came back
/// may keep; new sessions always have the rest to cycle through.
const PROTECTED_PERCENT: usize = 80;

/// The bytes a session is counted for: an estimate of the heap it takes,
/// checked against a counting allocator by the layer's `memory_heap` test.
pub(super) fn session_bytes(data: &SessionData) -> usize {
    fn values(map: &ValueMap) -> usize {
        map.iter()
            .map(|(key, value)| key.len() + value.as_json().len() + VALUE_OVERHEAD)
            .sum()
    }
    SESSION_OVERHEAD + values(&data.session) + values(&data.flash)
}

/// The bounds of one shard.
#[derive(Clone, Copy, Debug)]
pub(super) struct Limits {
    /// The most sessions.
    pub(super) sessions: usize,
    /// The most bytes the sessions take.
    pub(super) bytes: usize,
    /// How many of them may be sessions that came back before the least
    /// recently used of those become evictable like new ones.
    pub(super) protected_sessions: usize,
    /// The same bound on their bytes.
    pub(super) protected_bytes: usize,
    /// The most bytes one session takes.
    pub(super) session_bytes: usize,
    /// The most ended ids remembered.
    pub(super) ended: usize,
}

impl Limits {
    /// A shard's bounds from its share of the store's: an eighth of its
    /// bytes is for ended ids, the rest for sessions, and one session may
    /// take a quarter of that.
    pub(super) fn for_shard(sessions: usize, bytes: usize) -> Self {
        let sessions = sessions.max(1);
        let ended_bytes = bytes / 8;
        let bytes = bytes - ended_bytes;
        Limits {
            sessions,
            bytes,
            protected_sessions: sessions * PROTECTED_PERCENT / 100,
            protected_bytes: bytes / 100 * PROTECTED_PERCENT,
            session_bytes: bytes / 4,
            ended: sessions.min(ended_bytes / ENDED_BYTES).max(1),
        }
    }

    /// The largest value (its key and JSON text) that fits a session alone.
    pub(super) fn value_bytes(&self) -> usize {
        self.session_bytes
            .saturating_sub(SESSION_OVERHEAD + VALUE_OVERHEAD)
            .max(1)
    }
}
