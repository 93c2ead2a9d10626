//! Faults, against PostgreSQL servers these tests start themselves
//! (`initdb` and `pg_ctl` from `pg_config --bindir`, on free loopback
//! ports, in temporary directories; as the `postgres` user when run as
//! root): the database missing at start-up, stopped and started again
//! under HTTP traffic, a statement stuck behind a lock, an exhausted pool.

mod common;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use session_core::cookie::Cookie;
use session_core::http::{Request, Response, StatusCode, header};
use session_core::serde_json::json;
use session_core::testing::Browser;
use session_core::{ConfigError, SessionConfig, SessionManager};
use session_postgres::{PostgresDriver, PostgresDriverBuilder, URL_VAR};
use session_tower::{SessionLayer, sessions};
use tokio::net::TcpListener;
use tokio::sync::Mutex;
use tower::ServiceExt;

use common::{PgServer, free_port, manager};

const STATEMENT_TIMEOUT: Duration = Duration::from_millis(600);
/// What a failing request may take beyond its timeouts (scheduling, a
/// shared machine).
const SLACK: Duration = Duration::from_millis(700);

fn builder_for(url: String) -> PostgresDriverBuilder {
    PostgresDriver::builder()
        .url(url)
        .pool_size(4)
        .connect_timeout(Duration::from_millis(500))
        .pool_wait_timeout(Duration::from_millis(500))
        .statement_timeout(STATEMENT_TIMEOUT)
        .sweep_interval(None)
}

#[tokio::test]
async fn unreachable_at_start_is_a_clear_start_up_error() {
    let port = free_port();
    for url in [
        format!("postgres://postgres@127.0.0.1:{port}/test"),
        format!("postgres://app:hunter2@127.0.0.1:{port}/test"),
    ] {
        let started = Instant::now();
        let err = PostgresDriver::connect(url.clone())
            .await
            .expect_err("nothing listens there");
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "failed fast: {:?}",
            started.elapsed()
        );
        assert!(matches!(err, ConfigError::Driver { ref driver, .. } if driver == "postgres"));
        let message = err.to_string();
        assert!(
            message.contains("could not connect to PostgreSQL at postgres://")
                && message.contains(&format!("127.0.0.1:{port}")),
            "{message}"
        );
        assert!(message.contains("is PostgreSQL running"), "{message}");
        assert!(message.contains("DATABASE_URL"), "{message}");
        assert!(!message.contains("hunter2"), "password shown: {message}");
    }

    // DATABASE_URL, as `PostgresDriver::from_env` reads it.
    let err = PostgresDriverBuilder::from_lookup(&SessionConfig::default(), |var| {
        (var == URL_VAR).then(|| format!("postgres://postgres@127.0.0.1:{port}/test"))
    })
    .connect()
    .await
    .expect_err("DATABASE_URL fails the same way");
    assert!(matches!(err, ConfigError::Driver { .. }), "{err}");

    let err = PostgresDriver::connect("mysql://nope")
        .await
        .expect_err("not a PostgreSQL URL");
    assert!(err.to_string().contains("is not valid"), "{err}");
}

#[tokio::test]
async fn a_missing_database_or_a_foreign_table_stops_the_start() {
    let url = common::database_url();
    let missing_db = format!(
        "{}/no_such_database_{}",
        url.rsplit_once('/').expect("a database in the URL").0,
        free_port()
    );
    let err = builder_for(missing_db)
        .connect()
        .await
        .expect_err("no database");
    let message = err.to_string();
    assert!(
        message.contains("does not exist") && message.contains("createdb"),
        "{message}"
    );

    // Migration off and no table: says how to make one.
    let builder = common::shared_builder("missing").migrate(false);
    let err = builder.connect().await.expect_err("no table");
    let message = err.to_string();
    assert!(
        message.contains("is missing or is not this driver's") && message.contains("migration_sql"),
        "{message}"
    );

    // A table of that name that is not a sessions table.
    let table = common::unique_table("foreign");
    common::psql(
        &url,
        &format!(
            "{lock} CREATE SCHEMA IF NOT EXISTS {schema}; \
             CREATE TABLE {schema}.{table} (id int, name text)",
            lock = common::MIGRATION_LOCK_SQL,
            schema = common::SCHEMA
        ),
    );
    let err = common::shared_builder("x")
        .table(table.clone())
        .connect()
        .await
        .expect_err("not our table");
    common::psql(&url, &format!("DROP TABLE {}.{table}", common::SCHEMA));
    assert!(err.to_string().contains("is not this driver's"), "{err}");

    // The right columns of the wrong types.
    let table = common::unique_table("types");
    common::psql(
        &url,
        &format!(
            "CREATE TABLE {schema}.{table} (id text, session text, flash text, ended bool, \
             expires_at timestamptz)",
            schema = common::SCHEMA
        ),
    );
    let err = common::shared_builder("x")
        .table(table.clone())
        .connect()
        .await
        .expect_err("not our table");
    common::psql(&url, &format!("DROP TABLE {}.{table}", common::SCHEMA));
    assert!(
        err.to_string()
            .contains("its column `session` is of type text, not jsonb"),
        "{err}"
    );
}

/// The app: `GET /n` sets `n` to a counter and answers 200. A load that
/// fails is the handler's to answer (as the demo does: 503 with
/// `Retry-After`); a save that fails, the layer's.
async fn route(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let session = match sessions(&req).session().await {
        Ok(session) => session,
        Err(e) => {
            assert!(e.is_unavailable(), "only the store may fail: {e}");
            let mut res = Response::new(Full::from("503 Service Unavailable\n"));
            *res.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
            res.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
            return Ok(res);
        }
    };
    let n = session.get_as::<u64>("n").ok().flatten().unwrap_or(0) + 1;
    let _ = session.set("n", n);
    Ok(Response::new(Full::from(n.to_string())))
}

async fn serve(manager: SessionManager) -> SocketAddr {
    let service = tower::ServiceBuilder::new()
        .layer(SessionLayer::new(manager))
        .service(tower::service_fn(route));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let service = service.clone();
            tokio::spawn(async move {
                let hyper_service =
                    hyper::service::service_fn(move |req| service.clone().oneshot(req));
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), hyper_service)
                    .await;
            });
        }
    });
    addr
}

#[derive(Debug)]
struct Outcome {
    at: Instant,
    took: Duration,
    status: StatusCode,
    retry_after: Option<String>,
}

/// `clients` browsers requesting `GET /n` over HTTP until `stop`, each
/// keeping its session cookie.
fn traffic(
    addr: SocketAddr,
    clients: usize,
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<Vec<Outcome>>>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let http = reqwest::Client::new();
    (0..clients)
        .map(|_| {
            let (http, stop, log) = (http.clone(), stop.clone(), log.clone());
            tokio::spawn(async move {
                let mut cookie = String::new();
                while !stop.load(Ordering::Relaxed) {
                    let start = Instant::now();
                    let res = http
                        .get(format!("http://{addr}/n"))
                        .header(header::COOKIE, &cookie)
                        .send()
                        .await
                        .expect("the server answers, whatever the database does");
                    if let Some(set) = res.headers().get(header::SET_COOKIE) {
                        let set = Cookie::parse(set.to_str().expect("ascii").to_owned())
                            .expect("Set-Cookie");
                        cookie = set.stripped().to_string();
                    }
                    let status = res.status();
                    let retry_after = res
                        .headers()
                        .get(header::RETRY_AFTER)
                        .map(|v| v.to_str().expect("ascii").to_owned());
                    let _ = res.bytes().await;
                    log.lock().await.push(Outcome {
                        at: start,
                        took: start.elapsed(),
                        status,
                        retry_after,
                    });
                    let pause = if status.is_success() { 10 } else { 50 };
                    tokio::time::sleep(Duration::from_millis(pause)).await;
                }
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_and_restarted_under_traffic_answers_503_then_recovers() {
    let server = PgServer::start();
    let driver = common::connect(builder_for(server.url())).await;
    let addr = serve(manager(driver.clone())).await;
    let stop = Arc::new(AtomicBool::new(false));
    let log = Arc::new(Mutex::new(Vec::new()));
    let tasks = traffic(addr, 4, stop.clone(), log.clone());

    tokio::time::sleep(Duration::from_millis(500)).await;
    let stopped = Instant::now();
    server.stop();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let restarting = Instant::now();
    // The same data directory: the sessions survive, the connections do not.
    server.start_again();
    let recovery_deadline = Instant::now() + Duration::from_secs(10);
    let recovered = loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let ok_after = log
            .lock()
            .await
            .iter()
            .filter(|o| o.at > restarting && o.status == StatusCode::OK)
            .count();
        if ok_after >= 20 {
            break Instant::now();
        }
        assert!(
            Instant::now() < recovery_deadline,
            "no recovery within 10 s of the restart:\n{}",
            server.log()
        );
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.expect("no client panicked");
    }

    let log = log.lock().await;
    let before: Vec<_> = log.iter().filter(|o| o.at + o.took < stopped).collect();
    assert!(
        !before.is_empty() && before.iter().all(|o| o.status == StatusCode::OK),
        "all fine before the stop"
    );
    // Requests that started while the server was down (a moment after the
    // stop, to let in-flight ones finish) were all answered 503 with
    // Retry-After, each within the timeouts.
    let down: Vec<_> = log
        .iter()
        .filter(|o| o.at > stopped + Duration::from_millis(300) && o.at + o.took < restarting)
        .collect();
    assert!(down.len() >= 8, "traffic while down: {}", down.len());
    for o in &down {
        assert_eq!(o.status, StatusCode::SERVICE_UNAVAILABLE, "{o:?}");
        assert!(o.retry_after.is_some(), "503 without Retry-After: {o:?}");
    }
    let slowest = log.iter().map(|o| o.took).max().expect("requests");
    let bound =
        Duration::from_millis(500) + (STATEMENT_TIMEOUT + Duration::from_millis(500)) * 2 + SLACK;
    assert!(slowest <= bound, "a request hung for {slowest:?}");
    // After the restart every request succeeds again, without restarting the app.
    let after: Vec<_> = log.iter().filter(|o| o.at > recovered).collect();
    assert!(!after.is_empty() && after.iter().all(|o| o.status == StatusCode::OK));
    eprintln!(
        "requests: {} before, {} while down (slowest {:?}), recovered {:?} after the restart",
        before.len(),
        down.len(),
        down.iter().map(|o| o.took).max(),
        recovered - restarting
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_stuck_behind_a_lock_times_out_and_the_pool_wait_is_bounded() {
    let cleaning = common::Cleaning::new(
        common::connect(
            common::shared_builder("stuck")
                .pool_size(1)
                .statement_timeout(STATEMENT_TIMEOUT)
                .pool_wait_timeout(Duration::from_millis(300)),
        )
        .await,
        common::database_url(),
    );
    let driver = cleaning.driver.clone();
    let table = driver.table_name();
    let mut b = Browser::new(manager(cleaning));
    b.request(StatusCode::OK, |s| s.set("user", "ada").expect("set"))
        .await
        .expect("request");
    let id = b
        .cookies()
        .get(session_postgres::DEFAULT_COOKIE_NAME)
        .expect("cookie")
        .clone();

    // Another connection holds the session's row lock.
    let (locker, connection) =
        tokio_postgres::connect(&common::database_url(), tokio_postgres::NoTls)
            .await
            .expect("connect");
    tokio::spawn(connection);
    locker
        .batch_execute(&format!("BEGIN; SELECT * FROM {table} FOR UPDATE"))
        .await
        .expect("lock");

    let mut stuck = b.clone();
    let started = Instant::now();
    let saving = tokio::spawn(async move {
        let result = stuck
            .request(StatusCode::OK, |s| s.set("n", 1).expect("set"))
            .await;
        (result, started.elapsed())
    });
    // Once the save waits on the lock, the only connection is busy:
    // another request waits for the pool no longer than its wait timeout.
    // (From a connection of its own: within the locker's transaction
    // pg_stat_activity would not change.)
    let (watcher, connection) =
        tokio_postgres::connect(&common::database_url(), tokio_postgres::NoTls)
            .await
            .expect("connect");
    tokio::spawn(connection);
    let bare = table.rsplit('.').next().expect("a name").trim_matches('"');
    let waiting = format!(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' \
         AND query LIKE '%{bare}%'"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let row = watcher
            .query_one(&waiting, &[])
            .await
            .expect("pg_stat_activity");
        if row.get::<_, i64>(0) > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the save never waited on the lock"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let waited = Instant::now();
    let err = b.view().await.expect_err("no free connection");
    assert!(err.is_unavailable(), "{err}");
    assert!(err.to_string().contains("no free connection"), "{err}");
    assert!(waited.elapsed() < Duration::from_millis(300) + SLACK);

    let (result, took) = saving.await.expect("task");
    let err = result.expect_err("the save waits on the lock until the statement timeout");
    assert!(err.is_unavailable(), "{err}");
    assert!(
        took >= STATEMENT_TIMEOUT && took <= STATEMENT_TIMEOUT * 2 + SLACK,
        "took {took:?}"
    );
    let message = err.to_string();
    assert!(message.contains("statement timeout"), "{message}");
    assert!(
        !message.contains(&id),
        "the session id is in an error: {message}"
    );

    locker.batch_execute("ROLLBACK").await.expect("unlock");
    b.request(StatusCode::OK, |s| s.set("n", 2).expect("set"))
        .await
        .expect("the same connection works again");
    assert_eq!(
        b.view().await.expect("view"),
        json!({"user": "ada", "n": 2})
    );
}

#[cfg(not(feature = "tls"))]
#[tokio::test]
async fn sslmode_require_without_the_tls_feature_says_so() {
    let url = format!("{}?sslmode=require", common::database_url());
    let err = PostgresDriver::connect(url)
        .await
        .expect_err("no TLS in this build");
    assert!(err.to_string().contains("`tls` feature"), "{err}");
}
