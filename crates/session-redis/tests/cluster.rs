//! The driver on a real Redis Cluster: three masters on free loopback ports,
//! started by this test from `redis-server --cluster-enabled yes` and joined
//! with `redis-cli --cluster create` (Debian's `redis-server` package), then
//! killed when the test ends.
//!
//! One test runs everything in order — the conformance suite, the slot
//! checks, concurrent writers, a master killed and restarted — so the
//! cluster is started once.

mod common;

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use session_core::http::StatusCode;
use session_core::serde_json::json;
use session_core::testing::{Browser, suite};
use session_core::{SessionManager, driver::SessionId, integration::RequestContext};
use session_redis::{DEFAULT_COOKIE_NAME, RedisDriver};
use tokio::sync::Barrier;

use common::{RedisServer, free_port, manager, unique_prefix};

struct Cluster {
    nodes: Vec<RedisServer>,
}

impl Cluster {
    fn start() -> Self {
        let nodes: Vec<RedisServer> = (0..3)
            .map(|_| {
                // The bus port defaults to the port + 10000, which is past
                // 65535 for a high free port: pick a free one too.
                let bus_port = free_port().to_string();
                RedisServer::start_with(
                    free_port(),
                    &[
                        "--cluster-port",
                        &bus_port,
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        "nodes.conf",
                        "--cluster-node-timeout",
                        "1000",
                        // With no replicas, the other masters keep serving
                        // their slots while one is down.
                        "--cluster-require-full-coverage",
                        "no",
                    ],
                )
            })
            .collect();
        let cli = std::env::var("REDIS_CLI").unwrap_or_else(|_| "redis-cli".to_owned());
        let output = Command::new(&cli)
            .arg("--cluster")
            .arg("create")
            .args(nodes.iter().map(|n| format!("127.0.0.1:{}", n.port())))
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .unwrap_or_else(|err| {
                panic!("could not run `{cli}`: {err}; `apt-get install -y redis-server` brings it")
            });
        assert!(
            output.status.success(),
            "redis-cli --cluster create failed: {}",
            String::from_utf8_lossy(&output.stdout)
        );
        let cluster = Cluster { nodes };
        cluster.wait_until_ok();
        cluster
    }

    fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }

    fn wait_until_ok(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        for node in &self.nodes {
            loop {
                let info: String = redis::cmd("CLUSTER")
                    .arg("INFO")
                    .query(&mut common::inspect(&node.url()))
                    .expect("cluster info");
                if info.contains("cluster_state:ok") {
                    break;
                }
                assert!(Instant::now() < deadline, "cluster not ok: {info}");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    /// The index of the master that holds `key` (the others answer MOVED).
    fn owner(&self, key: &str) -> usize {
        self.nodes
            .iter()
            .position(|node| {
                redis::cmd("EXISTS")
                    .arg(key)
                    .query::<i64>(&mut common::inspect(&node.url()))
                    .is_ok()
            })
            .expect("a master owns every slot")
    }

    fn slot(&self, key: &str) -> i64 {
        redis::cmd("CLUSTER")
            .arg("KEYSLOT")
            .arg(key)
            .query(&mut common::inspect(&self.nodes[0].url()))
            .expect("keyslot")
    }
}

async fn cluster_driver(seeds: &[String], test: &str) -> RedisDriver {
    RedisDriver::builder()
        .cluster(seeds.to_vec())
        .key_prefix(unique_prefix(test))
        .connect_timeout(Duration::from_millis(300))
        .response_timeout(Duration::from_millis(500))
        .operation_timeout(Duration::from_millis(1000))
        .connect()
        .await
        .expect("the test's own cluster")
}

fn id_of(b: &Browser) -> SessionId {
    SessionId::parse(b.cookies().get(DEFAULT_COOKIE_NAME).expect("id cookie")).expect("id")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_driver_on_a_three_master_cluster() {
    let started = Instant::now();
    let mut cluster = Cluster::start();
    let urls = cluster.urls();
    eprintln!("cluster of 3 masters up in {:?}", started.elapsed());

    // 1. The conformance suite, each test with a fresh driver and prefix.
    macro_rules! run_suite {
        ($($name:ident),*) => {$(
            let driver = cluster_driver(&urls, stringify!($name)).await;
            assert!(driver.is_cluster());
            suite::$name(manager(driver)).await;
        )*};
    }
    run_suite!(
        set_get_has_all,
        falsy_values_are_values,
        flash_lifecycle,
        flash_on_a_200_is_cleared_by_it,
        flash_never_leaks_into_session,
        keep_and_reflash,
        delete_and_pull,
        reset_and_reset_flash,
        regenerate_and_invalidate,
        sessions_are_isolated,
        reads_write_nothing_and_5xx_saves_nothing,
        awkward_keys_and_values,
        a_request_racing_a_logout_does_not_revive_the_session,
        a_request_racing_a_regenerate_writes_nothing_into_the_new_session,
        a_page_racing_a_regenerate_that_only_showed_its_flash_is_not_refused
    );

    // 2. Sessions spread over the masters; a regenerated session moves to
    //    the slot of its fresh id, with its data (one seed node is enough
    //    to find the others).
    let driver = cluster_driver(&urls[1..2], "slots").await;
    let manager = manager(driver.clone());
    let mut browsers = Vec::new();
    let mut owners = [0usize; 3];
    let mut moved_slot = 0;
    for i in 0..30 {
        let mut b = Browser::new(manager.clone());
        b.request(StatusCode::SEE_OTHER, |s| {
            s.set("user", i).expect("set");
            s.flash("hello", i).expect("flash");
        })
        .await
        .expect("request");
        let old = driver.session_key(&id_of(&b));
        owners[cluster.owner(&old)] += 1;
        b.request(StatusCode::SEE_OTHER, |s| s.regenerate().expect("open"))
            .await
            .expect("regenerate");
        let new = driver.session_key(&id_of(&b));
        assert_ne!(old, new);
        if cluster.slot(&old) != cluster.slot(&new) {
            moved_slot += 1;
        }
        browsers.push(b);
    }
    // A fresh id's slot is independent of the old one's: the same once in 16 384.
    assert!(
        moved_slot >= 29,
        "{moved_slot} of 30 regenerated sessions changed slot"
    );
    assert!(
        owners.iter().all(|&n| n > 0),
        "30 sessions on every master: {owners:?}"
    );
    for (i, b) in browsers.iter_mut().enumerate() {
        assert_eq!(
            b.view().await.expect("view"),
            json!({"user": i, "hello": i})
        );
    }

    // 3. Fifty concurrent writers on one session, distinct keys.
    concurrent_writers(&manager).await;

    // 4. A master dies: its sessions fail fast, the others keep working;
    //    it comes back (same port, same nodes.conf) and so do they.
    let victim = cluster.owner(&driver.session_key(&id_of(&browsers[0])));
    let (mut on_victim, mut elsewhere): (Vec<_>, Vec<_>) = browsers
        .into_iter()
        .partition(|b| cluster.owner(&driver.session_key(&id_of(b))) == victim);
    cluster.nodes[victim].kill();
    for b in on_victim.iter_mut().take(3) {
        let started = Instant::now();
        let err = b.view().await.expect_err("its master is down");
        assert!(err.is_unavailable(), "{err}");
        assert!(
            started.elapsed() < Duration::from_millis(1500),
            "took {:?}",
            started.elapsed()
        );
    }
    for b in elsewhere.iter_mut().take(5) {
        b.request(StatusCode::SEE_OTHER, |s| {
            s.set("during", true).expect("set")
        })
        .await
        .expect("the other masters keep serving");
    }
    cluster.nodes[victim].restart();
    cluster.wait_until_ok();
    let deadline = Instant::now() + Duration::from_secs(10);
    let recovered = Instant::now();
    loop {
        match on_victim[0]
            .request(StatusCode::OK, |s| s.set("back", true).expect("set"))
            .await
        {
            Ok(()) => break,
            Err(err) => {
                assert!(err.is_unavailable(), "{err}");
                assert!(Instant::now() < deadline, "no recovery: {err}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    eprintln!(
        "writes to the restarted master work again after {:?}",
        recovered.elapsed()
    );
    // It restarted empty (no persistence): a new session with the new write.
    assert_eq!(
        on_victim[0].view().await.expect("view"),
        json!({"back": true})
    );
    eprintln!("cluster test done in {:?}", started.elapsed());
}

async fn concurrent_writers(manager: &SessionManager) {
    const WRITERS: usize = 50;
    let mut b = Browser::new(manager.clone());
    b.request(StatusCode::OK, |s| s.set("user", "ada").expect("set"))
        .await
        .expect("request");
    let header = b.cookie_header();
    let barrier = Arc::new(Barrier::new(WRITERS));
    let tasks: Vec<_> = (0..WRITERS)
        .map(|i| {
            let (manager, barrier, header) = (manager.clone(), barrier.clone(), header.clone());
            tokio::spawn(async move {
                let sessions = manager.request(RequestContext::from_cookie_header(&header));
                let session = sessions.session().await.expect("load");
                barrier.wait().await;
                session.set(&format!("key{i}"), i).expect("set");
                sessions.finish(StatusCode::OK).await.expect("save");
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task");
    }
    let all = b.view().await.expect("view");
    for i in 0..WRITERS {
        assert_eq!(all[format!("key{i}")], json!(i), "key{i} lost");
    }
}
