//! Attacks on the CSRF layer and the form round trip, each one refused: a
//! body trickled to exhaust memory, a secret planted by a sibling
//! subdomain, a token replayed after log-out, an exempt prefix stretched to
//! its neighbours, secrets flashed back into a page.
//!
//! The tests share a counting allocator, so they run one at a time (see
//! `SERIAL`); the allocator needs `unsafe`, allowed here only.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body::Frame;
use session_core::integration::RequestContext;
use session_core::{SessionConfig, SessionManager};
use session_tower::{CsrfBody, CsrfLayer, Redirect, SessionLayer, sessions};
use tower::{BoxError, ServiceBuilder, ServiceExt, service_fn, util::BoxCloneService};

// ---------------------------------------------------------------- allocator

struct Counting;

static IN_USE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = IN_USE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        unsafe { System.dealloc(p, layout) };
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, layout, new_size) };
        if !q.is_null() {
            if new_size >= layout.size() {
                let now = IN_USE.fetch_add(new_size - layout.size(), Ordering::Relaxed)
                    + (new_size - layout.size());
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                IN_USE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        q
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The tests run one at a time, so that the allocator measures one.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

// ---------------------------------------------------------------- helpers

type App = BoxCloneService<Request<String>, Response<String>, BoxError>;

/// `GET` renders a token; `POST /login` logs in (set + regenerate);
/// `POST /logout` invalidates; `POST /form-error` answers with
/// `Redirect::with_input` of the form; any other `POST` answers 200.
fn app(csrf: CsrfLayer, manager: SessionManager, calls: &'static AtomicUsize) -> App {
    let service = ServiceBuilder::new()
        .layer(csrf)
        .layer(SessionLayer::new(manager))
        .service(service_fn(
            move |req: Request<CsrfBody<String>>| async move {
                calls.fetch_add(1, Ordering::SeqCst);
                let sessions = sessions(&req).clone();
                if req.method() == Method::GET {
                    let session = sessions.session().await?;
                    let old: BTreeMap<&str, Option<String>> =
                        ["name", "pin", "api_key", "passwd", "otp", "secret"]
                            .into_iter()
                            .map(|f| (f, session.old(f)))
                            .collect();
                    let body = format!("{}\n{old:?}", sessions.csrf_token());
                    return Ok::<_, BoxError>(Response::new(body));
                }
                match req.uri().path() {
                    "/login" => {
                        let session = sessions.session().await?;
                        session.set("user", "ada")?;
                        session.regenerate()?;
                    }
                    "/logout" => sessions.session().await?.invalidate()?,
                    "/form-error" => {
                        use http_body_util::BodyExt;
                        let body = req.into_body().collect().await?.to_bytes();
                        let form: Vec<(String, String)> =
                            form_urlencoded::parse(&body).into_owned().collect();
                        return Ok(Redirect::to("/form").with_input(form).into_response());
                    }
                    _ => {}
                }
                Ok(Response::new(String::from("done")))
            },
        ));
    BoxCloneService::new(service)
}

fn calls() -> &'static AtomicUsize {
    Box::leak(Box::new(AtomicUsize::new(0)))
}

fn plain_http() -> SessionManager {
    SessionManager::from_config(&SessionConfig::default().with_cookie_secure(false))
        .expect("config")
}

fn cookie_driver() -> SessionManager {
    let config = SessionConfig::default()
        .with_cookie_secure(false)
        .with_driver("cookie")
        .with_secret("qT8vXz1LmR4wPa7Ke2NbYc9HdGf3Js6U")
        .expect("secret");
    SessionManager::from_config(&config).expect("config")
}

/// A browser's cookie jar, enough for these tests.
#[derive(Default)]
struct Jar(BTreeMap<String, String>);

impl Jar {
    fn take(&mut self, response: &Response<String>) {
        for line in response.headers().get_all(header::SET_COOKIE) {
            let line = line.to_str().expect("text");
            let pair = line.split(';').next().unwrap_or_default();
            let (name, value) = pair.split_once('=').expect("pair");
            if line.contains("Max-Age=0") {
                self.0.remove(name);
            } else {
                self.0.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

fn get(path: &str, cookie: &str) -> Request<String> {
    Request::get(path)
        .header(header::HOST, "app.example")
        .header(header::COOKIE, cookie)
        .body(String::new())
        .expect("request")
}

fn form_post(path: &str, site: &str, cookie: &str, body: &str) -> Request<String> {
    Request::post(path)
        .header(header::HOST, "app.example")
        .header("sec-fetch-site", site)
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body.to_owned())
        .expect("request")
}

async fn send(app: &App, request: Request<String>) -> Response<String> {
    app.clone().oneshot(request).await.expect("response")
}

/// A GET of the form page: the token it renders, the jar updated.
async fn token(app: &App, jar: &mut Jar) -> String {
    let response = send(app, get("/form", &jar.header())).await;
    assert_eq!(response.status(), StatusCode::OK);
    jar.take(&response);
    response.body().lines().next().expect("token").to_owned()
}

// ---------------------------------------------------------------- attacks

/// A form body trickled one byte per frame (HTTP/1.1 chunks of one byte,
/// HTTP/2 DATA frames of one byte) is held as one buffer of its bytes, not
/// frame by frame: the peak heap of the request stays near
/// `max_form_bytes`, not hundreds of times it.
#[tokio::test(flavor = "current_thread")]
async fn a_trickled_form_holds_no_more_than_its_bytes() {
    let _serial = SERIAL.lock().await;
    struct OneByte(usize);
    impl http_body::Body for OneByte {
        type Data = Bytes;
        type Error = Infallible;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            if self.0 == 0 {
                return Poll::Ready(None);
            }
            self.0 -= 1;
            // Static: the frames themselves allocate nothing.
            Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"a")))))
        }
    }
    const LIMIT: usize = 64 * 1024;
    let manager = plain_http();
    // A real secret, so that the layer reads the body.
    let visit = manager.request(RequestContext::new());
    visit.csrf_token();
    let secret = visit.issued_csrf_cookie().expect("secret");
    let cookie = format!("{}={}", secret.name(), secret.value());
    let svc = ServiceBuilder::new()
        .layer(CsrfLayer::new(&manager).max_form_bytes(LIMIT))
        .layer(SessionLayer::new(manager))
        .service(service_fn(|_req: Request<CsrfBody<OneByte>>| async {
            Ok::<_, Infallible>(Response::new(String::new()))
        }));
    let request = Request::post("/save")
        .header(header::HOST, "app.example")
        .header("sec-fetch-site", "same-origin")
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(OneByte(LIMIT + 2))
        .expect("request");
    let before = IN_USE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let response = svc.oneshot(request).await.expect("response");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let peak = PEAK.load(Ordering::Relaxed) - before;
    eprintln!(
        "max_form_bytes = {LIMIT} B; peak heap of one trickled request = {peak} B ({}x)",
        peak / LIMIT
    );
    assert!(
        peak < 4 * LIMIT,
        "one request of {LIMIT} one-byte frames held {peak} bytes ({}x max_form_bytes)",
        peak / LIMIT
    );
}

/// Logging out replaces the CSRF secret with every driver, the cookie
/// driver too (it has no id, and `invalidate` empties its data): a token of
/// the logged-in page is refused after the log-out.
#[tokio::test(flavor = "current_thread")]
async fn logging_out_replaces_the_csrf_secret_with_every_driver() {
    let _serial = SERIAL.lock().await;
    async fn rotated_on_logout(manager: SessionManager) -> (bool, StatusCode) {
        let app = app(CsrfLayer::new(&manager), manager, calls());
        let mut jar = Jar::default();
        let t0 = token(&app, &mut jar).await;
        let login = send(
            &app,
            form_post(
                "/login",
                "same-origin",
                &jar.header(),
                &format!("_token={t0}"),
            ),
        )
        .await;
        assert_eq!(login.status(), StatusCode::OK);
        jar.take(&login);
        let t1 = token(&app, &mut jar).await;
        let secret_before = jar.0.get("csrf").cloned();
        let logout = send(
            &app,
            form_post(
                "/logout",
                "same-origin",
                &jar.header(),
                &format!("_token={t1}"),
            ),
        )
        .await;
        assert_eq!(logout.status(), StatusCode::OK);
        jar.take(&logout);
        let rotated = jar.0.get("csrf").cloned() != secret_before;
        // The logged-in page's token, after the logout.
        let replay = send(
            &app,
            form_post(
                "/anything",
                "same-origin",
                &jar.header(),
                &format!("_token={t1}"),
            ),
        )
        .await;
        (rotated, replay.status())
    }
    let (memory_rotated, memory_replay) = rotated_on_logout(plain_http()).await;
    assert!(memory_rotated, "the memory driver rotates on logout");
    assert_eq!(memory_replay, StatusCode::FORBIDDEN);
    let (cookie_rotated, cookie_replay) = rotated_on_logout(cookie_driver()).await;
    assert!(
        cookie_rotated,
        "cookie driver: the CSRF secret survives the logout; a token of the logged-in \
         page still answers {cookie_replay} after it"
    );
    assert_eq!(cookie_replay, StatusCode::FORBIDDEN);
}

/// A `Secure` CSRF cookie always carries the `__Host-` prefix, whatever
/// the session cookies' `Path`: the secret's cookie is for `Path=/`, so a
/// sibling subdomain cannot set one the browser would send.
#[tokio::test(flavor = "current_thread")]
async fn a_secure_csrf_cookie_has_the_host_prefix_on_any_path() {
    let _serial = SERIAL.lock().await;
    let config = SessionConfig::default().with_cookie_path("/app");
    let manager = SessionManager::from_config(&config).expect("config");
    assert!(
        manager.csrf_cookie_name().starts_with("__"),
        "name: {}",
        manager.csrf_cookie_name()
    );
}

/// A planted second cookie of the secret's name (a sibling subdomain's,
/// sent first for its longer `Path`) makes the request's secret untrusted:
/// the attacker's own token for it is refused, even where the first line
/// lets the sibling through (`allow_same_site(true)`).
#[tokio::test(flavor = "current_thread")]
async fn a_planted_second_secret_is_refused() {
    let _serial = SERIAL.lock().await;
    let config = SessionConfig::default().with_cookie_path("/app");
    let manager = SessionManager::from_config(&config).expect("config");
    let name = manager.csrf_cookie_name();
    // The attacker's own visit gives a secret and a token of it.
    let own = manager.request(RequestContext::new());
    let forged = own.csrf_token();
    let planted = own.issued_csrf_cookie().expect("secret").value().to_owned();
    // The victim's real secret, from their visit.
    let victim = manager.request(RequestContext::new());
    victim.csrf_token();
    let real = victim
        .issued_csrf_cookie()
        .expect("secret")
        .value()
        .to_owned();
    let counter = calls();
    let app = app(
        CsrfLayer::new(&manager).allow_same_site(true),
        manager,
        counter,
    );
    // `Set-Cookie: csrf=PLANTED; Domain=example.com; Path=/app/; Secure` from
    // evil.example.com: longer path, so sent first.
    let cookie = format!("{name}={planted}; {name}={real}");
    let response = send(
        &app,
        form_post(
            "/app/transfer",
            "same-site",
            &cookie,
            &format!("_token={forged}"),
        ),
    )
    .await;
    assert_eq!(
        response.status(),
        StatusCode::FORBIDDEN,
        "a sibling subdomain's forged request reached the handler"
    );
}

/// `exempt_prefix("/api")` exempts `/api` and what is below it, segment by
/// segment: not `/api-keys/revoke` or `/apiary`.
#[tokio::test(flavor = "current_thread")]
async fn an_exempt_prefix_matches_whole_segments() {
    let _serial = SERIAL.lock().await;
    let manager = plain_http();
    let counter = calls();
    let app = app(
        CsrfLayer::new(&manager).exempt_prefix("/api"),
        manager,
        counter,
    );
    let response = send(&app, form_post("/api-keys/revoke", "cross-site", "", "x=1")).await;
    assert_eq!(
        response.status(),
        StatusCode::FORBIDDEN,
        "a cross-site POST to /api-keys/revoke reached the handler"
    );
}

/// `Redirect::with_input` leaves secrets out: a PIN, an API key, a
/// one-time code, `passwd`, a `secret` never reach the session store or
/// `old()`; the name does.
#[tokio::test(flavor = "current_thread")]
async fn with_input_never_flashes_secrets() {
    let _serial = SERIAL.lock().await;
    let manager = plain_http();
    let app = app(CsrfLayer::new(&manager), manager, calls());
    let mut jar = Jar::default();
    let t = token(&app, &mut jar).await;
    let body = format!(
        "_token={t}&name=Ada&pin=1234&api_key=sk_live_abc&passwd=hunter2&otp=123456&secret=s3"
    );
    let back = send(
        &app,
        form_post("/form-error", "same-origin", &jar.header(), &body),
    )
    .await;
    assert_eq!(back.status(), StatusCode::SEE_OTHER);
    jar.take(&back);
    let page = send(&app, get("/form", &jar.header())).await;
    let old = page.body().lines().nth(1).expect("old").to_owned();
    for secret in ["1234", "sk_live_abc", "hunter2", "123456", "s3"] {
        assert!(!old.contains(secret), "flashed and shown by old(): {old}");
    }
    assert!(old.contains(r#""name": Some("Ada")"#), "{old}");
}
