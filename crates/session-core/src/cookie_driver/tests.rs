use serde_json::json;

use super::*;

fn stored(value: serde_json::Value) -> StoredValue {
    StoredValue::try_from(value).expect("a shallow value")
}

const KEY_A: &[u8] = b"A secret of thirty-two bytes....";

fn driver() -> CookieDriver {
    let config = SessionConfig::default().with_secret(KEY_A).expect("secret");
    CookieDriver::from_config(&config).expect("driver")
}

/// A name with a newline, possible through
/// `RequestContext::from_cookie_header` (the `cookie` fuzz target in `fuzz/`
/// makes such names), must not be echoed into a removal `Set-Cookie`, which
/// would not be a valid header.
#[tokio::test(flavor = "current_thread")]
async fn cookies_whose_names_are_not_tokens_are_ignored_not_echoed() {
    let manager = crate::SessionManager::builder()
        .driver("cookie", driver())
        .default_driver("cookie")
        .build()
        .expect("manager");
    let header = "s!YSBi\nf_success=x; s x=1; s_\u{e9}=2; s(=3; s_bad%=4";
    let sessions = manager.request(RequestContext::from_cookie_header(header));
    let session = sessions.session().await.expect("load");
    assert_eq!(session.all(), json!({}));
    let set = sessions.finish(http::StatusCode::OK).await.expect("save");
    let names: Vec<&str> = set.iter().map(|c| c.name()).collect();
    assert_eq!(names, ["s_bad%"], "only the token is ours to remove");
    for cookie in &set {
        assert!(http::HeaderValue::try_from(cookie.to_string()).is_ok());
    }
    assert!(is_token("s!YSBi") && is_token("f_a.b-c") && is_token("s_bad%"));
    assert!(!is_token("") && !is_token("s x") && !is_token("s\nx") && !is_token("s=x"));
}

#[test]
fn predicted_cookie_length_is_exact() {
    let driver = driver();
    for n in 0..40 {
        let value = stored(json!("x".repeat(n)));
        let json_len = value.as_json().len();
        let cookie = driver
            .sealed_cookie(Bucket::Session, "s_k".into(), &value, unix_now())
            .expect("seal");
        assert_eq!(
            driver.set_cookie_len("s_k", json_len),
            cookie.to_string().len(),
            "{n}"
        );
    }
}

#[test]
fn debug_shows_no_key() {
    let shown = format!("{:?}", driver());
    assert!(shown.contains("keys: 1"), "{shown}");
    assert!(!shown.contains("thirty-two"), "{shown}");
}
