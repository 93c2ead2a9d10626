use std::time::Duration;

use session_core::{
    ConfigError, SessionConfig,
    driver::{CookieSettings, IdCookie},
};

use crate::PostgresDriver;
use crate::connection::{ConnectOptions, DRIVER, Timeouts, start_error};
use crate::identifier::{Identifier, MAX_SCHEMA_LEN, MAX_TABLE_LEN};

/// The database a builder connects to unless told otherwise.
pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The environment variable [`PostgresDriverBuilder::from_env`] reads.
pub const URL_VAR: &str = "DATABASE_URL";

/// The environment variable [`PostgresDriverBuilder::from_env`] reads the
/// [schema](PostgresDriverBuilder::schema) from.
pub const SCHEMA_VAR: &str = "SESSION_POSTGRES_SCHEMA";

/// The environment variable [`PostgresDriverBuilder::from_env`] reads the
/// [table](PostgresDriverBuilder::table) from.
pub const TABLE_VAR: &str = "SESSION_POSTGRES_TABLE";

/// The id cookie's default name: `postgres_` and the default
/// [`SessionConfig::id_cookie_name`], by the rule of [`IdCookie`].
pub const DEFAULT_COOKIE_NAME: &str = "postgres_session_id";

/// The default schema of the sessions table.
pub const DEFAULT_SCHEMA: &str = "public";

/// The default name of the sessions table.
pub const DEFAULT_TABLE: &str = "sessions";

/// The default largest value, in bytes of JSON plus the key: 1 MiB.
pub const DEFAULT_MAX_VALUE_BYTES: usize = 1024 * 1024;

/// Configures and connects a [`PostgresDriver`].
///
/// | setting | default |
/// | --- | --- |
/// | [`url`](Self::url) | `postgres://postgres@127.0.0.1:5432/test` (`DATABASE_URL` with [`from_env`](Self::from_env)) |
/// | [`schema`](Self::schema) / [`table`](Self::table) | `public` / `sessions` (`SESSION_POSTGRES_SCHEMA` / `SESSION_POSTGRES_TABLE`) |
/// | [`migrate`](Self::migrate) | on: create the schema, table and index if missing |
/// | [`cookie_name`](Self::cookie_name) | `postgres_session_id` |
/// | [`cookie_settings`](Self::cookie_settings) | `HttpOnly; Path=/; SameSite=Lax; Secure` |
/// | [`lifetime`](Self::lifetime) | 2 hours |
/// | [`sliding_expiry`](Self::sliding_expiry) | on (refreshed once a tenth of the lifetime has passed) |
/// | [`max_value_bytes`](Self::max_value_bytes) | 1 MiB |
/// | [`pool_size`](Self::pool_size) | 16 connections |
/// | [`connect_timeout`](Self::connect_timeout) | 2 s |
/// | [`pool_wait_timeout`](Self::pool_wait_timeout) | 1 s |
/// | [`statement_timeout`](Self::statement_timeout) | 2 s |
/// | [`sweep_interval`](Self::sweep_interval) / [`sweep_batch`](Self::sweep_batch) | 5 minutes / 1000 rows |
///
/// ```no_run
/// # #[tokio::main] async fn main() -> Result<(), session_core::ConfigError> {
/// use std::time::Duration;
/// use session_postgres::PostgresDriver;
///
/// let driver = PostgresDriver::builder()
///     .url("postgres://shop@db.internal:5432/shop")
///     .schema("shop")
///     .table("web_sessions")
///     .lifetime(Duration::from_secs(30 * 60))
///     .statement_timeout(Duration::from_millis(500))
///     .connect()
///     .await?;
/// # let _ = driver; Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until `connect` is awaited"]
pub struct PostgresDriverBuilder {
    url: String,
    pub(crate) schema: String,
    pub(crate) table: String,
    migrate: bool,
    pub(crate) id_cookie: IdCookie,
    pub(crate) lifetime: Duration,
    pub(crate) sliding: bool,
    pub(crate) max_value_bytes: usize,
    pool_size: usize,
    timeouts: Timeouts,
    pub(crate) sweep_interval: Option<Duration>,
    pub(crate) sweep_batch: u32,
    #[cfg(feature = "tls")]
    tls_roots: Vec<TlsRoot>,
}

#[cfg(feature = "tls")]
#[derive(Clone, Debug)]
enum TlsRoot {
    Pem(Vec<u8>),
    File(std::path::PathBuf),
}

impl Default for PostgresDriverBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl PostgresDriverBuilder {
    /// A builder with the defaults of the table above ([`DEFAULT_URL`], not
    /// `DATABASE_URL`: see [`from_env`](Self::from_env)).
    pub fn new() -> Self {
        let config = SessionConfig::default();
        PostgresDriverBuilder {
            url: DEFAULT_URL.to_owned(),
            schema: DEFAULT_SCHEMA.to_owned(),
            table: DEFAULT_TABLE.to_owned(),
            migrate: true,
            id_cookie: IdCookie::for_driver(&config, DRIVER),
            lifetime: config.lifetime(),
            sliding: true,
            max_value_bytes: DEFAULT_MAX_VALUE_BYTES,
            pool_size: 16,
            timeouts: Timeouts {
                connect: Duration::from_secs(2),
                pool_wait: Duration::from_secs(1),
                statement: Duration::from_secs(2),
            },
            sweep_interval: Some(Duration::from_secs(5 * 60)),
            sweep_batch: 1000,
            #[cfg(feature = "tls")]
            tls_roots: Vec::new(),
        }
    }

    /// A builder with the settings every driver shares from `config` (the
    /// lifetime, the cookie attributes, the id cookie's name), the defaults
    /// for the rest, [`DEFAULT_URL`] included.
    pub fn from_config(config: &SessionConfig) -> Self {
        PostgresDriverBuilder {
            id_cookie: IdCookie::for_driver(config, DRIVER),
            lifetime: config.lifetime(),
            ..Self::new()
        }
    }

    /// [`from_config`](Self::from_config), connecting where the
    /// environment's `DATABASE_URL` says, to the table
    /// `SESSION_POSTGRES_SCHEMA`.`SESSION_POSTGRES_TABLE` (each defaulting
    /// as above), and, with the `tls` feature, trusting the certificates in
    /// the file `PGSSLROOTCERT` names.
    pub fn from_env(config: &SessionConfig) -> Self {
        Self::from_lookup(config, |var| std::env::var(var).ok())
    }

    /// [`from_env`](Self::from_env), reading the variables through
    /// `lookup` (for tests, or other sources of settings).
    pub fn from_lookup(config: &SessionConfig, lookup: impl Fn(&str) -> Option<String>) -> Self {
        let mut builder = Self::from_config(config);
        if let Some(url) = lookup(URL_VAR).filter(|url| !url.trim().is_empty()) {
            builder = builder.url(url.trim());
        }
        if let Some(schema) = lookup(SCHEMA_VAR).filter(|s| !s.trim().is_empty()) {
            builder = builder.schema(schema.trim());
        }
        if let Some(table) = lookup(TABLE_VAR).filter(|t| !t.trim().is_empty()) {
            builder = builder.table(table.trim());
        }
        #[cfg(feature = "tls")]
        if let Some(path) = lookup("PGSSLROOTCERT").filter(|path| !path.trim().is_empty()) {
            builder.tls_roots.push(TlsRoot::File(path.trim().into()));
        }
        builder
    }

    /// The database: `postgres://user[:password]@host[:port]/database`, with
    /// libpq's query parameters (`?sslmode=require`, `connect_timeout=5`, ...).
    /// `sslmode=require` (or `verify-full`) needs the `tls` feature, and then verifies the
    /// server's certificate; `prefer` (the default) connects without TLS.
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.url = url.into();
        self
    }

    /// The schema of the sessions table (default `public`): lowercase ASCII
    /// letters, digits and `_`, at most 63 bytes.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }

    /// The sessions table (default `sessions`): lowercase ASCII letters,
    /// digits and `_`, at most 48 bytes (its index is named after it).
    pub fn table(mut self, table: impl Into<String>) -> Self {
        self.table = table.into();
        self
    }

    /// Whether [`connect`](Self::connect) creates the schema, the table and
    /// its index when they are missing (default on). Off, it only checks
    /// that the table is there; run [`migration_sql`](Self::migration_sql)
    /// yourself (or in your migrations) first.
    pub fn migrate(mut self, migrate: bool) -> Self {
        self.migrate = migrate;
        self
    }

    /// The SQL that creates the schema, table and index this builder's
    /// driver uses, for your own migrations (each statement is `IF NOT
    /// EXISTS`, so it can run again).
    ///
    /// # Errors
    /// [`ConfigError::Driver`] when the schema or table name is not valid.
    pub fn migration_sql(&self) -> Result<String, ConfigError> {
        let (schema, table) = self.names()?;
        Ok(crate::sql::migration(&schema, &table))
    }

    /// The name of the cookie holding the session id (default
    /// `postgres_session_id`; see [`IdCookie`] for how server-side drivers
    /// name theirs).
    pub fn cookie_name(mut self, name: impl Into<String>) -> Self {
        self.id_cookie = self.id_cookie.with_name(name);
        self
    }

    /// The attributes of the id cookie (default: from [`SessionConfig::default`]).
    pub fn cookie_settings(mut self, settings: CookieSettings) -> Self {
        self.id_cookie = self.id_cookie.with_settings(settings);
        self
    }

    /// How long a session lives without a request (default 2 hours).
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// With sliding expiry (the default) a load pushes the session's expiry
    /// back to a full lifetime once a tenth of it has passed since the last
    /// push, in the load's own statement: a session lives between 90% and
    /// 100% of the lifetime after its last request, and a session that is
    /// only read costs one write per tenth of the lifetime, not one per
    /// request. Saves push it back by the same rule. Without sliding expiry
    /// only saves do: a session lives 90% to 100% of the lifetime after its
    /// last change, and loads never write.
    pub fn sliding_expiry(mut self, sliding: bool) -> Self {
        self.sliding = sliding;
        self
    }

    /// The largest value accepted by `set` and `flash`, counted as the bytes
    /// of its JSON plus the key (default 1 MiB). A larger one is refused with
    /// [`SessionError::ValueTooLarge`](session_core::SessionError::ValueTooLarge)
    /// where it is written.
    pub fn max_value_bytes(mut self, limit: usize) -> Self {
        self.max_value_bytes = limit;
        self
    }

    /// The most connections the pool opens (default 16). Each load and each
    /// save holds one for a single statement.
    pub fn pool_size(mut self, size: usize) -> Self {
        self.pool_size = size;
        self
    }

    /// How long opening one connection may take (default 2 s), unless the
    /// URL sets `connect_timeout`.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.connect = timeout;
        self
    }

    /// How long a request waits for a free connection when all are busy
    /// (default 1 s). Past it the request gets
    /// [`SessionError::Backend`](session_core::SessionError::Backend) — a
    /// 503 through the HTTP layer.
    pub fn pool_wait_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.pool_wait = timeout;
        self
    }

    /// How long one statement may run (default 2 s): the server's
    /// `statement_timeout` on every connection, and half a second later the
    /// driver stops waiting for a server that does not answer at all (and
    /// drops that connection). Either way the request gets
    /// [`SessionError::Backend`](session_core::SessionError::Backend) rather
    /// than hanging.
    pub fn statement_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.statement = timeout;
        self
    }

    /// How often the background task deletes expired rows (default every 5
    /// minutes; `None`: never, for an application that runs
    /// [`PostgresDriver::delete_expired`] itself). Expired rows are never
    /// loaded, whether or not they are deleted yet.
    pub fn sweep_interval(mut self, interval: Option<Duration>) -> Self {
        self.sweep_interval = interval;
        self
    }

    /// How many expired rows one `DELETE` of the sweep removes at most
    /// (default 1000), so that no sweep holds many row locks or runs long.
    pub fn sweep_batch(mut self, rows: u32) -> Self {
        self.sweep_batch = rows;
        self
    }

    /// Trusts the PEM certificates in `pem` for TLS, besides the public
    /// roots (a private certificate authority's, say). Takes effect with
    /// `sslmode=require` in the URL.
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub fn tls_root_certificates(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.tls_roots.push(TlsRoot::Pem(pem.into()));
        self
    }

    /// Checks the settings, connects, runs (or checks) the migration, and
    /// starts the background sweep of expired rows.
    ///
    /// # Errors
    /// [`ConfigError::Driver`] when a setting is invalid, the database cannot
    /// be reached, or the table is missing or not this driver's; the
    /// message names the URL (password hidden) and what to do.
    pub async fn connect(self) -> Result<PostgresDriver, ConfigError> {
        let (schema, table) = self.validate()?;
        let options = ConnectOptions {
            url: self.url.clone(),
            timeouts: self.timeouts,
            pool_size: self.pool_size,
            #[cfg(feature = "tls")]
            tls_roots: self.read_tls_roots()?,
        };
        PostgresDriver::start(options, schema, table, self.migrate, self).await
    }

    pub(crate) fn timeouts_statement(&self) -> Duration {
        self.timeouts.statement
    }

    #[cfg(feature = "tls")]
    fn read_tls_roots(&self) -> Result<Vec<Vec<u8>>, ConfigError> {
        self.tls_roots
            .iter()
            .map(|root| match root {
                TlsRoot::Pem(pem) => Ok(pem.clone()),
                TlsRoot::File(path) => std::fs::read(path).map_err(|e| {
                    start_error(format!(
                        "could not read the TLS root certificates in {} (PGSSLROOTCERT): {e}",
                        path.display()
                    ))
                }),
            })
            .collect()
    }

    fn names(&self) -> Result<(Identifier, Identifier), ConfigError> {
        let schema =
            Identifier::new("schema", &self.schema, MAX_SCHEMA_LEN).map_err(start_error)?;
        let table = Identifier::new("table", &self.table, MAX_TABLE_LEN).map_err(start_error)?;
        Ok((schema, table))
    }

    fn validate(&self) -> Result<(Identifier, Identifier), ConfigError> {
        let names = self.names()?;
        let invalid = |message: String| Err(start_error(message));
        if !self.id_cookie.name_is_token() {
            return invalid(format!(
                "the cookie name {:?} is not a cookie-name token (letters, digits, `-`, `_`, ...)",
                self.id_cookie.name()
            ));
        }
        if self.pool_size == 0 {
            return invalid("the pool size must be at least 1".to_owned());
        }
        if self.sweep_batch == 0 {
            return invalid("the sweep batch must be at least 1 row".to_owned());
        }
        for (what, value) in [
            ("lifetime", Some(self.lifetime)),
            ("connect timeout", Some(self.timeouts.connect)),
            ("pool wait timeout", Some(self.timeouts.pool_wait)),
            ("statement timeout", Some(self.timeouts.statement)),
            ("sweep interval", self.sweep_interval),
        ] {
            if value.is_some_and(|value| value.is_zero()) {
                return invalid(format!("the {what} must be longer than zero"));
            }
        }
        if self.lifetime > Duration::from_secs(10 * 365 * 24 * 3600) {
            return invalid("the lifetime must be at most ten years".to_owned());
        }
        Ok(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(value: &'static str) -> impl Fn(&str) -> Option<String> {
        move |var| (var == URL_VAR).then(|| value.to_owned())
    }

    #[test]
    fn from_lookup_reads_url_lifetime_and_cookie() {
        let config = SessionConfig::default()
            .with_lifetime(Duration::from_secs(60))
            .with_id_cookie_name("sid");
        let builder = PostgresDriverBuilder::from_lookup(&config, url(" postgres://db/app "));
        assert_eq!(builder.url, "postgres://db/app");
        assert_eq!(builder.id_cookie.name(), "postgres_sid");
        assert_eq!(builder.lifetime, Duration::from_secs(60));
        let unset = PostgresDriverBuilder::from_lookup(&SessionConfig::default(), |_| None);
        assert_eq!(unset.url, DEFAULT_URL);
        assert_eq!(unset.id_cookie.name(), DEFAULT_COOKIE_NAME);
        let empty = PostgresDriverBuilder::from_lookup(&SessionConfig::default(), url(""));
        assert_eq!(empty.url, DEFAULT_URL);
        assert_eq!(
            (empty.schema.as_str(), empty.table.as_str()),
            ("public", "sessions")
        );
        let named =
            PostgresDriverBuilder::from_lookup(&SessionConfig::default(), |var| match var {
                SCHEMA_VAR => Some("shop".to_owned()),
                TABLE_VAR => Some(" web_sessions ".to_owned()),
                _ => None,
            });
        assert_eq!(
            (named.schema.as_str(), named.table.as_str()),
            ("shop", "web_sessions")
        );
    }

    #[test]
    fn invalid_settings_are_refused_before_connecting() {
        let b = PostgresDriverBuilder::new;
        for (builder, needle) in [
            (b().table("x\"; DROP TABLE y; --"), "lowercase ASCII"),
            (b().schema("Public"), "lowercase ASCII"),
            (b().table(""), "is empty"),
            (b().table("t".repeat(49)), "longer than 48"),
            (b().cookie_name("a b"), "cookie-name"),
            (b().pool_size(0), "pool size"),
            (b().sweep_batch(0), "sweep batch"),
            (b().lifetime(Duration::ZERO), "lifetime"),
            (b().statement_timeout(Duration::ZERO), "statement timeout"),
            (b().pool_wait_timeout(Duration::ZERO), "pool wait timeout"),
            (b().sweep_interval(Some(Duration::ZERO)), "sweep interval"),
        ] {
            let err = builder.validate().expect_err(needle).to_string();
            assert!(err.contains(needle), "{err}");
            assert!(
                err.starts_with("the `postgres` session driver could not start"),
                "{err}"
            );
        }
        assert!(b().validate().is_ok());
        assert!(b().sweep_interval(None).validate().is_ok());
    }

    #[test]
    fn the_migration_sql_names_the_configured_table() {
        let sql = PostgresDriverBuilder::new()
            .schema("shop")
            .table("web_sessions")
            .migration_sql()
            .expect("valid names");
        assert!(sql.contains("\"shop\".\"web_sessions\""), "{sql}");
        assert!(
            PostgresDriverBuilder::new()
                .table("a b")
                .migration_sql()
                .is_err()
        );
    }
}
