//! What the Redis driver does beyond the conformance suite, checked against
//! the real Redis at `REDIS_URL`: round trips, the stored layout, expiry,
//! regenerate, a session that vanishes mid-request, value limits, cookies.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use redis::Commands;
use session_core::cookie::SameSite;
use session_core::http::StatusCode;
use session_core::serde_json::json;
use session_core::testing::Browser;
use session_core::{
    SessionConfig, SessionError, SessionManager,
    driver::{CookieSettings, SessionId},
    integration::RequestContext,
};
use session_redis::{DEFAULT_COOKIE_NAME, RedisDriver};

use common::{Cleaning, connect, inspect, keys_under, manager, redis_url, shared_builder};

const OK: StatusCode = StatusCode::OK;
const SEE_OTHER: StatusCode = StatusCode::SEE_OTHER;

fn id_of(b: &Browser) -> SessionId {
    SessionId::parse(b.cookies().get(DEFAULT_COOKIE_NAME).expect("an id cookie")).expect("an id")
}

fn hash(key: &str) -> HashMap<String, String> {
    inspect(&redis_url()).hgetall(key).expect("hgetall")
}

fn pttl(key: &str) -> i64 {
    inspect(&redis_url()).pttl(key).expect("pttl")
}

#[tokio::test]
async fn one_round_trip_to_load_one_to_save_none_without_changes() {
    let cleaning = common::shared_driver("round-trips").await;
    let driver = cleaning.driver.clone();
    let mut b = Browser::new(manager(cleaning));

    b.request(OK, |s| s.get("x")).await.expect("request");
    assert_eq!(
        driver.round_trips(),
        0,
        "no cookie: nothing to load or save"
    );

    b.request(SEE_OTHER, |s| {
        s.set("user", json!({"name": "Ada"})).expect("set");
        s.set("theme", "dark").expect("set");
        s.flash("success", "hi").expect("flash");
    })
    .await
    .expect("request");
    assert_eq!(driver.round_trips(), 1, "a new session: one save");

    let before = driver.round_trips();
    b.request(SEE_OTHER, |s| s.get("user"))
        .await
        .expect("request");
    assert_eq!(
        driver.round_trips() - before,
        1,
        "read only: one load, no save"
    );

    let before = driver.round_trips();
    b.request(OK, |s| {
        s.set("theme", "light").expect("set");
        s.delete("user").expect("open");
    })
    .await
    .expect("request");
    assert_eq!(
        driver.round_trips() - before,
        2,
        "load + one save (writes, deletes and the flash clearing)"
    );

    let before = driver.round_trips();
    b.request(SEE_OTHER, |s| s.regenerate().expect("open"))
        .await
        .expect("request");
    assert_eq!(
        driver.round_trips() - before,
        3,
        "load + a regenerate's two steps (end the old id, store under the new one)"
    );
    assert_eq!(b.view().await.expect("view"), json!({"theme": "light"}));
}

#[tokio::test]
async fn stored_as_one_hash_of_json_fields_with_the_lifetime_as_ttl() {
    let cleaning = common::shared_driver("layout").await;
    let driver = cleaning.driver.clone();
    let mut b = Browser::new(manager(cleaning));
    b.request(SEE_OTHER, |s| {
        s.set("user", json!({"name": "Ada", "roles": ["admin"]}))
            .expect("set");
        s.set("", 0).expect("set");
        s.flash("success", "<b>saved</b>").expect("flash");
    })
    .await
    .expect("request");
    let key = driver.session_key(&id_of(&b));
    let id = id_of(&b).to_string();
    assert_eq!(
        key,
        format!("{}{{{}}}{}", driver.key_prefix(), &id[..4], &id[4..])
    );
    assert_eq!(
        hash(&key),
        HashMap::from([
            (
                "s:user".to_owned(),
                r#"{"name":"Ada","roles":["admin"]}"#.to_owned()
            ),
            ("s:".to_owned(), "0".to_owned()),
            ("f:success".to_owned(), r#""<b>saved</b>""#.to_owned()),
        ])
    );
    let ttl = pttl(&key);
    assert!(
        (599_000..=600_000).contains(&ttl),
        "TTL = lifetime (600 s): {ttl} ms"
    );
    assert_eq!(keys_under(&redis_url(), driver.key_prefix()), [key]);
}

#[tokio::test]
async fn sliding_expiry_refreshes_the_ttl_on_load() {
    for sliding in [true, false] {
        let driver = connect(
            shared_builder("sliding")
                .lifetime(Duration::from_secs(100))
                .sliding_expiry(sliding),
        )
        .await;
        let cleaning = Cleaning::new(driver.clone(), redis_url());
        let mut b = Browser::new(manager(cleaning));
        b.request(OK, |s| s.set("a", 1).expect("set"))
            .await
            .expect("request");
        let key = driver.session_key(&id_of(&b));
        let _: () = inspect(&redis_url()).pexpire(&key, 5_000).expect("pexpire");
        b.request(OK, |s| s.get("a"))
            .await
            .expect("read-only request");
        let ttl = pttl(&key);
        if sliding {
            assert!(ttl > 99_000, "a read refreshed the TTL: {ttl} ms");
        } else {
            assert!(ttl <= 5_000, "a read left the TTL alone: {ttl} ms");
        }
        b.request(OK, |s| s.set("a", 2).expect("set"))
            .await
            .expect("request");
        assert!(pttl(&key) > 99_000, "a save refreshes the TTL");
    }
}

#[tokio::test]
async fn regenerate_moves_the_hash_and_kills_the_old_id() {
    let cleaning = common::shared_driver("regenerate").await;
    let driver = cleaning.driver.clone();
    let mut b = Browser::new(manager(cleaning));
    b.request(SEE_OTHER, |s| {
        s.set("user", "ada").expect("set");
        s.flash("note", 1).expect("flash");
    })
    .await
    .expect("request");
    let old = id_of(&b);
    let stale = b.clone();
    b.request(SEE_OTHER, |s| {
        s.regenerate().expect("open");
        s.set("role", "admin").expect("set");
    })
    .await
    .expect("request");
    let new = id_of(&b);
    assert_ne!(new, old);
    let (old_key, new_key) = (driver.session_key(&old), driver.session_key(&new));
    let ended = format!("{old_key}:ended");
    assert!(hash(&old_key).is_empty(), "the old hash is gone");
    assert_eq!(
        keys_under(&redis_url(), &old_key),
        std::slice::from_ref(&ended),
        "only the old id's ended marker is left"
    );
    assert!(
        (1..=600_000).contains(&pttl(&ended)),
        "the marker lives ten minutes at most"
    );
    assert_eq!(
        hash(&new_key).len(),
        3,
        "data moved with the change applied"
    );
    assert!(pttl(&new_key) > 590_000, "the new key has the TTL");
    let mut stale = stale;
    assert_eq!(stale.view().await.expect("view"), json!({}), "old id dead");
    stale
        .request(OK, |s| s.set("planted", true).expect("set"))
        .await
        .expect("a load of a dead id is a new session");
    assert!(
        hash(&old_key).is_empty(),
        "a write with the old id does not bring it back"
    );
    assert_ne!(id_of(&stale), old);
    assert_ne!(id_of(&stale), new);
    assert_eq!(
        b.view().await.expect("view"),
        json!({"user": "ada", "role": "admin", "note": 1}),
        "nor reaches the regenerated session"
    );
}

/// A request that loaded the session before a regenerate and saves after
/// it finds the old id's marker: it writes nothing, anywhere, and is refused.
#[tokio::test]
async fn a_save_on_an_ended_id_writes_nothing_and_is_refused() {
    let cleaning = common::shared_driver("ended-save").await;
    let driver = cleaning.driver.clone();
    let manager = manager(cleaning);
    let mut b = Browser::new(manager.clone());
    b.request(OK, |s| s.set("cart", 1).expect("set"))
        .await
        .expect("request");
    let old = id_of(&b);
    let racing = manager.request(RequestContext::from_cookie_header(&b.cookie_header()));
    racing
        .session()
        .await
        .expect("load")
        .set("role", "admin")
        .expect("set");
    b.request(SEE_OTHER, |s| s.regenerate().expect("open"))
        .await
        .expect("login");
    let err = racing.finish(OK).await.expect_err("refused");
    assert!(
        matches!(err, SessionError::StaleSession { driver: "redis" }),
        "{err:?}"
    );
    assert!(!err.is_unavailable());
    assert_eq!(
        keys_under(&redis_url(), &driver.session_key(&old)),
        [format!("{}:ended", driver.session_key(&old))],
        "nothing written under the old id"
    );
    assert_eq!(b.view().await.expect("view"), json!({"cart": 1}));
}

#[tokio::test]
async fn a_session_that_vanishes_mid_request_is_saved_under_a_new_id() {
    let cleaning = common::shared_driver("vanished").await;
    let driver = cleaning.driver.clone();
    let manager = manager(cleaning);
    let mut b = Browser::new(manager.clone());
    b.request(OK, |s| s.set("user", "ada").expect("set"))
        .await
        .expect("request");
    let old = id_of(&b);

    let sessions = manager.request(RequestContext::from_cookie_header(&b.cookie_header()));
    let session = sessions.session().await.expect("load");
    // It expires (or another request invalidates it) while this one runs.
    let _: () = inspect(&redis_url())
        .del(driver.session_key(&old))
        .expect("del");
    session.set("theme", "dark").expect("set");
    let cookies = sessions.finish(OK).await.expect("save");
    assert_eq!(cookies.len(), 1);
    let new = SessionId::parse(cookies[0].value()).expect("a new id");
    assert_ne!(new, old);
    assert!(
        hash(&driver.session_key(&old)).is_empty(),
        "the old id is not brought back"
    );
    assert_eq!(
        hash(&driver.session_key(&new)),
        HashMap::from([
            ("s:user".to_owned(), r#""ada""#.to_owned()),
            ("s:theme".to_owned(), r#""dark""#.to_owned()),
        ]),
        "this request's whole view is kept"
    );
}

#[tokio::test]
async fn reset_clears_atomically_and_later_writes_stay() {
    let cleaning = common::shared_driver("reset").await;
    let manager = manager(cleaning);
    let mut b = Browser::new(manager.clone());
    b.request(SEE_OTHER, |s| {
        s.set("a", 1).expect("set");
        s.flash("f", 1).expect("flash");
    })
    .await
    .expect("request");
    let header = b.cookie_header();
    let resetting = manager.request(RequestContext::from_cookie_header(&header));
    let other = manager.request(RequestContext::from_cookie_header(&header));
    let later = manager.request(RequestContext::from_cookie_header(&header));
    for sessions in [&resetting, &other, &later] {
        sessions.session().await.expect("load");
    }
    other
        .session()
        .await
        .expect("loaded")
        .set("b", 2)
        .expect("set");
    other.finish(SEE_OTHER).await.expect("save");
    let session = resetting.session().await.expect("loaded");
    session.reset().expect("open");
    session.set("after", true).expect("set");
    resetting.finish(SEE_OTHER).await.expect("save");
    later
        .session()
        .await
        .expect("loaded")
        .set("c", 3)
        .expect("set");
    later.finish(SEE_OTHER).await.expect("save");
    assert_eq!(
        b.view().await.expect("view"),
        json!({"after": true, "c": 3}),
        "the reset removed what was saved before it, not what came after"
    );
}

#[tokio::test]
async fn emptied_session_deletes_its_key_and_cookie() {
    let cleaning = common::shared_driver("emptied").await;
    let driver = cleaning.driver.clone();
    let mut b = Browser::new(manager(cleaning));
    b.request(OK, |s| s.set("a", 1).expect("set"))
        .await
        .expect("request");
    let key = driver.session_key(&id_of(&b));
    b.request(OK, |s| s.delete("a").expect("open"))
        .await
        .expect("request");
    assert!(b.cookies().is_empty(), "the id cookie is removed");
    assert!(hash(&key).is_empty(), "the hash is gone");
    assert_eq!(
        keys_under(&redis_url(), driver.key_prefix()),
        [format!("{key}:ended")],
        "only the marker that says the session ended is left"
    );
}

#[tokio::test]
async fn values_over_the_limit_are_refused_where_they_are_written() {
    let small = connect(shared_builder("limit").max_value_bytes(100)).await;
    let manager = manager(Cleaning::new(small, redis_url()));
    let sessions = manager.request(RequestContext::new());
    let session = sessions.session().await.expect("load");
    session
        .set("ok", "x".repeat(90))
        .expect("fits: 2 + 2 + 92 bytes");
    let err = session
        .flash("big", "x".repeat(100))
        .expect_err("too large");
    match &err {
        SessionError::ValueTooLarge {
            key,
            size,
            limit,
            driver,
        } => {
            assert_eq!(
                (key.as_str(), *size, *limit, *driver),
                ("big", 3 + 2 + 102, 100, "redis")
            );
        }
        other => panic!("expected ValueTooLarge, got {other:?}"),
    }
    assert!(!session.has("big"));

    let default = common::shared_driver("limit-default").await;
    let manager = common::manager(default);
    let sessions = manager.request(RequestContext::new());
    let session = sessions.session().await.expect("load");
    session
        .set("a", "x".repeat(1024 * 1024 - 10))
        .expect("just under 1 MiB");
    assert!(matches!(
        session.set("b", "x".repeat(1024 * 1024)),
        Err(SessionError::ValueTooLarge { .. })
    ));
    sessions.finish(OK).await.expect("save");
}

#[tokio::test]
async fn id_cookie_has_the_configured_attributes() {
    let config = SessionConfig::default()
        .with_cookie_secure(false)
        .with_same_site(SameSite::Strict)
        .with_cookie_path("/app");
    let driver = connect(
        shared_builder("cookie")
            .cookie_name("sid")
            .cookie_settings(CookieSettings::from_config(&config)),
    )
    .await;
    let manager = manager(Cleaning::new(driver, redis_url()));
    let sessions = manager.request(RequestContext::new());
    sessions
        .session()
        .await
        .expect("load")
        .set("a", 1)
        .expect("set");
    let cookies = sessions.finish(OK).await.expect("save");
    let cookie = &cookies[0];
    assert_eq!(cookie.name(), "sid");
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(cookie.same_site(), Some(SameSite::Strict));
    assert_eq!(cookie.path(), Some("/app"));
    assert_eq!(cookie.secure(), Some(false));
    assert_eq!(cookie.max_age(), None, "a browser-session cookie");
}

/// `from_env` is `from_config`'s settings at the Redis `REDIS_URL` names
/// (the one these tests share).
#[tokio::test]
async fn from_env_connects_with_its_own_cookie_name() {
    let config = SessionConfig::default()
        .with_driver("redis")
        .with_lifetime(Duration::from_secs(90));
    let driver = RedisDriver::from_env(&config)
        .await
        .unwrap_or_else(|err| panic!("{err}\nstart one with: {}", common::START_REDIS));
    assert_eq!(driver.cookie_name(), "redis_session_id");
    assert_eq!(driver.lifetime(), Duration::from_secs(90));
    assert!(!driver.is_cluster());
    let manager = SessionManager::builder_from_config(&config)
        .expect("builder")
        .driver("redis", driver)
        .build()
        .expect("manager");
    assert_eq!(manager.default_driver(), "redis");
    assert!(manager.get_driver("redis").is_some());
}

#[tokio::test]
async fn forged_unknown_and_foreign_data_load_safely() {
    let cleaning = common::shared_driver("forged").await;
    let driver = cleaning.driver.clone();
    let mut b = Browser::new(manager(cleaning));
    b.set_cookie(DEFAULT_COOKIE_NAME, "not-an-id");
    assert_eq!(b.view().await.expect("view"), json!({}));
    assert_eq!(driver.round_trips(), 0, "a malformed id is never looked up");
    b.set_cookie(DEFAULT_COOKIE_NAME, &SessionId::generate().to_string());
    assert_eq!(b.view().await.expect("view"), json!({}), "unknown id");

    b.request(OK, |s| s.set("a", 1).expect("set"))
        .await
        .expect("request");
    let key = driver.session_key(&id_of(&b));
    let mut con = inspect(&redis_url());
    let _: () = con
        .hset_multiple(&key, &[("x:other", "1"), ("s:broken", "{not json")])
        .expect("hset");
    assert_eq!(
        b.view().await.expect("view"),
        json!({"a": 1}),
        "fields the driver did not write are skipped"
    );
}

#[tokio::test]
async fn each_test_cleans_up_its_prefix() {
    let cleaning = common::shared_driver("cleanup").await;
    let prefix = cleaning.driver.key_prefix().to_owned();
    let manager = manager(cleaning);
    let mut b = Browser::new(manager.clone());
    b.request(OK, |s| s.set("a", 1).expect("set"))
        .await
        .expect("request");
    assert_eq!(keys_under(&redis_url(), &prefix).len(), 1);
    drop((b, manager));
    assert!(
        keys_under(&redis_url(), &prefix).is_empty(),
        "the driver's keys are deleted with it"
    );
}

/// A regenerated id is 192 fresh random bits: it shares nothing with the
/// old one, not even the first bytes that pick its cluster slot (an
/// attacker who knew the pre-login id learns nothing about the new one).
#[tokio::test]
async fn a_regenerated_id_shares_no_bits_with_the_old_one() {
    let cleaning = common::shared_driver("regenerate-fresh").await;
    let mut b = Browser::new(manager(cleaning));
    b.request(SEE_OTHER, |s| s.set("user", "ada").expect("set"))
        .await
        .expect("request");
    let mut shared_prefix = 0;
    for _ in 0..16 {
        let old = id_of(&b);
        b.request(SEE_OTHER, |s| s.regenerate().expect("open"))
            .await
            .expect("regenerate");
        let new = id_of(&b);
        if new.as_bytes()[..3] == old.as_bytes()[..3] {
            shared_prefix += 1;
        }
    }
    // Independent ids share their first three bytes once in 2^24.
    assert!(
        shared_prefix <= 1,
        "{shared_prefix} of 16 regenerated ids kept the old id's first 24 bits"
    );
    assert_eq!(b.view().await.expect("view"), json!({"user": "ada"}));
}

/// What an ended id leaves in Redis lives ten minutes at most, however
/// often a client sends the old id: a load does not extend it to the
/// session lifetime (sliding expiry refreshes sessions, not markers).
#[tokio::test]
async fn loading_an_ended_id_leaves_its_marker_short_lived() {
    let driver = connect(shared_builder("ended-ttl").lifetime(Duration::from_secs(7200))).await;
    let prefix = driver.key_prefix().to_owned();
    let mut b = Browser::new(manager(Cleaning::new(driver, redis_url())));
    b.request(SEE_OTHER, |s| s.set("user", "ada").expect("set"))
        .await
        .expect("request");
    let old = id_of(&b).to_string();
    let mut stale = b.clone();
    b.request(SEE_OTHER, |s| s.regenerate().expect("open"))
        .await
        .expect("regenerate");
    for _ in 0..3 {
        assert_eq!(stale.view().await.expect("view"), json!({}), "old id dead");
    }
    let tail = &old[4..];
    let left: Vec<String> = keys_under(&redis_url(), &prefix)
        .into_iter()
        .filter(|key| key.contains(tail))
        .collect();
    assert!(!left.is_empty(), "the ended id is remembered");
    for key in left {
        let ttl = pttl(&key);
        assert!(
            (1..=600_000).contains(&ttl),
            "{key} lives {ttl} ms after loads of the ended id"
        );
    }
}
