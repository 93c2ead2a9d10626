//! The bodies of the fuzz targets, as plain functions over bytes.
//!
//! `cargo fuzz run <target>` calls them through libFuzzer (`fuzz/fuzz_targets/`),
//! and `tests/fuzz_corpus.rs` in the main workspace includes this file to feed
//! every file of `fuzz/corpus/<target>/` through them on stable Rust. A
//! function returns normally or panics; a panic is a finding. Besides "never
//! panics", each checks a property of what it ran (see each function).
//!
//! Only `session-core` and `session-tera` are used, so the file compiles in
//! both places without further dependencies.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use session_core::cookie::{Cookie, SameSite};
use session_core::http::header::COOKIE;
use session_core::http::{HeaderMap, HeaderValue, StatusCode};
use session_core::serde_json::{self, Map, Value, json};
use session_core::{
    CookieDriver, MemoryDriver, Session, SessionConfig, SessionManager,
    driver::{SessionData, StoredValue, ValueMap},
    integration::{RequestContext, RequestSessions},
};

/// The secret the fuzz cookie driver seals with (the seeds are sealed under it).
pub const SECRET: &str = "session-views fuzz secret: used by the fuzz targets only";
/// A previous secret: cookies sealed under it open and are re-sealed.
pub const PREVIOUS_SECRET: &str = "session-views fuzz previous secret, for the rotation path";
/// Long enough that the sealed seeds in the corpus never expire.
const LIFETIME: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);

fn config(secret: &str, lifetime: Duration) -> SessionConfig {
    SessionConfig::default()
        .with_secret(secret)
        .and_then(|c| c.with_previous_secret(PREVIOUS_SECRET))
        .expect("the fuzz secrets are long enough")
        .with_lifetime(lifetime)
        .with_flash_lifetime(lifetime)
        .with_absolute_lifetime(lifetime)
}

/// The cookie driver as the default, the memory driver beside it.
fn cookie_manager() -> &'static SessionManager {
    static MANAGER: OnceLock<SessionManager> = OnceLock::new();
    MANAGER.get_or_init(|| {
        let config = config(SECRET, LIFETIME);
        SessionManager::builder()
            .driver(
                "cookie",
                CookieDriver::from_config(&config).expect("cookie driver"),
            )
            .driver("memory", MemoryDriver::from_config(&config))
            .default_driver("cookie")
            .build()
            .expect("manager")
    })
}

/// The memory driver, with a handle to count what it stores.
fn memory_manager() -> &'static (SessionManager, Arc<MemoryDriver>) {
    static MANAGER: OnceLock<(SessionManager, Arc<MemoryDriver>)> = OnceLock::new();
    MANAGER.get_or_init(|| {
        let driver = Arc::new(MemoryDriver::default());
        let manager = SessionManager::builder()
            .shared_driver("memory", driver.clone())
            .build()
            .expect("manager");
        (manager, driver)
    })
}

/// Runs a future that never waits on I/O (the cookie and memory drivers
/// finish on their first poll), without a runtime.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..1000 {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
    panic!("a cookie or memory driver future did not complete without I/O");
}

/// A browser's cookie jar for one site: `Set-Cookie` applied in order.
#[derive(Clone, Debug, Default)]
struct Jar(BTreeMap<String, String>);

impl Jar {
    fn apply(&mut self, cookies: &[Cookie<'static>]) {
        for cookie in cookies {
            let removal = cookie.max_age().is_some_and(|age| age.is_zero());
            if removal {
                self.0.remove(cookie.name());
            } else {
                self.0
                    .insert(cookie.name().to_owned(), cookie.value().to_owned());
            }
        }
    }

    fn header(&self) -> String {
        let pairs: Vec<String> = self.0.iter().map(|(n, v)| format!("{n}={v}")).collect();
        pairs.join("; ")
    }

    fn request(&self, manager: &SessionManager) -> RequestSessions {
        manager.request(RequestContext::from_cookie_header(&self.header()))
    }
}

/// Session and flash data as the session shows them.
/// Session and flash data parsed: what a reader sees, whatever the stored
/// text's spelling (the session stores values as serde_json writes them).
fn parsed_view(data: &SessionData) -> (Map<String, Value>, Map<String, Value>) {
    (data.session.to_json_map(), data.flash.to_json_map())
}

fn snapshot(session: &Session) -> SessionData {
    session.with_data(SessionData::clone)
}

/// What every driver's `Set-Cookie` carries.
fn check_attributes(cookie: &Cookie<'static>) {
    assert_eq!(cookie.http_only(), Some(true), "{cookie}");
    assert_eq!(cookie.path(), Some("/"), "{cookie}");
    assert_eq!(cookie.same_site(), Some(SameSite::Lax), "{cookie}");
    assert_eq!(cookie.secure(), Some(true), "{cookie}");
    assert!(
        HeaderValue::try_from(cookie.to_string()).is_ok(),
        "not a valid header: {cookie}"
    );
}

/// The reads agree with each other: `all()` is session data overlaid with
/// flash data, and `has`/`get` agree with it.
fn check_reads(session: &Session) {
    let all = session.all();
    let all = all.as_object().expect("all() is an object");
    let data = snapshot(session);
    assert_eq!(*all, data.all());
    for (key, value) in all {
        assert!(session.has(key), "{key:?}");
        assert_eq!(session.get(key).as_ref(), Some(value), "{key:?}");
    }
    for key in data.session.keys().chain(data.flash.keys()) {
        assert!(all.contains_key(key), "{key:?}");
    }
}

/// **Target `cookie`:** the first byte picks a status and an operation, the
/// rest is a `Cookie` header, taken both as (lossy) text and as raw header
/// values (split at `\n` into several `Cookie` headers).
///
/// Checked: parsing keeps the first cookie of each name; the cookie driver
/// loads without error whatever arrives; the reads agree; the memory driver
/// adopts no id the client made up; `finish` succeeds and every `Set-Cookie`
/// carries the secure attributes; and a browser that applies those
/// `Set-Cookie`s and comes back sees exactly the data the response meant to
/// store (for a 5xx, exactly what it had before).
pub fn cookie_header(data: &[u8]) {
    let Some((&control, header)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(header);
    cookie_request(control, RequestContext::from_cookie_header(&text));

    let mut headers = HeaderMap::new();
    for line in header.split(|b| *b == b'\n') {
        if let Ok(value) = HeaderValue::from_bytes(line) {
            headers.append(COOKIE, value);
        }
    }
    cookie_request(control, RequestContext::from_headers(&headers));
}

/// How many keys the cookie driver opens from a `cookie` target input (a
/// corpus that opens none exercises only the rejection path).
pub fn keys_opened(data: &[u8]) -> usize {
    let header = String::from_utf8_lossy(data.get(1..).unwrap_or_default());
    let sessions = cookie_manager().request(RequestContext::from_cookie_header(&header));
    let session = block_on(sessions.session()).expect("the cookie driver always loads");
    snapshot(&session).all().len()
}

fn cookie_request(control: u8, context: RequestContext) {
    let mut jar = Jar::default();
    for (name, value) in context.cookies() {
        assert!(
            !jar.0.contains_key(name),
            "cookie {name:?} listed twice by RequestContext::cookies"
        );
        assert_eq!(context.cookie(name), Some(value), "{name:?}");
        jar.0.insert(name.to_owned(), value.to_owned());
    }

    let manager = cookie_manager();
    let sessions = manager.request(context);
    let session = block_on(sessions.session()).expect("the cookie driver always loads");
    check_reads(&session);
    let loaded = snapshot(&session);

    let memory = block_on(sessions.driver("memory")).expect("the memory driver always loads");
    assert_eq!(memory.id(), None, "the memory driver adopted a client's id");
    assert_eq!(memory.all(), json!({}));

    let status = match control & 3 {
        0 => StatusCode::OK,
        1 => StatusCode::SEE_OTHER,
        2 => StatusCode::NOT_FOUND,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let first_key = loaded.all().keys().next().cloned();
    match (control >> 2) & 7 {
        0 => {}
        1 => session
            .set("fuzz", json!({"control": control}))
            .expect("a small value"),
        2 => session.flash("fuzz", "a flash").expect("a small value"),
        3 => {
            if let Some(key) = &first_key {
                assert!(session.delete(key).expect("open"));
            }
        }
        4 => {
            if let Some(key) = &first_key {
                assert_eq!(
                    session.pull(key).expect("open"),
                    loaded.get(key).map(StoredValue::to_value)
                );
            }
        }
        5 => session.reset().expect("open"),
        6 => session.keep().expect("open"),
        _ => session.regenerate().expect("open"),
    }
    check_reads(&session);

    let set_cookies = block_on(sessions.finish(status)).expect("saving cookies never fails");
    for cookie in &set_cookies {
        check_attributes(cookie);
    }
    let expected = if status.is_server_error() {
        assert!(set_cookies.is_empty(), "a 5xx response set cookies");
        loaded
    } else {
        snapshot(&session)
    };

    jar.apply(&set_cookies);
    let next = jar.request(manager);
    let session = block_on(next.session()).expect("the cookie driver always loads");
    assert_eq!(
        snapshot(&session),
        expected,
        "the browser came back with other data than the response stored"
    );
}

/// **Target `tera_rewrite`:** arbitrary text (lossy UTF-8) through both
/// rewrites, `session_tera::rewrite` (the keyword form, Tera 1 loaders) and
/// `session_tera::rewrite_tera2` (reads of the bound map, Tera 2 loaders).
///
/// Checked for each: no panic; a source without `session` + blanks + `(`
/// comes back unchanged and borrowed; a rewritten source has the same
/// number of lines and rewrites to itself (the output is final); an error's
/// position lies inside the source. The two read strings as their Tera
/// versions do, which differ only on a backslash (an escape in Tera 2, an
/// ordinary character in Tera 1): for a source without one they agree on
/// what is an error, with the same message and position (as
/// `rewrite_tera2`'s docs promise); and to `rewrite` a backslash means
/// nothing, so replacing each by `@` changes its output or error in exactly
/// those places.
///
/// One exception, found by this target: `rewrite_tera2`'s output starts a
/// helper use with `(`, so after a `session().name` that is not a helper
/// call (`{{ session().g session().get(k) }}`) the output holds a new call
/// `session().g (…)`. Tera rejects any `session().name` (it has no method
/// calls), so such a template fails to load either way; the fixed-point
/// check is skipped for `rewrite_tera2` when its output still holds a
/// `session().` (the inputs in `fuzz/regressions/tera_rewrite/`). That is
/// read from `rewrite_tera2`'s own output: with a backslash in a string the
/// two rewrites see different code, and `rewrite` may refuse a source whose
/// Tera 2 reading has the dangling attribute (`"\""session().g …` is two
/// strings to Tera 1, one string and code to Tera 2).
pub fn tera_rewrite(data: &[u8]) {
    let source = String::from_utf8_lossy(data);
    let keyword = session_tera::rewrite(&source);
    let tera2 = session_tera::rewrite_tera2(&source);
    if source.contains('\\') {
        let plain = source.replace('\\', "@");
        assert_eq!(
            keyword
                .as_ref()
                .map(|out| out.replace('\\', "@"))
                .map_err(Clone::clone),
            session_tera::rewrite(&plain).map(Cow::into_owned),
            "a backslash changed what the Tera 1 rewrite did"
        );
    } else {
        assert_eq!(
            keyword.as_ref().err(),
            tera2.as_ref().err(),
            "the two rewrites disagree on an error"
        );
    }
    let dangling = tera2
        .as_ref()
        .is_ok_and(|out| has_dangling_session_call(out));
    check_rewrite(&source, keyword, session_tera::rewrite, true);
    check_rewrite(&source, tera2, session_tera::rewrite_tera2, !dangling);
}

/// `session ( ) .` (blanks allowed): a `session()` followed by an attribute.
fn has_dangling_session_call(text: &str) -> bool {
    text.match_indices("session").any(|(i, word)| {
        let mut rest = text[i + word.len()..].trim_start_matches(|c: char| c.is_ascii_whitespace());
        for expected in ['(', ')', '.'] {
            let Some(after) = rest.strip_prefix(expected) else {
                return false;
            };
            rest = after.trim_start_matches(|c: char| c.is_ascii_whitespace());
        }
        true
    })
}

type Rewrite = for<'a> fn(&'a str) -> Result<Cow<'a, str>, session_tera::RewriteError>;

fn check_rewrite(
    source: &str,
    result: Result<Cow<'_, str>, session_tera::RewriteError>,
    rewrite: Rewrite,
    check_fixed_point: bool,
) {
    if !has_session_call(source) {
        assert!(
            matches!(&result, Ok(Cow::Borrowed(out)) if *out == source),
            "a source without a session( call changed: {result:?}"
        );
    }
    match result {
        Ok(out) => {
            assert_eq!(
                out.matches('\n').count(),
                source.matches('\n').count(),
                "the line count changed: {out:?}"
            );
            if check_fixed_point {
                let again = rewrite(&out).expect("rewritten output rewrites again");
                assert_eq!(again, out, "the rewrite is not idempotent");
            }
        }
        Err(err) => {
            assert!(err.line() >= 1 && err.line() <= source.matches('\n').count() + 1);
            assert!(err.column() >= 1);
            assert!(!err.message().is_empty());
        }
    }
}

/// `session` followed (after blanks) by `(`: the start of a helper call.
fn has_session_call(source: &str) -> bool {
    source.match_indices("session").any(|(i, word)| {
        source[i + word.len()..]
            .trim_start_matches(|c: char| c.is_ascii_whitespace())
            .starts_with('(')
    })
}

/// **Target `session_json`:** arbitrary bytes as the JSON of a
/// [`SessionData`] (the form the memory driver keeps each session in).
///
/// Checked: decoding never panics; what decodes serializes and decodes to
/// the same data; written into a session through the public API, it comes
/// back from the memory driver's stored entry unchanged after a redirect,
/// with the flash gone after a 200 OK; the cookie driver round-trips every
/// key it accepts (those over its size limit are refused at `set`/`flash`).
pub fn session_json(data: &[u8]) {
    let Ok(parsed) = serde_json::from_slice::<SessionData>(data) else {
        return;
    };
    // The fast writer copies each value's text: the same data, text for text.
    let encoded = parsed.to_json_vec();
    let decoded: SessionData =
        serde_json::from_slice(&encoded).expect("session data's own JSON decodes");
    assert_eq!(decoded, parsed, "session JSON does not round-trip");
    // serde_json's writer parses each value and writes it again: the same
    // values, in canonical text.
    let rewritten = serde_json::to_vec(&parsed).expect("session data serializes");
    let reread: SessionData =
        serde_json::from_slice(&rewritten).expect("session data's own JSON decodes");
    assert_eq!(
        parsed_view(&reread),
        parsed_view(&parsed),
        "values changed when rewritten"
    );

    let (memory, driver) = memory_manager();
    round_trip(memory, &parsed);
    assert!(driver.is_empty(), "the memory driver kept an entry");
    round_trip(cookie_manager(), &parsed);
}

/// Writes `data` through the default driver's session, redirects, reads it
/// back, shows the page (200: the flash goes), reads again, then invalidates.
fn round_trip(manager: &SessionManager, data: &SessionData) {
    let mut jar = Jar::default();
    let sessions = jar.request(manager);
    let session = block_on(sessions.session()).expect("load");
    let mut accepted = SessionData::default();
    for (bucket, is_flash) in [(&data.session, false), (&data.flash, true)] {
        for (key, value) in bucket.iter() {
            let written = if is_flash {
                session.flash(key, value)
            } else {
                session.set(key, value)
            };
            match written {
                Ok(()) | Err(session_core::SessionError::ValueTooLarge { .. }) => {}
                Err(err) => panic!("writing {key:?} failed: {err}"),
            }
        }
    }
    accepted.session = only_accepted(&session, &data.session, true);
    accepted.flash = only_accepted(&session, &data.flash, false);
    check_reads(&session);
    jar.apply(&block_on(sessions.finish(StatusCode::SEE_OTHER)).expect("save"));

    let sessions = jar.request(manager);
    let session = block_on(sessions.session()).expect("load");
    assert_eq!(
        parsed_view(&snapshot(&session)),
        parsed_view(&accepted),
        "the stored session changed"
    );
    check_reads(&session);
    jar.apply(&block_on(sessions.finish(StatusCode::OK)).expect("save"));

    let sessions = jar.request(manager);
    let session = block_on(sessions.session()).expect("load");
    accepted.flash = ValueMap::new();
    assert_eq!(
        parsed_view(&snapshot(&session)),
        parsed_view(&accepted),
        "a 200 OK left flash data"
    );
    session.invalidate().expect("open");
    jar.apply(&block_on(sessions.finish(StatusCode::SEE_OTHER)).expect("save"));
    // Ending a session also gives the browser a new CSRF secret.
    jar.0.remove(manager.csrf_cookie_name());
    assert!(
        jar.0.is_empty(),
        "invalidate left cookies: {:?}",
        jar.0.keys()
    );
}

/// The entries of `wanted` the session holds (a value refused for its size is absent).
fn only_accepted(session: &Session, wanted: &ValueMap, session_bucket: bool) -> ValueMap {
    let held = snapshot(session);
    let held = if session_bucket {
        held.session
    } else {
        held.flash
    };
    let accepted: ValueMap = wanted
        .iter()
        .filter(|(key, _)| held.contains_key(key))
        .map(|(k, v)| (k, v.clone()))
        .collect();
    assert_eq!(
        accepted.to_json_map(),
        held.to_json_map(),
        "the session holds something not written"
    );
    accepted
}

/// Seed inputs for the corpus: real sealed cookies (current and previous
/// secret, expired, tampered, moved, truncated) and session JSON documents,
/// as `(target, file name, bytes)`. `fuzz/examples/seed.rs` writes them.
pub fn seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let mut out = Vec::new();
    let current = sealed_header(SECRET, LIFETIME);
    let previous = sealed_header(PREVIOUS_SECRET, LIFETIME);
    let expired = sealed_header(SECRET, Duration::ZERO);
    let mut headers = vec![
        ("sealed", current.clone()),
        ("sealed-previous-secret", previous.clone()),
        ("sealed-expired", expired),
        (
            "mixed",
            format!("{current}; session_id=abc; theme=dark;; junk; ={previous}"),
        ),
        ("duplicates", format!("{current}; {previous}")),
        (
            "plaintext",
            "s_user={\"name\":\"Mallory\"}; f_success=hello; s!=x; f!!!=y".to_owned(),
        ),
        ("session-id", format!("session_id={}", "A".repeat(32))),
        ("multi-header", format!("{current}\n{previous}\nx=\u{ff}")),
    ];
    let pairs: Vec<(String, String)> = current
        .split("; ")
        .filter_map(|p| p.split_once('=').map(|(n, v)| (n.to_owned(), v.to_owned())))
        .collect();
    for (i, (name, value)) in pairs.iter().enumerate() {
        let mut flipped = value.clone().into_bytes();
        let at = flipped.len() / 2;
        flipped[at] = if flipped[at] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(flipped).expect("base64 is ASCII");
        headers.push(("flipped", format!("{name}={flipped}")));
        headers.push(("truncated", format!("{name}={}", &value[..value.len() / 2])));
        let other = &pairs[(i + 1) % pairs.len()].0;
        headers.push(("moved", format!("{other}={value}")));
        headers.push(("quoted", format!("{name}=\"{value}\"")));
    }
    for (i, (kind, header)) in headers.iter().enumerate() {
        for control in [0u8, 1, 2, 3, 4, 9, 14, 19, 20, 25, 30] {
            let mut bytes = vec![control];
            bytes.extend_from_slice(header.as_bytes());
            out.push(("cookie", format!("seed-{i:02}-{kind}-{control:02}"), bytes));
        }
    }

    let documents = [
        json!({}),
        json!({"session": {"user": {"name": "Ada"}, "visits": 3}, "flash": {"success": "Welcome back, Ada!"}}),
        json!({"session": {"": 0, "a b;=é": [1, 2.5, -0.0, 1e300, null, true], "n": 18446744073709551615u64, "i": -9223372036854775808i64}}),
        json!({"flash": {"success": "<script>alert(1)</script>", "big": "x".repeat(5000)}}),
        json!({"session": {"nested": {"a": {"b": {"c": [[[]]]}}}}, "flash": {"nested": {}}}),
    ];
    for (i, document) in documents.iter().enumerate() {
        out.push((
            "session_json",
            format!("seed-{i:02}"),
            serde_json::to_vec(document).expect("json"),
        ));
    }
    out.push((
        "session_json",
        "seed-numbers".to_owned(),
        br#"{"session":{"f":0.1,"g":1.7976931348623157e308,"h":5e-324,"i":123456789012345678901234567890}}"#
            .to_vec(),
    ));
    out
}

/// A `Cookie` header holding session and flash cookies sealed under `secret`.
fn sealed_header(secret: &str, lifetime: Duration) -> String {
    let config = config(secret, lifetime);
    let manager = SessionManager::builder()
        .driver(
            "cookie",
            CookieDriver::from_config(&config).expect("cookie driver"),
        )
        .default_driver("cookie")
        .build()
        .expect("manager");
    let sessions = manager.request(RequestContext::new());
    let session = block_on(sessions.session()).expect("load");
    session.set("user", json!({"name": "Ada"})).expect("set");
    session.set("visits", 3).expect("set");
    session.set("a b;é", "odd key").expect("set");
    session
        .flash("success", "Welcome back, Ada!")
        .expect("flash");
    let mut jar = Jar::default();
    jar.apply(&block_on(sessions.finish(StatusCode::SEE_OTHER)).expect("save"));
    jar.header()
}
