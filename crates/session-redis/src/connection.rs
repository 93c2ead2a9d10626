//! The connection to Redis or Redis Cluster: reconnecting, time-bounded,
//! counting its round trips.

use std::error::Error as StdError;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, ErrorKind, FromRedisValue, Pipeline, RedisError, ServerErrorKind};
use session_core::{ConfigError, SessionError};

use crate::scripts::{LuaScript, Scripts};

/// The driver's name in errors.
pub(crate) const DRIVER: &str = "redis";

/// Where the driver connects to. `Debug` and `Display` hide passwords.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// One Redis server (or a proxy in front of several).
    Server(String),
    /// A Redis Cluster, reached through any of these nodes.
    Cluster(Vec<String>),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Server(url) => f.write_str(&redact(url)),
            Target::Cluster(nodes) => {
                f.write_str("the Redis Cluster at ")?;
                let nodes: Vec<String> = nodes.iter().map(|n| redact(n)).collect();
                f.write_str(&nodes.join(", "))
            }
        }
    }
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Server(url) => f.debug_tuple("Server").field(&redact(url)).finish(),
            Target::Cluster(nodes) => f
                .debug_tuple("Cluster")
                .field(&nodes.iter().map(|n| redact(n)).collect::<Vec<_>>())
                .finish(),
        }
    }
}

/// The URL with its password, if any, replaced by `***`: it ends up in logs.
pub(crate) fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_owned();
    };
    let Some((user, _password)) = rest[..at].split_once(':') else {
        return url.to_owned();
    };
    format!("{}{user}:***{}", &url[..scheme_end], &rest[at..])
}

/// The timeouts and reconnect policy of a connection.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Timeouts {
    pub(crate) connect: Duration,
    pub(crate) response: Duration,
    pub(crate) operation: Duration,
}

enum Backend {
    Server(ConnectionManager),
    Cluster(ClusterConnection),
}

/// A shared connection. Every load and save goes through
/// [`Connection::eval`], which bounds it by the operation timeout.
pub(crate) struct Connection {
    backend: Backend,
    target: Target,
    timeouts: Timeouts,
    round_trips: AtomicU64,
}

impl Connection {
    /// Connects, checks the server answers, and loads the scripts so that the
    /// first requests need no extra round trip.
    pub(crate) async fn connect(
        target: Target,
        timeouts: Timeouts,
        scripts: &Scripts,
    ) -> Result<Self, ConfigError> {
        let start_error = |what: &str, source: Option<RedisError>| ConfigError::Driver {
            driver: DRIVER.to_owned(),
            source: Box::new(StartError {
                message: format!("{what} {target}"),
                source,
            }),
        };
        // The client retries a refused connection a few times (see below);
        // at start-up the whole attempt is bounded too.
        let startup = timeouts.connect * 3 + timeouts.response;
        let connecting = async {
            let backend = match &target {
                Target::Server(url) => {
                    let client = redis::Client::open(url.as_str())
                        .map_err(|e| start_error("invalid Redis URL:", Some(e)))?;
                    let manager =
                        ConnectionManager::new_with_config(client, manager_config(timeouts))
                            .await
                            .map_err(|e| start_error("could not connect to Redis at", Some(e)))?;
                    Backend::Server(manager)
                }
                Target::Cluster(nodes) => {
                    let client = ClusterClientBuilder::new(nodes.clone())
                        .connection_timeout(timeouts.connect)
                        .response_timeout(timeouts.response)
                        .retries(CLUSTER_RETRIES)
                        .min_retry_wait(CLUSTER_MIN_RETRY_WAIT_MS)
                        .max_retry_wait(CLUSTER_MAX_RETRY_WAIT_MS)
                        .build()
                        .map_err(|e| start_error("invalid Redis Cluster URLs:", Some(e)))?;
                    let connection = client
                        .get_async_connection()
                        .await
                        .map_err(|e| start_error("could not connect to", Some(e)))?;
                    Backend::Cluster(connection)
                }
            };
            let connection = Connection {
                backend,
                target: target.clone(),
                timeouts,
                round_trips: AtomicU64::new(0),
            };
            for script in scripts.all() {
                let mut load = redis::cmd("SCRIPT");
                load.arg("LOAD").arg(script.source);
                connection
                    .send::<String>(&load)
                    .await
                    .map_err(|e| start_error("could not load the session scripts into", Some(e)))?;
            }
            Ok(connection)
        };
        match tokio::time::timeout(startup, connecting).await {
            Ok(Ok(connection)) => {
                connection.round_trips.store(0, Ordering::Relaxed);
                Ok(connection)
            }
            Ok(Err(e)) => Err(e),
            Err(_) => Err(start_error(
                &format!("no answer within {startup:?} from"),
                None,
            )),
        }
    }

    /// Runs `script` with `keys` and `args` — one round trip (two the first
    /// time after the server lost its script cache, in a restart say) —
    /// within the operation timeout.
    pub(crate) async fn eval<T: FromRedisValue>(
        &self,
        action: &'static str,
        script: &LuaScript,
        keys: &[&str],
        args: &[Vec<u8>],
    ) -> Result<T, SessionError> {
        self.bounded(action, async {
            let mut evalsha = redis::cmd("EVALSHA");
            evalsha
                .arg(&script.sha1)
                .arg(keys.len())
                .arg(keys)
                .arg(args);
            match self.send(&evalsha).await {
                Err(e) if e.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
                    let mut eval = redis::cmd("EVAL");
                    eval.arg(script.source).arg(keys.len()).arg(keys).arg(args);
                    self.send(&eval).await
                }
                other => other,
            }
        })
        .await
    }

    /// Sends `pipeline` — one round trip — within the operation timeout.
    pub(crate) async fn pipeline<T: FromRedisValue>(
        &self,
        action: &'static str,
        pipeline: &Pipeline,
    ) -> Result<T, SessionError> {
        self.bounded(action, async {
            self.round_trips.fetch_add(1, Ordering::Relaxed);
            match &self.backend {
                Backend::Server(manager) => pipeline.query_async(&mut manager.clone()).await,
                Backend::Cluster(cluster) => pipeline.query_async(&mut cluster.clone()).await,
            }
        })
        .await
    }

    async fn bounded<T>(
        &self,
        action: &'static str,
        run: impl Future<Output = Result<T, RedisError>>,
    ) -> Result<T, SessionError> {
        let failure = |cause| {
            SessionError::backend(
                DRIVER,
                StoreError {
                    action,
                    target: self.target.to_string(),
                    cause,
                },
            )
        };
        match tokio::time::timeout(self.timeouts.operation, run).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(failure(Cause::Redis(e))),
            Err(_) => Err(failure(Cause::Timeout(self.timeouts.operation))),
        }
    }

    async fn send<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T, RedisError> {
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        match &self.backend {
            // Both handles are cheap clones of a shared, multiplexed connection.
            Backend::Server(manager) => cmd.query_async(&mut manager.clone()).await,
            Backend::Cluster(cluster) => cmd.query_async(&mut cluster.clone()).await,
        }
    }

    pub(crate) fn round_trips(&self) -> u64 {
        self.round_trips.load(Ordering::Relaxed)
    }

    pub(crate) fn target(&self) -> &Target {
        &self.target
    }

    pub(crate) fn is_cluster(&self) -> bool {
        matches!(self.backend, Backend::Cluster(_))
    }
}

const CLUSTER_RETRIES: u32 = 3;
const CLUSTER_MIN_RETRY_WAIT_MS: u64 = 20;
const CLUSTER_MAX_RETRY_WAIT_MS: u64 = 250;

/// A few quick reconnect attempts per outage; the operation timeout bounds
/// what a request waits for them. When they are used up, the next request
/// starts new ones, so the driver recovers whenever Redis is back.
fn manager_config(timeouts: Timeouts) -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(timeouts.connect))
        .set_response_timeout(Some(timeouts.response))
        .set_number_of_retries(2)
        .set_min_delay(Duration::from_millis(50))
        .set_max_delay(Duration::from_millis(250))
}

/// Why the driver could not start.
#[derive(Debug)]
struct StartError {
    message: String,
    source: Option<RedisError>,
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        f.write_str(
            " (is Redis running? Start one with `redis-server --daemonize yes --port 6379 --save \"\" \
             --appendonly no`, or point REDIS_URL at yours)",
        )
    }
}

impl StdError for StartError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source.as_ref().map(|e| e as _)
    }
}

/// A load or save that failed; the source of [`SessionError::Backend`].
#[derive(Debug)]
struct StoreError {
    action: &'static str,
    target: String,
    cause: Cause,
}

#[derive(Debug)]
enum Cause {
    Redis(RedisError),
    Timeout(Duration),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at {} failed: ", self.action, self.target)?;
        match &self.cause {
            Cause::Redis(e) => write!(f, "{e}"),
            Cause::Timeout(after) => write!(f, "no answer within {after:?}"),
        }
    }
}

impl StdError for StoreError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match &self.cause {
            Cause::Redis(e) => Some(e),
            Cause::Timeout(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        for (url, shown) in [
            ("redis://127.0.0.1:6379", "redis://127.0.0.1:6379"),
            ("redis://:hunter2@host:6379/0", "redis://:***@host:6379/0"),
            ("rediss://app:hunter2@host/0", "rediss://app:***@host/0"),
            ("redis://app@host", "redis://app@host"),
            ("redis://host/0?x=a@b", "redis://host/0?x=a@b"),
            ("not a url", "not a url"),
        ] {
            assert_eq!(redact(url), shown, "{url}");
        }
        let cluster = Target::Cluster(vec!["redis://:pw@a:1".into(), "redis://b:2".into()]);
        assert_eq!(
            cluster.to_string(),
            "the Redis Cluster at redis://:***@a:1, redis://b:2"
        );
        let server = Target::Server("redis://:hunter2@host".into());
        assert!(!format!("{server:?} {cluster:?}").contains("hunter2"));
        assert!(!format!("{cluster:?}").contains(":pw@"));
    }
}
