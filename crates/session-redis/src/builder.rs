use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use session_core::{
    ConfigError, SessionConfig,
    driver::{CookieSettings, IdCookie},
};

use crate::RedisDriver;
use crate::connection::{Connection, DRIVER, Target, Timeouts};
use crate::scripts::Scripts;

/// The Redis a builder connects to unless told otherwise.
pub const DEFAULT_URL: &str = "redis://127.0.0.1:6379";

/// The environment variable [`RedisDriverBuilder::from_env`] reads: one
/// Redis URL, or several comma-separated node URLs of a Redis Cluster.
pub const URL_VAR: &str = "REDIS_URL";

/// The id cookie's default name: `redis_` and the default
/// [`SessionConfig::id_cookie_name`], by the rule of [`IdCookie`].
pub const DEFAULT_COOKIE_NAME: &str = "redis_session_id";

/// The default prefix of every key the driver writes.
pub const DEFAULT_KEY_PREFIX: &str = "session:";

/// The default largest value, in bytes of JSON plus the key: 1 MiB.
pub const DEFAULT_MAX_VALUE_BYTES: usize = 1024 * 1024;

/// Configures and connects a [`RedisDriver`].
///
/// | setting | default |
/// | --- | --- |
/// | [`url`](Self::url) / [`cluster`](Self::cluster) | `redis://127.0.0.1:6379` |
/// | [`key_prefix`](Self::key_prefix) | `session:` |
/// | [`cookie_name`](Self::cookie_name) | `redis_session_id` |
/// | [`cookie_settings`](Self::cookie_settings) | `HttpOnly; Path=/; SameSite=Lax; Secure` |
/// | [`lifetime`](Self::lifetime) | 2 hours |
/// | [`sliding_expiry`](Self::sliding_expiry) | on |
/// | [`max_value_bytes`](Self::max_value_bytes) | 1 MiB |
/// | [`connect_timeout`](Self::connect_timeout) | 1 s |
/// | [`response_timeout`](Self::response_timeout) | 1 s |
/// | [`operation_timeout`](Self::operation_timeout) | 2 s |
///
/// ```no_run
/// # #[tokio::main] async fn main() -> Result<(), session_core::ConfigError> {
/// use std::time::Duration;
/// use session_redis::RedisDriver;
///
/// let driver = RedisDriver::builder()
///     .cluster(["redis://10.0.0.1:7000", "redis://10.0.0.2:7000"])
///     .key_prefix("shop:session:")
///     .lifetime(Duration::from_secs(30 * 60))
///     .operation_timeout(Duration::from_millis(500))
///     .connect()
///     .await?;
/// # let _ = driver; Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until `connect` is awaited"]
pub struct RedisDriverBuilder {
    target: Target,
    pub(crate) prefix: String,
    pub(crate) id_cookie: IdCookie,
    pub(crate) lifetime: Duration,
    pub(crate) sliding: bool,
    pub(crate) max_value_bytes: usize,
    timeouts: Timeouts,
}

impl Default for RedisDriverBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl RedisDriverBuilder {
    /// A builder with the defaults of the table above.
    pub fn new() -> Self {
        let config = SessionConfig::default();
        RedisDriverBuilder {
            target: Target::Server(DEFAULT_URL.to_owned()),
            prefix: DEFAULT_KEY_PREFIX.to_owned(),
            id_cookie: IdCookie::for_driver(&config, DRIVER),
            lifetime: config.lifetime(),
            sliding: true,
            max_value_bytes: DEFAULT_MAX_VALUE_BYTES,
            timeouts: Timeouts {
                connect: Duration::from_secs(1),
                response: Duration::from_secs(1),
                operation: Duration::from_secs(2),
            },
        }
    }

    /// A builder with the settings every driver shares from `config` (see
    /// [`RedisDriver::from_config`]), the defaults for the rest, [`DEFAULT_URL`]
    /// included.
    pub fn from_config(config: &SessionConfig) -> Self {
        RedisDriverBuilder {
            id_cookie: IdCookie::for_driver(config, DRIVER),
            lifetime: config.lifetime(),
            ..Self::new()
        }
    }

    /// [`from_config`](Self::from_config), connecting where the
    /// environment's `REDIS_URL` says (see [`RedisDriver::from_env`]).
    pub fn from_env(config: &SessionConfig) -> Self {
        Self::from_lookup(config, |var| std::env::var(var).ok())
    }

    /// [`from_env`](Self::from_env), reading `REDIS_URL` through `lookup`
    /// (for tests, or other sources of settings), as
    /// [`SessionConfig::from_lookup`] reads the shared ones.
    pub fn from_lookup(config: &SessionConfig, lookup: impl Fn(&str) -> Option<String>) -> Self {
        let builder = Self::from_config(config);
        let Some(value) = lookup(URL_VAR) else {
            return builder;
        };
        let urls: Vec<String> = value
            .split(',')
            .map(str::trim)
            .filter(|url| !url.is_empty())
            .map(str::to_owned)
            .collect();
        if urls.len() > 1 {
            builder.cluster(urls)
        } else {
            builder.url(value.trim())
        }
    }

    /// One Redis server: `redis://[[user]:password@]host[:port][/db]`
    /// (TLS, `rediss://`, is not enabled in this build).
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.target = Target::Server(url.into());
        self
    }

    /// A Redis Cluster, reached through any of `nodes` (`redis://host:port`
    /// each); the client finds the others and follows the cluster as it changes.
    pub fn cluster<I>(mut self, nodes: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.target = Target::Cluster(nodes.into_iter().map(Into::into).collect());
        self
    }

    /// The prefix of every key the driver writes (default `session:`), so
    /// that several apps can share one Redis. It must not contain `{` or `}`,
    /// which Redis Cluster reads as a hash tag.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The name of the cookie holding the session id (default
    /// `redis_session_id`; see [`IdCookie`] for how server-side drivers name
    /// theirs).
    pub fn cookie_name(mut self, name: impl Into<String>) -> Self {
        self.id_cookie = self.id_cookie.with_name(name);
        self
    }

    /// The attributes of the id cookie (default: from [`SessionConfig::default`]).
    pub fn cookie_settings(mut self, settings: CookieSettings) -> Self {
        self.id_cookie = self.id_cookie.with_settings(settings);
        self
    }

    /// How long a session lives without a request (default 2 hours): the
    /// TTL of its Redis key.
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// With sliding expiry (the default) every load of a session resets its
    /// TTL to the lifetime, inside the same round trip, so a session lives
    /// as long as it is used — the idle lifetime of `SESSION_LIFETIME`.
    /// Without it only a save does, and a session that is only read expires
    /// a lifetime after its last change; loads then write nothing.
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

    /// How long one attempt to open a connection may take (default 1 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.connect = timeout;
        self
    }

    /// How long Redis may take to answer one command (default 1 s).
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.response = timeout;
        self
    }

    /// The most one load or one save may take, waiting for a reconnect
    /// included (default 2 s). Past it the request gets
    /// [`SessionError::Backend`](session_core::SessionError::Backend) — a
    /// 503 through the HTTP layer — rather than hanging.
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.operation = timeout;
        self
    }

    /// Checks the settings, connects, and checks that Redis answers.
    ///
    /// # Errors
    /// [`ConfigError::Driver`] when a setting is invalid or Redis cannot be
    /// reached within the timeouts; the message names the URL (password
    /// hidden) and how to start a Redis.
    pub async fn connect(self) -> Result<RedisDriver, ConfigError> {
        self.validate()?;
        let scripts = Scripts::new();
        let connection = Connection::connect(self.target.clone(), self.timeouts, &scripts).await?;
        Ok(RedisDriver::from_parts(connection, scripts, self))
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |message: String| {
            Err(ConfigError::Driver {
                driver: DRIVER.to_owned(),
                source: Box::new(SettingError(message)),
            })
        };
        if self.prefix.contains(['{', '}']) {
            return invalid(format!(
                "the key prefix {:?} contains `{{` or `}}`, which Redis Cluster reads as a hash tag",
                self.prefix
            ));
        }
        if !self.id_cookie.name_is_token() {
            return invalid(format!(
                "the cookie name {:?} is not a cookie-name token (letters, digits, `-`, `_`, ...)",
                self.id_cookie.name()
            ));
        }
        if let Target::Cluster(nodes) = &self.target {
            if nodes.is_empty() {
                return invalid("a Redis Cluster needs at least one node URL".to_owned());
            }
        }
        for (what, value) in [
            ("lifetime", self.lifetime),
            ("connect timeout", self.timeouts.connect),
            ("response timeout", self.timeouts.response),
            ("operation timeout", self.timeouts.operation),
        ] {
            if value.is_zero() {
                return invalid(format!("the {what} must be longer than zero"));
            }
        }
        Ok(())
    }
}

#[derive(Debug)]
struct SettingError(String);

impl fmt::Display for SettingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl StdError for SettingError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn redis_url(value: &'static str) -> impl Fn(&str) -> Option<String> {
        move |var| (var == URL_VAR).then(|| value.to_owned())
    }

    #[test]
    fn from_lookup_reads_url_lifetime_and_cookie() {
        let config = SessionConfig::default()
            .with_lifetime(Duration::from_secs(60))
            .with_id_cookie_name("sid");
        let builder =
            RedisDriverBuilder::from_lookup(&config, redis_url("redis://a:1, redis://b:2,"));
        assert_eq!(
            builder.target,
            Target::Cluster(vec!["redis://a:1".into(), "redis://b:2".into()])
        );
        assert_eq!(builder.id_cookie.name(), "redis_sid");
        assert_eq!(builder.lifetime, Duration::from_secs(60));
        let single = RedisDriverBuilder::from_lookup(
            &SessionConfig::default(),
            redis_url(" redis://example:1 "),
        );
        assert_eq!(single.target, Target::Server("redis://example:1".into()));
        assert_eq!(single.id_cookie.name(), DEFAULT_COOKIE_NAME);
        let unset = RedisDriverBuilder::from_lookup(&SessionConfig::default(), |_| None);
        assert_eq!(unset.target, Target::Server(DEFAULT_URL.into()));
    }

    #[test]
    fn from_config_takes_the_shared_settings_and_the_default_url() {
        let config = SessionConfig::default()
            .with_lifetime(Duration::from_secs(60))
            .with_id_cookie_name("sid")
            .with_cookie_path("/app");
        let builder = RedisDriverBuilder::from_config(&config);
        assert_eq!(builder.target, Target::Server(DEFAULT_URL.into()));
        assert_eq!(builder.id_cookie.name(), "redis_sid");
        assert_eq!(builder.lifetime, Duration::from_secs(60));
        let id = session_core::driver::SessionId::generate();
        assert_eq!(builder.id_cookie.cookie(&id).path(), Some("/app"));
        assert_eq!(
            RedisDriverBuilder::new().id_cookie.name(),
            DEFAULT_COOKIE_NAME
        );
    }

    #[test]
    fn invalid_settings_are_refused_before_connecting() {
        for (builder, needle) in [
            (RedisDriverBuilder::new().key_prefix("a{b}:"), "hash tag"),
            (RedisDriverBuilder::new().cookie_name("a b"), "cookie-name"),
            (RedisDriverBuilder::new().cookie_name(""), "cookie-name"),
            (
                RedisDriverBuilder::new().lifetime(Duration::ZERO),
                "lifetime",
            ),
            (
                RedisDriverBuilder::new().operation_timeout(Duration::ZERO),
                "operation timeout",
            ),
            (
                RedisDriverBuilder::new().cluster(Vec::<String>::new()),
                "at least one node",
            ),
        ] {
            let err = builder.validate().expect_err(needle).to_string();
            assert!(err.contains(needle), "{err}");
            assert!(
                err.starts_with("the `redis` session driver could not start"),
                "{err}"
            );
        }
        assert!(RedisDriverBuilder::new().validate().is_ok());
    }
}
