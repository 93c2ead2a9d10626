//! Concurrent requests on one session, against the real Redis at
//! `REDIS_URL`: every request loads before any saves, so each one's view
//! misses the others' writes — the worst case for lost updates.

mod common;

use std::sync::Arc;

use session_core::http::StatusCode;
use session_core::serde_json::{Value, json};
use session_core::testing::Browser;
use session_core::{SessionManager, integration::RequestContext};
use tokio::sync::Barrier;

use common::whole_record::WholeRecordDriver;

const WRITERS: usize = 50;

/// Runs `WRITERS` requests on the session `cookie` names, all loaded before
/// any is saved; request `i` runs `handler(i)`.
async fn overlapping_requests(
    manager: &SessionManager,
    cookie: &str,
    status: StatusCode,
    handler: impl Fn(usize, &session_core::Session) + Send + Sync + 'static,
) {
    let barrier = Arc::new(Barrier::new(WRITERS));
    let handler = Arc::new(handler);
    let mut tasks = Vec::new();
    for i in 0..WRITERS {
        let (manager, barrier, handler) = (manager.clone(), barrier.clone(), handler.clone());
        let cookie = cookie.to_owned();
        tasks.push(tokio::spawn(async move {
            let sessions = manager.request(RequestContext::from_cookie_header(&cookie));
            let session = sessions.session().await.expect("load");
            barrier.wait().await;
            handler(i, &session);
            sessions.finish(status).await.expect("save")
        }));
    }
    for task in tasks {
        let cookies = task.await.expect("task");
        assert!(cookies.is_empty(), "no request changed the id");
    }
}

/// A session with `{"user": "ada"}`, and the browser holding it.
async fn started(manager: &SessionManager) -> Browser {
    let mut b = Browser::new(manager.clone());
    b.request(StatusCode::OK, |s| s.set("user", "ada").expect("set"))
        .await
        .expect("request");
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_writers_on_distinct_keys_all_keep_their_write() {
    let manager = common::manager(common::shared_driver("writers").await);
    let mut b = started(&manager).await;
    overlapping_requests(
        &manager,
        &b.cookie_header(),
        StatusCode::SEE_OTHER,
        |i, s| {
            s.set(&format!("key{i}"), i).expect("set");
            s.flash(&format!("flash{i}"), i).expect("flash");
        },
    )
    .await;
    let all = b.view().await.expect("view");
    let all = all.as_object().expect("object");
    assert_eq!(all["user"], json!("ada"));
    let missing: Vec<usize> = (0..WRITERS)
        .filter(|i| {
            all.get(&format!("key{i}")) != Some(&json!(i))
                || all.get(&format!("flash{i}")) != Some(&json!(i))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "lost the writes of requests {missing:?}"
    );
    assert_eq!(all.len(), 1 + 2 * WRITERS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn same_key_last_writer_wins_and_other_keys_stay() {
    let manager = common::manager(common::shared_driver("same-key").await);
    let mut b = started(&manager).await;
    overlapping_requests(&manager, &b.cookie_header(), StatusCode::OK, |i, s| {
        s.set("counter", i).expect("set");
    })
    .await;
    let all = b.view().await.expect("view");
    let counter = all["counter"].as_u64().expect("one writer's value");
    assert!(counter < WRITERS as u64);
    assert_eq!(all["user"], json!("ada"), "the key no one wrote stays");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn showing_a_flash_does_not_clear_one_added_meanwhile() {
    let manager = common::manager(common::shared_driver("flash-race").await);
    let mut b = Browser::new(manager.clone());
    b.request(StatusCode::SEE_OTHER, |s| {
        s.flash("old", "shown").expect("flash")
    })
    .await
    .expect("request");
    let header = b.cookie_header();
    let page = manager.request(RequestContext::from_cookie_header(&header));
    let form = manager.request(RequestContext::from_cookie_header(&header));
    assert!(page.session().await.expect("load").has("old"));
    form.session()
        .await
        .expect("load")
        .flash("new", "not shown yet")
        .expect("flash");
    form.finish(StatusCode::SEE_OTHER).await.expect("save");
    page.finish(StatusCode::OK).await.expect("save"); // clears what it showed
    assert_eq!(
        b.view().await.expect("view"),
        json!({"new": "not shown yet"})
    );
}

/// The contrast: the same requests on a whole-record GET/SET store lose all
/// but one of the concurrent writes. If this ever passes with no loss, the
/// test above proves nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_whole_record_store_loses_concurrent_writes() {
    let prefix = common::unique_prefix("whole-record");
    let url = common::redis_url();
    let driver = WholeRecordDriver::connect(&url, &prefix).await;
    let manager = common::manager(driver);
    let mut b = started(&manager).await;
    overlapping_requests(
        &manager,
        &b.cookie_header(),
        StatusCode::SEE_OTHER,
        |i, s| {
            s.set(&format!("key{i}"), i).expect("set");
        },
    )
    .await;
    let all = b.view().await.expect("view");
    common::delete_under(&url, &prefix);
    let kept = (0..WRITERS)
        .filter(|i| all.get(format!("key{i}")) == Some(&Value::from(*i)))
        .count();
    assert_eq!(
        kept, 1,
        "a whole-record store keeps only the last writer's key"
    );
}
