//! The connection pool: time-bounded statements, errors that never carry
//! session data, a count of round trips.

use std::error::Error as StdError;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use deadpool_postgres::{
    Manager, ManagerConfig, Object, Pool, PoolError, RecyclingMethod, Runtime, TimeoutType,
};
use session_core::{ConfigError, SessionError};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Row, config::SslMode};

/// The driver's name in errors.
pub(crate) const DRIVER: &str = "postgres";

/// The URL with its password, if any, replaced by `***`: it ends up in logs.
pub(crate) fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return if url.contains("password") {
            "(a key=value connection string with a password)".to_owned()
        } else {
            url.to_owned()
        };
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let redacted = match rest[..authority_end].rfind('@') {
        Some(at) => match rest[..at].split_once(':') {
            Some((user, _password)) => format!("{}{user}:***{}", &url[..scheme_end], &rest[at..]),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    };
    match redacted.find("password=") {
        Some(at) => format!("{}password=***", &redacted[..at]),
        None => redacted,
    }
}

/// `url` with libpq's `sslmode=verify-full` or `verify-ca`, which
/// tokio-postgres does not parse, as `require`: with the `tls` feature the
/// driver always verifies the certificate and the host name (as
/// `verify-full` does; stricter than `verify-ca`).
pub(crate) fn verifying_as_require(url: &str) -> String {
    url.replace("sslmode=verify-full", "sslmode=require")
        .replace("sslmode=verify-ca", "sslmode=require")
}

/// The time limits of the pool and of each statement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Timeouts {
    /// Opening one connection.
    pub(crate) connect: Duration,
    /// Waiting for a free connection of the pool.
    pub(crate) pool_wait: Duration,
    /// One statement: the server's `statement_timeout`; the driver gives up
    /// on a server that does not answer at all [`GRACE`] later.
    pub(crate) statement: Duration,
}

/// How much longer than the server's `statement_timeout` the driver waits
/// for an answer: long enough for the server's own cancellation (which
/// keeps the connection) to arrive first when the server is alive.
pub(crate) const GRACE: Duration = Duration::from_millis(500);

/// The pool, and what every statement needs.
pub(crate) struct Database {
    pool: Pool,
    target: String,
    timeouts: Timeouts,
    round_trips: AtomicU64,
}

enum Answer {
    Rows(Vec<Row>),
    Count(u64),
}

/// What [`Database::connect`] needs.
pub(crate) struct ConnectOptions {
    pub(crate) url: String,
    pub(crate) timeouts: Timeouts,
    pub(crate) pool_size: usize,
    #[cfg(feature = "tls")]
    pub(crate) tls_roots: Vec<Vec<u8>>,
}

impl Database {
    /// Builds the pool and opens one connection, so that a database that
    /// cannot be reached stops the application at start-up.
    pub(crate) async fn connect(options: ConnectOptions) -> Result<(Self, Object), ConfigError> {
        let target = redact(&options.url);
        let timeouts = options.timeouts;
        let mut config: tokio_postgres::Config =
            verifying_as_require(&options.url).parse().map_err(|e| {
                start_error(format!(
                    "the database URL {target} is not valid ({e}); expected \
                 postgres://user[:password]@host[:port]/database[?sslmode=require]"
                ))
            })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(timeouts.connect);
        }
        if config.get_application_name().is_none() {
            config.application_name("session-views");
        }
        // The server cancels a statement that runs too long (a lock held by
        // a stuck transaction, say), which frees the connection for reuse.
        let statement_ms = timeouts.statement.as_millis().max(1);
        let options_line = match config.get_options() {
            Some(existing) if !existing.trim().is_empty() => {
                format!("{existing} -c statement_timeout={statement_ms}")
            }
            _ => format!("-c statement_timeout={statement_ms}"),
        };
        config.options(&options_line);
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = match config.get_ssl_mode() {
            SslMode::Require => {
                #[cfg(feature = "tls")]
                {
                    let tls = crate::tls::connector(&options.tls_roots).map_err(start_error)?;
                    Manager::from_config(config, tls, manager_config)
                }
                #[cfg(not(feature = "tls"))]
                {
                    return Err(start_error(format!(
                        "the database URL {target} asks for TLS (sslmode=require), but \
                         session-postgres was built without its `tls` feature: enable it, \
                         or drop sslmode=require from the URL"
                    )));
                }
            }
            // `prefer` falls back to plain text whenever TLS fails, so it
            // protects from nothing an attacker on the path could not
            // strip; connect in plain text, and say so in the docs.
            _ => {
                config.ssl_mode(SslMode::Disable);
                Manager::from_config(config, tokio_postgres::NoTls, manager_config)
            }
        };
        let pool = Pool::builder(manager)
            .max_size(options.pool_size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(timeouts.pool_wait))
            .create_timeout(Some(timeouts.connect))
            .recycle_timeout(Some(timeouts.connect))
            .build()
            .map_err(|e| start_error(format!("could not set up the connection pool: {e}")))?;
        let database = Database {
            pool,
            target,
            timeouts,
            round_trips: AtomicU64::new(0),
        };
        // The pool's create timeout bounds this; the outer one is a backstop.
        let first = tokio::time::timeout(timeouts.connect + GRACE, database.pool.get()).await;
        let client = match first {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => {
                return Err(start_error(format!(
                    "could not connect to PostgreSQL at {}: {}{START_ADVICE}",
                    database.target,
                    Cause::from_pool(e, timeouts)
                )));
            }
            Err(_) => {
                return Err(start_error(format!(
                    "no answer within {:?} from PostgreSQL at {}{START_ADVICE}",
                    timeouts.connect + GRACE,
                    database.target
                )));
            }
        };
        Ok((database, client))
    }

    /// Runs `sql` and returns its rows: one round trip (two the first time
    /// a connection sees the statement, which it then keeps prepared).
    pub(crate) async fn query(
        &self,
        action: &'static str,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, SessionError> {
        match self.run(action, sql, params, false).await? {
            Answer::Rows(rows) => Ok(rows),
            Answer::Count(_) => Ok(Vec::new()),
        }
    }

    /// Runs `sql` and returns the number of rows it changed.
    pub(crate) async fn execute(
        &self,
        action: &'static str,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, SessionError> {
        match self.run(action, sql, params, true).await? {
            Answer::Count(count) => Ok(count),
            Answer::Rows(rows) => Ok(rows.len() as u64),
        }
    }

    async fn run(
        &self,
        action: &'static str,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
        count: bool,
    ) -> Result<Answer, SessionError> {
        let failure = |cause| self.failure(action, cause);
        let client = self
            .pool
            .get()
            .await
            .map_err(|e| failure(Cause::from_pool(e, self.timeouts)))?;
        let limit = self.timeouts.statement + GRACE;
        let run = async {
            let cached = client.statement_cache.size();
            let statement = client.prepare_cached(sql).await;
            let prepared = client.statement_cache.size() > cached;
            self.round_trips
                .fetch_add(1 + u64::from(prepared), Ordering::Relaxed);
            let statement = statement?;
            if count {
                client.execute(&statement, params).await.map(Answer::Count)
            } else {
                client.query(&statement, params).await.map(Answer::Rows)
            }
        };
        match tokio::time::timeout(limit, run).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(e)) => Err(failure(Cause::from_client(e))),
            Err(_) => {
                // The connection may still deliver the late answer, or never
                // answer again: it goes, rather than back into the pool.
                drop(Object::take(client));
                Err(failure(Cause::Timeout(limit)))
            }
        }
    }

    fn failure(&self, action: &'static str, cause: Cause) -> SessionError {
        SessionError::backend(
            DRIVER,
            StoreError {
                action,
                target: self.target.clone(),
                cause,
            },
        )
    }

    pub(crate) fn round_trips(&self) -> u64 {
        self.round_trips.load(Ordering::Relaxed)
    }

    pub(crate) fn target(&self) -> &str {
        &self.target
    }

    pub(crate) fn pool_size(&self) -> usize {
        self.pool.status().max_size
    }
}

const START_ADVICE: &str = " (is PostgreSQL running and does the database exist? Start the \
     machine's cluster with `pg_ctlcluster <version> main start`, create the database with \
     `createdb`, or point DATABASE_URL at yours)";

pub(crate) fn start_error(message: String) -> ConfigError {
    ConfigError::Driver {
        driver: DRIVER.to_owned(),
        source: Box::new(StartError(message)),
    }
}

/// Why the driver could not start.
#[derive(Debug)]
struct StartError(String);

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl StdError for StartError {}

/// A load or save that failed; the source of [`SessionError::Backend`].
#[derive(Debug)]
pub(crate) struct StoreError {
    action: &'static str,
    target: String,
    cause: Cause,
}

/// What went wrong, with PostgreSQL's own error reduced to its code and
/// message: its DETAIL can quote a row's values (a session id in a
/// unique violation, say), and errors end up in logs.
#[derive(Debug)]
pub(crate) enum Cause {
    Database { code: String, message: String },
    Client(tokio_postgres::Error),
    PoolWait(Duration),
    Other(String),
    Timeout(Duration),
}

impl Cause {
    pub(crate) fn from_client(e: tokio_postgres::Error) -> Self {
        match e.as_db_error() {
            Some(db) => Cause::Database {
                code: db.code().code().to_owned(),
                message: db.message().to_owned(),
            },
            None => Cause::Client(e),
        }
    }

    fn from_pool(e: PoolError, timeouts: Timeouts) -> Self {
        match e {
            PoolError::Backend(e) => Cause::from_client(e),
            PoolError::Timeout(TimeoutType::Wait) => Cause::PoolWait(timeouts.pool_wait),
            PoolError::Timeout(TimeoutType::Create | TimeoutType::Recycle) => {
                Cause::Timeout(timeouts.connect)
            }
            other => Cause::Other(other.to_string()),
        }
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Database { code, message } => write!(f, "{message} (SQLSTATE {code})"),
            Cause::Client(e) => match e.source() {
                Some(source) => write!(f, "{e}: {source}"),
                None => write!(f, "{e}"),
            },
            Cause::PoolWait(after) => write!(
                f,
                "no free connection in the pool within {after:?} (raise the pool size, or \
                 the database is slow)"
            ),
            Cause::Other(text) => f.write_str(text),
            Cause::Timeout(after) => write!(f, "no answer within {after:?}"),
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at {} failed: {}",
            self.action, self.target, self.cause
        )
    }
}

impl StdError for StoreError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match &self.cause {
            // Never a database error: its Display shows the DETAIL.
            Cause::Client(e) => Some(e),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        for (url, shown) in [
            (
                "postgres://postgres@127.0.0.1:5432/test",
                "postgres://postgres@127.0.0.1:5432/test",
            ),
            (
                "postgres://app:hunter2@db:5432/app?sslmode=require",
                "postgres://app:***@db:5432/app?sslmode=require",
            ),
            (
                "postgresql://app:p@ss@db/app",
                "postgresql://app:***@db/app",
            ),
            (
                "postgres://db/app?user=app&password=hunter2",
                "postgres://db/app?user=app&password=***",
            ),
            (
                "host=db user=app password=hunter2",
                "(a key=value connection string with a password)",
            ),
            ("host=db user=app", "host=db user=app"),
        ] {
            assert_eq!(redact(url), shown, "{url}");
        }
    }

    #[test]
    fn verifying_ssl_modes_read_as_require() {
        assert_eq!(
            verifying_as_require("postgres://db/app?sslmode=verify-full&x=1"),
            "postgres://db/app?sslmode=require&x=1"
        );
        assert_eq!(
            verifying_as_require("host=db sslmode=verify-ca"),
            "host=db sslmode=require"
        );
        assert_eq!(
            verifying_as_require("postgres://db/app"),
            "postgres://db/app"
        );
        for url in [
            "postgres://db/app?sslmode=verify-full",
            "host=db sslmode=verify-ca",
        ] {
            let config: tokio_postgres::Config = verifying_as_require(url).parse().expect(url);
            assert_eq!(config.get_ssl_mode(), SslMode::Require);
        }
    }

    #[test]
    fn database_errors_show_code_and_message_only() {
        let cause = Cause::Database {
            code: "23505".into(),
            message: "duplicate key value violates unique constraint \"s_pkey\"".into(),
        };
        let err = StoreError {
            action: "saving a session",
            target: "postgres://db/app".into(),
            cause,
        };
        assert_eq!(
            err.to_string(),
            "saving a session at postgres://db/app failed: duplicate key value violates \
             unique constraint \"s_pkey\" (SQLSTATE 23505)"
        );
        assert!(err.source().is_none());
    }
}
