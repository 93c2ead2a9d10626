//! `RequestSessions::finish_unchanged`: true only when `finish` would write
//! nothing, and then the sessions end as `finish` ends them.

use http::StatusCode;
use session_core::{SessionError, SessionManager, integration::RequestContext};

async fn logged_in(manager: &SessionManager, flash: bool) -> String {
    let sessions = manager.request(RequestContext::new());
    let session = sessions.session().await.expect("load");
    session.set("user", "ada").expect("set");
    if flash {
        session.flash("success", "Saved!").expect("flash");
    }
    let cookies = sessions.finish(StatusCode::SEE_OTHER).await.expect("save");
    cookies[0].stripped().to_string()
}

#[tokio::test]
async fn only_a_request_with_nothing_to_write_ends_at_once() {
    let manager = SessionManager::builder().build().expect("manager");
    let plain = logged_in(&manager, false).await;
    let flashed = logged_in(&manager, true).await;

    let untouched = manager.request(RequestContext::from_cookie_header(&plain));
    assert!(untouched.finish_unchanged(StatusCode::OK), "nothing loaded");

    let read = manager.request(RequestContext::from_cookie_header(&plain));
    assert!(read.session().await.expect("load").has("user"));
    assert!(read.finish_unchanged(StatusCode::OK));
    let late = read.loaded_default().expect("loaded").set("late", 1);
    assert!(matches!(late, Err(SessionError::AlreadySaved { .. })));

    // A 200 clears the flash: that is a write. A redirect keeps it: not one.
    let shown = manager.request(RequestContext::from_cookie_header(&flashed));
    assert!(shown.session().await.expect("load").has("success"));
    assert!(!shown.finish_unchanged(StatusCode::OK));
    assert!(
        shown
            .loaded_default()
            .expect("loaded")
            .set("still", "open")
            .is_ok()
    );
    assert!(!shown.finish_unchanged(StatusCode::SEE_OTHER), "a change");
    shown.finish(StatusCode::SEE_OTHER).await.expect("save");
    let after = manager.request(RequestContext::from_cookie_header(&flashed));
    assert!(after.session().await.expect("load").has("still"), "saved");

    let redirected = manager.request(RequestContext::from_cookie_header(&flashed));
    assert!(redirected.session().await.expect("load").has("success"));
    assert!(redirected.finish_unchanged(StatusCode::SEE_OTHER));
}

#[tokio::test]
async fn a_server_error_ends_at_once_and_saves_nothing() {
    let manager = SessionManager::builder().build().expect("manager");
    let cookie = logged_in(&manager, false).await;
    let failed = manager.request(RequestContext::from_cookie_header(&cookie));
    failed
        .session()
        .await
        .expect("load")
        .set("user", "mallory")
        .expect("set");
    assert!(failed.finish_unchanged(StatusCode::INTERNAL_SERVER_ERROR));
    assert!(
        failed
            .finish(StatusCode::OK)
            .await
            .expect("ended")
            .is_empty()
    );

    let next = manager.request(RequestContext::from_cookie_header(&cookie));
    let user = next.session().await.expect("load").get_as::<String>("user");
    assert_eq!(user.expect("text").as_deref(), Some("ada"));
}

/// `keep()` carries the flash through a 200: nothing to write, and the flash
/// is still there for the next request.
#[tokio::test]
async fn a_kept_flash_is_not_a_write() {
    let manager = SessionManager::builder().build().expect("manager");
    let flashed = logged_in(&manager, true).await;
    let kept = manager.request(RequestContext::from_cookie_header(&flashed));
    let session = kept.session().await.expect("load");
    assert!(session.has("success"));
    session.keep().expect("open");
    assert!(kept.finish_unchanged(StatusCode::OK));
    let next = manager.request(RequestContext::from_cookie_header(&flashed));
    assert!(next.session().await.expect("load").has("success"), "kept");
}

/// After the response is finished, every call that would change the session
/// says so instead of making a change that would never be stored.
#[tokio::test]
async fn every_change_after_the_save_is_refused_and_nothing_moves() {
    let manager = SessionManager::builder().build().expect("manager");
    let cookie = logged_in(&manager, true).await;
    let sessions = manager.request(RequestContext::from_cookie_header(&cookie));
    let session = sessions.session().await.expect("load");
    sessions.finish(StatusCode::SEE_OTHER).await.expect("save");

    let refused = |result: Result<(), SessionError>, call: &str| {
        assert!(
            matches!(result, Err(SessionError::AlreadySaved { .. })),
            "{call} after the save: {result:?}"
        );
    };
    refused(session.set("k", 1), "set");
    refused(session.flash("k", 1), "flash");
    refused(session.delete("user").map(drop), "delete");
    refused(session.pull("user").map(drop), "pull");
    refused(session.reset(), "reset");
    refused(session.reset_flash(), "reset_flash");
    refused(session.keep(), "keep");
    refused(session.reflash(), "reflash");
    refused(session.regenerate(), "regenerate");
    refused(session.invalidate(), "invalidate");
    // Reads still work, and show the session as it was saved.
    assert!(session.has("user"));

    let next = manager.request(RequestContext::from_cookie_header(&cookie));
    let stored = next.session().await.expect("load");
    assert_eq!(
        stored.get_as::<String>("user").expect("text").as_deref(),
        Some("ada")
    );
    assert!(stored.has("success"), "the flash is still there");
}

/// A session first asked for after the request ended would never be saved:
/// it is refused, after `finish` and after a `finish_unchanged` that ended
/// the request alike.
#[tokio::test]
async fn no_session_loads_after_the_request_ended() {
    let manager = SessionManager::builder().build().expect("manager");
    let finished = manager.request(RequestContext::new());
    finished
        .finish(StatusCode::OK)
        .await
        .expect("nothing to save");
    assert!(matches!(
        finished.session().await,
        Err(SessionError::AlreadySaved { .. })
    ));

    let unchanged = manager.request(RequestContext::new());
    assert!(unchanged.finish_unchanged(StatusCode::OK));
    assert!(matches!(
        unchanged.session().await,
        Err(SessionError::AlreadySaved { .. })
    ));

    // Not ended: `finish_unchanged` said there was a write to save.
    let writing = manager.request(RequestContext::new());
    writing
        .session()
        .await
        .expect("load")
        .set("k", 1)
        .expect("set");
    assert!(!writing.finish_unchanged(StatusCode::OK));
    assert!(
        writing.session().await.is_ok(),
        "still open, already loaded"
    );
}
