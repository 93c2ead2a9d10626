//! The Lua script that saves a session.
//!
//! A script runs atomically on the Redis server, so a save — clears, per-key
//! writes and deletes, the move to a regenerated id and the expiry refresh —
//! is one round trip that no other request can interleave with. (A load is
//! a plain `HGETALL`, pipelined with `PEXPIRE` for sliding expiry: a script
//! would cost Redis several times more CPU for nothing.)

use redis::Script;

/// Save: applies one request's changes to a session's hash.
///
/// - `KEYS[1]`: the key the session was loaded under (for a new session,
///   its new key); `KEYS[2]`: the key it is saved under — another key, in the
///   same cluster slot, when the id is regenerated, else `KEYS[1]` again.
/// - `ARGV[1]`: the lifetime in milliseconds.
/// - `ARGV[2]`: `1` when `KEYS[1]` must exist (an existing session), `0` for a new one.
/// - `ARGV[3]`: the buckets to clear first: ``, `s`, `f` or `sf`.
/// - `ARGV[4]`: the number `n` of fields to write; `ARGV[5 .. 4+2n]` are
///   field/value pairs; the arguments after them are fields to delete.
///
/// Returns `-1` when `KEYS[1]` must exist but does not (the session expired
/// during the request; nothing is written), `0` when the session is empty
/// afterwards (its key is gone), `1` when it is stored, and `2` when
/// `KEYS[1]` had ended while the request ran (below).
///
/// **Ended ids.** When a save moves a session to a new id (regenerate) or
/// empties it, the old key is left as a marker hash `{">": <new key>}` (an
/// empty destination when the session ended) that lives for the lifetime, at
/// most ten minutes. A request that loaded the session before that and saves
/// after it finds the marker: its own per-key writes and deletes follow the
/// data to the new key (never its clears, never its stale view) and it sets
/// no cookie, so a slow request finishing after a logout cannot log the user
/// back in. A load that finds a marker sees no session.
///
/// `unpack` is fed at most 1000 values at a time: Lua's stack is limited.
const SAVE: &str = r"
local src, dst = KEYS[1], KEYS[2]
local lifetime = tonumber(ARGV[1])
local marker_ttl = math.min(lifetime, 600000)
local first_delete = 5 + 2 * tonumber(ARGV[4])
local function apply_writes(key)
  for i = first_delete, #ARGV, 1000 do
    redis.call('HDEL', key, unpack(ARGV, i, math.min(i + 999, #ARGV)))
  end
  for i = 5, first_delete - 1, 1000 do
    redis.call('HSET', key, unpack(ARGV, i, math.min(i + 999, first_delete - 1)))
  end
end
local moved = redis.call('HGET', src, '>')
if moved then
  for _ = 1, 4 do
    if moved == '' or redis.call('EXISTS', moved) == 0 then
      return 2
    end
    local further = redis.call('HGET', moved, '>')
    if not further then
      apply_writes(moved)
      redis.call('PEXPIRE', moved, lifetime)
      return 2
    end
    moved = further
  end
  return 2
end
if ARGV[2] == '1' and redis.call('EXISTS', src) == 0 then
  return -1
end
if src ~= dst and redis.call('EXISTS', src) == 1 then
  redis.call('RENAME', src, dst)
  redis.call('HSET', src, '>', dst)
  redis.call('PEXPIRE', src, marker_ttl)
end
local clear = ARGV[3]
if clear == 'sf' then
  redis.call('DEL', dst)
elseif clear ~= '' then
  local prefix = clear .. ':'
  local doomed = {}
  for _, field in ipairs(redis.call('HKEYS', dst)) do
    if string.sub(field, 1, 2) == prefix then
      doomed[#doomed + 1] = field
    end
  end
  for i = 1, #doomed, 1000 do
    redis.call('HDEL', dst, unpack(doomed, i, math.min(i + 999, #doomed)))
  end
end
apply_writes(dst)
if redis.call('EXISTS', dst) == 0 then
  if ARGV[2] == '1' then
    redis.call('HSET', dst, '>', '')
    redis.call('PEXPIRE', dst, marker_ttl)
  end
  return 0
end
redis.call('PEXPIRE', dst, lifetime)
return 1
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
}

impl Scripts {
    pub(crate) fn new() -> Self {
        Scripts {
            save: LuaScript::new(SAVE),
        }
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
    /// The session had ended (regenerated or emptied) while the request ran;
    /// its changes followed the data, and no cookie is to be set.
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
