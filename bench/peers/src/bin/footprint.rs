//! Resident memory of N live sessions (default 1 000 000) in tower-sessions'
//! `MemoryStore`, each created through the `Session` API and holding what a
//! login leaves: a user map and one pending axum-messages message, stored
//! exactly as axum-messages stores it (`axum-messages.data`).
//!
//! Prints `VmRSS` before and after and the bytes per session; the twin for
//! session-views is `footprint` in the main workspace (`bench/harness`).
//!
//! `cargo run --release --bin peer-footprint -- [N]`

use std::sync::Arc;

use serde_json::json;
use tower_sessions::{MemoryStore, Session};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 1_000_000,
    };
    let store = Arc::new(MemoryStore::default());
    let before = rss_kib()?;
    for i in 0..n {
        let session = Session::new(None, store.clone(), None);
        session
            .insert("user", json!({"id": 10_000 + i, "name": "Ada Lovelace"}))
            .await?;
        session
            .insert(
                "axum-messages.data",
                json!({
                    "pending_messages": [{"l": "Success", "m": "Welcome back, Ada Lovelace!", "d": null}],
                    "messages": [],
                }),
            )
            .await?;
        session.save().await?;
    }
    let after = rss_kib()?;
    report("tower-sessions MemoryStore", n, before, after);
    drop(store);
    Ok(())
}

fn report(what: &str, n: usize, before: u64, after: u64) {
    let per = (after.saturating_sub(before) * 1024) as f64 / n as f64;
    println!(
        "RESULT store={what:?} sessions={n} rss_before_kib={before} rss_after_kib={after} bytes_per_session={per:.0}"
    );
}

fn rss_kib() -> Result<u64, Box<dyn std::error::Error>> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| "no VmRSS in /proc/self/status".into())
}
