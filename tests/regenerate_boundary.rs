//! `regenerate()` and `invalidate()` are a security boundary, through the
//! HTTP layer: a request that loaded a session before the id changed and
//! saves after it writes nothing into the session on the other side.
//!
//! The attack: someone who knows (or planted) the pre-login id starts a slow
//! request on it that writes `role=admin`, and the victim logs in with that
//! id meanwhile. The slow request's save is refused (409 Conflict, no
//! `Set-Cookie`), and the victim's logged-in session holds none of its
//! writes. The same holds for a request racing a logout. Each test runs
//! `SessionLayer` with `tower::ServiceExt::oneshot`; the slow request is
//! held inside its handler, after it has loaded and written, until the
//! other request has finished.
//!
//! The cookie driver is stateless: it cannot know that another request
//! regenerated, so its stale save is not refused. Its writes reach only the
//! browser that receives the response, which the last test shows.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use http::{Method, Request, Response, StatusCode, header};
use serde_json::{Value, json};
use session_core::{MemoryDriver, SessionConfig, SessionManager, driver::SessionId};
use session_views::{SessionLayer, sessions};
use tokio::sync::Notify;
use tower::{ServiceBuilder, ServiceExt, service_fn};

/// The slow request's two signals: it has loaded and written; it may finish.
#[derive(Default)]
struct Gate {
    loaded: Notify,
    release: Notify,
}

type App = tower::util::BoxCloneSyncService<Request<String>, Response<String>, Infallible>;

/// `POST /visit` writes `cart=1` (an anonymous session); `POST /login`
/// regenerates and writes `user=ada`; `POST /logout` invalidates;
/// `POST /slow?k=..&v=..` writes `k=v`, then waits at the gate; `GET /all`
/// answers `all()`.
fn app(manager: SessionManager, gate: Arc<Gate>) -> App {
    let service = ServiceBuilder::new()
        .layer(SessionLayer::new(manager))
        .service(service_fn(move |req: Request<String>| {
            let gate = gate.clone();
            async move {
                let session = sessions(&req).session().await.expect("load");
                let query: BTreeMap<String, String> =
                    form_urlencoded::parse(req.uri().query().unwrap_or_default().as_bytes())
                        .into_owned()
                        .collect();
                let mut response = Response::new(String::new());
                match (req.method(), req.uri().path()) {
                    (&Method::POST, "/visit") => session.set("cart", 1).expect("set"),
                    (&Method::POST, "/login") => {
                        session.regenerate().expect("open");
                        session.set("user", "ada").expect("set");
                        *response.status_mut() = StatusCode::SEE_OTHER;
                    }
                    (&Method::POST, "/logout") => {
                        session.invalidate().expect("open");
                        *response.status_mut() = StatusCode::SEE_OTHER;
                    }
                    (&Method::POST, "/slow") => {
                        session.set(&query["k"], &query["v"]).expect("set");
                        gate.loaded.notify_one();
                        gate.release.notified().await;
                    }
                    (&Method::GET, "/all") => *response.body_mut() = session.all().to_string(),
                    _ => *response.status_mut() = StatusCode::NOT_FOUND,
                }
                Ok::<_, Infallible>(response)
            }
        }));
    tower::util::BoxCloneSyncService::new(service)
}

async fn call(app: &App, method: Method, uri: &str, cookie: &str) -> Response<String> {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::COOKIE, cookie)
        .body(String::new())
        .expect("request");
    app.clone().oneshot(request).await.expect("infallible")
}

/// The `name=value` of the response's `Set-Cookie`s that set (not remove) a
/// session cookie (a log-in or log-out also replaces the CSRF secret's).
fn set_cookies(response: &Response<String>) -> Vec<String> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().expect("ascii"))
        .map(|line| line.split(';').next().unwrap_or_default().to_owned())
        .filter(|pair| !pair.ends_with('='))
        .filter(|pair| !pair.split('=').next().unwrap_or_default().ends_with("csrf"))
        .collect()
}

async fn all(app: &App, cookie: &str) -> Value {
    let response = call(app, Method::GET, "/all", cookie).await;
    assert_eq!(response.status(), StatusCode::OK);
    serde_json::from_str(response.body()).expect("json")
}

/// Starts `POST /slow?k=role&v=admin` on `cookie` and waits until it has
/// loaded the session and written; `gate.release` lets it finish.
async fn start_slow(
    app: &App,
    gate: &Gate,
    cookie: &str,
) -> tokio::task::JoinHandle<Response<String>> {
    let (app, cookie) = (app.clone(), cookie.to_owned());
    let slow =
        tokio::spawn(
            async move { call(&app, Method::POST, "/slow?k=role&v=admin", &cookie).await },
        );
    tokio::time::timeout(Duration::from_secs(10), gate.loaded.notified())
        .await
        .expect("the slow request loaded");
    slow
}

/// A stale save is a 409 that says what to do, shows no internal text and
/// sets no cookie.
fn assert_refused(response: &Response<String>) {
    assert_eq!(
        response.status(),
        StatusCode::CONFLICT,
        "the stale save is refused: {} {:?}",
        response.status(),
        response.body()
    );
    let body = response.body();
    assert!(body.starts_with("409 Conflict"), "{body}");
    for internal in ["memory", "redis", "driver", "session_id", "SessionError"] {
        assert!(
            !body.contains(internal),
            "internal text {internal:?} in {body:?}"
        );
    }
    assert!(
        response.headers().get(header::SET_COOKIE).is_none(),
        "no cookie: the browser's jar already holds the new id"
    );
}

/// The attack: a request on the pre-login id, slower than the login.
async fn a_slow_request_on_the_pre_login_id_writes_nothing_into_the_login(manager: SessionManager) {
    let gate = Arc::new(Gate::default());
    let app = app(manager, gate.clone());
    let visit = call(&app, Method::POST, "/visit", "").await;
    let planted = set_cookies(&visit)
        .pop()
        .expect("the anonymous session's id");

    let slow = start_slow(&app, &gate, &planted).await;
    let login = call(&app, Method::POST, "/login", &planted).await;
    assert_eq!(login.status(), StatusCode::SEE_OTHER);
    let logged_in = set_cookies(&login)
        .pop()
        .expect("the login sets the new id");
    assert_ne!(logged_in, planted);
    gate.release.notify_one();
    let late = slow.await.expect("slow request");

    assert_eq!(
        all(&app, &logged_in).await,
        json!({"cart": 1, "user": "ada"}),
        "the logged-in session holds none of the stale request's writes"
    );
    assert_eq!(
        all(&app, &planted).await,
        json!({}),
        "the pre-login id stays dead"
    );
    assert_refused(&late);
}

/// A request still running on the logged-in id when the user logs out:
/// refused, and the session stays ended.
async fn a_slow_request_across_a_logout_is_refused_and_revives_nothing(manager: SessionManager) {
    let gate = Arc::new(Gate::default());
    let app = app(manager, gate.clone());
    let visit = call(&app, Method::POST, "/visit", "").await;
    let anonymous = set_cookies(&visit).pop().expect("id");
    let login = call(&app, Method::POST, "/login", &anonymous).await;
    let logged_in = set_cookies(&login).pop().expect("new id");

    let slow = start_slow(&app, &gate, &logged_in).await;
    let logout = call(&app, Method::POST, "/logout", &logged_in).await;
    assert_eq!(logout.status(), StatusCode::SEE_OTHER);
    gate.release.notify_one();
    let late = slow.await.expect("slow request");

    assert_eq!(all(&app, &logged_in).await, json!({}), "still logged out");
    assert_refused(&late);
}

/// Requests that do not cross an id change keep the no-lost-update rule:
/// a slow write and a fast one on one session both stay.
async fn a_slow_request_without_an_id_change_keeps_its_write(manager: SessionManager) {
    let gate = Arc::new(Gate::default());
    let app = app(manager, gate.clone());
    let visit = call(&app, Method::POST, "/visit", "").await;
    let cookie = set_cookies(&visit).pop().expect("id");

    let slow = start_slow(&app, &gate, &cookie).await;
    let fast = call(&app, Method::POST, "/visit", &cookie).await;
    assert_eq!(fast.status(), StatusCode::OK);
    gate.release.notify_one();
    let late = slow.await.expect("slow request");
    assert_eq!(late.status(), StatusCode::OK);
    assert!(set_cookies(&late).is_empty());
    assert_eq!(
        all(&app, &cookie).await,
        json!({"cart": 1, "role": "admin"})
    );
}

fn memory() -> SessionManager {
    SessionManager::builder()
        .driver("memory", MemoryDriver::default())
        .build()
        .expect("manager")
}

async fn redis() -> SessionManager {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let driver = session_redis::RedisDriver::builder()
        .url(url.clone())
        .key_prefix(format!("regenerate-boundary:{}:", SessionId::generate()))
        .lifetime(Duration::from_secs(120))
        .connect()
        .await
        .unwrap_or_else(|e| {
            panic!("this test needs Redis at {url} (redis-server --daemonize yes --save \"\" --appendonly no): {e}")
        });
    SessionManager::builder()
        .driver("redis", driver)
        .default_driver("redis")
        .build()
        .expect("manager")
}

#[tokio::test]
async fn memory_pre_login_request_writes_nothing_into_the_login() {
    a_slow_request_on_the_pre_login_id_writes_nothing_into_the_login(memory()).await;
}

#[tokio::test]
async fn memory_request_across_a_logout_is_refused() {
    a_slow_request_across_a_logout_is_refused_and_revives_nothing(memory()).await;
}

#[tokio::test]
async fn memory_request_without_an_id_change_keeps_its_write() {
    a_slow_request_without_an_id_change_keeps_its_write(memory()).await;
}

#[tokio::test]
async fn redis_pre_login_request_writes_nothing_into_the_login() {
    a_slow_request_on_the_pre_login_id_writes_nothing_into_the_login(redis().await).await;
}

#[tokio::test]
async fn redis_request_across_a_logout_is_refused() {
    a_slow_request_across_a_logout_is_refused_and_revives_nothing(redis().await).await;
}

#[tokio::test]
async fn redis_request_without_an_id_change_keeps_its_write() {
    a_slow_request_without_an_id_change_keeps_its_write(redis().await).await;
}

/// The cookie driver keeps the session in the browser: a stale request's
/// save is not refused (nothing tells it another request regenerated), but
/// its `Set-Cookie`s go only to the client that sent it. An attacker's
/// slow request on cookies it planted writes into its own jar, never into
/// the victim's logged-in session.
#[tokio::test]
async fn cookie_stale_writes_reach_only_the_client_that_made_them() {
    let config = SessionConfig::default()
        .with_driver("cookie")
        .with_secret("a regenerate boundary test secret, long enough")
        .expect("secret");
    let gate = Arc::new(Gate::default());
    let app = app(
        SessionManager::from_config(&config).expect("manager"),
        gate.clone(),
    );
    let visit = call(&app, Method::POST, "/visit", "").await;
    let planted = set_cookies(&visit).join("; ");

    let slow = start_slow(&app, &gate, &planted).await;
    let login = call(&app, Method::POST, "/login", &planted).await;
    let mut victim: BTreeMap<String, String> = planted
        .split("; ")
        .chain(set_cookies(&login).iter().map(String::as_str))
        .filter_map(|pair| pair.split_once('='))
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect();
    gate.release.notify_one();
    let late = slow.await.expect("slow request");
    assert_eq!(
        late.status(),
        StatusCode::OK,
        "a stateless driver cannot refuse it"
    );
    victim.retain(|_, v| !v.is_empty());
    let jar: Vec<String> = victim.iter().map(|(n, v)| format!("{n}={v}")).collect();
    assert_eq!(
        all(&app, &jar.join("; ")).await,
        json!({"cart": 1, "user": "ada"})
    );
}
