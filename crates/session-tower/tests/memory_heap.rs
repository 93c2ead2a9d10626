//! The memory driver's byte budget, measured on the real heap: logins
//! through the layer, with `SESSION_MAX_BYTES=4M`, leave the process
//! holding at most about 4 MiB more than before, whether the sessions are
//! large (16 KB names: 48 MB unbounded) or small (their fixed cost counts).
//!
//! A counting global allocator measures the live heap; it needs `unsafe`
//! (implementing `GlobalAlloc`), so this file is a test binary of its own
//! and allows it here only.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::convert::Infallible;
use std::sync::atomic::{AtomicIsize, Ordering};

use http::{Method, Request, Response, StatusCode, header};
use session_core::{MemoryDriver, SessionConfig, SessionManager};
use session_tower::{SessionLayer, sessions};
use tower::{ServiceBuilder, ServiceExt, service_fn};

/// The system allocator, counting the bytes currently allocated.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded unchanged to `System`; the counter only
// observes the sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract is `System.alloc`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract is `System.dealloc`'s.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: the caller's contract is `System.realloc`'s.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const MIB: isize = 1024 * 1024;

/// Logs in `logins` times with the name `name` through the layer, over a
/// memory driver with `SESSION_MAX_BYTES=4M`; returns the most the live
/// heap grew meanwhile, and what it held at the end.
async fn grow(name: &str, logins: usize) -> (isize, isize) {
    let config =
        SessionConfig::from_lookup(|var| (var == "SESSION_MAX_BYTES").then(|| "4M".to_owned()))
            .expect("config");
    let manager = SessionManager::builder()
        .driver("memory", MemoryDriver::from_config(&config))
        .build()
        .expect("manager");
    let app = ServiceBuilder::new()
        .layer(SessionLayer::new(manager))
        .service(service_fn(|req: Request<String>| async move {
            let session = sessions(&req).session().await.expect("load");
            session.regenerate().expect("open");
            session
                .set("user", req.body())
                .expect("the name is allowed");
            let mut response = Response::new(String::new());
            *response.status_mut() = StatusCode::SEE_OTHER;
            Ok::<_, Infallible>(response)
        }));
    let login = || {
        Request::builder()
            .method(Method::POST)
            .uri("/login")
            .body(name.to_owned())
            .expect("request")
    };
    // The first request allocates what stays for the process (the
    // runtime's buffers, say).
    app.clone().oneshot(login()).await.expect("infallible");
    let before = LIVE.load(Ordering::Relaxed);
    let mut peak = 0;
    for _ in 0..logins {
        let response = app.clone().oneshot(login()).await.expect("infallible");
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert!(response.headers().contains_key(header::SET_COOKIE));
        peak = peak.max(LIVE.load(Ordering::Relaxed) - before);
    }
    (peak, LIVE.load(Ordering::Relaxed) - before)
}

/// One test, so that nothing else allocates while it measures.
#[test]
fn logins_stay_within_the_byte_budget() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let (peak, held) = grow(&"n".repeat(16 * 1000), 3_000).await;
        eprintln!(
            "3 000 logins with 16 KB names: {} KiB held, {} KiB at the peak",
            held / 1024,
            peak / 1024
        );
        assert!(
            peak <= 4 * MIB + MIB / 2,
            "the heap grew by {} KiB with a 4 MiB budget",
            peak / 1024
        );
        // Small sessions: the fixed cost of each is what counts.
        let (peak, held) = grow("ada", 30_000).await;
        eprintln!(
            "30 000 logins with 3-byte names: {} KiB held, {} KiB at the peak",
            held / 1024,
            peak / 1024
        );
        assert!(
            peak <= 4 * MIB + MIB / 2,
            "the heap grew by {} KiB with a 4 MiB budget",
            peak / 1024
        );
    });
}
