//! The cookie driver seen from outside: tampering, keys, rotation, size and expiry.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::StatusCode;
use proptest::prelude::*;
use serde_json::json;
use session_core::testing::Browser;
use session_core::{
    CookieDriver, MAX_COOKIE_BYTES, SessionConfig, SessionError, SessionManager,
    integration::RequestContext,
};

const SECRET_A: &str = "first secret, at least thirty-two bytes long";
const SECRET_B: &str = "second secret, at least thirty-two bytes long";

fn manager(secret: &str, previous: &[&str]) -> SessionManager {
    manager_with(secret, previous, Duration::from_secs(3600))
}

fn manager_with(secret: &str, previous: &[&str], lifetime: Duration) -> SessionManager {
    let mut config = SessionConfig::default()
        .with_driver("cookie")
        .with_lifetime(lifetime)
        .with_secret(secret)
        .expect("secret");
    for old in previous {
        config = config.with_previous_secret(old).expect("secret");
    }
    SessionManager::from_config(&config).expect("manager")
}

/// A browser holding `s_user` = {"name": "ada"}, sealed by `manager`.
async fn logged_in(manager: &SessionManager) -> Browser {
    let mut b = Browser::new(manager.clone());
    b.request(StatusCode::OK, |s| {
        s.set("user", json!({"name": "ada"})).expect("set")
    })
    .await
    .expect("request");
    assert!(b.cookies().contains_key("s_user"));
    b
}

/// Sends `cookie_header` and returns what the session sees and the Set-Cookie lines.
async fn send(manager: &SessionManager, cookie_header: &str) -> (serde_json::Value, Vec<String>) {
    let sessions = manager.request(RequestContext::from_cookie_header(cookie_header));
    let all = sessions.session().await.expect("load never fails").all();
    let set = sessions
        .finish(StatusCode::OK)
        .await
        .expect("save")
        .iter()
        .map(ToString::to_string)
        .collect();
    (all, set)
}

fn is_removal(line: &str, name: &str) -> bool {
    line.starts_with(&format!("{name}=;")) && line.contains("Max-Age=0")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]

    /// Any flipped bit anywhere in the sealed value is rejected, and the
    /// cookie is removed.
    #[test]
    fn any_flipped_bit_is_rejected(index in any::<prop::sample::Index>(), bit in 0u8..8) {
        let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        rt.block_on(async {
            let manager = manager(SECRET_A, &[]);
            let b = logged_in(&manager).await;
            let mut raw = URL_SAFE_NO_PAD.decode(&b.cookies()["s_user"]).expect("base64url");
            let i = index.index(raw.len());
            raw[i] ^= 1 << bit;
            let header = format!("s_user={}", URL_SAFE_NO_PAD.encode(&raw));
            let (all, set) = send(&manager, &header).await;
            prop_assert_eq!(all, json!({}));
            prop_assert!(set.iter().any(|l| is_removal(l, "s_user")), "{:?}", set);
            Ok(())
        })?;
    }

    /// Arbitrary text in our cookies never panics and is never trusted.
    #[test]
    fn arbitrary_cookie_values_are_rejected(value in "[ -~]{0,200}") {
        let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        rt.block_on(async {
            let manager = manager(SECRET_A, &[]);
            let (all, _) = send(&manager, &format!("s_user={value}; f_note={value}")).await;
            prop_assert_eq!(all, json!({}));
            Ok(())
        })?;
    }
}

#[tokio::test]
async fn a_plaintext_cookie_is_not_accepted_in_place_of_a_sealed_one() {
    let manager = manager(SECRET_A, &[]);
    for forged in [r#"{"name":"admin"}"#, "admin", "AQ", ""] {
        let (all, set) = send(&manager, &format!("s_user={forged}")).await;
        assert_eq!(all, json!({}), "{forged:?}");
        assert!(set.iter().any(|l| is_removal(l, "s_user")), "{set:?}");
    }
}

#[tokio::test]
async fn wrong_key_is_rejected() {
    let b = logged_in(&manager(SECRET_A, &[])).await;
    let (all, set) = send(&manager(SECRET_B, &[]), &b.cookie_header()).await;
    assert_eq!(all, json!({}));
    assert!(set.iter().any(|l| is_removal(l, "s_user")), "{set:?}");
}

#[tokio::test]
async fn old_key_is_accepted_and_the_value_resealed_under_the_new_one() {
    let b = logged_in(&manager(SECRET_A, &[])).await;
    let rotated = manager(SECRET_B, &[SECRET_A]);
    let mut rb = Browser::new(rotated.clone());
    rb.set_cookie("s_user", &b.cookies()["s_user"]);
    let seen = rb
        .request(StatusCode::OK, |s| s.get("user"))
        .await
        .expect("request");
    assert_eq!(seen, Some(json!({"name": "ada"})));
    assert_ne!(
        rb.cookies()["s_user"],
        b.cookies()["s_user"],
        "re-sealed in the same response"
    );
    // The new cookie opens with the new secret alone: the old one can be retired.
    let (all, _) = send(&manager(SECRET_B, &[]), &rb.cookie_header()).await;
    assert_eq!(all, json!({"user": {"name": "ada"}}));
    // A read under the current key writes nothing.
    let (_, set) = send(&rotated, &rb.cookie_header()).await;
    assert!(set.is_empty(), "{set:?}");
}

#[tokio::test]
async fn a_value_moved_to_another_cookie_name_is_rejected() {
    let manager = manager(SECRET_A, &[]);
    let b = logged_in(&manager).await;
    let sealed = &b.cookies()["s_user"];
    for name in ["s_admin", "f_user", "s_role"] {
        let (all, set) = send(&manager, &format!("{name}={sealed}")).await;
        assert_eq!(all, json!({}), "{name}");
        assert!(set.iter().any(|l| is_removal(l, name)), "{set:?}");
    }
}

#[tokio::test]
async fn oversized_values_are_refused_at_set_and_flash_naming_key_and_size() {
    let manager = manager(SECRET_A, &[]);
    let sessions = manager.request(RequestContext::new());
    let session = sessions.session().await.expect("load");
    let err = session
        .set("avatar", "x".repeat(4000))
        .expect_err("too large");
    let message = err.to_string();
    assert!(
        matches!(err, SessionError::ValueTooLarge { ref key, size, limit: MAX_COOKIE_BYTES, .. } if key == "avatar" && size > MAX_COOKIE_BYTES),
        "{err:?}"
    );
    assert!(
        message.contains("`avatar`") && message.contains("4096"),
        "{message}"
    );
    assert!(session.flash("big", "y".repeat(3100)).is_err());
    assert!(
        !session.has("avatar") && !session.has("big"),
        "a refused value is not half-stored"
    );

    // The largest value that fits is accepted, and its cookie really is within the limit.
    let fits = (0..4096)
        .rev()
        .find(|n| session.set("avatar", "x".repeat(*n)).is_ok())
        .expect("something fits");
    assert!(fits > 2900, "only {fits} bytes fit");
    let set = sessions.finish(StatusCode::OK).await.expect("save");
    let line = set[0].to_string();
    assert!(
        line.len() <= MAX_COOKIE_BYTES && line.len() > MAX_COOKIE_BYTES - 8,
        "{}",
        line.len()
    );
}

/// For session and flash cookies, plain and encoded key names, and values
/// that JSON escapes: the largest value `set`/`flash` accepts makes a
/// `Set-Cookie` of at most 4096 bytes, and one unit more (one byte of JSON
/// for `x`, so one or two base64 characters) is refused with the size its
/// cookie would really have had.
#[tokio::test]
async fn the_largest_accepted_value_fills_the_cookie_and_one_byte_more_is_refused() {
    let manager = manager(SECRET_A, &[]);
    for flash in [false, true] {
        for key in ["success", "a key, not a token"] {
            for unit in ["x", "\"", "é"] {
                let sessions = manager.request(RequestContext::new());
                let session = sessions.session().await.expect("load");
                let write = |n: usize| {
                    let value = unit.repeat(n);
                    if flash {
                        session.flash(key, value)
                    } else {
                        session.set(key, value)
                    }
                };
                // Bisect: 0 units fit, 4096 do not.
                let (mut fits, mut too_many) = (0, 4096);
                while too_many - fits > 1 {
                    let mid = (fits + too_many) / 2;
                    if write(mid).is_ok() {
                        fits = mid;
                    } else {
                        too_many = mid;
                    }
                }
                let refused = match write(fits + 1) {
                    Err(SessionError::ValueTooLarge { size, .. }) => size,
                    other => panic!("{other:?}"),
                };
                write(fits).expect("fits again");
                let status = if flash {
                    StatusCode::SEE_OTHER
                } else {
                    StatusCode::OK
                };
                let set = sessions.finish(status).await.expect("save");
                assert_eq!(set.len(), 1, "{set:?}");
                let line = set[0].to_string().len();
                let what = format!("flash {flash}, key {key:?}, {fits} × {unit:?}");
                // The base64 characters one more unit of JSON adds.
                let unit_json = serde_json::to_string(unit).expect("json").len() - 2;
                let step = unit_json * 4 / 3 + 1;
                assert!(line <= MAX_COOKIE_BYTES, "{what}: {line} bytes");
                assert!(
                    refused > MAX_COOKIE_BYTES && refused > line && refused <= line + step,
                    "{what}: {line} bytes accepted, {refused} refused"
                );
                if unit == "x" {
                    assert!(line >= MAX_COOKIE_BYTES - 1, "{what}: only {line} bytes");
                }
            }
        }
    }
}

#[tokio::test]
async fn an_expired_cookie_is_refused_even_if_the_browser_still_sends_it() {
    let manager = manager_with(SECRET_A, &[], Duration::from_secs(1));
    let b = logged_in(&manager).await;
    assert_eq!(
        send(&manager, &b.cookie_header()).await.0,
        json!({"user": {"name": "ada"}})
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (all, set) = send(&manager, &b.cookie_header()).await;
    assert_eq!(all, json!({}));
    assert!(set.iter().any(|l| is_removal(l, "s_user")), "{set:?}");
}

#[tokio::test]
async fn only_changed_keys_get_a_set_cookie() {
    let manager = manager(SECRET_A, &[]);
    let mut b = Browser::new(manager.clone());
    b.request(StatusCode::OK, |s| {
        s.set("a", 1).expect("set");
        s.set("b", 2).expect("set");
    })
    .await
    .expect("request");
    let sessions = manager.request(RequestContext::from_cookie_header(&b.cookie_header()));
    let session = sessions.session().await.expect("load");
    session.set("a", 1).expect("same value again");
    session.set("b", 3).expect("set");
    let set = sessions.finish(StatusCode::OK).await.expect("save");
    let names: Vec<_> = set.iter().map(|c| c.name().to_owned()).collect();
    assert_eq!(names, ["s_b"]);
}

#[tokio::test]
async fn cookies_carry_the_secure_defaults() {
    let manager = manager(SECRET_A, &[]);
    let sessions = manager.request(RequestContext::new());
    let session = sessions.session().await.expect("load");
    session.set("a", 1).expect("set");
    session.flash("f", 1).expect("flash");
    for line in sessions.finish(StatusCode::SEE_OTHER).await.expect("save") {
        let line = line.to_string();
        for attr in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/"] {
            assert!(line.contains(attr), "{line} lacks {attr}");
        }
    }
}

#[test]
fn a_missing_or_short_secret_stops_start_up() {
    let no_secret = SessionConfig::default().with_driver("cookie");
    let err = SessionManager::from_config(&no_secret).expect_err("no secret");
    assert!(err.to_string().contains("SESSION_SECRET"), "{err}");
    assert!(CookieDriver::from_config(&SessionConfig::default()).is_err());
    let short = SessionConfig::default().with_secret("short");
    assert!(
        short
            .expect_err("short")
            .to_string()
            .contains("at least 32 bytes")
    );
}

/// A secret that is plainly not random, and `SameSite=None` without
/// `Secure`, stop the app at start-up with a message that says what to do;
/// generated secrets and the demo's development secret pass.
#[test]
fn weak_secrets_and_same_site_none_without_secure_stop_start_up() {
    for weak in [
        "A".repeat(32),
        "0123456789abcdef0123456789abcdef".to_owned(),
        "secretsecretsecretsecretsecretsecret".to_owned(),
    ] {
        let err = SessionConfig::default()
            .with_secret(&weak)
            .expect_err("a weak secret");
        let message = err.to_string();
        assert!(
            message.contains("does not look random") && message.contains("openssl rand -base64 48"),
            "{message}"
        );
        assert!(
            !message.contains(&weak),
            "the secret is not echoed: {message}"
        );
        let env = SessionConfig::from_lookup(|var| (var == "SESSION_SECRET").then(|| weak.clone()));
        assert!(env.is_err(), "{weak}");
    }
    for good in [
        "q3Vb0c5Xv0m3l7mJ6qRZ8k1yH9wqB8xq0Jr6Zx0iV2Wq7d8mGk3oTfXh5sYpLr+N",
        "session-views demo secret: NEVER use this outside local development",
    ] {
        assert!(SessionConfig::default().with_secret(good).is_ok(), "{good}");
    }

    let env = |same_site: &'static str, secure: &'static str| {
        SessionConfig::from_lookup(move |var| match var {
            "SESSION_SAME_SITE" => Some(same_site.into()),
            "SESSION_COOKIE_SECURE" => Some(secure.into()),
            _ => None,
        })
    };
    let message = env("none", "false")
        .expect_err("SameSite=None without Secure")
        .to_string();
    assert!(
        message.contains("SESSION_COOKIE_SECURE=true") && message.contains("SESSION_SAME_SITE=lax"),
        "{message}"
    );
    assert!(env("none", "true").is_ok());
    assert!(env("lax", "false").is_ok());
    let built = SessionConfig::default()
        .with_secret(SECRET_A)
        .expect("secret")
        .with_same_site(session_core::cookie::SameSite::None)
        .with_cookie_secure(false);
    assert!(CookieDriver::from_config(&built).is_err());
    assert!(SessionManager::from_config(&built.with_driver("cookie")).is_err());
}

#[test]
fn an_unknown_default_driver_stops_start_up() {
    let config = SessionConfig::default().with_driver("rediss");
    let err = SessionManager::from_config(&config).expect_err("unknown");
    assert!(
        err.to_string().contains("`rediss`") && err.to_string().contains("memory"),
        "{err}"
    );
}
