//! Bytes of heap per stored session in the memory driver, at 100k sessions,
//! counted by a global allocator that tracks live bytes. Each session holds
//! a user map and one flash message, as after a login.
//!
//! `cargo bench -p session-core --bench memory_footprint`

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use http::StatusCode;
use serde_json::json;
use session_core::{MemoryDriver, SessionManager, integration::RequestContext};

mod common;
use common::ready;

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// The only unsafe code in the workspace: a counting allocator for this measurement.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn main() {
    const N: usize = 100_000;
    let manager = SessionManager::builder()
        .driver("memory", MemoryDriver::builder().max_sessions(N).build())
        .build()
        .expect("manager");
    // Payload the application itself hands over, for reference.
    let payload = serde_json::to_string(&json!({"user": {"id": 12345, "name": "Ada Lovelace"}, "success": "Welcome back, Ada Lovelace!"}))
        .expect("json")
        .len();
    let before = LIVE.load(Ordering::Relaxed);
    for i in 0..N {
        let sessions = manager.request(RequestContext::new());
        let session = ready(sessions.session()).expect("load");
        session
            .set("user", json!({"id": 10_000 + i, "name": "Ada Lovelace"}))
            .expect("set");
        session
            .flash("success", "Welcome back, Ada Lovelace!")
            .expect("flash");
        ready(sessions.finish(StatusCode::SEE_OTHER)).expect("save");
    }
    let after = LIVE.load(Ordering::Relaxed);
    let per_session = (after - before) as f64 / N as f64;
    println!(
        "memory driver: {N} sessions, {per_session:.0} heap bytes per session (JSON payload {payload} bytes)"
    );
    drop(manager);
}
