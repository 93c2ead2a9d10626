//! One request's load + save of a typical session against the local Redis
//! (`REDIS_URL`, default `redis://127.0.0.1:6379`): this crate's per-key
//! delta design vs. a whole-record `GET`/`SET` of the same session as one
//! JSON blob (what other Rust session stores do).
//!
//! ```text
//! cargo bench -p session-redis -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! Besides criterion's timings it prints, per design: round trips per
//! request, time per request in a plain loop, their ratio, and how many of
//! 50 overlapping writes on one session survive.
#![allow(missing_docs)] // criterion_group! generates undocumented items

#[path = "../tests/common/whole_record.rs"]
mod whole_record;

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use redis::Commands;
use session_core::http::StatusCode;
use session_core::serde_json::{Value, json};
use session_core::{
    SessionManager,
    driver::{SessionDriver, SessionId},
    integration::RequestContext,
};
use session_redis::RedisDriver;
use tokio::runtime::Runtime;
use tokio::sync::Barrier;

use whole_record::WholeRecordDriver;

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

fn manager(driver: impl SessionDriver) -> SessionManager {
    SessionManager::builder()
        .driver("bench", driver)
        .default_driver("bench")
        .build()
        .expect("manager")
}

/// A typical logged-in session: a user map, a few keys, one flash.
fn typical() -> Vec<(&'static str, Value, bool)> {
    vec![
        (
            "user",
            json!({"id": 4711, "name": "Ada Lovelace", "email": "ada@example.com",
                   "roles": ["admin", "editor"]}),
            false,
        ),
        ("csrf_token", json!("f3a9c2".repeat(8)), false),
        ("locale", json!("en-GB"), false),
        ("theme", json!("dark"), false),
        (
            "cart",
            json!({"items": [{"sku": "A-1", "qty": 2}, {"sku": "B-7", "qty": 1}], "total": 3499}),
            false,
        ),
        ("success", json!("Your profile was saved."), true),
    ]
}

/// The typical session plus a 64 KiB key that this request does not touch.
fn large() -> Vec<(&'static str, Value, bool)> {
    let mut data = typical();
    let history: Vec<Value> = (0..1000)
        .map(|i| json!({"page": format!("/products/{i:05}"), "at": 1_700_000_000 + i}))
        .collect();
    data.push(("history", Value::Array(history), false));
    data
}

struct Subject {
    name: &'static str,
    manager: SessionManager,
    cookie: String,
    round_trips: Box<dyn Fn() -> u64>,
}

/// One request: load the session, change one key, flash a message, 303.
async fn request(manager: &SessionManager, cookie: &str, n: u64) {
    let sessions = manager.request(RequestContext::from_cookie_header(cookie));
    let session = sessions.session().await.expect("load");
    black_box(session.get("user"));
    session.set("last_seen", n).expect("set");
    session.flash("success", "Saved.").expect("flash");
    let cookies = sessions.finish(StatusCode::SEE_OTHER).await.expect("save");
    debug_assert!(cookies.is_empty());
}

async fn subject(
    name: &'static str,
    manager: SessionManager,
    data: &[(&'static str, Value, bool)],
    round_trips: Box<dyn Fn() -> u64>,
) -> Subject {
    let sessions = manager.request(RequestContext::new());
    let session = sessions.session().await.expect("load");
    for (key, value, flash) in data {
        if *flash {
            session.flash(key, value).expect("flash");
        } else {
            session.set(key, value).expect("set");
        }
    }
    let cookies = sessions.finish(StatusCode::SEE_OTHER).await.expect("save");
    let cookie = cookies[0].stripped().to_string();
    Subject {
        name,
        manager,
        cookie,
        round_trips,
    }
}

async fn subjects(
    data: &[(&'static str, Value, bool)],
    prefix: &str,
) -> (Subject, Subject, RedisDriver) {
    let url = redis_url();
    let delta = RedisDriver::builder()
        .url(url.clone())
        .key_prefix(format!("{prefix}delta:"))
        .connect()
        .await
        .unwrap_or_else(|err| {
            panic!(
                "the benchmark needs Redis at {url}: {err}\n\
                 start one with: redis-server --daemonize yes --port 6379 --save \"\" --appendonly no"
            )
        });
    let blob = Arc::new(WholeRecordDriver::connect(&url, &format!("{prefix}blob:")).await);
    let counter = delta.clone();
    let delta_subject = subject(
        "delta",
        manager(delta.clone()),
        data,
        Box::new(move || counter.round_trips()),
    )
    .await;
    let counter = blob.clone();
    let blob_subject = subject(
        "whole-record",
        SessionManager::builder()
            .shared_driver("bench", blob)
            .default_driver("bench")
            .build()
            .expect("manager"),
        data,
        Box::new(move || counter.round_trips()),
    )
    .await;
    (delta_subject, blob_subject, delta)
}

/// Round trips and mean time per request of each subject, over a plain
/// loop that alternates between them in blocks, so that a machine busy with
/// other work slows both alike and their ratio stays meaningful.
fn measure(
    rt: &Runtime,
    subjects: [&Subject; 2],
    rounds: u32,
    per_round: u64,
) -> [(f64, Duration); 2] {
    let mut took = [Duration::ZERO; 2];
    let before = subjects.map(|s| (s.round_trips)());
    for round in 0..rounds {
        for (i, s) in subjects.iter().enumerate() {
            let started = Instant::now();
            rt.block_on(async {
                for n in 0..per_round {
                    request(&s.manager, &s.cookie, u64::from(round) * per_round + n).await;
                }
            });
            took[i] += started.elapsed();
        }
    }
    let requests = u64::from(rounds) * per_round;
    [0, 1].map(|i| {
        let trips = ((subjects[i].round_trips)() - before[i]) as f64 / requests as f64;
        (trips, took[i] / requests as u32)
    })
}

/// How many of 50 overlapping requests' writes (distinct keys) survive.
fn surviving_writes(rt: &Runtime, s: &Subject) -> usize {
    const WRITERS: usize = 50;
    rt.block_on(async {
        let barrier = Arc::new(Barrier::new(WRITERS));
        let tasks: Vec<_> = (0..WRITERS)
            .map(|i| {
                let (manager, barrier, cookie) =
                    (s.manager.clone(), barrier.clone(), s.cookie.clone());
                tokio::spawn(async move {
                    let sessions = manager.request(RequestContext::from_cookie_header(&cookie));
                    let session = sessions.session().await.expect("load");
                    barrier.wait().await;
                    session.set(&format!("w{i}"), i).expect("set");
                    sessions.finish(StatusCode::SEE_OTHER).await.expect("save");
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("task");
        }
        let sessions = s
            .manager
            .request(RequestContext::from_cookie_header(&s.cookie));
        let session = sessions.session().await.expect("load");
        (0..WRITERS)
            .filter(|i| session.get(&format!("w{i}")) == Some(json!(i)))
            .count()
    })
}

fn bench(c: &mut Criterion) {
    // One thread: no hand-offs between threads in the figures, only the
    // driver, the client and the round trips.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let prefix = format!("sr-bench:{}:", SessionId::generate());
    let mut report = Vec::new();
    for (group, data) in [
        ("typical session", typical()),
        ("session with a 64 KiB key", large()),
    ] {
        let (delta, blob, _driver) = rt.block_on(subjects(&data, &prefix));
        let mut g = c.benchmark_group(format!("load+save, {group}"));
        for s in [&delta, &blob] {
            let mut n = 0u64;
            g.bench_function(s.name, |b| {
                b.iter(|| {
                    n += 1;
                    rt.block_on(request(&s.manager, &s.cookie, n));
                })
            });
        }
        g.finish();
        let [(delta_trips, delta_time), (blob_trips, blob_time)] =
            measure(&rt, [&delta, &blob], 20, 100);
        report.push(format!(
            "{group}: delta {delta_trips:.2} round trips, {delta_time:?}/request; \
             whole-record {blob_trips:.2} round trips, {blob_time:?}/request; \
             time delta/whole-record = {:.2}",
            delta_time.as_secs_f64() / blob_time.as_secs_f64()
        ));
        if group == "typical session" {
            report.push(format!(
                "50 overlapping writers, distinct keys: delta keeps {}/50, whole-record keeps {}/50",
                surviving_writes(&rt, &delta),
                surviving_writes(&rt, &blob)
            ));
        }
    }
    if let Ok(mut con) = redis::Client::open(redis_url()).and_then(|c| c.get_connection()) {
        let keys: Vec<String> = con
            .scan_match::<_, String>(format!("{prefix}*"))
            .map(|iter| iter.filter_map(Result::ok).collect())
            .unwrap_or_default();
        if !keys.is_empty() {
            let _: Result<(), _> = con.del(keys);
        }
    }
    println!("\nsummary (2000 requests each, in alternating blocks of 100, local Redis):");
    for line in report {
        println!("  {line}");
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
