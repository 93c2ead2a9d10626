//! Reading a request's cookies: [`RequestContext::from_headers`] over the
//! headers a browser sends, then what the drivers ask of it.
//!
//! - `untouched`: `from_headers` alone (a handler that never uses a session).
//! - `memory lookup`: `from_headers` and `cookie("session_id")`, the memory
//!   and Redis drivers' one read, with a few other sites' cookies around it.
//! - `cookie driver`: `from_headers` and every cookie through `cookies()`,
//!   the cookie driver's read of an `s_user` and an `f_success` cookie.
//! - `from_cookie_header`: the same lookup from a header as text.
//!
//! `cargo bench -p session-core --bench request_context`
#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use http::header::{self, HeaderMap, HeaderValue};
use session_core::integration::RequestContext;

const SESSION_ID: &str = "n4KPZT-n6kzFoO4HVwgnGHgg1u9VPmMEaQv4cI3ZNxQ";
const MEMORY_COOKIES: &str = "_ga=GA1.1.1234567890.1700000000; session_id=n4KPZT-n6kzFoO4HVwgnGHgg1u9VPmMEaQv4cI3ZNxQ; theme=dark";
const COOKIE_DRIVER_COOKIES: &str = "s_user=Ad5KLk6BSN6jcI_rr4XpABN58wLiQVuSsXq3u0Qn2mYk1e9p2s7Zb8cVwXo1LrT4hJqFv3N6yUa0GdE; \
f_success=AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCdEfGh";

/// The headers of a browser's GET, with `cookies` as its `Cookie`.
fn browser_headers(cookies: &'static str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in [
        (header::HOST, "localhost:8080"),
        (
            header::USER_AGENT,
            "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
        ),
        (
            header::ACCEPT,
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        ),
        (header::ACCEPT_LANGUAGE, "en-US,en;q=0.5"),
        (header::ACCEPT_ENCODING, "gzip, deflate, br, zstd"),
        (header::CONNECTION, "keep-alive"),
        (header::COOKIE, cookies),
        (header::UPGRADE_INSECURE_REQUESTS, "1"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers
}

fn bench(c: &mut Criterion) {
    let memory = browser_headers(MEMORY_COOKIES);
    let cookie = browser_headers(COOKIE_DRIVER_COOKIES);
    assert_eq!(
        RequestContext::from_headers(&memory).cookie("session_id"),
        Some(SESSION_ID)
    );
    assert_eq!(RequestContext::from_headers(&cookie).cookies().count(), 2);

    let mut group = c.benchmark_group("request_context");
    group.bench_function("untouched", |b| {
        b.iter(|| RequestContext::from_headers(black_box(&memory)))
    });
    group.bench_function("memory lookup", |b| {
        b.iter(|| {
            let ctx = RequestContext::from_headers(black_box(&memory));
            black_box(ctx.cookie("session_id").map(str::len))
        })
    });
    group.bench_function("cookie driver", |b| {
        b.iter(|| {
            let ctx = RequestContext::from_headers(black_box(&cookie));
            ctx.cookies().map(|(n, v)| n.len() + v.len()).sum::<usize>()
        })
    });
    group.bench_function("from_cookie_header", |b| {
        b.iter(|| {
            let ctx = RequestContext::from_cookie_header(black_box(MEMORY_COOKIES));
            black_box(ctx.cookie("session_id").map(str::len))
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
