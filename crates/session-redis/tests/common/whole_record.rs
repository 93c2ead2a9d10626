//! For contrast: the design other Rust session stores use on Redis. The
//! whole session is one JSON string: `GET` to load it, `SET ... PX` of the
//! whole record to save it. Used by the lost-update test and the benchmark.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use redis::aio::ConnectionManager;
use session_core::cookie::Cookie;
use session_core::serde_json;
use session_core::{
    SessionError,
    driver::{
        CookieSettings, IdCookie, Loaded, SaveRequest, SessionData, SessionDriver, SessionId,
        async_trait,
    },
    integration::RequestContext,
};

pub(crate) struct WholeRecordDriver {
    connection: ConnectionManager,
    prefix: String,
    lifetime_ms: u64,
    id_cookie: IdCookie,
    round_trips: AtomicU64,
}

impl WholeRecordDriver {
    pub(crate) async fn connect(url: &str, prefix: &str) -> Self {
        let client = redis::Client::open(url).expect("url");
        let connection = ConnectionManager::new(client)
            .await
            .unwrap_or_else(|err| panic!("Redis at {url}: {err}"));
        WholeRecordDriver {
            connection,
            prefix: prefix.to_owned(),
            lifetime_ms: Duration::from_secs(600).as_millis() as u64,
            id_cookie: IdCookie::new("blob_session_id", CookieSettings::default()),
            round_trips: AtomicU64::new(0),
        }
    }

    pub(crate) fn round_trips(&self) -> u64 {
        self.round_trips.load(Ordering::Relaxed)
    }

    fn key(&self, id: &SessionId) -> String {
        format!("{}{id}", self.prefix)
    }

    async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, SessionError> {
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        cmd.query_async(&mut self.connection.clone())
            .await
            .map_err(|e| SessionError::backend("whole-record", e))
    }
}

#[async_trait]
impl SessionDriver for WholeRecordDriver {
    async fn load(&self, request: &RequestContext) -> Result<Loaded, SessionError> {
        let Some(id) = self.id_cookie.read(request) else {
            return Ok(Loaded::empty());
        };
        let blob: Option<Vec<u8>> = self.query(redis::cmd("GET").arg(self.key(&id))).await?;
        let Some(data) = blob.and_then(|b| serde_json::from_slice::<SessionData>(&b).ok()) else {
            return Ok(Loaded::empty());
        };
        Ok(Loaded {
            id: Some(id),
            data: std::sync::Arc::new(data),
            ..Loaded::empty()
        })
    }

    async fn save(&self, save: SaveRequest<'_>) -> Result<Vec<Cookie<'static>>, SessionError> {
        // The whole record as this request leaves it: whatever other
        // requests wrote since it loaded is overwritten.
        let id = match save.id {
            Some(id) if !save.changes.regenerate => *id,
            Some(old) => {
                let _: () = self.query(redis::cmd("DEL").arg(self.key(old))).await?;
                SessionId::generate()
            }
            None => SessionId::generate(),
        };
        if save.data.is_empty() {
            let _: () = self.query(redis::cmd("DEL").arg(self.key(&id))).await?;
            return Ok(vec![self.id_cookie.removal()]);
        }
        let blob = save.data.to_json_vec();
        let _: () = self
            .query(
                redis::cmd("SET")
                    .arg(self.key(&id))
                    .arg(blob)
                    .arg("PX")
                    .arg(self.lifetime_ms),
            )
            .await?;
        Ok(if Some(&id) == save.id {
            Vec::new()
        } else {
            vec![self.id_cookie.cookie(&id)]
        })
    }
}
