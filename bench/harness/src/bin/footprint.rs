//! Resident memory of N live sessions (default 1 000 000) in the memory
//! driver, each created through the session API and holding what a login
//! leaves: a user map and one flash message.
//!
//! Prints `VmRSS` before and after and the bytes per session. The twin for
//! tower-sessions' `MemoryStore` is `bench/peers` (`peer-footprint`), which
//! stores the same user map and one axum-messages message; `bench/run.sh`
//! runs both.
//!
//! `cargo run --release -p session-views-bench --bin footprint -- [N]`

use std::sync::Arc;

use http::StatusCode;
use serde_json::json;
use session_core::{MemoryDriver, SessionManager, integration::RequestContext};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 1_000_000,
    };
    // The bound is kept per shard and ids spread at random over the shards,
    // so leave room for the fullest shard: every session stays live. No
    // byte budget: this measures what N sessions take.
    let driver = Arc::new(
        MemoryDriver::builder()
            .max_sessions(n + n / 8)
            .max_bytes(usize::MAX)
            .build(),
    );
    let manager = SessionManager::builder()
        .shared_driver("memory", driver.clone())
        .build()?;
    let before = rss_kib()?;
    for i in 0..n {
        let sessions = manager.request(RequestContext::new());
        let session = sessions.session().await?;
        session.set("user", json!({"id": 10_000 + i, "name": "Ada Lovelace"}))?;
        session.flash("success", "Welcome back, Ada Lovelace!")?;
        // A redirect keeps the flash, as after POST /login.
        sessions.finish(StatusCode::SEE_OTHER).await?;
    }
    let after = rss_kib()?;
    // Every session still stored: none was evicted by the bound.
    let stored = driver.len();
    let per = (after.saturating_sub(before) * 1024) as f64 / n as f64;
    println!(
        "RESULT store=\"session-views MemoryDriver\" sessions={stored} rss_before_kib={before} rss_after_kib={after} bytes_per_session={per:.0}"
    );
    Ok(())
}

fn rss_kib() -> Result<u64, Box<dyn std::error::Error>> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| "no VmRSS in /proc/self/status".into())
}
