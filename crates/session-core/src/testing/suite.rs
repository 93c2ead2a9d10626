//! The suite every driver passes; see [`conformance_tests!`](crate::conformance_tests).
//!
//! Each function takes a fresh [`SessionManager`] whose default driver is
//! the driver under test, and panics on the first mismatch.

use http::StatusCode;
use serde_json::json;

use super::Browser;
use crate::SessionManager;

const OK: StatusCode = StatusCode::OK;
const SEE_OTHER: StatusCode = StatusCode::SEE_OTHER;
const NOT_FOUND: StatusCode = StatusCode::NOT_FOUND;

/// `set` then `get`/`has`/`all` on a later request; maps and lists come back as such.
pub async fn set_get_has_all(manager: SessionManager) {
    let mut b = Browser::new(manager);
    let user = json!({"name": "Ada", "roles": ["admin", "dev"], "age": 36});
    b.request(OK, |s| {
        s.set("user", &user).expect("set");
        s.set("theme", "dark").expect("set");
    })
    .await
    .expect("request");
    let (got, has, missing, typed) = b
        .request(OK, |s| {
            (
                s.get("user"),
                s.has("theme"),
                s.has("nope"),
                s.get_as::<String>("theme").expect("typed"),
            )
        })
        .await
        .expect("request");
    assert_eq!(got, Some(user.clone()));
    assert!(has);
    assert!(!missing);
    assert_eq!(typed.as_deref(), Some("dark"));
    assert_eq!(
        b.view().await.expect("view"),
        json!({"user": user, "theme": "dark"})
    );
}

/// `0`, `""`, `false`, `null`, `[]` and `{}` are values: `has` is true, `get` returns them.
pub async fn falsy_values_are_values(manager: SessionManager) {
    let mut b = Browser::new(manager);
    let falsy = [
        json!(0),
        json!(""),
        json!(false),
        json!(null),
        json!([]),
        json!({}),
    ];
    b.request(SEE_OTHER, |s| {
        for (i, v) in falsy.iter().enumerate() {
            s.set(&format!("k{i}"), v).expect("set");
            s.flash(&format!("f{i}"), v).expect("flash");
        }
    })
    .await
    .expect("request");
    b.request(OK, |s| {
        for (i, v) in falsy.iter().enumerate() {
            for key in [format!("k{i}"), format!("f{i}")] {
                assert!(s.has(&key), "has({key}) for {v}");
                assert_eq!(s.get(&key).as_ref(), Some(v), "get({key})");
            }
        }
    })
    .await
    .expect("request");
}

/// flash + 303 → the next request sees it; that 200 clears it; the one after does not see it.
/// A 404 in between keeps it. Flash never becomes session data.
pub async fn flash_lifecycle(manager: SessionManager) {
    let mut b = Browser::new(manager);
    b.request(SEE_OTHER, |s| s.flash("success", "Saved!").expect("flash"))
        .await
        .expect("request");
    let on_404 = b
        .request(NOT_FOUND, |s| s.get("success"))
        .await
        .expect("request");
    assert_eq!(on_404, Some(json!("Saved!")), "a 404 keeps the flash");
    let redirect = b
        .request(SEE_OTHER, |s| s.get("success"))
        .await
        .expect("request");
    assert_eq!(
        redirect,
        Some(json!("Saved!")),
        "a redirect keeps the flash"
    );
    let shown = b.request(OK, |s| s.get("success")).await.expect("request");
    assert_eq!(
        shown,
        Some(json!("Saved!")),
        "the page after the redirect shows it"
    );
    assert_eq!(
        b.view().await.expect("view"),
        json!({}),
        "shown once, then gone"
    );
}

/// Flash set while rendering a 200 page is visible on that page and cleared with it.
pub async fn flash_on_a_200_is_cleared_by_it(manager: SessionManager) {
    let mut b = Browser::new(manager);
    b.request(OK, |s| s.set("user", "ada").expect("set"))
        .await
        .expect("request");
    let seen = b
        .request(OK, |s| {
            s.flash("info", "now").expect("flash");
            s.get("info")
        })
        .await
        .expect("request");
    assert_eq!(seen, Some(json!("now")));
    assert_eq!(b.view().await.expect("view"), json!({"user": "ada"}));
}

/// A flash shadows a session value of the same key, and does not replace it.
pub async fn flash_never_leaks_into_session(manager: SessionManager) {
    let mut b = Browser::new(manager);
    b.request(SEE_OTHER, |s| {
        s.set("message", "session").expect("set");
        s.flash("message", "flash").expect("flash");
    })
    .await
    .expect("request");
    let shown = b.request(OK, |s| s.get("message")).await.expect("request");
    assert_eq!(shown, Some(json!("flash")));
    assert_eq!(b.view().await.expect("view"), json!({"message": "session"}));
}

/// `keep()` carries the flash through one 200; `reflash()` is the same.
pub async fn keep_and_reflash(manager: SessionManager) {
    let mut b = Browser::new(manager);
    b.request(SEE_OTHER, |s| s.flash("note", 1).expect("flash"))
        .await
        .expect("request");
    b.request(OK, |s| s.keep().expect("open"))
        .await
        .expect("request");
    b.request(OK, |s| {
        assert_eq!(s.get("note"), Some(json!(1)), "kept through the first 200");
        s.reflash().expect("open");
    })
    .await
    .expect("request");
    assert_eq!(
        b.view().await.expect("view"),
        json!({"note": 1}),
        "reflash kept it again"
    );
    assert_eq!(b.view().await.expect("view"), json!({}));
}

/// `delete` and `pull` remove from both buckets; `pull` returns what `get` would.
pub async fn delete_and_pull(manager: SessionManager) {
    let mut b = Browser::new(manager);
    b.request(SEE_OTHER, |s| {
        s.set("a", 1).expect("set");
        s.set("b", 2).expect("set");
        s.set("c", 3).expect("set");
        s.flash("b", "flash-b").expect("flash");
    })
    .await
    .expect("request");
    let (deleted, missing, pulled) = b
        .request(SEE_OTHER, |s| {
            (
                s.delete("a").expect("open"),
                s.delete("zzz").expect("open"),
                s.pull("b").expect("open"),
            )
        })
        .await
        .expect("request");
    assert!(deleted);
    assert!(!missing);
    assert_eq!(pulled, Some(json!("flash-b")));
    assert_eq!(b.view().await.expect("view"), json!({"c": 3}));
}

/// `reset()` clears everything; `reset_flash()` only the flash.
pub async fn reset_and_reset_flash(manager: SessionManager) {
    let mut b = Browser::new(manager);
    let fill = |s: &crate::Session| {
        s.set("a", 1).expect("set");
        s.flash("f", 2).expect("flash");
    };
    b.request(SEE_OTHER, fill).await.expect("request");
    b.request(SEE_OTHER, |s| s.reset_flash().expect("open"))
        .await
        .expect("request");
    assert_eq!(b.view().await.expect("view"), json!({"a": 1}));
    b.request(SEE_OTHER, fill).await.expect("request");
    b.request(SEE_OTHER, |s| {
        s.reset().expect("open");
        assert_eq!(s.all(), json!({}));
        s.set("after", true).expect("set after reset");
    })
    .await
    .expect("request");
    assert_eq!(b.view().await.expect("view"), json!({"after": true}));
}

/// `regenerate()` keeps the data under a new id and the old id stops
/// working; `invalidate()` empties the session.
pub async fn regenerate_and_invalidate(manager: SessionManager) {
    let mut b = Browser::new(manager);
    b.request(OK, |s| s.set("user", "ada").expect("set"))
        .await
        .expect("request");
    let before = b.clone();
    let old_id = b
        .request(SEE_OTHER, |s| {
            s.regenerate().expect("open");
            s.flash("success", "hi").expect("flash");
            s.id()
        })
        .await
        .expect("request");
    let after = b.request(SEE_OTHER, |s| s.id()).await.expect("request");
    if old_id.is_some() {
        assert_ne!(after, old_id, "a new id after regenerate");
        let mut stale = before;
        assert_eq!(
            stale.view().await.expect("view"),
            json!({}),
            "the old id is dead"
        );
    }
    assert_eq!(
        b.view().await.expect("view"),
        json!({"user": "ada", "success": "hi"})
    );
    b.request(SEE_OTHER, |s| {
        s.invalidate().expect("open");
        s.flash("warning", "bye").expect("flash");
    })
    .await
    .expect("request");
    assert_eq!(b.view().await.expect("view"), json!({"warning": "bye"}));
    assert_eq!(b.view().await.expect("view"), json!({}));
}

/// Two browsers do not see each other's sessions.
pub async fn sessions_are_isolated(manager: SessionManager) {
    let mut alice = Browser::new(manager.clone());
    let mut bob = Browser::new(manager);
    alice
        .request(OK, |s| s.set("user", "alice").expect("set"))
        .await
        .expect("request");
    bob.request(OK, |s| s.set("user", "bob").expect("set"))
        .await
        .expect("request");
    assert_eq!(alice.view().await.expect("view"), json!({"user": "alice"}));
    assert_eq!(bob.view().await.expect("view"), json!({"user": "bob"}));
    assert_eq!(
        Browser::new(alice.manager().clone())
            .view()
            .await
            .expect("view"),
        json!({})
    );
}

/// A request that only reads sets no cookie; a 5xx saves nothing.
pub async fn reads_write_nothing_and_5xx_saves_nothing(manager: SessionManager) {
    let mut b = Browser::new(manager);
    b.request(OK, |_| ()).await.expect("request");
    assert!(
        b.cookies().is_empty(),
        "no cookie before anything is written"
    );
    b.request(OK, |s| s.set("a", 1).expect("set"))
        .await
        .expect("request");
    let jar = b.cookies().clone();
    b.request(OK, |s| s.get("a")).await.expect("request");
    assert_eq!(b.cookies(), &jar, "a read-only request changes no cookie");
    b.request(StatusCode::INTERNAL_SERVER_ERROR, |s| {
        s.set("a", 2).expect("set");
        s.flash("f", 1).expect("flash");
    })
    .await
    .expect("request");
    assert_eq!(b.view().await.expect("view"), json!({"a": 1}));
}

/// True when the driver keeps sessions on the server under an id (memory,
/// redis), false for a stateless one (the cookie driver): asks a request
/// on `b`'s session.
async fn has_id(b: &mut Browser) -> bool {
    b.request(OK, |s| s.id().is_some()).await.expect("request")
}

/// A request that loaded the session before a logout and finishes after
/// it does not log the user back in; the old id stays dead. A driver with
/// server-side sessions refuses the late save with
/// [`SessionError::StaleSession`](crate::SessionError::StaleSession); a
/// stateless one (cookies) cannot know, and the browser applies its late
/// response after the logout's, which must still not bring the login back.
pub async fn a_request_racing_a_logout_does_not_revive_the_session(manager: SessionManager) {
    let mut b = Browser::new(manager.clone());
    b.request(OK, |s| s.set("user", "ada").expect("set"))
        .await
        .expect("request");
    let has_id = has_id(&mut b).await;
    let stale = b.clone();
    let header = b.cookie_header();
    let racing = manager.request(crate::integration::RequestContext::from_cookie_header(
        &header,
    ));
    let session = racing.session().await.expect("load");
    session.set("last_seen", 1).expect("set");
    b.request(SEE_OTHER, |s| {
        s.invalidate().expect("open");
        s.flash("warning", "bye").expect("flash");
    })
    .await
    .expect("logout");
    let late = racing.finish(OK).await;
    if has_id {
        assert!(
            matches!(late, Err(crate::SessionError::StaleSession { .. })),
            "the late save is refused: {late:?}"
        );
    } else {
        b.apply(&late.expect("a stateless driver cannot refuse the late save"));
    }
    let after = b.view().await.expect("view");
    assert!(after.get("user").is_none(), "logged back in: {after}");
    assert_eq!(after.get("warning"), Some(&json!("bye")));
    // A cookie-driver session has no id to kill: its cookies cannot be
    // revoked before they expire (see SECURITY.md).
    if has_id {
        let mut stale = stale;
        let seen = stale.view().await.expect("view");
        assert!(seen.get("user").is_none(), "the old id is dead: {seen}");
    }
}

/// `regenerate()` (a login) is a boundary: a request on the pre-login
/// cookies (an attacker who planted or learned them, or a slow tab) that
/// saves after the login writes nothing into the logged-in session. A
/// driver with server-side sessions refuses its save with
/// [`SessionError::StaleSession`](crate::SessionError::StaleSession), and
/// the pre-login id stays dead. A stateless driver (cookies) cannot know
/// that another request regenerated: its save succeeds, but its cookies
/// reach only the client that sent the request, never the one that logged in.
pub async fn a_request_racing_a_regenerate_writes_nothing_into_the_new_session(
    manager: SessionManager,
) {
    let mut b = Browser::new(manager.clone());
    b.request(OK, |s| s.set("cart", 1).expect("set"))
        .await
        .expect("request");
    let has_id = has_id(&mut b).await;
    let mut other = b.clone();
    let racing = manager.request(crate::integration::RequestContext::from_cookie_header(
        &other.cookie_header(),
    ));
    racing
        .session()
        .await
        .expect("load")
        .set("role", "admin")
        .expect("set");
    b.request(SEE_OTHER, |s| {
        s.regenerate().expect("open");
        s.set("user", "ada").expect("set");
    })
    .await
    .expect("login");
    let late = racing.finish(OK).await;
    let after = b.view().await.expect("view");
    assert_eq!(
        after,
        json!({"cart": 1, "user": "ada"}),
        "the logged-in session holds none of the stale request's writes"
    );
    if has_id {
        assert!(
            matches!(late, Err(crate::SessionError::StaleSession { .. })),
            "the late save is refused: {late:?}"
        );
        assert_eq!(
            other.view().await.expect("view"),
            json!({}),
            "the old id is dead"
        );
    } else {
        other.apply(&late.expect("a stateless driver cannot refuse the late save"));
        assert_eq!(
            other.view().await.expect("view"),
            json!({"cart": 1, "role": "admin"}),
            "the write reached only the client that made it"
        );
    }
}

/// A page that showed a flash (a 200 clears it) and finishes after a login
/// regenerated the session is not refused, and saves nothing into the new
/// session: clearing the flash it loaded is all it changes.
pub async fn a_page_racing_a_regenerate_that_only_showed_its_flash_is_not_refused(
    manager: SessionManager,
) {
    let mut b = Browser::new(manager.clone());
    b.request(SEE_OTHER, |s| {
        s.set("cart", 1).expect("set");
        s.flash("note", "sign in to pay").expect("flash");
    })
    .await
    .expect("request");
    let page = manager.request(crate::integration::RequestContext::from_cookie_header(
        &b.cookie_header(),
    ));
    let shown = page.session().await.expect("load").get("note");
    assert_eq!(shown, Some(json!("sign in to pay")));
    let old_id = b
        .request(SEE_OTHER, |s| {
            let id = s.id();
            s.regenerate().expect("open");
            s.set("user", "ada").expect("set");
            id
        })
        .await
        .expect("login");
    let late = page.finish(OK).await.expect("not refused");
    if old_id.is_some() {
        assert!(late.is_empty(), "no cookie for the ended id: {late:?}");
        assert_eq!(
            b.view().await.expect("view"),
            json!({"cart": 1, "user": "ada", "note": "sign in to pay"}),
            "nothing saved into the new session"
        );
    }
}

/// Keys that are not cookie tokens, and values with every kind of character, round-trip.
pub async fn awkward_keys_and_values(manager: SessionManager) {
    let mut b = Browser::new(manager);
    let keys = [
        "with space",
        "semi;colon",
        "eq=uals",
        "ünïcödé",
        "quote\"",
        "",
    ];
    b.request(OK, |s| {
        for k in keys {
            s.set(k, format!("<v of {k}>; =\"\n")).expect("set");
        }
    })
    .await
    .expect("request");
    let all = b.view().await.expect("view");
    for k in keys {
        assert_eq!(all[k], json!(format!("<v of {k}>; =\"\n")), "{k:?}");
    }
}

/// Instantiates the driver conformance suite: one `#[tokio::test]` per
/// semantics row. The argument is a closure returning a future of a
/// [`SessionManager`](crate::SessionManager) whose default driver is the
/// driver under test; it is called once per test.
#[macro_export]
macro_rules! conformance_tests {
    ($make:expr) => {
        $crate::conformance_tests!(@tests $make;
            set_get_has_all, falsy_values_are_values, flash_lifecycle,
            flash_on_a_200_is_cleared_by_it, flash_never_leaks_into_session,
            keep_and_reflash, delete_and_pull, reset_and_reset_flash,
            regenerate_and_invalidate, sessions_are_isolated,
            reads_write_nothing_and_5xx_saves_nothing, awkward_keys_and_values,
            a_request_racing_a_logout_does_not_revive_the_session,
            a_request_racing_a_regenerate_writes_nothing_into_the_new_session,
            a_page_racing_a_regenerate_that_only_showed_its_flash_is_not_refused);
    };
    (@tests $make:expr; $($name:ident),*) => {
        $(
            #[tokio::test]
            async fn $name() {
                let manager = ($make)().await;
                $crate::testing::suite::$name(manager).await;
            }
        )*
    };
}
