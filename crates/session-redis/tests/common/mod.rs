//! Test support: the shared Redis at `REDIS_URL`, per-test key prefixes that
//! are cleaned up, and `redis-server` processes the tests start and kill.
#![allow(dead_code)]

pub(crate) mod whole_record;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use redis::Commands;
use session_core::cookie::Cookie;
use session_core::{
    SessionError, SessionManager,
    driver::{Bucket, Loaded, SaveRequest, SessionDriver, SessionId, StoredValue, async_trait},
    integration::RequestContext,
};
use session_redis::{RedisDriver, RedisDriverBuilder};

pub(crate) const START_REDIS: &str =
    "redis-server --daemonize yes --port 6379 --save \"\" --appendonly no";

/// The Redis the tests share: `REDIS_URL`, else the local default.
pub(crate) fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A key prefix no other test uses.
pub(crate) fn unique_prefix(test: &str) -> String {
    format!("sr-test:{test}:{}:", SessionId::generate())
}

/// A builder for the shared Redis under a fresh prefix, with a short
/// lifetime so that nothing a crashed test leaves behind stays long.
pub(crate) fn shared_builder(test: &str) -> RedisDriverBuilder {
    RedisDriver::builder()
        .url(redis_url())
        .key_prefix(unique_prefix(test))
        .lifetime(Duration::from_secs(600))
}

/// Connects, or fails the test saying how to start a Redis: these tests
/// never pass without one.
pub(crate) async fn connect(builder: RedisDriverBuilder) -> RedisDriver {
    match builder.connect().await {
        Ok(driver) => driver,
        Err(err) => panic!(
            "these tests need a real Redis at {} (set REDIS_URL to use another): {err}\n\
             start one with: {START_REDIS}",
            redis_url()
        ),
    }
}

/// A driver on the shared Redis under a fresh prefix, whose keys are deleted
/// when the last handle to it is dropped.
pub(crate) async fn shared_driver(test: &str) -> Cleaning {
    Cleaning::new(connect(shared_builder(test)).await, redis_url())
}

/// A manager whose default driver is `driver`, registered as `redis`.
pub(crate) fn manager(driver: impl SessionDriver) -> SessionManager {
    SessionManager::builder()
        .driver("redis", driver)
        .default_driver("redis")
        .build()
        .expect("manager")
}

/// A synchronous connection, for looking at what the driver stored.
pub(crate) fn inspect(url: &str) -> redis::Connection {
    redis::Client::open(url)
        .and_then(|client| client.get_connection())
        .unwrap_or_else(|err| panic!("Redis at {url}: {err}\nstart one with: {START_REDIS}"))
}

/// The keys under `prefix`.
pub(crate) fn keys_under(url: &str, prefix: &str) -> Vec<String> {
    let mut con = inspect(url);
    let pattern = format!("{prefix}*");
    con.scan_match::<_, String>(&pattern)
        .expect("scan")
        .collect::<Result<Vec<_>, _>>()
        .expect("scan")
}

/// Deletes the keys under `prefix`.
pub(crate) fn delete_under(url: &str, prefix: &str) {
    let keys = keys_under(url, prefix);
    if !keys.is_empty() {
        let mut con = inspect(url);
        let _: () = con.del(keys).expect("del");
    }
}

/// A [`RedisDriver`] that deletes its keys when dropped (with the manager
/// that holds it, at the end of a test).
#[derive(Debug)]
pub(crate) struct Cleaning {
    pub(crate) driver: RedisDriver,
    url: String,
}

impl Cleaning {
    pub(crate) fn new(driver: RedisDriver, url: String) -> Self {
        Cleaning { driver, url }
    }
}

impl Drop for Cleaning {
    fn drop(&mut self) {
        let prefix = self.driver.key_prefix().to_owned();
        // Never panic in drop: a failed clean-up leaves keys that expire.
        let _ = std::panic::catch_unwind(|| delete_under(&self.url, &prefix));
    }
}

#[async_trait]
impl SessionDriver for Cleaning {
    async fn load(&self, request: &RequestContext) -> Result<Loaded, SessionError> {
        self.driver.load(request).await
    }
    async fn save(&self, save: SaveRequest<'_>) -> Result<Vec<Cookie<'static>>, SessionError> {
        self.driver.save(save).await
    }
    fn check_value(
        &self,
        key: &str,
        bucket: Bucket,
        value: &StoredValue,
    ) -> Result<(), SessionError> {
        self.driver.check_value(key, bucket, value)
    }
}

/// A port nothing listens on right now.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A `redis-server` this test started, on a loopback port; killed when dropped.
#[derive(Debug)]
pub(crate) struct RedisServer {
    port: u16,
    args: Vec<String>,
    dir: PathBuf,
    child: Option<Child>,
}

impl RedisServer {
    /// A throw-away server (no persistence) on a free port.
    pub(crate) fn start() -> Self {
        Self::start_with(free_port(), &[])
    }

    /// A server on `port` with extra arguments.
    pub(crate) fn start_with(port: u16, args: &[&str]) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "session-redis-{}-{port}-{}",
            std::process::id(),
            &SessionId::generate().to_string()[..8]
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let mut server = RedisServer {
            port,
            args: args.iter().map(|s| (*s).to_owned()).collect(),
            dir,
            child: None,
        };
        server.spawn();
        server
    }

    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub(crate) fn dir(&self) -> &PathBuf {
        &self.dir
    }

    fn spawn(&mut self) {
        let binary = std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".to_owned());
        let child = Command::new(&binary)
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| {
                panic!(
                    "could not run `{binary}`: {err}\n\
                     these tests start their own Redis: `apt-get install -y redis-server`"
                )
            });
        self.child = Some(child);
        self.wait_ready();
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if ping(self.port) {
                return;
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("redis-server on port {} exited: {status}", self.port);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server on port {} did not answer PING", self.port);
    }

    /// SIGKILL: the server vanishes without a goodbye, as in a crash.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port (empty: nothing is persisted).
    pub(crate) fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// SIGSTOP: the server keeps its socket but answers nothing.
    pub(crate) fn pause(&self) {
        self.signal("-STOP");
    }

    /// SIGCONT.
    pub(crate) fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("running").id().to_string();
        // The shell's built-in `kill`: no dependency on procps.
        let status = Command::new("sh")
            .args(["-c", &format!("kill {signal} {pid}")])
            .status()
            .expect("sh");
        assert!(status.success(), "kill {signal} {pid}");
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        // SIGKILL ends a paused server too.
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// True when something on `port` answers `PING` with `+PONG`.
pub(crate) fn ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut reply = [0u8; 7];
    stream.read_exact(&mut reply).is_ok() && &reply == b"+PONG\r\n"
}
