//! The Lua scripts that save a session and end an id.
//!
//! A script runs atomically on the Redis server, so a save — the check that
//! the id has not ended, clears, per-key writes and deletes, and the expiry
//! refresh — is one round trip that no other request can interleave with.
//! (A load is a plain `HGETALL`, pipelined with `PEXPIRE` for sliding
//! expiry: a script would cost Redis several times more CPU for nothing.)
//!
//! **Ended ids.** When a save empties a session, or a regenerate moves it
//! away (see [`END`]), the id's *ended marker* — a key of its own in the
//! session's slot, see `keys::ended_key` — is set for the lifetime, at most
//! ten minutes. A request that loaded the session before that and saves
//! after it finds the marker, writes nothing and is refused: a slow request
//! can neither carry writes from before a login into the logged-in session
//! nor bring a session back after a logout. A load of an ended id finds no
//! session hash, and its sliding `PEXPIRE` (on the session's key) leaves
//! the marker alone.

use redis::Script;

/// Save: applies one request's changes to a session's hash.
///
/// - `KEYS[1]`: the session's key; `KEYS[2]`: its ended marker.
/// - `ARGV[1]`: the lifetime in milliseconds.
/// - `ARGV[2]`: `1` when `KEYS[1]` must exist (an existing session), `0` for a new one.
/// - `ARGV[3]`: the buckets to clear first: ``, `s`, `f` or `sf`.
/// - `ARGV[4]`: the number `n` of fields to write; `ARGV[5 .. 4+2n]` are
///   field/value pairs; the arguments after them are fields to delete.
///
/// Returns `2` when the id has ended (nothing is written), `-1` when
/// `KEYS[1]` must exist but does not (the session expired during the
/// request; nothing is written), `0` when the session is empty afterwards
/// (its key is gone and its id ended), `1` when it is stored.
///
/// `unpack` is fed at most 1000 values at a time: Lua's stack is limited.
const SAVE: &str = r"
local key, ended = KEYS[1], KEYS[2]
local lifetime = tonumber(ARGV[1])
local first_delete = 5 + 2 * tonumber(ARGV[4])
if redis.call('EXISTS', ended) == 1 then
  return 2
end
if ARGV[2] == '1' and redis.call('EXISTS', key) == 0 then
  return -1
end
local clear = ARGV[3]
if clear == 'sf' then
  redis.call('DEL', key)
elseif clear ~= '' then
  local prefix = clear .. ':'
  local doomed = {}
  for _, field in ipairs(redis.call('HKEYS', key)) do
    if string.sub(field, 1, 2) == prefix then
      doomed[#doomed + 1] = field
    end
  end
  for i = 1, #doomed, 1000 do
    redis.call('HDEL', key, unpack(doomed, i, math.min(i + 999, #doomed)))
  end
end
for i = first_delete, #ARGV, 1000 do
  redis.call('HDEL', key, unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
for i = 5, first_delete - 1, 1000 do
  redis.call('HSET', key, unpack(ARGV, i, math.min(i + 999, first_delete - 1)))
end
if redis.call('EXISTS', key) == 0 then
  if ARGV[2] == '1' then
    redis.call('SET', ended, '1', 'PX', math.min(lifetime, 600000))
  end
  return 0
end
redis.call('PEXPIRE', key, lifetime)
return 1
";

/// End: the first half of a regenerate. Takes the session's hash away and
/// sets its id's ended marker, atomically; the driver then stores the data,
/// with the request's changes, under a fresh id (a second round trip).
///
/// A fresh id is 192 random bits, so its key's slot is unrelated to the old
/// one's and no one script could touch both on Redis Cluster. None needs
/// to: the old id ends atomically with the read of its data (a save on it
/// lands before, and is in the data, or after, and is refused), and no
/// other request knows the new id before this one's response carries it.
/// If the second step fails, the session is lost (the request fails with a
/// backend error and the user signs in again), never half-moved.
///
/// - `KEYS[1]`: the session's key; `KEYS[2]`: its ended marker.
/// - `ARGV[1]`: the lifetime in milliseconds.
///
/// Returns `2` when the id has already ended, `-1` when there is no session
/// (it expired during the request), else the hash's fields and values.
const END: &str = r"
if redis.call('EXISTS', KEYS[2]) == 1 then
  return 2
end
local fields = redis.call('HGETALL', KEYS[1])
if #fields == 0 then
  return -1
end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], '1', 'PX', math.min(tonumber(ARGV[1]), 600000))
return fields
";

/// A script's source and its SHA-1 digest (for `EVALSHA`), computed once.
pub(crate) struct LuaScript {
    pub(crate) source: &'static str,
    pub(crate) sha1: String,
}

impl LuaScript {
    fn new(source: &'static str) -> Self {
        LuaScript {
            source,
            sha1: Script::new(source).get_hash().to_owned(),
        }
    }
}

/// The driver's scripts.
pub(crate) struct Scripts {
    pub(crate) save: LuaScript,
    pub(crate) end: LuaScript,
}

impl Scripts {
    pub(crate) fn new() -> Self {
        Scripts {
            save: LuaScript::new(SAVE),
            end: LuaScript::new(END),
        }
    }

    /// Every script, to load at start-up.
    pub(crate) fn all(&self) -> [&LuaScript; 2] {
        [&self.save, &self.end]
    }
}

/// The outcome of the save script.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SaveOutcome {
    /// The session that had to exist did not; nothing was written.
    Missing,
    /// The session is empty now; its key is gone.
    Emptied,
    /// The session is stored.
    Stored,
    /// The session's id had ended (regenerated or emptied) while the
    /// request ran; nothing was written.
    Ended,
}

impl SaveOutcome {
    pub(crate) fn from_reply(reply: i64) -> Option<Self> {
        match reply {
            -1 => Some(SaveOutcome::Missing),
            0 => Some(SaveOutcome::Emptied),
            1 => Some(SaveOutcome::Stored),
            2 => Some(SaveOutcome::Ended),
            _ => None,
        }
    }
}
