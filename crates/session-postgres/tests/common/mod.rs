//! Test support: the shared PostgreSQL at `DATABASE_URL`, a table per test
//! that is dropped when the test ends, and PostgreSQL servers the tests
//! start and stop themselves.
#![allow(dead_code)]

pub(crate) mod whole_record;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use session_core::cookie::Cookie;
use session_core::{
    SessionError, SessionManager,
    driver::{Bucket, Loaded, SaveRequest, SessionDriver, SessionId, StoredValue, async_trait},
    integration::RequestContext,
};
use session_postgres::{DEFAULT_URL, PostgresDriver, PostgresDriverBuilder};

/// The schema every test table is in.
pub(crate) const SCHEMA: &str = "session_postgres_tests";

/// Taken first by test SQL that creates the schema: the driver's migration
/// holds this advisory lock (its `MIGRATION_LOCK`), and two concurrent
/// `CREATE SCHEMA IF NOT EXISTS` of one name can otherwise both try to create it.
pub(crate) const MIGRATION_LOCK_SQL: &str = "SELECT pg_advisory_xact_lock(8315179205279704439);";

pub(crate) const START_POSTGRES: &str = "scripts/test-deps.sh (or: pg_ctlcluster 15 main start; \
     createdb -h 127.0.0.1 -U postgres test)";

/// The database the tests share: `DATABASE_URL`, else the local default.
pub(crate) fn database_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// A table name no other test uses: `t_<test>_<random hex>`.
pub(crate) fn unique_table(test: &str) -> String {
    let random: String = SessionId::generate().as_bytes()[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let test: String = test
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(30)
        .collect();
    format!("t_{test}_{random}")
}

/// A builder for the shared database, in a fresh table, with a small pool
/// (the workspace's tests share one server) and no background sweep.
pub(crate) fn shared_builder(test: &str) -> PostgresDriverBuilder {
    PostgresDriver::builder()
        .url(database_url())
        .schema(SCHEMA)
        .table(unique_table(test))
        .pool_size(4)
        .sweep_interval(None)
        .lifetime(Duration::from_secs(600))
}

/// Connects, or fails the test saying how to start PostgreSQL: these
/// tests never pass without one.
pub(crate) async fn connect(builder: PostgresDriverBuilder) -> PostgresDriver {
    match builder.connect().await {
        Ok(driver) => driver,
        Err(err) => panic!(
            "these tests need PostgreSQL at {} (set DATABASE_URL to use another): {err}\n\
             start one with: {START_POSTGRES}",
            database_url()
        ),
    }
}

/// A driver on the shared database in a fresh table, dropped when the last
/// handle to it is.
pub(crate) async fn shared_driver(test: &str) -> Cleaning {
    Cleaning::new(connect(shared_builder(test)).await, database_url())
}

/// A manager whose default driver is `driver`, registered as `postgres`.
pub(crate) fn manager(driver: impl SessionDriver) -> SessionManager {
    SessionManager::builder()
        .driver("postgres", driver)
        .default_driver("postgres")
        .build()
        .expect("manager")
}

/// Runs `sql` with `psql` and returns its unaligned, tuples-only output.
pub(crate) fn psql(url: &str, sql: &str) -> String {
    let output = Command::new("psql")
        .args([
            url,
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            sql,
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("could not run psql: {e}; install postgresql-client"));
    assert!(
        output.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// A [`PostgresDriver`] whose table is dropped when it is (with the
/// manager that holds it, at the end of a test).
#[derive(Debug)]
pub(crate) struct Cleaning {
    pub(crate) driver: PostgresDriver,
    url: String,
}

impl Cleaning {
    pub(crate) fn new(driver: PostgresDriver, url: String) -> Self {
        Cleaning { driver, url }
    }
}

impl Drop for Cleaning {
    fn drop(&mut self) {
        let table = self.driver.table_name();
        let url = self.url.clone();
        // Never panic in drop: a table left behind is only clutter.
        let _ =
            std::panic::catch_unwind(move || psql(&url, &format!("DROP TABLE IF EXISTS {table}")));
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

/// A PostgreSQL server this test made with `initdb` and runs with
/// `pg_ctl` (from `pg_config --bindir`) in a temporary directory, on a free
/// loopback port. As root, it runs as the `postgres` user (PostgreSQL
/// refuses to run as root). Stopped and removed when dropped.
#[derive(Debug)]
pub(crate) struct PgServer {
    port: u16,
    dir: PathBuf,
    bindir: PathBuf,
    extra: Vec<String>,
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0\n"))
        .unwrap_or(false)
}

impl PgServer {
    /// A fresh cluster with trust authentication for `postgres`, started.
    pub(crate) fn start() -> Self {
        Self::start_with(&[])
    }

    /// [`start`](Self::start) with extra `postgres -c` settings, and a hook
    /// to add files to the data directory before the first start.
    pub(crate) fn start_with(extra: &[&str]) -> Self {
        Self::init_with(extra, |_| ())
    }

    pub(crate) fn init_with(extra: &[&str], prepare: impl FnOnce(&Path)) -> Self {
        let bindir = Command::new("pg_config")
            .arg("--bindir")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
            .unwrap_or_else(|| {
                panic!(
                    "pg_config not found: these tests start their own PostgreSQL ({START_POSTGRES})"
                )
            });
        let port = free_port();
        let dir = std::env::temp_dir().join(format!(
            "session-postgres-{}-{port}-{}",
            std::process::id(),
            unique_table("")
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let server = PgServer {
            port,
            dir,
            bindir,
            extra: extra.iter().map(|s| (*s).to_owned()).collect(),
        };
        if is_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&server.dir)
                .status()
                .expect("chown");
            assert!(status.success(), "chown the server's directory to postgres");
        }
        let data = server.data();
        server.run(
            "initdb",
            &[
                "-D",
                &data,
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "--no-instructions",
            ],
        );
        prepare(&server.dir.join("data"));
        if is_root() {
            let _ = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&server.dir)
                .status();
        }
        server.start_again();
        server
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    /// Runs one of PostgreSQL's programs, as `postgres` when root.
    fn run(&self, program: &str, args: &[&str]) {
        let binary = self.bindir.join(program);
        let mut command = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&binary);
            c
        } else {
            Command::new(&binary)
        };
        let output = command
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("could not run {}: {e}", binary.display()));
        assert!(
            output.status.success(),
            "{program} {args:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// The URL of its `postgres` database.
    pub(crate) fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the server (again), waiting until it accepts connections.
    pub(crate) fn start_again(&self) {
        let mut options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off -c max_connections=20",
            self.port,
            self.dir.display()
        );
        for setting in &self.extra {
            options.push_str(" -c ");
            options.push_str(setting);
        }
        let log = self.dir.join("server.log").display().to_string();
        let data = self.data();
        self.run(
            "pg_ctl",
            &[
                "-D", &data, "-l", &log, "-o", &options, "-w", "-t", "20", "start",
            ],
        );
    }

    /// Stops the server at once (`-m immediate`: connections are cut, as
    /// in a crash; the data survives).
    pub(crate) fn stop(&self) {
        let data = self.data();
        self.run("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
    }

    /// The server's log.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let data = self.data();
        let binary = self.bindir.join("pg_ctl");
        let mut command = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&binary);
            c
        } else {
            Command::new(&binary)
        };
        let _ = command
            .args(["-D", &data, "-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
