//! Cookie driver: load + save of a typical session (a user map and one
//! flash), beside the `cookie` crate's `PrivateJar` doing the same work:
//! seal two JSON values into cookies, serialise the `Set-Cookie` lines, then
//! parse a `Cookie` header and open both values again.
//!
//! `cargo bench -p session-core --bench cookie_driver`
#![allow(missing_docs)] // criterion_group! generates undocumented items

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use http::StatusCode;
use serde_json::{Value, json};
use session_core::{SessionConfig, SessionManager, integration::RequestContext};

mod common;
use common::ready;

const SECRET: &str = "a benchmark secret that is long enough to use";

fn user() -> Value {
    json!({"id": 42, "name": "Ada Lovelace", "email": "ada@example.com", "roles": ["admin", "editor"]})
}

/// One request that writes both keys, then one that reads them: 2 seals + 2 opens.
fn ours(manager: &SessionManager) -> (Value, Value) {
    let sessions = manager.request(RequestContext::new());
    let session = ready(sessions.session()).expect("load");
    session.set("user", user()).expect("set");
    session
        .flash("success", "Welcome back, Ada!")
        .expect("flash");
    let set = ready(sessions.finish(StatusCode::SEE_OTHER)).expect("save");
    let header = set
        .iter()
        .map(|c| c.stripped().to_string())
        .collect::<Vec<_>>()
        .join("; ");

    let sessions = manager.request(RequestContext::from_cookie_header(&header));
    let session = ready(sessions.session()).expect("load");
    (
        session.get("user").expect("user"),
        session.get("success").expect("flash"),
    )
}

fn private_jar(key: &cookie::Key) -> (Value, Value) {
    use cookie::{Cookie, CookieJar, SameSite};
    let mut jar = CookieJar::new();
    let decorate = |c: Cookie<'static>| {
        let mut c = c;
        c.set_http_only(true);
        c.set_path("/");
        c.set_same_site(SameSite::Lax);
        c.set_secure(true);
        c
    };
    let user_json = serde_json::to_string(&user()).expect("json");
    let flash_json = serde_json::to_string(&json!("Welcome back, Ada!")).expect("json");
    jar.private_mut(key)
        .add(decorate(Cookie::new("s_user", user_json)));
    jar.private_mut(key)
        .add(decorate(Cookie::new("f_success", flash_json)));
    let set: Vec<String> = jar.delta().map(|c| c.encoded().to_string()).collect();
    let header = set
        .iter()
        .map(|line| line.split(';').next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("; ");

    let mut jar = CookieJar::new();
    for cookie in Cookie::split_parse_encoded(header).flatten() {
        jar.add_original(cookie.into_owned());
    }
    let private = jar.private(key);
    let read = |name: &str| -> Value {
        let cookie = private.get(name).expect("opens");
        serde_json::from_str(cookie.value()).expect("json")
    };
    (read("s_user"), read("f_success"))
}

fn bench(c: &mut Criterion) {
    let config = SessionConfig::default()
        .with_driver("cookie")
        .with_secret(SECRET)
        .expect("secret");
    let manager = SessionManager::from_config(&config).expect("manager");
    let key = cookie::Key::from(&[7u8; 64]);
    assert_eq!(ours(&manager), private_jar(&key), "both do the same work");

    let mut group = c.benchmark_group("cookie_session_2_cookies_seal_and_open");
    group.bench_function("session-views CookieDriver", |b| {
        b.iter(|| black_box(ours(&manager)))
    });
    group.bench_function("cookie PrivateJar", |b| {
        b.iter(|| black_box(private_jar(&key)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
