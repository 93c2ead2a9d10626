//! The Redis session driver of [session-views]: server-side sessions shared
//! by every worker and machine that uses the same Redis or Redis Cluster,
//! with no lost updates.
//!
//! ```no_run
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use session_core::http::StatusCode;
//! use session_core::{RequestContext, SessionManager};
//! use session_redis::RedisDriver;
//!
//! // Fails here, at start-up, if Redis cannot be reached.
//! let redis = RedisDriver::connect("redis://127.0.0.1:6379").await?;
//! let manager = SessionManager::builder()
//!     .driver("redis", redis)
//!     .default_driver("redis")
//!     .build()?;
//!
//! // POST /login
//! let sessions = manager.request(RequestContext::new());
//! let session = sessions.session().await?;
//! session.set("user", session_core::serde_json::json!({"name": "Ada"}))?;
//! session.regenerate()?;
//! session.flash("success", "Welcome back, Ada!")?;
//! let cookies = sessions.finish(StatusCode::SEE_OTHER).await?;
//! let cookie = cookies[0].stripped().to_string(); // "redis_session_id=..."
//!
//! // GET /dashboard, served by any process that uses the same Redis
//! let sessions = manager.request(RequestContext::from_cookie_header(&cookie));
//! let session = sessions.session().await?;
//! assert_eq!(session.get("success"), Some("Welcome back, Ada!".into()));
//! sessions.finish(StatusCode::OK).await?; // the flash has been shown: it goes
//! # Ok(()) }
//! ```
//!
//! With a [`SessionConfig`](session_core::SessionConfig) (`REDIS_URL`,
//! `SESSION_LIFETIME`, ...) use [`RedisDriver::from_config`].
//!
//! # How a session is stored
//!
//! Each session is one Redis hash under `<prefix>{<tag>}<rest>`: the prefix
//! (`session:` unless [configured](RedisDriverBuilder::key_prefix)), then the
//! session id — an opaque random id from the browser's `redis_session_id`
//! cookie, `HttpOnly` and with the attributes of
//! [`CookieSettings`](session_core::CookieSettings) — split after its first four
//! characters, which form the Redis Cluster hash tag. Session keys are the
//! fields `s:<key>`, flash keys the fields `f:<key>`, each value its JSON.
//! Nothing is written, and no cookie set, until a request writes something.
//!
//! # What a request costs
//!
//! | request | round trips |
//! | --- | --- |
//! | without a session cookie | 0 |
//! | load (`HGETALL`, pipelined with `PEXPIRE` for sliding expiry) | 1 |
//! | save of any changes, a regenerate included | 1 (one Lua script) |
//! | a request that changes nothing | no save |
//!
//! The save script is loaded when the driver connects; a Redis that lost it
//! (a restart) costs one more round trip the first time it runs. A save
//! whose session vanished while the request ran (below) costs two.
//!
//! # Concurrent requests: per-key deltas, no lost updates
//!
//! A save sends only what the request changed — `HSET` of the keys it wrote,
//! `HDEL` of the keys it deleted, in one script that runs atomically — never
//! the whole session. Two requests on one session that change different
//! keys therefore both keep their change, whatever the order they finish
//! in. For the **same key the last save wins**, key by key. `reset()`
//! clears the session (and `reset_flash()` the flash) atomically with the
//! rest of that request's changes: the keys of other requests that saved
//! before it go too, the ones that save after it stay. The flash cleared
//! after a 200 OK is deleted key by key, so a flash another request adds
//! meanwhile survives.
//!
//! # Regenerate and expiry
//!
//! `regenerate()` moves the hash to a new id (`RENAME` inside the save
//! script, with the request's changes applied): the old id is dead at once,
//! and a request that still carries it finds no session. The new id keeps
//! the old one's four-character hash tag — 24 of its 192 bits — so that
//! both keys are in one cluster slot and the move stays atomic on Redis
//! Cluster; its other 168 bits are fresh from the OS CSPRNG.
//!
//! Every key has a TTL of the session [lifetime](RedisDriverBuilder::lifetime),
//! refreshed by every save and, with [sliding
//! expiry](RedisDriverBuilder::sliding_expiry) (the default), by every load.
//! When a session ends — moved away by `regenerate()` or emptied by
//! `invalidate()`/`reset()` — its old key is left for the lifetime (ten
//! minutes at most) as a one-field marker saying where the data went. A
//! request that loaded the session before that and saves after it has only
//! its own per-key changes applied there, and sets no cookie: a slow request
//! that finishes after a logout cannot log the user back in. A load of an
//! ended id sees no session. If instead the session *expired* while a
//! request ran, that request's view of it (the loaded data with its changes)
//! is stored under a new id rather than lost, as the memory driver does.
//!
//! # When Redis goes away
//!
//! - Unreachable at start-up: [`RedisDriver::connect`] and friends return
//!   [`ConfigError::Driver`](session_core::ConfigError::Driver), naming the
//!   URL (password hidden) and how to start a Redis.
//! - Down, or not answering, under traffic: each load and save fails within
//!   the [operation timeout](RedisDriverBuilder::operation_timeout) (2 s by
//!   default) with [`SessionError::Backend`](session_core::SessionError::Backend),
//!   which the HTTP layer answers with 503. No panic, no request hangs.
//! - Back again: the connection reconnects by itself on the next requests;
//!   nothing needs a restart.
//! - A value larger than [`max_value_bytes`](RedisDriverBuilder::max_value_bytes)
//!   (1 MiB by default) is refused by `set`/`flash` with
//!   [`SessionError::ValueTooLarge`](session_core::SessionError::ValueTooLarge).
//!
//! # Redis Cluster
//!
//! Give [`RedisDriverBuilder::cluster`] some node URLs, or several
//! comma-separated URLs in `REDIS_URL`. All keys of one session share a
//! slot (the hash tag), so loads and saves stay single-slot scripts; the
//! client follows slot moves and fail-overs.
//!
//! [session-views]: https://github.com/session-views/session-views
#![deny(missing_docs)]

mod builder;
mod connection;
mod driver;
mod keys;
mod scripts;

pub use builder::{
    DEFAULT_COOKIE_NAME, DEFAULT_KEY_PREFIX, DEFAULT_MAX_VALUE_BYTES, RedisDriverBuilder,
};
pub use driver::RedisDriver;
