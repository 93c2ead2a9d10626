//! Attacks on the cookie driver, sent through `SessionLayer` as HTTP requests
//! (`tower::ServiceExt::oneshot`, no sockets): junk cookies that would each
//! get a removal, flash and session cookies replayed after the server let
//! them go, and cookies sealed in an older format.
//!
//! The clients here keep every cookie they are given and ignore `Max-Age`,
//! as a thief replaying a copied cookie would.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use http::{Method, Request, Response, StatusCode, header};
use session_core::cookie::{self, Cookie};
use session_core::{SessionConfig, SessionError, SessionManager};
use session_tower::{Redirect, SessionLayer, sessions};
use tower::{ServiceBuilder, ServiceExt, service_fn};

const SECRET: &str = "first secret, at least thirty-two bytes long";

/// The cookie driver, configured through the environment variables an app
/// would set (`SESSION_SECRET`, lifetimes, ...).
fn manager(vars: &[(&str, &str)]) -> SessionManager {
    let config = SessionConfig::from_lookup(|var| match var {
        "SESSION_DRIVER" => Some("cookie".into()),
        "SESSION_SECRET" => Some(SECRET.into()),
        _ => vars
            .iter()
            .find(|(name, _)| *name == var)
            .map(|(_, value)| (*value).to_owned()),
    })
    .expect("config");
    SessionManager::from_config(&config).expect("manager")
}

/// The demo's routes in miniature.
async fn app(req: Request<String>) -> Result<Response<String>, SessionError> {
    let session = sessions(&req).session().await?;
    match (req.method().clone(), req.uri().path()) {
        (Method::POST, "/flash") => Ok(Redirect::see_other("/")
            .flash("success", "Saved!")
            .into_response()),
        (Method::POST, "/login") => {
            session.set("user", "ada")?;
            session.regenerate()?;
            Ok(Redirect::see_other("/").into_response())
        }
        (Method::POST, "/keys") => {
            for i in 0..40 {
                session.set(&format!("k{i}"), i)?;
            }
            Ok(Response::new("set".into()))
        }
        (Method::POST, "/count") => {
            let count = session.get("count").and_then(|c| c.as_u64()).unwrap_or(0);
            session.set("count", count + 1)?;
            Ok(Response::new(session.all().to_string()))
        }
        (Method::POST, "/logout") => {
            session.invalidate()?;
            Ok(Response::new("bye".into()))
        }
        _ => Ok(Response::new(session.all().to_string())),
    }
}

/// Sends one request with `cookie_header` through the layer.
async fn send(
    manager: &SessionManager,
    method: Method,
    path: &str,
    cookie_header: &str,
) -> Response<String> {
    let service = ServiceBuilder::new()
        .layer(SessionLayer::new(manager.clone()))
        .service(service_fn(app));
    let mut req = Request::builder().method(method).uri(path);
    if !cookie_header.is_empty() {
        req = req.header(header::COOKIE, cookie_header);
    }
    service
        .oneshot(req.body(String::new()).expect("request"))
        .await
        .expect("the layer answers")
}

fn set_cookies(res: &Response<String>) -> Vec<Cookie<'static>> {
    res.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| Cookie::parse(v.to_str().expect("ascii").to_owned()).expect("a cookie"))
        .collect()
}

fn is_removal(cookie: &Cookie<'_>) -> bool {
    cookie.value().is_empty() && cookie.max_age() == Some(cookie::time::Duration::ZERO)
}

/// A cookie jar that keeps what it is given, whatever `Max-Age` says.
#[derive(Default)]
struct Jar(BTreeMap<String, String>);

impl Jar {
    fn header(&self) -> String {
        let pairs: Vec<String> = self.0.iter().map(|(n, v)| format!("{n}={v}")).collect();
        pairs.join("; ")
    }

    fn apply(&mut self, res: &Response<String>) {
        for cookie in set_cookies(res) {
            if is_removal(&cookie) {
                self.0.remove(cookie.name());
            } else {
                self.0
                    .insert(cookie.name().to_owned(), cookie.value().to_owned());
            }
        }
    }
}

fn junk(prefix: &str, count: usize) -> String {
    let pairs: Vec<String> = (0..count).map(|i| format!("{prefix}{i}=")).collect();
    pairs.join("; ")
}

#[tokio::test]
async fn junk_cookies_get_a_bounded_number_of_removals() {
    let manager = manager(&[]);
    let res = send(&manager, Method::GET, "/", &junk("s_", 47_000)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.body(), "{}", "junk is never trusted");
    let set = set_cookies(&res);
    assert!(set.iter().all(is_removal), "only removals");
    assert_eq!(set.len(), 32, "47 000 junk cookies, {} removals", set.len());
    let bytes: usize = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.len())
        .sum();
    assert!(bytes < 4096, "{bytes} bytes of Set-Cookie");
}

/// Clearing the flash (a 200 OK) or the whole session (logout) removes every
/// cookie that opened, however much junk rides along, and no more than the
/// cap of the junk.
#[tokio::test]
async fn clearing_removes_the_real_cookies_and_a_bounded_number_of_junk_ones() {
    let manager = manager(&[]);
    let mut jar = Jar::default();
    jar.apply(&send(&manager, Method::POST, "/keys", "").await);
    jar.apply(&send(&manager, Method::POST, "/flash", &jar.header()).await);
    assert_eq!(jar.0.len(), 41, "40 keys and the flash");

    let header = format!("{}; {}", jar.header(), junk("f_", 47_000));
    let res = send(&manager, Method::GET, "/", &header).await;
    let all: serde_json::Value = serde_json::from_str(res.body()).expect("json");
    assert_eq!(all["success"], "Saved!", "the flash shows once");
    let set = set_cookies(&res);
    assert!(
        set.iter().any(|c| c.name() == "f_success" && is_removal(c)),
        "the shown flash is removed"
    );
    assert!(set.len() <= 33, "{} Set-Cookies", set.len());
    jar.apply(&res);

    let header = format!("{}; {}", jar.header(), junk("s_j", 47_000));
    let res = send(&manager, Method::POST, "/logout", &header).await;
    let set = set_cookies(&res);
    // Logging out also replaces the CSRF secret: one cookie more.
    assert!(set.len() <= 40 + 32 + 1, "{} Set-Cookies", set.len());
    jar.apply(&res);
    jar.0.retain(|name, _| !name.ends_with("csrf"));
    assert!(jar.0.is_empty(), "logout left {:?}", jar.0.keys());
}

/// A flash cookie copied before the page that showed it cleared it still
/// shows within the flash lifetime (the stateless driver's documented
/// limit), and never after.
#[tokio::test]
async fn a_flash_cookie_replayed_after_the_flash_lifetime_shows_nothing() {
    let manager = manager(&[("SESSION_FLASH_LIFETIME", "1"), ("SESSION_LIFETIME", "1h")]);
    let res = send(&manager, Method::POST, "/flash", "").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let flash = set_cookies(&res)
        .into_iter()
        .find(|c| c.name() == "f_success")
        .expect("a flash cookie");
    let copied = format!("f_success={}", flash.value());

    let shown = send(&manager, Method::GET, "/", &copied).await;
    assert_eq!(shown.body(), r#"{"success":"Saved!"}"#);
    assert!(
        set_cookies(&shown).iter().any(is_removal),
        "cleared by the 200"
    );
    let replayed = send(&manager, Method::GET, "/", &copied).await;
    assert_eq!(
        replayed.body(),
        r#"{"success":"Saved!"}"#,
        "within its lifetime"
    );

    std::thread::sleep(Duration::from_millis(2100));
    let replayed = send(&manager, Method::GET, "/", &copied).await;
    assert_eq!(replayed.status(), StatusCode::OK);
    assert_eq!(replayed.body(), "{}", "a flash replayed after its lifetime");
    assert!(
        set_cookies(&replayed)
            .iter()
            .any(|c| c.name() == "f_success" && is_removal(c))
    );
}

/// A thief replaying a copied session keeps it active — reading and writing
/// every half second, taking every refreshed cookie — and still loses it
/// when the absolute lifetime ends. Idle lifetime 4 s (a refresh once less
/// than 2 s is left), absolute lifetime 6 s.
#[tokio::test]
async fn a_session_kept_active_dies_at_the_absolute_lifetime() {
    let manager = manager(&[
        ("SESSION_LIFETIME", "4"),
        ("SESSION_ABSOLUTE_LIFETIME", "6"),
    ]);
    let start = Instant::now();
    let mut jar = Jar::default();
    jar.apply(&send(&manager, Method::POST, "/login", "").await);
    assert!(jar.0.contains_key("s_user"));
    let mut seen = Vec::new();
    while start.elapsed() < Duration::from_secs(7) {
        std::thread::sleep(Duration::from_millis(500));
        let res = send(&manager, Method::POST, "/count", &jar.header()).await;
        let all: serde_json::Value = serde_json::from_str(res.body()).expect("json");
        seen.push((start.elapsed(), all["user"] == "ada", all["count"].clone()));
        jar.apply(&res);
    }
    for (elapsed, logged_in, _) in &seen {
        if *elapsed < Duration::from_secs(5) {
            assert!(logged_in, "refreshed past its idle lifetime: {seen:?}");
        }
        if *elapsed > Duration::from_millis(6300) {
            assert!(!logged_in, "alive after the absolute lifetime: {seen:?}");
        }
    }
    let first_after = seen.iter().find(|(_, logged_in, _)| !logged_in);
    assert!(
        first_after.is_some_and(|(_, _, count)| count == 1),
        "nothing of the old session is left: {seen:?}"
    );
}

/// Cookies sealed in the first format (no session start inside), as the
/// previous release wrote them under this secret with an expiry in 2126:
/// treated as absent and removed, never an error.
#[tokio::test]
async fn cookies_of_the_older_format_are_treated_as_absent_and_removed() {
    const OLD: &str = "f_success=ARPMTRbflduO8yGVqVuVe5h90Zp_HtQ9o-sSCnoUVVzSUftSCe_g8bNLTmlesQ; \
                       s_user=AeO-bteqoPvAKAlkhB4hHVdoMN7Bq_PfUeJayHEs5MPPF2LKygtyEDyLd_4nsZSoXBhk";
    let manager = manager(&[]);
    let res = send(&manager, Method::GET, "/", OLD).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.body(), "{}");
    let removed: Vec<String> = set_cookies(&res)
        .iter()
        .filter(|c| is_removal(c))
        .map(|c| c.name().to_owned())
        .collect();
    assert_eq!(removed, ["f_success", "s_user"]);
}
