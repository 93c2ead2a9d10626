//! What the PostgreSQL driver does beyond the conformance suite, checked
//! against the real PostgreSQL at `DATABASE_URL`: round trips, the stored
//! rows, lazy sliding expiry, expiry and the sweep, tombstones, value
//! limits, forged ids.

mod common;

use std::time::{Duration, Instant};

use session_core::http::StatusCode;
use session_core::serde_json::json;
use session_core::testing::Browser;
use session_core::{
    SessionConfig, SessionError,
    driver::{SessionDriver, SessionId},
    integration::RequestContext,
};
use session_postgres::{DEFAULT_COOKIE_NAME, PostgresDriver, PostgresDriverBuilder, URL_VAR};

use common::{Cleaning, connect, database_url, manager, psql, shared_builder};

const OK: StatusCode = StatusCode::OK;
const SEE_OTHER: StatusCode = StatusCode::SEE_OTHER;

fn id_of(b: &Browser) -> String {
    b.cookies()
        .get(DEFAULT_COOKIE_NAME)
        .expect("an id cookie")
        .clone()
}

/// `sql` about the driver's table (`{t}` in `sql`).
fn ask(driver: &PostgresDriver, sql: &str) -> String {
    psql(&database_url(), &sql.replace("{t}", &driver.table_name()))
}

async fn cleaning(builder: PostgresDriverBuilder) -> (Cleaning, PostgresDriver) {
    let driver = connect(builder).await;
    (Cleaning::new(driver.clone(), database_url()), driver)
}

#[tokio::test]
async fn one_round_trip_to_load_one_to_save_none_without_changes() {
    // One connection, so each statement is prepared once, at its first use.
    let (cleaning, driver) = cleaning(shared_builder("round_trips").pool_size(1)).await;
    let mut b = Browser::new(manager(cleaning));
    b.request(OK, |s| s.get("x")).await.expect("request");
    assert_eq!(
        driver.round_trips(),
        0,
        "no cookie: nothing to load or save"
    );

    // Warm up: every statement prepared once.
    b.request(SEE_OTHER, |s| s.set("a", 1).expect("set"))
        .await
        .expect("request");
    b.request(SEE_OTHER, |s| s.set("a", 2).expect("set"))
        .await
        .expect("request");
    b.request(SEE_OTHER, |s| s.regenerate().expect("open"))
        .await
        .expect("request");

    let count = |before: u64| driver.round_trips() - before;
    let before = driver.round_trips();
    b.request(OK, |s| s.get("a")).await.expect("request");
    assert_eq!(count(before), 1, "a read: one load, no save");

    let before = driver.round_trips();
    b.request(SEE_OTHER, |s| {
        s.set("user", json!({"name": "Ada"})).expect("set");
        s.delete("a").expect("open");
        s.flash("success", "hi").expect("flash");
    })
    .await
    .expect("request");
    assert_eq!(count(before), 2, "load 1 + save 1");

    let before = driver.round_trips();
    b.request(OK, |s| s.get("success")).await.expect("request");
    assert_eq!(count(before), 2, "load 1 + the flash clearing 1");

    let before = driver.round_trips();
    b.request(SEE_OTHER, |s| {
        s.regenerate().expect("open");
        s.set("n", 1).expect("set");
    })
    .await
    .expect("request");
    assert_eq!(count(before), 2, "load 1 + regenerate 1");

    let before = driver.round_trips();
    Browser::new(b.manager().clone())
        .request(SEE_OTHER, |s| s.set("fresh", true).expect("set"))
        .await
        .expect("request");
    assert_eq!(count(before), 1, "a new session: one insert");
}

#[tokio::test]
async fn stored_as_one_row_of_jsonb_with_the_lifetime_as_expiry() {
    let (cleaning, driver) = cleaning(shared_builder("layout")).await;
    let mut b = Browser::new(manager(cleaning));
    b.request(SEE_OTHER, |s| {
        s.set("user", json!({"name": "Ada", "roles": ["admin"]}))
            .expect("set");
        s.flash("success", "Saved!").expect("flash");
    })
    .await
    .expect("request");
    let id = id_of(&b);
    assert_eq!(id.len(), 32);
    let row = ask(
        &driver,
        &format!(
            "SELECT session->'user'->>'name', flash->>'success', ended, \
             (expires_at - now() BETWEEN interval '590 seconds' AND interval '600 seconds') FROM {{t}} WHERE id = '{id}'"
        ),
    );
    assert_eq!(row, "Ada|Saved!|f|t", "expires a lifetime (600 s) from now");
    assert_eq!(ask(&driver, "SELECT count(*) FROM {t}"), "1");
}

#[tokio::test]
async fn sliding_expiry_refreshes_lazily_past_a_tenth_of_the_lifetime() {
    let (cleaning, driver) = cleaning(shared_builder("sliding")).await;
    let mut b = Browser::new(manager(cleaning));
    b.request(OK, |s| s.set("a", 1).expect("set"))
        .await
        .expect("request");
    let xmin = || ask(&driver, "SELECT xmin FROM {t}");
    let written = xmin();
    for _ in 0..5 {
        assert_eq!(b.view().await.expect("view"), json!({"a": 1}));
    }
    assert_eq!(xmin(), written, "fresh: reads write nothing");

    // As if 61 of the 600 seconds had passed since the last write.
    ask(
        &driver,
        "UPDATE {t} SET expires_at = now() + interval '539 seconds'",
    );
    let aged = xmin();
    assert_eq!(b.view().await.expect("view"), json!({"a": 1}));
    assert_ne!(
        xmin(),
        aged,
        "past a tenth of the lifetime, a load refreshes"
    );
    assert_eq!(
        ask(
            &driver,
            "SELECT (expires_at - now() BETWEEN interval '590 seconds' AND interval '600 seconds') FROM {t}"
        ),
        "t",
        "pushed back to a full lifetime (600 s)"
    );
    let refreshed = xmin();
    assert_eq!(b.view().await.expect("view"), json!({"a": 1}));
    assert_eq!(xmin(), refreshed, "and then not again");
}

#[tokio::test]
async fn saves_push_the_expiry_back_lazily_too() {
    let (cleaning, driver) = cleaning(shared_builder("save_expiry").sliding_expiry(false)).await;
    let mut b = Browser::new(manager(cleaning));
    b.request(OK, |s| s.set("a", 1).expect("set"))
        .await
        .expect("request");
    let expires = || ask(&driver, "SELECT expires_at FROM {t}");
    let first = expires();
    b.request(OK, |s| s.set("a", 2).expect("set"))
        .await
        .expect("request");
    assert_eq!(expires(), first, "fresh: the save leaves the expiry alone");
    ask(
        &driver,
        "UPDATE {t} SET expires_at = now() + interval '539 seconds'",
    );
    b.request(OK, |s| s.set("a", 3).expect("set"))
        .await
        .expect("request");
    assert_eq!(
        ask(
            &driver,
            "SELECT (expires_at - now() BETWEEN interval '590 seconds' AND interval '600 seconds') \
             FROM {t}"
        ),
        "t",
        "past a tenth of the lifetime, the save pushes it back"
    );
    assert_eq!(b.view().await.expect("view"), json!({"a": 3}));
}

#[tokio::test]
async fn without_sliding_expiry_loads_never_write() {
    let (cleaning, driver) = cleaning(shared_builder("fixed").sliding_expiry(false)).await;
    let mut b = Browser::new(manager(cleaning));
    b.request(OK, |s| s.set("a", 1).expect("set"))
        .await
        .expect("request");
    ask(
        &driver,
        "UPDATE {t} SET expires_at = now() + interval '5 seconds'",
    );
    let before = ask(&driver, "SELECT xmin FROM {t}");
    assert_eq!(b.view().await.expect("view"), json!({"a": 1}));
    assert_eq!(ask(&driver, "SELECT xmin FROM {t}"), before);
}

#[tokio::test]
async fn expired_rows_are_never_loaded_and_are_swept_in_batches() {
    let (cleaning, driver) = cleaning(shared_builder("expiry").sweep_batch(100)).await;
    let mut b = Browser::new(manager(cleaning));
    b.request(OK, |s| s.set("a", 1).expect("set"))
        .await
        .expect("request");
    let mut live = Browser::new(b.manager().clone());
    live.request(OK, |s| s.set("b", 2).expect("set"))
        .await
        .expect("request");
    let id = id_of(&b);
    ask(
        &driver,
        &format!("UPDATE {{t}} SET expires_at = now() - interval '1 second' WHERE id = '{id}'"),
    );
    assert_eq!(
        b.view().await.expect("view"),
        json!({}),
        "expired: not loaded"
    );
    // 250 more expired rows: three batches of at most 100.
    ask(
        &driver,
        "INSERT INTO {t} (id, expires_at) \
         SELECT 'expired-' || n, now() - interval '1 minute' FROM generate_series(1, 250) AS n",
    );
    assert_eq!(driver.delete_expired().await.expect("sweep"), 251);
    assert_eq!(
        ask(&driver, "SELECT count(*) FROM {t}"),
        "1",
        "the live one stays"
    );
    assert_eq!(live.view().await.expect("view"), json!({"b": 2}));
    assert_eq!(driver.delete_expired().await.expect("sweep"), 0);
}

#[tokio::test]
async fn the_background_sweep_deletes_expired_rows() {
    let (cleaning, driver) =
        cleaning(shared_builder("sweeper").sweep_interval(Some(Duration::from_millis(100)))).await;
    ask(
        &driver,
        "INSERT INTO {t} (id, expires_at) \
         SELECT 'expired-' || n, now() - interval '1 minute' FROM generate_series(1, 10) AS n",
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while ask(&driver, "SELECT count(*) FROM {t}") != "0" {
        assert!(Instant::now() < deadline, "the sweep did not run");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(cleaning);
}

#[tokio::test]
async fn regenerate_moves_the_row_and_leaves_a_short_tombstone() {
    let (cleaning, driver) = cleaning(shared_builder("regenerate")).await;
    let mut b = Browser::new(manager(cleaning));
    b.request(OK, |s| s.set("cart", 3).expect("set"))
        .await
        .expect("request");
    let old = id_of(&b);
    b.request(SEE_OTHER, |s| {
        s.regenerate().expect("open");
        s.set("user", "ada").expect("set");
    })
    .await
    .expect("login");
    let new = id_of(&b);
    assert_ne!(old, new);
    assert_eq!(
        ask(
            &driver,
            &format!(
                "SELECT ended, session::text, (expires_at - now() BETWEEN interval '590 seconds' AND interval '600 seconds') \
                 FROM {{t}} WHERE id = '{old}'"
            )
        ),
        "t|{}|t",
        "the old id is a tombstone for min(lifetime, 10 minutes)"
    );
    assert_eq!(
        ask(
            &driver,
            &format!("SELECT ended, session::text FROM {{t}} WHERE id = '{new}'")
        ),
        r#"f|{"cart": 3, "user": "ada"}"#
    );
}

#[tokio::test]
async fn an_emptied_session_becomes_a_tombstone_and_loses_its_cookie() {
    let (cleaning, driver) = cleaning(shared_builder("emptied")).await;
    let manager = manager(cleaning);
    let mut b = Browser::new(manager.clone());
    b.request(OK, |s| s.set("a", 1).expect("set"))
        .await
        .expect("request");
    let id = id_of(&b);
    let sessions = manager.request(RequestContext::from_cookie_header(&b.cookie_header()));
    sessions
        .session()
        .await
        .expect("load")
        .delete("a")
        .expect("open");
    let cookies = sessions.finish(OK).await.expect("save");
    assert_eq!(cookies.len(), 1);
    assert_eq!(
        cookies[0].max_age(),
        Some(session_core::cookie::time::Duration::ZERO)
    );
    assert_eq!(
        ask(
            &driver,
            &format!("SELECT ended FROM {{t}} WHERE id = '{id}'")
        ),
        "t"
    );
}

#[tokio::test]
async fn a_session_that_expires_mid_request_is_saved_under_a_new_id() {
    let (cleaning, driver) = cleaning(shared_builder("vanish")).await;
    let manager = manager(cleaning);
    let mut b = Browser::new(manager.clone());
    b.request(OK, |s| s.set("a", 1).expect("set"))
        .await
        .expect("request");
    let old = id_of(&b);
    let sessions = manager.request(RequestContext::from_cookie_header(&b.cookie_header()));
    sessions
        .session()
        .await
        .expect("load")
        .set("b", 2)
        .expect("set");
    ask(
        &driver,
        "UPDATE {t} SET expires_at = now() - interval '1 second'",
    );
    let cookies = sessions.finish(OK).await.expect("saved anew");
    b.apply(&cookies);
    assert_ne!(id_of(&b), old);
    assert_eq!(b.view().await.expect("view"), json!({"a": 1, "b": 2}));
}

#[tokio::test]
async fn values_postgres_cannot_store_are_refused_where_they_are_written() {
    let (cleaning, _driver) = cleaning(shared_builder("limits").max_value_bytes(64)).await;
    let mut b = Browser::new(manager(cleaning));
    let (nul_value, nul_key, large, escaped) = b
        .request(OK, |s| {
            (
                s.set("a", "x\u{0}y"),
                s.set("k\u{0}", 1),
                s.set("big", "x".repeat(100)),
                s.set("fine", "\\u0000 is only text here"),
            )
        })
        .await
        .expect("request");
    for (what, result) in [("NUL value", nul_value), ("NUL key", nul_key)] {
        match result {
            Err(SessionError::Serialize { source, .. }) => {
                assert!(source.to_string().contains("U+0000"), "{what}: {source}")
            }
            other => panic!("{what}: {other:?}"),
        }
    }
    assert!(
        matches!(large, Err(SessionError::ValueTooLarge { limit: 64, .. })),
        "{large:?}"
    );
    escaped.expect("an escaped backslash is fine");
    assert_eq!(
        b.view().await.expect("view"),
        json!({"fine": "\\u0000 is only text here"})
    );
}

#[tokio::test]
async fn forged_unknown_and_tombstoned_ids_load_as_no_session() {
    let (cleaning, driver) = cleaning(shared_builder("forged")).await;
    ask(
        &driver,
        &format!(
            "INSERT INTO {{t}} (id, session, ended, expires_at) \
             VALUES ('{}', '{{\"a\": 1}}', true, now() + interval '1 minute')",
            SessionId::generate()
        ),
    );
    let tombstone = ask(&driver, "SELECT id FROM {t}");
    for cookie in [
        format!("{DEFAULT_COOKIE_NAME}=not-an-id"),
        format!("{DEFAULT_COOKIE_NAME}={}", SessionId::generate()),
        format!("{DEFAULT_COOKIE_NAME}={tombstone}"),
        format!("{DEFAULT_COOKIE_NAME}=x'; DROP TABLE users; --"),
    ] {
        let loaded = driver
            .load(&RequestContext::from_cookie_header(&cookie))
            .await
            .expect("load");
        assert!(loaded.id.is_none() && loaded.data.is_empty(), "{cookie}");
    }
    drop(cleaning);
}

#[tokio::test]
async fn from_env_connects_with_its_own_cookie_name() {
    let config = SessionConfig::default().with_id_cookie_name("sid");
    let url = database_url();
    let builder =
        PostgresDriverBuilder::from_lookup(&config, |var| (var == URL_VAR).then(|| url.clone()))
            .schema(common::SCHEMA)
            .table(common::unique_table("from_env"))
            .sweep_interval(None);
    let driver = connect(builder).await;
    assert_eq!(driver.cookie_name(), "postgres_sid");
    assert!(format!("{driver:?}").contains("PostgresDriver"));
    drop(Cleaning::new(driver, url));
}
