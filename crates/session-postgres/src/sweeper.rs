//! The background deletion of expired rows: in batches, so that no
//! `DELETE` holds many locks or runs long, with `SKIP LOCKED`, so that the
//! sweeps of several processes on one table do not wait for each other.

use std::sync::Weak;
use std::time::Duration;

use session_core::SessionError;

use crate::driver::Inner;

/// The most batches one sweep deletes before it waits for the next tick,
/// so that a backlog (after a long outage, say) is worked off gradually.
const MAX_BATCHES_PER_SWEEP: u32 = 100;

/// Starts the sweep task. It holds the driver weakly and ends once the
/// last handle to the driver is dropped.
pub(crate) fn spawn(inner: Weak<Inner>, interval: Duration) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The first tick is immediate: rows left by a previous run go first.
        loop {
            ticks.tick().await;
            let Some(inner) = inner.upgrade() else {
                return;
            };
            // A failing database fails requests too, and they report it;
            // the next tick tries again.
            let _ = sweep(&inner).await;
        }
    });
}

/// Deletes expired rows batch by batch until a batch comes back short.
pub(crate) async fn sweep(inner: &Inner) -> Result<u64, SessionError> {
    let mut total = 0;
    for _ in 0..MAX_BATCHES_PER_SWEEP {
        let deleted = inner
            .database
            .execute(
                "deleting expired sessions",
                &inner.statements.sweep,
                &[&inner.sweep_batch],
            )
            .await?;
        total += deleted;
        if deleted < inner.sweep_batch.unsigned_abs() {
            break;
        }
        tokio::task::yield_now().await;
    }
    Ok(total)
}
