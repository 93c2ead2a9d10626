//! The memory driver: bounds, expiry, isolation, concurrency, fixation, IP keying.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;
use serde_json::json;
use session_core::testing::Browser;
use session_core::{MemoryDriver, RequestContext, SessionId, SessionManager};

fn manager_for(driver: Arc<MemoryDriver>) -> SessionManager {
    SessionManager::builder()
        .shared_driver("memory", driver)
        .build()
        .expect("manager")
}

/// One request that writes `key` and returns the session cookie header, if one was set.
async fn write(manager: &SessionManager, cookie: &str, key: &str) -> Option<String> {
    let sessions = manager.request(RequestContext::from_cookie_header(cookie));
    sessions
        .session()
        .await
        .expect("load")
        .set(key, 1)
        .expect("set");
    let set = sessions.finish(StatusCode::OK).await.expect("save");
    set.first().map(|c| c.stripped().to_string())
}

#[tokio::test]
async fn the_bound_holds_over_100k_creations() {
    let driver = Arc::new(MemoryDriver::builder().max_sessions(1_000).build());
    let manager = manager_for(driver.clone());
    for i in 0..100_000 {
        write(&manager, "", "k")
            .await
            .expect("a new session sets a cookie");
        if i % 997 == 0 {
            assert!(driver.len() <= 1_000, "{} sessions after {i}", driver.len());
        }
    }
    assert!(
        driver.len() <= 1_000 && driver.len() > 900,
        "{}",
        driver.len()
    );
    assert_eq!(driver.evictions() as usize, 100_000 - driver.len());
}

#[tokio::test]
async fn the_least_recently_used_session_is_evicted_first() {
    // A bound this small is kept in one shard, so the order is exact.
    let driver = Arc::new(MemoryDriver::builder().max_sessions(2).build());
    let manager = manager_for(driver.clone());
    let a = write(&manager, "", "a").await.expect("cookie");
    let b = write(&manager, "", "b").await.expect("cookie");
    tokio::time::sleep(Duration::from_millis(5)).await;
    write(&manager, &a, "a2").await; // touches a: b is now the oldest
    tokio::time::sleep(Duration::from_millis(5)).await;
    write(&manager, "", "c").await.expect("cookie");
    assert_eq!(driver.len(), 2);
    let mut browser = Browser::new(manager.clone());
    for (name, value) in RequestContext::from_cookie_header(&a).cookies() {
        browser.set_cookie(name, value);
    }
    assert_eq!(
        browser.view().await.expect("view"),
        json!({"a": 1, "a2": 1})
    );
    let mut evicted = Browser::new(manager);
    for (name, value) in RequestContext::from_cookie_header(&b).cookies() {
        evicted.set_cookie(name, value);
    }
    assert_eq!(evicted.view().await.expect("view"), json!({}));
}

#[tokio::test]
async fn expired_sessions_are_gone_and_swept() {
    let driver = Arc::new(
        MemoryDriver::builder()
            .lifetime(Duration::from_millis(200))
            .build(),
    );
    let manager = manager_for(driver.clone());
    let mut cookies = Vec::new();
    for _ in 0..100 {
        cookies.push(write(&manager, "", "k").await.expect("cookie"));
    }
    assert_eq!(driver.len(), 100);
    // Activity keeps a session alive past its first lifetime.
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(80)).await;
        let sessions = manager.request(RequestContext::from_cookie_header(&cookies[0]));
        assert!(sessions.session().await.expect("load").has("k"));
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let sessions = manager.request(RequestContext::from_cookie_header(&cookies[1]));
    assert!(
        !sessions.session().await.expect("load").has("k"),
        "idle past its lifetime"
    );
    driver.sweep_expired();
    assert_eq!(driver.len(), 1, "only the active session is left");
}

#[tokio::test]
async fn an_unknown_id_from_the_client_is_never_adopted() {
    let manager = manager_for(Arc::new(MemoryDriver::default()));
    let chosen = format!("session_id={}", SessionId::generate());
    let issued = write(&manager, &chosen, "k").await.expect("a fresh cookie");
    assert_ne!(issued, chosen);
}

#[test]
fn many_threads_changing_different_keys_of_one_session_lose_nothing() {
    const THREADS: usize = 8;
    const WRITES: usize = 200;
    let manager = manager_for(Arc::new(MemoryDriver::default()));
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let cookie = rt.block_on(write(&manager, "", "seed")).expect("cookie");
    std::thread::scope(|scope| {
        for t in 0..THREADS {
            let (manager, cookie) = (manager.clone(), cookie.clone());
            scope.spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .build()
                    .expect("runtime");
                for w in 0..WRITES {
                    // Each request loads a snapshot, then writes one key: a
                    // whole-record save would overwrite the other threads' keys.
                    let set = rt.block_on(write(&manager, &cookie, &format!("t{t}-w{w}")));
                    assert_eq!(set, None, "the same session throughout");
                }
            });
        }
    });
    let sessions = manager.request(RequestContext::from_cookie_header(&cookie));
    let all = rt.block_on(sessions.session()).expect("load").all();
    let keys = all.as_object().expect("object").len();
    assert_eq!(keys, THREADS * WRITES + 1);
}

#[tokio::test]
async fn client_ip_keying_is_opt_in_and_trusts_only_configured_proxies() {
    let proxy: IpAddr = "10.0.0.1".parse().expect("ip");
    let driver = MemoryDriver::builder()
        .key_by_client_ip(vec![proxy])
        .build();
    let manager = SessionManager::builder()
        .driver("memory", driver)
        .build()
        .expect("manager");
    let from = |ip: &str, xff: Option<&str>| {
        let ctx = RequestContext::new().with_peer_ip(ip.parse().expect("ip"));
        match xff {
            Some(x) => ctx.with_forwarded_for(x),
            None => ctx,
        }
    };
    let sessions = manager.request(from("10.0.0.1", Some("198.51.100.4")));
    sessions
        .session()
        .await
        .expect("load")
        .set("user", "via proxy")
        .expect("set");
    assert!(
        sessions
            .finish(StatusCode::OK)
            .await
            .expect("save")
            .is_empty(),
        "no cookie"
    );

    let same = manager.request(from("198.51.100.4", Some("203.0.113.9")));
    assert_eq!(
        same.session().await.expect("load").get("user"),
        Some(json!("via proxy"))
    );
    let other = manager.request(from("198.51.100.5", Some("198.51.100.4")));
    assert!(
        !other.session().await.expect("load").has("user"),
        "X-Forwarded-For from an untrusted peer is ignored"
    );

    let no_address = manager.request(RequestContext::new());
    assert!(
        no_address.session().await.is_err(),
        "no address is an error, not a shared session"
    );
}
