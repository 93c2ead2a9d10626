//! The CSRF secret's life in a request: found in the cookie, made when
//! missing, set by `finish`, replaced when a session is regenerated.

use http::StatusCode;
use session_core::integration::RequestContext;
use session_core::{SessionConfig, SessionManager, csrf};

fn plain_http() -> SessionManager {
    let config = SessionConfig::default().with_cookie_secure(false);
    SessionManager::from_config(&config).expect("config")
}

#[tokio::test]
async fn a_first_token_makes_a_secret_that_finish_sets() {
    let manager = plain_http();
    assert_eq!(manager.csrf_cookie_name(), "csrf");
    let sessions = manager.request(RequestContext::new());
    assert!(!sessions.used());
    let token = sessions.csrf_token();
    assert!(sessions.used(), "a page with a token is the browser's own");
    assert!(
        !sessions.finish_unchanged(StatusCode::OK),
        "a cookie to set"
    );
    let cookies = sessions.finish(StatusCode::OK).await.expect("finish");
    let [cookie] = cookies.as_slice() else {
        panic!("one cookie: {cookies:?}")
    };
    assert_eq!(cookie.name(), "csrf");
    assert_eq!(cookie.http_only(), Some(true));
    assert!(csrf::verify(Some(cookie.value()), &token));

    // The next request sends it back: tokens verify, nothing new is set.
    let header = format!("csrf={}", cookie.value());
    let next = manager.request(RequestContext::from_cookie_header(&header));
    assert!(next.verify_csrf_token(&token));
    let fresh = next.csrf_token();
    assert!(next.verify_csrf_token(&fresh));
    assert!(next.issued_csrf_cookie().is_none());
    assert!(next.finish_unchanged(StatusCode::OK));
}

#[tokio::test]
async fn a_malformed_secret_is_replaced_not_trusted() {
    let manager = plain_http();
    let sessions = manager.request(RequestContext::from_cookie_header("csrf=planted"));
    let token = sessions.csrf_token();
    assert!(
        !sessions.verify_csrf_token(&token),
        "the planted value is no secret"
    );
    let cookie = sessions.issued_csrf_cookie().expect("a new secret");
    assert!(csrf::verify(Some(cookie.value()), &token));
}

#[tokio::test]
async fn regenerating_a_session_replaces_the_secret() {
    let manager = plain_http();
    let first = manager.request(RequestContext::new());
    let before = first.csrf_token();
    let secret = first.issued_csrf_cookie().expect("secret");
    first.finish(StatusCode::OK).await.expect("finish");
    let header = format!("csrf={}", secret.value());

    // A login that regenerates and renders a page at once.
    let login = manager.request(RequestContext::from_cookie_header(&header));
    let session = login.session().await.expect("session");
    session.set("user", "ada").expect("set");
    session.regenerate().expect("regenerate");
    let after = session.csrf_token().expect("request still open");
    assert!(
        login.verify_csrf_token(&before),
        "the request came with the old secret"
    );
    let cookies = login.finish(StatusCode::OK).await.expect("finish");
    let new_secret = cookies
        .iter()
        .find(|c| c.name() == "csrf")
        .expect("a new secret is set");
    assert_ne!(new_secret.value(), secret.value());
    assert!(csrf::verify(Some(new_secret.value()), &after));
    assert!(!csrf::verify(Some(new_secret.value()), &before));

    // A login that redirects without rendering: the secret changes anyway.
    let login = manager.request(RequestContext::from_cookie_header(&header));
    let session = login.session().await.expect("session");
    session.set("user", "ada").expect("set");
    session.regenerate().expect("regenerate");
    let cookies = login.finish(StatusCode::SEE_OTHER).await.expect("finish");
    let rotated = cookies
        .iter()
        .find(|c| c.name() == "csrf")
        .expect("rotated");
    assert_ne!(rotated.value(), secret.value());

    // Regenerating a visitor's empty session stores nothing: nothing to rotate.
    let visitor = manager.request(RequestContext::from_cookie_header(&header));
    let session = visitor.session().await.expect("session");
    session.regenerate().expect("regenerate");
    let cookies = visitor.finish(StatusCode::OK).await.expect("finish");
    assert!(cookies.is_empty(), "{cookies:?}");
}

#[test]
fn secure_cookies_at_the_root_get_the_host_prefix() {
    let manager = SessionManager::builder().build().expect("default");
    assert_eq!(manager.csrf_cookie_name(), "__Host-csrf");
    let sessions = manager.request(RequestContext::new());
    sessions.csrf_token();
    let cookie = sessions.issued_csrf_cookie().expect("secret");
    assert_eq!(cookie.name(), "__Host-csrf");
    assert_eq!(cookie.secure(), Some(true));
    assert_eq!(cookie.path(), Some("/"));
    let elsewhere = SessionConfig::default().with_cookie_path("/app");
    let manager = SessionManager::from_config(&elsewhere).expect("config");
    assert_eq!(manager.csrf_cookie_name(), "csrf");
}
