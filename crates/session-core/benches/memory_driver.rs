//! Memory driver: a request that reads the user and writes one key (load +
//! save), with 1 and with 2 threads sharing one driver. With 2 cores, 2
//! threads should do close to twice the requests per second.
//!
//! `cargo bench -p session-core --bench memory_driver`
#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use http::StatusCode;
use serde_json::json;
use session_core::{MemoryDriver, SessionManager, integration::RequestContext};

mod common;
use common::ready;

const SESSIONS: usize = 10_000;

fn setup() -> (SessionManager, Arc<Vec<String>>) {
    let manager = SessionManager::builder()
        .driver("memory", MemoryDriver::default())
        .build()
        .expect("manager");
    let cookies = (0..SESSIONS)
        .map(|i| {
            let sessions = manager.request(RequestContext::new());
            let session = ready(sessions.session()).expect("load");
            session
                .set("user", json!({"id": i, "name": "Ada"}))
                .expect("set");
            let set = ready(sessions.finish(StatusCode::OK)).expect("save");
            set[0].stripped().to_string()
        })
        .collect();
    (manager, Arc::new(cookies))
}

fn request(manager: &SessionManager, cookie: &str, n: u64) {
    let sessions = manager.request(RequestContext::from_cookie_header(cookie));
    let session = ready(sessions.session()).expect("load");
    assert!(session.has("user"));
    session.set("counter", n).expect("set");
    ready(sessions.finish(StatusCode::OK)).expect("save");
}

fn run(
    threads: usize,
    iters: u64,
    manager: &SessionManager,
    cookies: &Arc<Vec<String>>,
) -> Duration {
    let per_thread = iters.div_ceil(threads as u64);
    let start = Instant::now();
    std::thread::scope(|scope| {
        for t in 0..threads {
            let cookies = cookies.clone();
            scope.spawn(move || {
                for i in 0..per_thread {
                    let cookie = &cookies[(i as usize * 7919 + t * 31) % cookies.len()];
                    request(manager, cookie, i);
                }
            });
        }
    });
    start.elapsed()
}

fn bench(c: &mut Criterion) {
    let (manager, cookies) = setup();
    let mut group = c.benchmark_group("memory_request_load_save");
    group.throughput(Throughput::Elements(1));
    for threads in [1, 2] {
        group.bench_function(format!("{threads}_thread"), |b| {
            b.iter_custom(|iters| run(threads, iters, &manager, &cookies));
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
