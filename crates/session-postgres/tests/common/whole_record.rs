//! For contrast: the design other session stores use on PostgreSQL. The
//! whole session is one `jsonb` document: `SELECT` to load it, an upsert of
//! the whole record to save it. Used by the lost-update test.

use std::sync::Arc;

use session_core::cookie::Cookie;
use session_core::{
    SessionError,
    driver::{
        CookieSettings, IdCookie, Loaded, SaveRequest, SessionData, SessionDriver, SessionId,
        async_trait,
    },
    integration::RequestContext,
};
use tokio_postgres::{Client, NoTls};

pub(crate) struct WholeRecordDriver {
    client: Client,
    table: String,
    id_cookie: IdCookie,
}

impl WholeRecordDriver {
    /// Connects and creates `table` (`session_postgres_tests.<table>`).
    pub(crate) async fn connect(url: &str, table: &str) -> Self {
        let (client, connection) = tokio_postgres::connect(url, NoTls)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {url}: {e}"));
        tokio::spawn(connection);
        let table = format!("{}.{table}", super::SCHEMA);
        client
            .batch_execute(&format!(
                "{lock} CREATE SCHEMA IF NOT EXISTS {schema}; \
                 CREATE TABLE {table} (id text PRIMARY KEY, data text NOT NULL)",
                lock = super::MIGRATION_LOCK_SQL,
                schema = super::SCHEMA
            ))
            .await
            .expect("create the whole-record table");
        WholeRecordDriver {
            client,
            table,
            id_cookie: IdCookie::new("blob_session_id", CookieSettings::default()),
        }
    }

    pub(crate) fn table(&self) -> &str {
        &self.table
    }

    fn backend(e: tokio_postgres::Error) -> SessionError {
        SessionError::backend("whole-record", e)
    }
}

#[async_trait]
impl SessionDriver for WholeRecordDriver {
    async fn load(&self, request: &RequestContext) -> Result<Loaded, SessionError> {
        let Some(id) = self.id_cookie.read(request) else {
            return Ok(Loaded::empty());
        };
        let row = self
            .client
            .query_opt(
                &format!("SELECT data FROM {} WHERE id = $1", self.table),
                &[&id.to_string()],
            )
            .await
            .map_err(Self::backend)?;
        let Some(data) =
            row.and_then(|row| serde_json::from_str::<SessionData>(&row.get::<_, String>(0)).ok())
        else {
            return Ok(Loaded::empty());
        };
        Ok(Loaded {
            id: Some(id),
            data: Arc::new(data),
            ..Loaded::empty()
        })
    }

    async fn save(&self, save: SaveRequest<'_>) -> Result<Vec<Cookie<'static>>, SessionError> {
        // The whole record as this request leaves it: whatever other
        // requests wrote since it loaded is overwritten.
        let id = match save.id {
            Some(id) if !save.changes.regenerate => *id,
            _ => SessionId::generate(),
        };
        let blob = String::from_utf8(save.data.to_json_vec()).expect("utf-8");
        self.client
            .execute(
                &format!(
                    "INSERT INTO {} (id, data) VALUES ($1, $2) \
                     ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data",
                    self.table
                ),
                &[&id.to_string(), &blob],
            )
            .await
            .map_err(Self::backend)?;
        Ok(if Some(&id) == save.id {
            Vec::new()
        } else {
            vec![self.id_cookie.cookie(&id)]
        })
    }
}
