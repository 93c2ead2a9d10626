use std::collections::BTreeMap;

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

const HOUR: u64 = 3600;

/// A driver with the default lifetimes (2 h idle, 12 h absolute), or
/// another absolute lifetime.
fn driver_with_absolute(absolute: u64) -> CookieDriver {
    let config = SessionConfig::default()
        .with_secret(KEY_A)
        .expect("secret")
        .with_absolute_lifetime(Duration::from_secs(absolute));
    CookieDriver::from_config(&config).expect("driver")
}

/// `name=value` of a session cookie for `key`, as if written at
/// `written_at` for a session that started at `started_at`.
fn cookie_pair(driver: &CookieDriver, key: &str, written_at: u64, started_at: u64) -> String {
    let name = cookie_name(Bucket::Session, key);
    let cookie = driver
        .sealed_cookie(
            Bucket::Session,
            name,
            &stored(json!(key)),
            written_at,
            started_at,
        )
        .expect("seal");
    format!("{}={}", cookie.name(), cookie.value())
}

/// Runs one request with `header` through `driver`: `handler`, then a
/// response with `status`. The `Set-Cookie`s, by name.
async fn request(
    driver: CookieDriver,
    header: &str,
    status: http::StatusCode,
    handler: impl FnOnce(&crate::Session),
) -> BTreeMap<String, Cookie<'static>> {
    let manager = crate::SessionManager::builder()
        .driver("cookie", driver)
        .default_driver("cookie")
        .build()
        .expect("manager");
    let sessions = manager.request(RequestContext::from_cookie_header(header));
    handler(&sessions.session().await.expect("load"));
    let set = sessions.finish(status).await.expect("save");
    // The driver's own cookies; a log-in also replaces the CSRF secret's.
    set.into_iter()
        .filter(|c| c.name() != manager.csrf_cookie_name())
        .map(|c| (c.name().to_owned(), c))
        .collect()
}

fn started(cookie: &Cookie<'_>) -> u64 {
    super::sealing::started_at(cookie.value()).expect("our format")
}

/// A key written into a running session is sealed with the session's
/// start, the earliest of its cookies, never with now: writing cannot
/// stretch the absolute lifetime. Read from the cookies themselves, and from
/// the state when some cookie was rejected.
#[tokio::test(flavor = "current_thread")]
async fn a_written_key_keeps_the_sessions_start() {
    let now = unix_now();
    let d = driver();
    let header = format!(
        "{}; {}",
        cookie_pair(&d, "user", now - 100, now - HOUR),
        cookie_pair(&d, "cart", now - 50, now - 2 * HOUR)
    );
    for extra in ["", "; s_junk=AAAA"] {
        let set = request(
            driver(),
            &format!("{header}{extra}"),
            http::StatusCode::SEE_OTHER,
            |s| {
                s.set("count", 1).expect("set");
                s.flash("note", "hi").expect("flash");
            },
        )
        .await;
        assert_eq!(started(&set["s_count"]), now - 2 * HOUR, "{extra:?}");
        assert_eq!(started(&set["f_note"]), now - 2 * HOUR, "{extra:?}");
        assert!(
            !set.contains_key("s_user"),
            "unchanged keys are not written"
        );
    }
    let fresh = request(driver(), "", http::StatusCode::OK, |s| {
        s.set("count", 1).expect("set");
    })
    .await;
    assert!(
        started(&fresh["s_count"]) >= now,
        "a new session starts now"
    );
}

/// `regenerate` (login) starts a new session: every key is sealed again
/// with a new start. `invalidate` leaves only what is written after it.
#[tokio::test(flavor = "current_thread")]
async fn regenerate_starts_a_new_absolute_lifetime_for_every_key() {
    let now = unix_now();
    let d = driver();
    let header = format!(
        "{}; {}",
        cookie_pair(&d, "user", now - 100, now - 11 * HOUR),
        cookie_pair(&d, "cart", now - 50, now - 11 * HOUR)
    );
    let set = request(driver(), &header, http::StatusCode::SEE_OTHER, |s| {
        s.set("user", "ada").expect("set");
        s.regenerate().expect("regenerate");
    })
    .await;
    assert_eq!(set.len(), 2, "{set:?}");
    for cookie in set.values() {
        assert!(started(cookie) >= now, "{}", cookie.name());
    }
    let set = request(driver(), &header, http::StatusCode::SEE_OTHER, |s| {
        s.invalidate().expect("invalidate");
        s.flash("warning", "bye").expect("flash");
    })
    .await;
    assert!(is_removed(&set["s_user"]) && is_removed(&set["s_cart"]));
    assert!(started(&set["f_warning"]) >= now);
}

fn is_removed(cookie: &Cookie<'_>) -> bool {
    cookie.value().is_empty() && cookie.max_age() == Some(cookie::time::Duration::ZERO)
}

/// A refresh keeps the cookie's start and seals an expiry no later than
/// the absolute lifetime allows; once that caps the expiry, nothing is
/// refreshed any more (no re-seal on every request near the end).
#[tokio::test(flavor = "current_thread")]
async fn refresh_keeps_the_start_and_stops_at_the_deadline() {
    let now = unix_now();
    let d = driver();
    // Written 1.5 h ago (0.5 h left of 2 h), in a session started 11 h ago.
    let stale = cookie_pair(&d, "user", now - 5400, now - 11 * HOUR);
    let set = request(driver(), &stale, http::StatusCode::OK, |_| {}).await;
    let refreshed = &set["s_user"];
    assert_eq!(started(refreshed), now - 11 * HOUR);
    let opened = d
        .sealer
        .open("s_user", refreshed.value(), now)
        .expect("opens");
    assert_eq!(
        opened.expires_at,
        now - 11 * HOUR + 12 * HOUR,
        "capped at the deadline"
    );

    let capped = format!("s_user={}", refreshed.value());
    let set = request(driver(), &capped, http::StatusCode::OK, |_| {}).await;
    assert!(set.is_empty(), "no refresh past the cap: {set:?}");
}

/// A cookie older than the absolute lifetime is refused and removed even
/// when its sealed expiry is later (sealed under a longer absolute
/// lifetime, since shortened).
#[tokio::test(flavor = "current_thread")]
async fn a_cookie_past_the_absolute_lifetime_is_refused() {
    let now = unix_now();
    let lenient = driver_with_absolute(100 * HOUR);
    let old = cookie_pair(&lenient, "user", now - 10, now - 13 * HOUR);
    let mut seen = json!(null);
    let set = request(driver(), &old, http::StatusCode::OK, |s| seen = s.all()).await;
    assert_eq!(seen, json!({}));
    assert!(is_removed(&set["s_user"]));
    let set = request(lenient, &old, http::StatusCode::OK, |s| seen = s.all()).await;
    assert_eq!(seen, json!({"user": "user"}));
    assert!(set.is_empty());
}

/// Past the cap, rejected cookies are ignored; clearing then removes the
/// cookies that opened, not the ignored ones.
#[tokio::test(flavor = "current_thread")]
async fn rejected_removals_are_capped_and_clearing_removes_what_opened() {
    let now = unix_now();
    let d = driver();
    let junk: Vec<String> = (0..100).map(|i| format!("s_j{i}=x")).collect();
    let header = format!("{}; {}", cookie_pair(&d, "user", now, now), junk.join("; "));
    let set = request(driver(), &header, http::StatusCode::OK, |_| {}).await;
    assert_eq!(set.len(), CookieDriver::MAX_REJECTED_REMOVALS);
    let set = request(driver(), &header, http::StatusCode::OK, |s| {
        s.reset().expect("reset")
    })
    .await;
    assert_eq!(set.len(), CookieDriver::MAX_REJECTED_REMOVALS + 1);
    assert!(is_removed(&set["s_user"]));
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

/// For each kind of cookie, with a plain and an encoded name, and
/// lifetimes whose `Max-Age` has different widths.
#[test]
fn predicted_cookie_length_is_exact() {
    for lifetime in [9, 7200, 86_400 * 400] {
        let config = SessionConfig::default()
            .with_secret(KEY_A)
            .expect("secret")
            .with_lifetime(std::time::Duration::from_secs(lifetime))
            .with_absolute_lifetime(std::time::Duration::from_secs(86_400 * 500));
        let driver = CookieDriver::from_config(&config).expect("driver");
        for bucket in [Bucket::Session, Bucket::Flash] {
            for key in ["k", "a key with spaces"] {
                let name = cookie_name(bucket, key);
                for n in 0..40 {
                    let value = stored(json!("é\"x".repeat(n)));
                    let json_len = value.as_json().len();
                    let now = unix_now();
                    let cookie = driver
                        .sealed_cookie(bucket, name.clone(), &value, now, now)
                        .expect("seal");
                    assert_eq!(
                        driver.set_cookie_len(bucket, &name, json_len),
                        cookie.to_string().len(),
                        "{bucket:?} {key} {n}"
                    );
                }
            }
        }
    }
}

#[test]
fn debug_shows_no_key() {
    let shown = format!("{:?}", driver());
    assert!(shown.contains("keys: 1"), "{shown}");
    assert!(!shown.contains("thirty-two"), "{shown}");
}
