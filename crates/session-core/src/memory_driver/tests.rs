use http::StatusCode;
use serde_json::json;

use crate::{SessionManager, integration::RequestContext};

/// `save` stores its own view only when the entry is still the copy
/// this request loaded; a write in between takes the per-key path.
#[tokio::test]
async fn a_save_after_another_write_keeps_both_changes() {
    let manager = SessionManager::builder().build().expect("manager");
    let first = manager.request(RequestContext::new());
    first
        .session()
        .await
        .expect("load")
        .set("a", 1)
        .expect("set");
    let cookie = first.finish(StatusCode::OK).await.expect("save")[0]
        .stripped()
        .to_string();

    let slow = manager.request(RequestContext::from_cookie_header(&cookie));
    let fast = manager.request(RequestContext::from_cookie_header(&cookie));
    let slow_session = slow.session().await.expect("load");
    fast.session()
        .await
        .expect("load")
        .set("b", 2)
        .expect("set");
    assert!(fast.finish(StatusCode::OK).await.expect("save").is_empty());
    slow_session.set("c", 3).expect("set");
    assert!(slow.finish(StatusCode::OK).await.expect("save").is_empty());

    let check = manager.request(RequestContext::from_cookie_header(&cookie));
    let all = check.session().await.expect("load").all();
    assert_eq!(all, json!({"a": 1, "b": 2, "c": 3}));
}
