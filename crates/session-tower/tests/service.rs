//! The layer through `tower::ServiceExt::oneshot`: no sockets.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use http::{HeaderMap, Method, Request, Response, StatusCode, header};
use session_core::{
    MemoryDriver, SessionConfig, SessionError, SessionManager,
    cookie::Cookie,
    driver::{Loaded, SaveRequest, SessionDriver, async_trait},
    integration::RequestContext,
};
use session_tower::{Redirect, SessionLayer, sessions};
use tower::{Service, ServiceBuilder, ServiceExt, service_fn};

/// The memory driver, counting its loads and saves, and failing saves on demand
/// (the Redis crate tests a real outage; this checks the layer's reaction).
#[derive(Default)]
struct Instrumented {
    inner: MemoryDriver,
    loads: AtomicUsize,
    saves: AtomicUsize,
    fail_saves: AtomicBool,
}

#[async_trait]
impl SessionDriver for Instrumented {
    async fn load(&self, request: &RequestContext) -> Result<Loaded, SessionError> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        self.inner.load(request).await
    }
    async fn save(&self, save: SaveRequest<'_>) -> Result<Vec<Cookie<'static>>, SessionError> {
        if self.fail_saves.load(Ordering::SeqCst) {
            return Err(SessionError::backend("memory", "the store is down"));
        }
        self.saves.fetch_add(1, Ordering::SeqCst);
        self.inner.save(save).await
    }
}

fn manager(driver: Arc<Instrumented>) -> SessionManager {
    SessionManager::builder()
        .shared_driver("memory", driver)
        .build()
        .expect("manager")
}

/// The demo's routes in miniature.
async fn app(req: Request<String>) -> Result<Response<String>, SessionError> {
    let path = req.uri().path().to_owned();
    match (req.method().clone(), path.as_str()) {
        (Method::POST, "/flash") => Ok(Redirect::see_other("/")
            .flash("success", "Saved!")
            .into_response()),
        (Method::POST, "/set") => {
            sessions(&req).session().await?.set("user", "ada")?;
            Ok(Response::new("set".into()))
        }
        (_, "/own-cookie") => {
            sessions(&req).session().await?.set("x", 1)?;
            let mut res = Response::new(String::new());
            res.headers_mut().append(
                header::SET_COOKIE,
                "theme=dark; Path=/".parse().expect("header"),
            );
            Ok(res)
        }
        (_, "/fail") => {
            sessions(&req).session().await?.set("half", "done")?;
            let mut res = Response::new("boom".into());
            *res.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            Ok(res)
        }
        (_, "/panic") => {
            sessions(&req).session().await?.set("half", "done")?;
            panic!("handler bug");
        }
        (_, "/static") => Ok(Response::new("no session here".into())),
        (_, "/missing") => {
            let flash = sessions(&req).session().await?.get("success");
            let mut res = Response::new(format!("{flash:?}"));
            *res.status_mut() = StatusCode::NOT_FOUND;
            Ok(res)
        }
        _ => {
            let all = sessions(&req).session().await?.all();
            Ok(Response::new(all.to_string()))
        }
    }
}

type App = tower::util::BoxCloneService<Request<String>, Response<String>, SessionError>;

fn service(manager: SessionManager) -> App {
    tower::util::BoxCloneService::new(
        ServiceBuilder::new()
            .layer(SessionLayer::new(manager))
            .service(service_fn(app)),
    )
}

/// A client that keeps the session cookie.
struct Client {
    app: App,
    cookie: Option<String>,
}

impl Client {
    /// A client without cookies of the demo app over `manager`.
    fn new(manager: SessionManager) -> Self {
        Client {
            app: service(manager),
            cookie: None,
        }
    }

    async fn send(&mut self, method: Method, path: &str) -> Response<String> {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(cookie) = &self.cookie {
            req = req.header(header::COOKIE, cookie);
        }
        let res = self
            .app
            .clone()
            .oneshot(req.body(String::new()).expect("request"))
            .await
            .expect("infallible here");
        for value in res.headers().get_all(header::SET_COOKIE) {
            let cookie = Cookie::parse(value.to_str().expect("ascii").to_owned()).expect("cookie");
            if cookie.name() == "session_id" {
                self.cookie = (!cookie.value().is_empty()).then(|| cookie.stripped().to_string());
            }
        }
        res
    }
}

fn set_cookies(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().expect("ascii").to_owned())
        .collect()
}

#[tokio::test]
async fn flash_redirect_then_shown_once() {
    let driver = Arc::new(Instrumented::default());
    let mut client = Client::new(manager(driver));
    let res = client.send(Method::POST, "/flash").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[header::LOCATION], "/");
    let cookie = set_cookies(res.headers()).pop().expect("a session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );

    let missing = client.send(Method::GET, "/missing").await;
    assert_eq!(
        missing.body(),
        "Some(String(\"Saved!\"))",
        "a 404 sees and keeps the flash"
    );
    assert_eq!(
        client.send(Method::GET, "/").await.body(),
        r#"{"success":"Saved!"}"#
    );
    assert_eq!(client.send(Method::GET, "/").await.body(), "{}");
}

#[tokio::test]
async fn head_keeps_the_flash() {
    let mut client = Client::new(manager(Arc::default()));
    client.send(Method::POST, "/flash").await;
    assert_eq!(
        client.send(Method::HEAD, "/").await.status(),
        StatusCode::OK
    );
    assert_eq!(
        client.send(Method::GET, "/").await.body(),
        r#"{"success":"Saved!"}"#
    );
}

#[tokio::test]
async fn the_handlers_own_set_cookie_is_kept() {
    let mut client = Client::new(manager(Arc::default()));
    let res = client.send(Method::GET, "/own-cookie").await;
    let cookies = set_cookies(res.headers());
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    assert!(cookies.iter().any(|c| c.starts_with("theme=dark")));
    assert!(cookies.iter().any(|c| c.starts_with("session_id=")));
}

#[tokio::test]
async fn a_request_that_touches_no_session_loads_nothing_and_sets_no_cookie() {
    let driver = Arc::new(Instrumented::default());
    let mut client = Client::new(manager(driver.clone()));
    client.send(Method::POST, "/set").await;
    let (loads, saves) = (
        driver.loads.load(Ordering::SeqCst),
        driver.saves.load(Ordering::SeqCst),
    );
    let res = client.send(Method::GET, "/static").await;
    assert!(set_cookies(res.headers()).is_empty());
    assert_eq!(driver.loads.load(Ordering::SeqCst), loads, "no load");
    assert_eq!(driver.saves.load(Ordering::SeqCst), saves, "no save");
    // Reading without changing loads once and saves nothing.
    client.send(Method::GET, "/").await;
    assert_eq!(driver.loads.load(Ordering::SeqCst), loads + 1);
    assert_eq!(driver.saves.load(Ordering::SeqCst), saves);
}

#[tokio::test]
async fn a_5xx_or_a_panic_saves_nothing() {
    let driver = Arc::new(Instrumented::default());
    let mut client = Client::new(manager(driver.clone()));
    client.send(Method::POST, "/set").await;
    let saves = driver.saves.load(Ordering::SeqCst);

    let res = client.send(Method::GET, "/fail").await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(set_cookies(res.headers()).is_empty());

    let mut app = client.app.clone();
    let mut req = Request::get("/panic").body(String::new()).expect("request");
    req.headers_mut().insert(
        header::COOKIE,
        client
            .cookie
            .clone()
            .expect("cookie")
            .parse()
            .expect("header"),
    );
    let ready = app.ready().await.expect("ready").call(req);
    let joined = tokio::spawn(ready).await;
    assert!(joined.expect_err("the handler panicked").is_panic());

    assert_eq!(driver.saves.load(Ordering::SeqCst), saves, "nothing saved");
    assert_eq!(
        client.send(Method::GET, "/").await.body(),
        r#"{"user":"ada"}"#
    );
}

#[tokio::test]
async fn a_failed_save_is_a_503_not_a_silent_loss() {
    let driver = Arc::new(Instrumented::default());
    let mut client = Client::new(manager(driver.clone()));
    driver.fail_saves.store(true, Ordering::SeqCst);
    let res = client.send(Method::POST, "/set").await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.headers()[header::RETRY_AFTER], "1");
    assert!(
        res.body().contains("session store is unavailable"),
        "{}",
        res.body()
    );
    assert!(
        !res.body().contains("the store is down"),
        "the store's own message stays internal"
    );
    let err = res
        .extensions()
        .get::<Arc<SessionError>>()
        .expect("error for logging");
    assert!(err.to_string().contains("the store is down"));

    driver.fail_saves.store(false, Ordering::SeqCst);
    assert_eq!(
        client.send(Method::POST, "/set").await.status(),
        StatusCode::OK,
        "recovers"
    );
}

#[tokio::test]
async fn the_error_status_is_configurable() {
    let driver = Arc::new(Instrumented::default());
    driver.fail_saves.store(true, Ordering::SeqCst);
    let app = ServiceBuilder::new()
        .layer(SessionLayer::new(manager(driver)).with_error_status(StatusCode::BAD_GATEWAY))
        .service(service_fn(app));
    let res = app
        .oneshot(Request::post("/set").body(String::new()).expect("request"))
        .await
        .expect("response");
    assert_eq!(res.status(), StatusCode::BAD_GATEWAY);
}

#[tokio::test]
async fn a_flash_the_cookie_driver_cannot_hold_is_a_413_not_a_lost_message() {
    let config = SessionConfig::default()
        .with_driver("cookie")
        .with_secret("a test secret that is long enough to use")
        .expect("secret");
    let manager = SessionManager::from_config(&config).expect("manager");
    let app = ServiceBuilder::new()
        .layer(SessionLayer::new(manager))
        .service(service_fn(|_req: Request<String>| async move {
            Ok::<Response<String>, SessionError>(
                Redirect::see_other("/")
                    .flash("success", "x".repeat(5000))
                    .into_response(),
            )
        }));
    let res = app
        .oneshot(Request::post("/").body(String::new()).expect("request"))
        .await
        .expect("response");
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let err = res.extensions().get::<Arc<SessionError>>().expect("error");
    assert!(matches!(**err, SessionError::ValueTooLarge { .. }), "{err}");
}

#[tokio::test]
async fn malformed_cookie_headers_are_survived() {
    let app = service(manager(Arc::default()));
    for raw in [
        &b"session_id=\xff\xfe"[..],
        b";;;==;",
        b"session_id=; session_id=x",
        &[b'a'; 9000][..],
    ] {
        let mut req = Request::get("/").body(String::new()).expect("request");
        req.headers_mut().insert(
            header::COOKIE,
            http::HeaderValue::from_bytes(raw).expect("opaque header"),
        );
        let res = app.clone().oneshot(req).await.expect("response");
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.body(), "{}");
    }
}

/// A service whose handler reads the session and hands a clone of it out,
/// so a test can see what the layer left it in.
fn reader(
    manager: SessionManager,
    kept: Arc<std::sync::Mutex<Option<session_core::Session>>>,
) -> session_tower::SessionService<
    impl Service<
        Request<String>,
        Response = Response<String>,
        Error = SessionError,
        Future: Send + 'static,
    > + Clone,
> {
    ServiceBuilder::new()
        .layer(SessionLayer::new(manager))
        .service(service_fn(move |req: Request<String>| {
            let kept = kept.clone();
            async move {
                let session = sessions(&req).session().await?;
                let body = session.all().to_string();
                *kept.lock().expect("lock") = Some(session);
                Ok::<_, SessionError>(Response::new(body))
            }
        }))
}

fn poll_once<F: std::future::Future>(future: std::pin::Pin<&mut F>) -> std::task::Poll<F::Output> {
    future.poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
}

#[tokio::test]
async fn a_request_that_saves_nothing_ends_in_the_handlers_last_poll() {
    let driver = Arc::new(Instrumented::default());
    let mut client = Client::new(manager(driver.clone()));
    client.send(Method::POST, "/set").await;
    let saves = driver.saves.load(Ordering::SeqCst);

    let kept = Arc::default();
    let mut app = reader(manager(driver.clone()), Arc::clone(&kept));
    let mut req = Request::get("/").body(String::new()).expect("request");
    let cookie = client.cookie.clone().expect("cookie");
    req.headers_mut()
        .insert(header::COOKIE, cookie.parse().expect("header"));
    let future: session_tower::ResponseFuture<_> = app.ready().await.expect("ready").call(req);
    assert!(format!("{future:?}").starts_with("ResponseFuture"));
    let mut future = std::pin::pin!(future);
    let std::task::Poll::Ready(res) = poll_once(future.as_mut()) else {
        panic!("a read of the memory driver never waits");
    };
    let res = res.expect("response");
    assert_eq!(res.body(), r#"{"user":"ada"}"#);
    assert!(set_cookies(res.headers()).is_empty());
    assert_eq!(driver.saves.load(Ordering::SeqCst), saves, "nothing saved");

    // The session is closed as after any finished request.
    let session = kept.lock().expect("lock").take().expect("the handler ran");
    assert!(matches!(
        session.set("late", 1),
        Err(SessionError::AlreadySaved { .. })
    ));
}

/// The memory driver, whose saves wait once before they run.
#[derive(Default)]
struct Slow(MemoryDriver);

#[async_trait]
impl SessionDriver for Slow {
    async fn load(&self, request: &RequestContext) -> Result<Loaded, SessionError> {
        self.0.load(request).await
    }
    async fn save(&self, save: SaveRequest<'_>) -> Result<Vec<Cookie<'static>>, SessionError> {
        tokio::task::yield_now().await;
        self.0.save(save).await
    }
}

#[tokio::test]
async fn a_save_that_waits_is_polled_to_its_end() {
    let manager = SessionManager::builder()
        .driver("memory", Slow::default())
        .build()
        .expect("manager");
    let mut client = Client::new(manager);
    let mut app = client.app.clone();
    let future = app.ready().await.expect("ready").call(
        Request::post("/flash")
            .body(String::new())
            .expect("request"),
    );
    let mut future = std::pin::pin!(future);
    assert!(poll_once(future.as_mut()).is_pending(), "the save waits");
    let res = future.await.expect("response");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let cookie = set_cookies(res.headers()).pop().expect("a session cookie");
    client.cookie = Some(cookie.split(';').next().expect("pair").to_owned());
    assert_eq!(
        client.send(Method::GET, "/").await.body(),
        r#"{"success":"Saved!"}"#
    );
    assert_eq!(client.send(Method::GET, "/").await.body(), "{}");
}

#[tokio::test]
async fn a_handlers_error_passes_through_and_saves_nothing() {
    let driver = Arc::new(Instrumented::default());
    let app = ServiceBuilder::new()
        .layer(SessionLayer::new(manager(driver.clone())))
        .service(service_fn(|req: Request<String>| async move {
            sessions(&req).session().await?.set("half", "done")?;
            Err::<Response<String>, _>(SessionError::backend("handler", "gave up"))
        }));
    let err = app
        .oneshot(Request::post("/").body(String::new()).expect("request"))
        .await
        .expect_err("the handler's error");
    assert!(err.to_string().contains("gave up"), "{err}");
    assert_eq!(driver.saves.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_cookie_the_cookie_driver_rejects_is_removed_by_a_read() {
    let config = SessionConfig::default()
        .with_driver("cookie")
        .with_secret("a test secret that is long enough to use")
        .expect("secret");
    let manager = SessionManager::from_config(&config).expect("manager");
    let mut req = Request::get("/").body(String::new()).expect("request");
    req.headers_mut()
        .insert(header::COOKIE, "s_user=forged".parse().expect("header"));
    let res = service(manager).oneshot(req).await.expect("response");
    assert_eq!(res.body(), "{}");
    let cookies = set_cookies(res.headers());
    assert!(
        cookies.iter().any(|c| c.starts_with("s_user=;")),
        "the forged cookie is removed: {cookies:?}"
    );
}
