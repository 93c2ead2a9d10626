//! Faults, against `redis-server` processes these tests start on free
//! loopback ports (the Debian package `redis-server`): Redis missing at
//! start-up, killed and restarted under traffic, frozen (SIGSTOP).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use session_core::http::StatusCode;
use session_core::serde_json::json;
use session_core::testing::Browser;
use session_core::{ConfigError, SessionConfig, SessionError};
use session_redis::{RedisDriver, RedisDriverBuilder, URL_VAR};
use tokio::sync::Mutex;

use common::{RedisServer, free_port, manager};

const OPERATION_TIMEOUT: Duration = Duration::from_millis(800);
/// What a failing request may take beyond the operation timeout (scheduling).
const SLACK: Duration = Duration::from_millis(400);

async fn driver_for(server: &RedisServer) -> RedisDriver {
    RedisDriver::builder()
        .url(server.url())
        .connect_timeout(Duration::from_millis(300))
        .response_timeout(Duration::from_millis(300))
        .operation_timeout(OPERATION_TIMEOUT)
        .connect()
        .await
        .expect("the test's own redis-server")
}

#[tokio::test]
async fn unreachable_at_start_is_a_clear_start_up_error() {
    let port = free_port();
    for url in [
        format!("redis://127.0.0.1:{port}"),
        format!("redis://app:hunter2@127.0.0.1:{port}/0"),
    ] {
        let started = Instant::now();
        let err = RedisDriver::connect(url.clone())
            .await
            .expect_err("nothing listens there");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "failed fast: {:?}",
            started.elapsed()
        );
        assert!(matches!(err, ConfigError::Driver { ref driver, .. } if driver == "redis"));
        let message = err.to_string();
        assert!(
            message.contains("could not connect to Redis at redis://")
                && message.contains(&format!("127.0.0.1:{port}")),
            "{message}"
        );
        assert!(
            message.contains("redis-server --daemonize yes"),
            "{message}"
        );
        assert!(!message.contains("hunter2"), "password shown: {message}");
    }

    // REDIS_URL, as `RedisDriver::from_env` reads it.
    let from_redis_url = |value: String| {
        RedisDriverBuilder::from_lookup(&SessionConfig::default(), move |var| {
            (var == URL_VAR).then(|| value.clone())
        })
    };
    let err = from_redis_url(format!("redis://127.0.0.1:{port}"))
        .connect()
        .await
        .expect_err("REDIS_URL fails the same way");
    assert!(matches!(err, ConfigError::Driver { .. }), "{err}");

    let cluster = from_redis_url(format!(
        "redis://127.0.0.1:{port},redis://127.0.0.1:{}",
        free_port()
    ));
    let started = Instant::now();
    let err = cluster.connect().await.expect_err("no cluster there");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(err.to_string().contains("Redis Cluster"), "{err}");
}

#[derive(Debug)]
struct Outcome {
    at: Instant,
    took: Duration,
    result: Result<(), String>,
}

/// Requests from `browsers` concurrent users until `stop`: each sets a key
/// and reads the session back.
fn traffic(
    driver: RedisDriver,
    browsers: usize,
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<Vec<Outcome>>>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let manager = manager(driver);
    (0..browsers)
        .map(|_| {
            let (manager, stop, log) = (manager.clone(), stop.clone(), log.clone());
            tokio::spawn(async move {
                let mut b = Browser::new(manager);
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let start = Instant::now();
                    let result = b
                        .request(StatusCode::OK, |s| s.set("n", n))
                        .await
                        .and_then(|set| set);
                    let result = match result {
                        Ok(()) => Ok(()),
                        Err(err @ SessionError::Backend { .. }) => Err(err.to_string()),
                        Err(other) => panic!("only backend errors expected: {other}"),
                    };
                    let failed = result.is_err();
                    log.lock().await.push(Outcome {
                        at: start,
                        took: start.elapsed(),
                        result,
                    });
                    let pause = if failed { 50 } else { 10 };
                    tokio::time::sleep(Duration::from_millis(pause)).await;
                }
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_and_restarted_under_traffic_fails_fast_then_recovers() {
    let mut server = RedisServer::start();
    let driver = driver_for(&server).await;
    let stop = Arc::new(AtomicBool::new(false));
    let log = Arc::new(Mutex::new(Vec::new()));
    let tasks = traffic(driver.clone(), 4, stop.clone(), log.clone());

    tokio::time::sleep(Duration::from_millis(300)).await;
    let killed = Instant::now();
    server.kill();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let restarted = Instant::now();
    // An empty server on the same port: the sessions and the scripts are gone.
    server.restart();
    let recovery_deadline = Instant::now() + Duration::from_secs(5);
    let recovered = loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let ok_after = log
            .lock()
            .await
            .iter()
            .filter(|o| o.at > restarted && o.result.is_ok())
            .count();
        if ok_after >= 20 {
            break Instant::now();
        }
        assert!(
            Instant::now() < recovery_deadline,
            "no recovery within 5 s of the restart"
        );
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.expect("no request panicked");
    }

    let log = log.lock().await;
    let before: Vec<_> = log.iter().filter(|o| o.at + o.took < killed).collect();
    assert!(
        !before.is_empty() && before.iter().all(|o| o.result.is_ok()),
        "all fine before the kill"
    );
    // Requests that started while the server was gone (a moment after the
    // kill, to let in-flight ones finish) all failed, each within the timeout.
    let down: Vec<_> = log
        .iter()
        .filter(|o| o.at > killed + Duration::from_millis(100) && o.at + o.took < restarted)
        .collect();
    assert!(down.len() >= 8, "traffic while down: {}", down.len());
    assert!(
        down.iter().all(|o| o.result.is_err()),
        "every request failed while Redis was down"
    );
    let slowest = log.iter().map(|o| o.took).max().expect("requests");
    assert!(
        slowest <= OPERATION_TIMEOUT * 2 + SLACK,
        "a request (load + save) hung for {slowest:?}"
    );
    let message = down[0].result.as_ref().expect_err("failed");
    assert!(
        message.starts_with("the `redis` session store failed:") && message.contains(&server.url()),
        "{message}"
    );
    // After the restart every request succeeds again, once reconnected.
    let after: Vec<_> = log.iter().filter(|o| o.at > recovered).collect();
    assert!(!after.is_empty() && after.iter().all(|o| o.result.is_ok()));
    eprintln!(
        "requests: {} before, {} while down (slowest failure {:?}), recovered {:?} after the restart",
        before.len(),
        down.len(),
        down.iter().map(|o| o.took).max(),
        recovered - restarted
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_redis_times_out_instead_of_hanging() {
    let server = RedisServer::start();
    let driver = driver_for(&server).await;
    let mut b = Browser::new(manager(driver));
    b.request(StatusCode::OK, |s| s.set("user", "ada").expect("set"))
        .await
        .expect("request");

    server.pause();
    for _ in 0..3 {
        let started = Instant::now();
        let err = b.view().await.expect_err("Redis answers nothing");
        let took = started.elapsed();
        assert!(err.is_unavailable(), "{err}");
        assert!(took <= OPERATION_TIMEOUT + SLACK, "hung for {took:?}");
    }
    server.resume();

    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match b.view().await {
            Ok(all) => {
                assert_eq!(all, json!({"user": "ada"}), "the data survived the freeze");
                break;
            }
            Err(err) if Instant::now() < deadline => {
                assert!(err.is_unavailable(), "{err}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(err) => panic!("no recovery after SIGCONT: {err}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_that_drops_the_scripts_costs_one_extra_round_trip() {
    let mut server = RedisServer::start();
    let driver = driver_for(&server).await;
    let mut b = Browser::new(manager(driver.clone()));
    b.request(StatusCode::OK, |s| s.set("a", 1).expect("set"))
        .await
        .expect("request");
    server.restart();
    // Reconnecting may take a failed request or two.
    let deadline = Instant::now() + Duration::from_secs(5);
    while b.view().await.is_err() {
        assert!(Instant::now() < deadline, "no recovery");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let before = driver.round_trips();
    b.request(StatusCode::OK, |s| s.set("b", 2).expect("set"))
        .await
        .expect("request");
    assert_eq!(
        driver.round_trips() - before,
        3,
        "load 1, save: EVALSHA (unknown script) + EVAL once"
    );
    let before = driver.round_trips();
    b.request(StatusCode::OK, |s| s.set("b", 3).expect("set"))
        .await
        .expect("request");
    assert_eq!(driver.round_trips() - before, 2, "then load 1 + save 1");
    assert_eq!(b.view().await.expect("view"), json!({"b": 3}));
}
