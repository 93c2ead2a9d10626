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
use tokio_postgres::types::ToSql;

use crate::PostgresDriverBuilder;
use crate::connection::{Cause, ConnectOptions, DRIVER, Database, start_error};
use crate::identifier::Identifier;
use crate::json::{BucketDelta, JsonText, object, session_data, unstorable};
use crate::sql::{MIGRATION_LOCK, Statements, migration};
use crate::sweeper;

/// How long the tombstone of an ended id stays at most (the lifetime, if
/// shorter): as long as a request that loaded the session before it ended
/// can reasonably still be running.
const TOMBSTONE_MAX: Duration = Duration::from_secs(10 * 60);

/// The share of the lifetime after which a load refreshes a session's
/// expiry (with sliding expiry): one tenth.
const REFRESH_DIVISOR: u32 = 10;

/// Server-side sessions in a PostgreSQL table, shared by every worker and
/// machine that uses the same database, with no lost updates.
///
/// Build one with [`PostgresDriver::connect`], [`PostgresDriver::from_env`],
/// [`PostgresDriver::from_config`] or [`PostgresDriver::builder`]; all of
/// them connect (and migrate) before they return, so a database that cannot
/// be reached stops the application at start-up with a
/// [`ConfigError::Driver`] rather than failing its first request. The
/// driver is a cheap handle (an `Arc`): clones share one pool.
///
/// See the [crate documentation](crate) for the table, what one request
/// costs, expiry, and what happens when the database goes away.
#[derive(Clone)]
pub struct PostgresDriver {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) database: Database,
    pub(crate) statements: Statements,
    schema: Identifier,
    table: Identifier,
    id_cookie: IdCookie,
    lifetime: Duration,
    lifetime_ms: f64,
    tombstone_ms: f64,
    refresh_below_ms: f64,
    sliding: bool,
    max_value_bytes: usize,
    pub(crate) sweep_batch: i64,
}

impl PostgresDriver {
    /// A builder with the defaults (see [`PostgresDriverBuilder`]).
    pub fn builder() -> PostgresDriverBuilder {
        PostgresDriverBuilder::new()
    }

    /// Connects to the database at `url` (`postgres://user@host:port/db`)
    /// with the defaults for everything else.
    pub async fn connect(url: impl Into<String>) -> Result<Self, ConfigError> {
        Self::builder().url(url).connect().await
    }

    /// Connects to the database `DATABASE_URL` in the environment names
    /// ([`DEFAULT_URL`](crate::DEFAULT_URL) when unset), with the settings
    /// of [`from_config`](Self::from_config).
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), session_core::ConfigError> {
    /// use session_core::{SessionConfig, SessionManager};
    /// use session_postgres::PostgresDriver;
    ///
    /// let config = SessionConfig::from_env()?; // SESSION_DRIVER=postgres, SESSION_LIFETIME=...
    /// let manager = SessionManager::builder_from_config(&config)?
    ///     .driver("postgres", PostgresDriver::from_env(&config).await?) // DATABASE_URL=...
    ///     .build()?;
    /// # let _ = manager; Ok(()) }
    /// ```
    pub async fn from_env(config: &SessionConfig) -> Result<Self, ConfigError> {
        PostgresDriverBuilder::from_env(config).connect().await
    }

    /// Connects to [`DEFAULT_URL`](crate::DEFAULT_URL) with the settings
    /// every driver shares from `config`: the lifetime, the cookie
    /// attributes, and the id cookie named by the rule of [`IdCookie`]
    /// (`postgres_` + [`SessionConfig::id_cookie_name`]).
    pub async fn from_config(config: &SessionConfig) -> Result<Self, ConfigError> {
        PostgresDriverBuilder::from_config(config).connect().await
    }

    pub(crate) async fn start(
        options: ConnectOptions,
        schema: Identifier,
        table: Identifier,
        migrate: bool,
        builder: PostgresDriverBuilder,
    ) -> Result<Self, ConfigError> {
        let (database, client) = Database::connect(options).await?;
        let statements = Statements::new(&schema, &table);
        let target = database.target().to_owned();
        // Start-up statements may wait for another process's migration.
        let limit = builder.timeouts_statement() * 4;
        let bounded =
            |what: String| start_error(format!("{what} at {target} took longer than {limit:?}"));
        let check = || async {
            match tokio::time::timeout(limit, client.prepare(&statements.check_table)).await {
                Ok(Ok(statement)) => Ok(column_mismatch(&statement)),
                Ok(Err(e)) => Err(Some(e)),
                Err(_) => Err(None),
            }
        };
        let foreign = |why: String| {
            start_error(format!(
                "the sessions table {schema}.{table} at {target} is missing or is not this \
                 driver's: {why} (create it with the SQL of PostgresDriverBuilder::migration_sql, \
                 turn `migrate` on, or choose another table)"
            ))
        };
        match check().await {
            Ok(None) => {}
            // A table of that name with other columns is someone else's:
            // never touch it.
            Ok(Some(why)) => return Err(foreign(why)),
            Err(Some(e)) if !migrate || !is_missing(&e) => {
                return Err(foreign(Cause::from_client(e).to_string()));
            }
            Err(Some(_)) => {}
            Err(None) => return Err(bounded(format!("checking {schema}.{table}"))),
        }
        if migrate {
            // One multi-statement query runs as one transaction; the lock
            // is held until it ends.
            let sql = format!(
                "SELECT pg_advisory_xact_lock({MIGRATION_LOCK});\n{}",
                migration(&schema, &table)
            );
            match tokio::time::timeout(limit, client.batch_execute(&sql)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    return Err(start_error(format!(
                        "could not create the sessions table {schema}.{table} at {target}: {} \
                         (give the database user the right to create it, or create it \
                         yourself with the SQL of PostgresDriverBuilder::migration_sql and \
                         turn `migrate` off)",
                        Cause::from_client(e)
                    )));
                }
                Err(_) => return Err(bounded(format!("creating {schema}.{table}"))),
            }
            match check().await {
                Ok(None) => {}
                Ok(Some(why)) => return Err(foreign(why)),
                Err(Some(e)) => return Err(foreign(Cause::from_client(e).to_string())),
                Err(None) => return Err(bounded(format!("checking {schema}.{table}"))),
            }
        }
        drop(client);
        let lifetime_ms = builder.lifetime.as_secs_f64() * 1000.0;
        let tombstone = builder.lifetime.min(TOMBSTONE_MAX);
        let driver = PostgresDriver {
            inner: Arc::new(Inner {
                database,
                statements,
                schema,
                table,
                id_cookie: builder.id_cookie,
                lifetime: builder.lifetime,
                lifetime_ms,
                tombstone_ms: tombstone.as_secs_f64() * 1000.0,
                refresh_below_ms: lifetime_ms - lifetime_ms / f64::from(REFRESH_DIVISOR),
                sliding: builder.sliding,
                max_value_bytes: builder.max_value_bytes,
                sweep_batch: i64::from(builder.sweep_batch),
            }),
        };
        if let Some(interval) = builder.sweep_interval {
            sweeper::spawn(Arc::downgrade(&driver.inner), interval);
        }
        Ok(driver)
    }

    /// The schema and table the sessions are in, quoted: `"public"."sessions"`.
    pub fn table_name(&self) -> String {
        format!("{}.{}", self.inner.schema, self.inner.table)
    }

    /// The name of the cookie holding the session id.
    pub fn cookie_name(&self) -> &str {
        self.inner.id_cookie.name()
    }

    /// How long a session lives: since its last request with sliding expiry
    /// (the default; see [`PostgresDriverBuilder::sliding_expiry`]), since
    /// its last change without.
    pub fn lifetime(&self) -> Duration {
        self.inner.lifetime
    }

    /// The number of statements sent to PostgreSQL since start-up, failed
    /// ones included, each one round trip; preparing a statement the first
    /// time a pooled connection runs it counts as one more. A load is one, a
    /// save is one, a request that changes nothing saves nothing.
    pub fn round_trips(&self) -> u64 {
        self.inner.database.round_trips()
    }

    /// Deletes the expired sessions and tombstones now, in batches of
    /// [`sweep_batch`](PostgresDriverBuilder::sweep_batch) rows, and
    /// returns how many rows went. The background sweep does the same
    /// every [`sweep_interval`](PostgresDriverBuilder::sweep_interval).
    ///
    /// # Errors
    /// [`SessionError::Backend`] when the database fails.
    pub async fn delete_expired(&self) -> Result<u64, SessionError> {
        sweeper::sweep(&self.inner).await
    }

    async fn query(
        &self,
        action: &'static str,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>, SessionError> {
        self.inner.database.query(action, sql, params).await
    }

    /// Stores a whole session under a new id: for a new session, and for
    /// one that expired while the request ran.
    async fn store_new(&self, data: &SessionData) -> Result<Vec<Cookie<'static>>, SessionError> {
        if data.is_empty() {
            return Ok(Vec::new());
        }
        let id = SessionId::generate();
        let session = object(data.session.iter());
        let flash = object(data.flash.iter());
        self.query(
            "storing a new session",
            &self.inner.statements.insert,
            &[&id.to_string(), &session, &flash, &self.inner.lifetime_ms],
        )
        .await?;
        Ok(vec![self.inner.id_cookie.cookie(&id)])
    }

    /// Stores the request's view of a session whose row expired while it
    /// ran under a new id, rather than losing it; with nothing to store,
    /// the old id's cookie is removed.
    async fn replace_expired(
        &self,
        data: &SessionData,
    ) -> Result<Vec<Cookie<'static>>, SessionError> {
        let mut cookies = self.store_new(data).await?;
        if cookies.is_empty() {
            cookies.push(self.inner.id_cookie.removal());
        }
        Ok(cookies)
    }

    /// Whether `id`, which a save found not live, has ended (`true`) or
    /// expired (`false`). A statement of its own, with a fresh snapshot:
    /// the save may have waited for the regenerate that ended it.
    async fn has_ended(&self, id: &str) -> Result<bool, SessionError> {
        let rows = self
            .query(
                "checking a session id",
                &self.inner.statements.classify,
                &[&id],
            )
            .await?;
        Ok(rows
            .first()
            .and_then(|row| row.try_get::<_, bool>(0).ok())
            .unwrap_or(false))
    }
}

/// What is wrong with the columns of the table, if anything: the check
/// statement selects them in the order of the migration.
fn column_mismatch(statement: &tokio_postgres::Statement) -> Option<String> {
    use tokio_postgres::types::Type;
    let expected = [
        ("id", Type::TEXT),
        ("session", Type::JSONB),
        ("flash", Type::JSONB),
        ("ended", Type::BOOL),
        ("expires_at", Type::TIMESTAMPTZ),
    ];
    statement
        .columns()
        .iter()
        .zip(expected)
        .find(|(column, (_, ty))| column.type_() != ty)
        .map(|(column, (name, ty))| {
            format!(
                "its column `{name}` is of type {}, not {ty}",
                column.type_()
            )
        })
}

/// True when `e` says the table (or its schema) does not exist yet.
fn is_missing(e: &tokio_postgres::Error) -> bool {
    use tokio_postgres::error::SqlState;
    e.code().is_some_and(|code| {
        *code == SqlState::UNDEFINED_TABLE || *code == SqlState::INVALID_SCHEMA_NAME
    })
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

/// The delta parameters (`$2` … `$9`) of a save or regenerate.
struct Delta {
    session: BucketDelta,
    flash: BucketDelta,
    lifetime_ms: f64,
    tombstone_ms: f64,
    refresh_below_ms: f64,
}

impl Delta {
    fn params(&self) -> [&(dyn ToSql + Sync); crate::sql::DELTA_PARAMS] {
        [
            &self.session.clear,
            &self.session.delete,
            &self.session.write,
            &self.flash.clear,
            &self.flash.delete,
            &self.flash.write,
            &self.lifetime_ms,
            &self.tombstone_ms,
            &self.refresh_below_ms,
        ]
    }
}

/// The `ended` column of a save's or regenerate's one row; `None` when
/// the id was not live.
fn ended(rows: &[tokio_postgres::Row]) -> Result<Option<bool>, SessionError> {
    match rows.first() {
        None => Ok(None),
        Some(row) => row.try_get::<_, bool>(0).map(Some).map_err(|e| {
            SessionError::backend(
                DRIVER,
                format!(
                    "the save answered a row this driver does not understand: {}",
                    Cause::from_client(e)
                ),
            )
        }),
    }
}

#[async_trait]
impl SessionDriver for PostgresDriver {
    async fn load(&self, request: &RequestContext) -> Result<Loaded, SessionError> {
        let Some(id) = self.inner.id_cookie.read(request) else {
            return Ok(Loaded::empty());
        };
        let id_text = id.to_string();
        let statements = &self.inner.statements;
        let rows = if self.inner.sliding {
            self.query(
                "loading a session",
                &statements.load_sliding,
                &[
                    &id_text,
                    &self.inner.lifetime_ms,
                    &self.inner.refresh_below_ms,
                ],
            )
            .await?
        } else {
            self.query("loading a session", &statements.load, &[&id_text])
                .await?
        };
        let Some(row) = rows.first() else {
            // Unknown, expired, or ended: no session.
            return Ok(Loaded::empty());
        };
        let columns = (row.try_get::<_, JsonText>(0), row.try_get::<_, JsonText>(1));
        let (Ok(session), Ok(flash)) = columns else {
            return Err(SessionError::backend(
                DRIVER,
                "a stored session's columns are not jsonb (was the table changed by hand?)",
            ));
        };
        let data = session_data(&session.0, &flash.0);
        if data.is_empty() {
            return Ok(Loaded::empty());
        }
        Ok(Loaded {
            id: Some(id),
            data: Arc::new(data),
            ..Loaded::empty()
        })
    }

    async fn save(&self, save: SaveRequest<'_>) -> Result<Vec<Cookie<'static>>, SessionError> {
        let Some(old) = save.id else {
            // A new session: what this request wrote is all there is.
            return self.store_new(save.data).await;
        };
        let changes = save.changes;
        let old_text = old.to_string();
        let delta = Delta {
            session: BucketDelta::new(changes, Bucket::Session),
            flash: BucketDelta::new(changes, Bucket::Flash),
            lifetime_ms: self.inner.lifetime_ms,
            tombstone_ms: self.inner.tombstone_ms,
            refresh_below_ms: self.inner.refresh_below_ms,
        };
        let statements = &self.inner.statements;
        if changes.regenerate {
            let new = SessionId::generate().to_string();
            let mut params: Vec<&(dyn ToSql + Sync)> = vec![&old_text];
            params.extend(delta.params());
            params.push(&new);
            let rows = self
                .query("regenerating a session", &statements.regenerate, &params)
                .await?;
            return match ended(&rows)? {
                Some(false) => match SessionId::parse(&new) {
                    Some(new) => Ok(vec![self.inner.id_cookie.cookie(&new)]),
                    None => Err(SessionError::backend(DRIVER, "a fresh id did not parse")),
                },
                // Emptied (a logout with nothing after it): the old id's
                // row is its tombstone, and the browser drops the cookie.
                Some(true) => Ok(vec![self.inner.id_cookie.removal()]),
                None if self.has_ended(&old_text).await? => {
                    Err(SessionError::StaleSession { driver: DRIVER })
                }
                None => self.replace_expired(save.data).await,
            };
        }
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&old_text];
        params.extend(delta.params());
        let rows = self
            .query("saving a session", &statements.save, &params)
            .await?;
        match ended(&rows)? {
            Some(false) => Ok(Vec::new()),
            Some(true) => Ok(vec![self.inner.id_cookie.removal()]),
            // Another request regenerated or ended the session while this
            // one ran: nothing was written, and the request is refused.
            None if self.has_ended(&old_text).await? => {
                if only_clears_shown_flash(changes) {
                    Ok(Vec::new())
                } else {
                    Err(SessionError::StaleSession { driver: DRIVER })
                }
            }
            None => self.replace_expired(save.data).await,
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
        if let Some(reason) = unstorable(key, value.as_json()) {
            return Err(SessionError::Serialize {
                key: key.to_owned(),
                source: <serde_json::Error as serde::ser::Error>::custom(format!(
                    "{reason}, which PostgreSQL cannot store in jsonb"
                )),
            });
        }
        Ok(())
    }
}

impl fmt::Debug for PostgresDriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresDriver")
            .field("target", &self.inner.database.target())
            .field("table", &self.table_name())
            .field("pool_size", &self.inner.database.pool_size())
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

    #[test]
    fn only_a_shown_flash_cleared_counts_as_nothing_to_refuse() {
        let mut changes = Changes::default();
        changes.flash.insert("shown".into(), None);
        assert!(only_clears_shown_flash(&changes));
        changes.session.insert("k".into(), None);
        assert!(!only_clears_shown_flash(&changes));
        let regenerate = Changes {
            regenerate: true,
            ..Changes::default()
        };
        assert!(!only_clears_shown_flash(&regenerate));
    }
}
