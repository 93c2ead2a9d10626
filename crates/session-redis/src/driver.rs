use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use session_core::cookie::Cookie;
use session_core::{
    ConfigError, SessionConfig, SessionError,
    driver::{
        Bucket, Changes, IdCookie, Loaded, SaveRequest, SessionData, SessionDriver, SessionId,
        StoredValue, async_trait,
    },
    integration::RequestContext,
};

use crate::RedisDriverBuilder;
use crate::connection::{Connection, DRIVER};
use crate::keys::{ended_key, field, parse_field, session_key};
use crate::scripts::{SaveOutcome, Scripts};

/// Server-side sessions in Redis or Redis Cluster, shared by every worker
/// and machine that uses the same Redis, with no lost updates.
///
/// Build one with [`RedisDriver::connect`], [`RedisDriver::from_env`],
/// [`RedisDriver::from_config`] or [`RedisDriver::builder`]; all of them connect before they return, so a
/// Redis that cannot be reached stops the application at start-up with a
/// [`ConfigError::Driver`] rather than failing its first request. The driver
/// is a cheap handle (an `Arc`): clones share one connection.
///
/// See the [crate documentation](crate) for how sessions are stored, what
/// one request costs and what happens when Redis goes away.
#[derive(Clone)]
pub struct RedisDriver {
    inner: Arc<Inner>,
}

struct Inner {
    connection: Connection,
    scripts: Scripts,
    prefix: String,
    id_cookie: IdCookie,
    lifetime: Duration,
    /// The lifetime as the `PEXPIRE` argument.
    lifetime_ms: Vec<u8>,
    sliding: bool,
    max_value_bytes: usize,
}

impl RedisDriver {
    /// A builder with the defaults (see [`RedisDriverBuilder`]).
    pub fn builder() -> RedisDriverBuilder {
        RedisDriverBuilder::new()
    }

    /// Connects to the Redis server at `url` (`redis://host:port/db`,
    /// `redis://:password@host:port`, ...) with the defaults for everything else.
    pub async fn connect(url: impl Into<String>) -> Result<Self, ConfigError> {
        Self::builder().url(url).connect().await
    }

    /// Connects to the Redis that `REDIS_URL` in the environment names (one
    /// URL, or several comma-separated ones for a Redis Cluster, reached
    /// through any of them; [`DEFAULT_URL`](crate::DEFAULT_URL) when unset),
    /// with the settings of [`from_config`](Self::from_config).
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), session_core::ConfigError> {
    /// use session_core::{SessionConfig, SessionManager};
    /// use session_redis::RedisDriver;
    ///
    /// let config = SessionConfig::from_env()?; // SESSION_DRIVER=redis, SESSION_LIFETIME=...
    /// let manager = SessionManager::builder_from_config(&config)?
    ///     .driver("redis", RedisDriver::from_env(&config).await?) // REDIS_URL=...
    ///     .build()?;
    /// # let _ = manager; Ok(()) }
    /// ```
    pub async fn from_env(config: &SessionConfig) -> Result<Self, ConfigError> {
        RedisDriverBuilder::from_env(config).connect().await
    }

    /// Connects to [`DEFAULT_URL`](crate::DEFAULT_URL) with the settings
    /// every driver shares from `config`: the lifetime, the cookie
    /// attributes, and the id cookie named by the rule of [`IdCookie`]
    /// (`redis_` + [`SessionConfig::id_cookie_name`], `redis_session_id` by
    /// default). For another Redis, see [`from_env`](Self::from_env) and
    /// [`RedisDriverBuilder::from_config`].
    pub async fn from_config(config: &SessionConfig) -> Result<Self, ConfigError> {
        RedisDriverBuilder::from_config(config).connect().await
    }

    pub(crate) fn from_parts(
        connection: Connection,
        scripts: Scripts,
        builder: RedisDriverBuilder,
    ) -> Self {
        let lifetime_ms = u64::try_from(builder.lifetime.as_millis())
            .unwrap_or(u64::MAX)
            // PEXPIRE takes a signed 64-bit count of milliseconds.
            .clamp(1, i64::MAX as u64 / 2);
        RedisDriver {
            inner: Arc::new(Inner {
                connection,
                scripts,
                prefix: builder.prefix,
                id_cookie: builder.id_cookie,
                lifetime: builder.lifetime,
                lifetime_ms: lifetime_ms.to_string().into_bytes(),
                sliding: builder.sliding,
                max_value_bytes: builder.max_value_bytes,
            }),
        }
    }

    /// The Redis key of the session `id` (for inspecting a session with
    /// `redis-cli`, say): `<prefix>{<first 4 characters of the id>}<the other 28>`.
    pub fn session_key(&self, id: &SessionId) -> String {
        session_key(&self.inner.prefix, id)
    }

    /// The prefix of every key this driver writes.
    pub fn key_prefix(&self) -> &str {
        &self.inner.prefix
    }

    /// The name of the cookie holding the session id.
    pub fn cookie_name(&self) -> &str {
        self.inner.id_cookie.name()
    }

    /// How long a session lives: since its last request with sliding expiry
    /// (the default), since its last change without.
    pub fn lifetime(&self) -> Duration {
        self.inner.lifetime
    }

    /// True when connected to a Redis Cluster.
    pub fn is_cluster(&self) -> bool {
        self.inner.connection.is_cluster()
    }

    /// The number of round trips to Redis since start-up (every command
    /// sent, failed ones included). A load is one, a save is one, a request
    /// that changes nothing saves nothing.
    pub fn round_trips(&self) -> u64 {
        self.inner.connection.round_trips()
    }

    /// Runs the save script on the session `id`.
    async fn run_save(
        &self,
        id: &SessionId,
        must_exist: bool,
        clear: &'static str,
        writes: Vec<Vec<u8>>,
        deletes: Vec<Vec<u8>>,
    ) -> Result<SaveOutcome, SessionError> {
        let mut args = Vec::with_capacity(4 + writes.len() + deletes.len());
        args.push(self.inner.lifetime_ms.clone());
        args.push(if must_exist {
            b"1".to_vec()
        } else {
            b"0".to_vec()
        });
        args.push(clear.as_bytes().to_vec());
        args.push((writes.len() / 2).to_string().into_bytes());
        args.extend(writes);
        args.extend(deletes);
        let (key, ended) = (self.session_key(id), ended_key(&self.inner.prefix, id));
        let reply: i64 = self
            .inner
            .connection
            .eval(
                "saving a session",
                &self.inner.scripts.save,
                &[&key, &ended],
                &args,
            )
            .await?;
        SaveOutcome::from_reply(reply).ok_or_else(|| {
            SessionError::backend(
                DRIVER,
                format!("the save script answered {reply}, which this driver does not know"),
            )
        })
    }

    /// Stores a whole session under a new id: for a new session, and for
    /// one that vanished while the request ran.
    async fn store_new(&self, data: &SessionData) -> Result<Vec<Cookie<'static>>, SessionError> {
        if data.is_empty() {
            return Ok(Vec::new());
        }
        let id = SessionId::generate();
        let mut writes = Vec::new();
        for bucket in [Bucket::Session, Bucket::Flash] {
            for (name, value) in data.bucket(bucket).iter() {
                writes.push(field(bucket, name));
                writes.push(value.as_json().as_bytes().to_vec());
            }
        }
        self.run_save(&id, false, "", writes, Vec::new()).await?;
        Ok(vec![self.inner.id_cookie.cookie(&id)])
    }

    /// Stores `data` under a new id in place of a session whose old id is
    /// dead (ended by a regenerate, or expired while the request ran, whose
    /// view is then kept rather than lost); with nothing to store, the
    /// old id's cookie is removed.
    async fn replace_dead_id(
        &self,
        data: &SessionData,
    ) -> Result<Vec<Cookie<'static>>, SessionError> {
        let mut cookies = self.store_new(data).await?;
        if cookies.is_empty() {
            cookies.push(self.inner.id_cookie.removal());
        }
        Ok(cookies)
    }

    /// Moves the session `old` to a fresh id with `save`'s changes: the
    /// end script takes its data and ends the old id, then the data is
    /// stored as a new session (see the end script for why in two steps).
    async fn regenerate(
        &self,
        old: &SessionId,
        save: &SaveRequest<'_>,
    ) -> Result<Vec<Cookie<'static>>, SessionError> {
        let (key, ended) = (self.session_key(old), ended_key(&self.inner.prefix, old));
        let reply: redis::Value = self
            .inner
            .connection
            .eval(
                "ending a session id",
                &self.inner.scripts.end,
                &[&key, &ended],
                std::slice::from_ref(&self.inner.lifetime_ms),
            )
            .await?;
        let fields = match reply {
            redis::Value::Int(2) => return Err(SessionError::StaleSession { driver: DRIVER }),
            redis::Value::Int(-1) => return self.replace_dead_id(save.data).await,
            redis::Value::Array(fields) => fields,
            other => {
                return Err(SessionError::backend(
                    DRIVER,
                    format!("the end script answered {other:?}, which this driver does not know"),
                ));
            }
        };
        let mut pairs = Vec::with_capacity(fields.len() / 2);
        let mut fields = fields.into_iter();
        while let (Some(redis::Value::BulkString(field)), Some(redis::Value::BulkString(value))) =
            (fields.next(), fields.next())
        {
            pairs.push((field, value));
        }
        let mut data = session_data(pairs);
        save.changes.apply_to(&mut data);
        self.replace_dead_id(&data).await
    }
}

/// A session's hash as session data. A field this driver did not write, or
/// a value that is not JSON, is skipped rather than failing the request.
fn session_data(hash: Vec<(Vec<u8>, Vec<u8>)>) -> SessionData {
    let mut data = SessionData::default();
    for (field, value) in hash {
        let Some((bucket, name)) = parse_field(&field) else {
            continue;
        };
        let value = String::from_utf8(value)
            .ok()
            .and_then(|text| StoredValue::from_json(text).ok());
        if let Some(value) = value {
            data.bucket_mut(bucket).insert(name, value);
        }
    }
    data
}

/// True when a request's only change is the clearing of the flash it
/// loaded (a 200 page that showed it): on an ended id there is nothing to
/// refuse, since the flash it would delete went with the session.
fn only_clears_shown_flash(changes: &Changes) -> bool {
    !changes.clear_session
        && !changes.clear_flash
        && !changes.regenerate
        && changes.session.is_empty()
        && changes.flash.values().all(Option::is_none)
}

/// The per-key writes (field/value pairs) and deletes (fields) of `changes`.
type Operations = (Vec<Vec<u8>>, Vec<Vec<u8>>);

fn operations(changes: &Changes) -> Operations {
    let mut writes = Vec::new();
    let mut deletes = Vec::new();
    for bucket in [Bucket::Session, Bucket::Flash] {
        for (name, op) in changes.bucket(bucket) {
            match op {
                Some(value) => {
                    writes.push(field(bucket, name));
                    writes.push(value.as_json().as_bytes().to_vec());
                }
                None => deletes.push(field(bucket, name)),
            }
        }
    }
    (writes, deletes)
}

fn clears(changes: &Changes) -> &'static str {
    match (changes.clear_session, changes.clear_flash) {
        (true, true) => "sf",
        (true, false) => "s",
        (false, true) => "f",
        (false, false) => "",
    }
}

#[async_trait]
impl SessionDriver for RedisDriver {
    async fn load(&self, request: &RequestContext) -> Result<Loaded, SessionError> {
        let Some(id) = self.inner.id_cookie.read(request) else {
            return Ok(Loaded::empty());
        };
        let key = self.session_key(&id);
        let mut pipeline = redis::pipe();
        pipeline.cmd("HGETALL").arg(&key);
        if self.inner.sliding {
            // On a key that does not exist this does nothing.
            pipeline
                .cmd("PEXPIRE")
                .arg(&key)
                .arg(&self.inner.lifetime_ms)
                .ignore();
        }
        let (reply,): (Vec<(Vec<u8>, Vec<u8>)>,) = self
            .inner
            .connection
            .pipeline("loading a session", &pipeline)
            .await?;
        if reply.is_empty() {
            // Unknown, expired, or ended (regenerated away, emptied): no session.
            return Ok(Loaded::empty());
        }
        Ok(Loaded {
            id: Some(id),
            data: Arc::new(session_data(reply)),
            ..Loaded::empty()
        })
    }

    async fn save(&self, save: SaveRequest<'_>) -> Result<Vec<Cookie<'static>>, SessionError> {
        let Some(old) = save.id else {
            // A new session: what this request wrote is all there is.
            return self.store_new(save.data).await;
        };
        let changes = save.changes;
        if changes.regenerate {
            return self.regenerate(old, &save).await;
        }
        let (writes, deletes) = operations(changes);
        let outcome = self
            .run_save(old, true, clears(changes), writes, deletes)
            .await?;
        match outcome {
            SaveOutcome::Stored => Ok(Vec::new()),
            SaveOutcome::Emptied => Ok(vec![self.inner.id_cookie.removal()]),
            // Another request regenerated or ended the session while this
            // one ran: nothing was written, and the request is refused.
            SaveOutcome::Ended if only_clears_shown_flash(changes) => Ok(Vec::new()),
            SaveOutcome::Ended => Err(SessionError::StaleSession { driver: DRIVER }),
            SaveOutcome::Missing => self.replace_dead_id(save.data).await,
        }
    }

    fn check_value(
        &self,
        key: &str,
        _bucket: Bucket,
        value: &StoredValue,
    ) -> Result<(), SessionError> {
        let size = key
            .len()
            .saturating_add(2)
            .saturating_add(value.as_json().len());
        if size > self.inner.max_value_bytes {
            return Err(SessionError::ValueTooLarge {
                key: key.to_owned(),
                size,
                limit: self.inner.max_value_bytes,
                driver: DRIVER,
            });
        }
        Ok(())
    }
}

impl fmt::Debug for RedisDriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisDriver")
            .field("target", &self.inner.connection.target().to_string())
            .field("prefix", &self.inner.prefix)
            .field("id_cookie", &self.inner.id_cookie)
            .field("lifetime", &self.inner.lifetime)
            .field("sliding", &self.inner.sliding)
            .field("max_value_bytes", &self.inner.max_value_bytes)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use session_core::serde_json::json;

    #[test]
    fn operations_split_writes_and_deletes_per_bucket() {
        let mut changes = Changes {
            clear_flash: true,
            ..Changes::default()
        };
        changes
            .session
            .insert("a".into(), Some(json!(1).try_into().expect("json")));
        changes.session.insert("gone".into(), None);
        changes
            .flash
            .insert("f".into(), Some(json!("x").try_into().expect("json")));
        let (writes, deletes) = operations(&changes);
        assert_eq!(
            writes,
            [
                b"s:a".to_vec(),
                b"1".to_vec(),
                b"f:f".to_vec(),
                b"\"x\"".to_vec()
            ]
        );
        assert_eq!(deletes, [b"s:gone".to_vec()]);
        assert_eq!(clears(&changes), "f");
        assert_eq!(clears(&Changes::default()), "");
    }
}
