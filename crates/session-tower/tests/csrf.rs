//! The CSRF layer through `tower::ServiceExt::oneshot`: which requests
//! pass, which are refused, and that a refused one changes nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use http::{Method, Request, Response, StatusCode, header};
use http_body_util::BodyExt;
use session_core::{SessionConfig, SessionManager};
use session_tower::{CsrfBody, CsrfError, CsrfLayer, SessionLayer, sessions};
use tower::{BoxError, ServiceBuilder, ServiceExt, service_fn, util::BoxCloneService};

type App = BoxCloneService<Request<String>, Response<String>, BoxError>;

/// `GET /form` renders a token; `POST` anything sets `user` and echoes the
/// body it got; `POST /login` also regenerates. Counts handler calls.
fn app(csrf: CsrfLayer, manager: SessionManager, calls: Arc<AtomicUsize>) -> App {
    let service = ServiceBuilder::new()
        .layer(csrf)
        .layer(SessionLayer::new(manager))
        .service(service_fn(move |req: Request<CsrfBody<String>>| {
            let calls = calls.clone();
            async move {
                calls.fetch_add(1, Ordering::SeqCst);
                let sessions = sessions(&req).clone();
                if req.method() == Method::GET {
                    return Ok::<_, BoxError>(Response::new(sessions.csrf_token()));
                }
                let session = sessions.session().await?;
                session.set("user", "ada")?;
                if req.uri().path() == "/login" {
                    session.regenerate()?;
                }
                let body = req.into_body().collect().await?.to_bytes();
                Ok(Response::new(String::from_utf8(body.to_vec())?))
            }
        }));
    BoxCloneService::new(service)
}

fn plain_http() -> SessionManager {
    let config = SessionConfig::default().with_cookie_secure(false);
    SessionManager::from_config(&config).expect("config")
}

struct Harness {
    app: App,
    calls: Arc<AtomicUsize>,
}

impl Harness {
    fn new(configure: impl FnOnce(CsrfLayer) -> CsrfLayer) -> Self {
        let manager = plain_http();
        let calls = Arc::new(AtomicUsize::new(0));
        let csrf = configure(CsrfLayer::new(&manager));
        Harness {
            app: app(csrf, manager, calls.clone()),
            calls,
        }
    }

    async fn send(&self, request: Request<String>) -> Response<String> {
        self.app.clone().oneshot(request).await.expect("response")
    }

    /// A token and the cookie header that goes with it, from a same-origin GET.
    async fn token(&self) -> (String, String) {
        let response = self.send(get("/form")).await;
        assert_eq!(response.status(), StatusCode::OK);
        let cookie = set_cookie(&response, "csrf").expect("the secret is set");
        (response.into_body(), cookie)
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

fn get(path: &str) -> Request<String> {
    Request::get(path)
        .header(header::HOST, "app.example")
        .body(String::new())
        .expect("request")
}

/// A browser's form post from `site` (`Sec-Fetch-Site`), with `cookie`.
fn form_post(path: &str, site: &str, cookie: &str, body: &str) -> Request<String> {
    Request::post(path)
        .header(header::HOST, "app.example")
        .header("sec-fetch-site", site)
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body.to_owned())
        .expect("request")
}

/// `name=value` of the `Set-Cookie` for `name`.
fn set_cookie(response: &Response<String>, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
}

fn refused_with(response: &Response<String>, err: CsrfError) {
    assert_eq!(
        response.status(),
        StatusCode::FORBIDDEN,
        "{}",
        response.body()
    );
    assert_eq!(response.extensions().get::<CsrfError>(), Some(&err));
    assert!(
        response.headers().get(header::SET_COOKIE).is_none(),
        "a refusal sets no cookie"
    );
}

#[tokio::test]
async fn a_same_origin_form_with_its_token_passes_with_its_whole_body() {
    let h = Harness::new(|c| c);
    let (token, cookie) = h.token().await;
    let body = format!("_token={token}&name=Ada&note=a%26b");
    let response = h
        .send(form_post("/save", "same-origin", &cookie, &body))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.body(),
        &body,
        "the handler reads the body the layer read"
    );
    // The token may come last as well.
    let body = format!("name=Ada&_token={token}");
    let response = h
        .send(form_post("/save", "same-origin", &cookie, &body))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.body(), &body);
}

#[tokio::test]
async fn cross_site_posts_are_refused_before_the_handler() {
    let h = Harness::new(|c| c);
    let (token, cookie) = h.token().await;
    let before = h.calls();
    for site in ["cross-site", "same-site"] {
        let body = format!("_token={token}&name=Mallory");
        let response = h.send(form_post("/login", site, &cookie, &body)).await;
        let expected = if site == "cross-site" {
            CsrfError::CrossSite
        } else {
            CsrfError::SameSite
        };
        refused_with(&response, expected);
        assert!(
            response.body().contains("another site"),
            "{}",
            response.body()
        );
    }
    // Old browsers: Origin alone.
    let mut attack = form_post("/login", "x", &cookie, "name=Mallory");
    attack.headers_mut().remove("sec-fetch-site");
    attack.headers_mut().insert(
        header::ORIGIN,
        "http://evil.example".parse().expect("origin"),
    );
    refused_with(&h.send(attack).await, CsrfError::CrossOrigin);
    let mut sandboxed = form_post("/login", "x", &cookie, "name=Mallory");
    sandboxed.headers_mut().remove("sec-fetch-site");
    sandboxed
        .headers_mut()
        .insert(header::ORIGIN, "null".parse().expect("origin"));
    refused_with(&h.send(sandboxed).await, CsrfError::NullOrigin);
    assert_eq!(h.calls(), before, "no refused request reached the handler");
}

#[tokio::test]
async fn browsers_need_a_valid_token() {
    let h = Harness::new(|c| c);
    let (token, cookie) = h.token().await;
    let (other_token, _) = h.token().await;
    let before = h.calls();
    let missing = h
        .send(form_post("/save", "same-origin", &cookie, "name=Ada"))
        .await;
    refused_with(&missing, CsrfError::MissingToken);
    assert!(
        missing.body().contains("reload the page"),
        "{}",
        missing.body()
    );
    let forged = format!("_token={}&name=Ada", "A".repeat(86));
    refused_with(
        &h.send(form_post("/save", "same-origin", &cookie, &forged))
            .await,
        CsrfError::InvalidToken,
    );
    let foreign = format!("_token={other_token}");
    refused_with(
        &h.send(form_post("/save", "same-origin", &cookie, &foreign))
            .await,
        CsrfError::InvalidToken,
    );
    let no_cookie = format!("_token={token}");
    refused_with(
        &h.send(form_post("/save", "same-origin", "", &no_cookie))
            .await,
        CsrfError::InvalidToken,
    );
    // JSON from a script must use the header.
    let mut json = form_post("/save", "same-origin", &cookie, "{}");
    json.headers_mut().insert(
        header::CONTENT_TYPE,
        "application/json".parse().expect("ct"),
    );
    refused_with(&h.send(json).await, CsrfError::MissingToken);
    assert_eq!(h.calls(), before);

    let mut scripted = form_post("/save", "same-origin", &cookie, "{}");
    scripted.headers_mut().insert(
        header::CONTENT_TYPE,
        "application/json".parse().expect("ct"),
    );
    scripted
        .headers_mut()
        .insert("x-csrf-token", token.parse().expect("token"));
    assert_eq!(h.send(scripted).await.status(), StatusCode::OK);
    let mut wrong = form_post("/save", "same-origin", &cookie, &format!("_token={token}"));
    wrong.headers_mut().insert(
        "x-csrf-token",
        other_token.replace('A', "B").parse().expect("t"),
    );
    refused_with(&h.send(wrong).await, CsrfError::InvalidToken);
}

#[tokio::test]
async fn multipart_forms_carry_the_token_too() {
    let h = Harness::new(|c| c);
    let (token, cookie) = h.token().await;
    let body = format!(
        "--b0undary\r\nContent-Disposition: form-data; name=\"_token\"\r\n\r\n{token}\r\n\
         --b0undary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\
         Content-Type: text/plain\r\n\r\n{}\r\n--b0undary--\r\n",
        "x".repeat(100_000)
    );
    let mut request = form_post("/upload", "same-origin", &cookie, &body);
    request.headers_mut().insert(
        header::CONTENT_TYPE,
        "multipart/form-data; boundary=b0undary"
            .parse()
            .expect("ct"),
    );
    let response = h.send(request).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.body(), &body);
}

/// A body that arrives in the chunks given, as from a socket.
struct Chunks(std::collections::VecDeque<bytes::Bytes>);

impl http_body::Body for Chunks {
    type Data = bytes::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, Self::Error>>> {
        std::task::Poll::Ready(self.0.pop_front().map(|c| Ok(http_body::Frame::data(c))))
    }
}

#[tokio::test]
async fn the_token_is_looked_for_only_in_the_first_bytes_of_a_stream() {
    let manager = plain_http();
    let h = Harness::new(|c| c);
    let (token, cookie) = h.token().await;
    let app = ServiceBuilder::new()
        .layer(CsrfLayer::new(&manager).max_form_bytes(1000))
        .layer(SessionLayer::new(manager))
        .service(service_fn(|req: Request<CsrfBody<Chunks>>| async move {
            let body = req.into_body().collect().await?.to_bytes();
            Ok::<_, BoxError>(Response::new(String::from_utf8(body.to_vec())?))
        }));
    let send = |chunks: Vec<String>| {
        let request = form_post("/save", "same-origin", &cookie, "");
        let (parts, _) = request.into_parts();
        let body = Chunks(chunks.into_iter().map(bytes::Bytes::from).collect());
        app.clone().oneshot(Request::from_parts(parts, body))
    };
    let note = format!("note={}&", "x".repeat(600));
    // First: found after one chunk, and the handler still gets every byte.
    let first = vec![format!("_token={token}&"), note.clone(), note.clone()];
    let response = send(first.clone()).await.expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.body(), &first.concat());
    // Past the limit: refused without reading on.
    let late = vec![note.clone(), note.clone(), format!("_token={token}")];
    let response = send(late).await.expect("response");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        response.extensions().get::<CsrfError>(),
        Some(&CsrfError::MissingToken)
    );
}

#[tokio::test]
async fn clients_without_browser_headers_pass_unless_tokens_are_required() {
    let curl = || {
        Request::post("/save")
            .header(header::HOST, "app.example")
            .body("name=Ada".to_owned())
            .expect("request")
    };
    let h = Harness::new(|c| c);
    assert_eq!(h.send(curl()).await.status(), StatusCode::OK);
    let strict = Harness::new(CsrfLayer::require_token_from_every_client);
    refused_with(&strict.send(curl()).await, CsrfError::MissingToken);
}

#[tokio::test]
async fn safe_methods_and_exempt_paths_pass() {
    let h = Harness::new(|c| c.exempt("/hooks/pay").exempt_prefix("/api/"));
    let mut cross_get = get("/form");
    cross_get
        .headers_mut()
        .insert("sec-fetch-site", "cross-site".parse().expect("v"));
    assert_eq!(h.send(cross_get).await.status(), StatusCode::OK);
    for path in ["/hooks/pay", "/api/items"] {
        let response = h.send(form_post(path, "cross-site", "", "x=1")).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
    let near = h
        .send(form_post("/hooks/pay/more", "cross-site", "", "x=1"))
        .await;
    refused_with(&near, CsrfError::CrossSite);
    // Paths that a normalizing proxy or router would send elsewhere.
    for sneaky in [
        "/api/../login",
        "/api/%2e%2e/login",
        "/api/..%2Flogin",
        "/api//login",
        "/api/./x/../../logout",
        "/api/%5C..%5Clogin",
    ] {
        let response = h.send(form_post(sneaky, "cross-site", "", "x=1")).await;
        refused_with(&response, CsrfError::CrossSite);
    }
    let mut delete = form_post("/api2/items", "cross-site", "", "");
    *delete.method_mut() = Method::DELETE;
    refused_with(&h.send(delete).await, CsrfError::CrossSite);
}

#[tokio::test]
async fn trusted_origins_pass_the_first_line_but_still_need_a_token() {
    let h = Harness::new(|c| c.trust_origin("https://admin.example/"));
    let (token, cookie) = h.token().await;
    let mut request = form_post("/save", "cross-site", &cookie, &format!("_token={token}"));
    request
        .headers_mut()
        .insert(header::ORIGIN, "https://admin.example".parse().expect("o"));
    assert_eq!(h.send(request).await.status(), StatusCode::OK);
    let mut without = form_post("/save", "cross-site", &cookie, "x=1");
    without
        .headers_mut()
        .insert(header::ORIGIN, "https://admin.example".parse().expect("o"));
    refused_with(&h.send(without).await, CsrfError::MissingToken);
}

#[tokio::test]
async fn a_token_from_before_a_login_fails_after_it() {
    let h = Harness::new(|c| c);
    let (token, cookie) = h.token().await;
    let login = h
        .send(form_post(
            "/login",
            "same-origin",
            &cookie,
            &format!("_token={token}"),
        ))
        .await;
    assert_eq!(login.status(), StatusCode::OK);
    let new_secret = set_cookie(&login, "csrf").expect("the secret is replaced on login");
    let session = set_cookie(&login, "session_id").expect("session");
    let cookies = format!("{new_secret}; {session}");
    let replay = h
        .send(form_post(
            "/save",
            "same-origin",
            &cookies,
            &format!("_token={token}"),
        ))
        .await;
    refused_with(&replay, CsrfError::InvalidToken);
}

#[tokio::test]
async fn the_application_can_answer_refusals_itself() {
    fn page(err: &CsrfError) -> Option<Response<String>> {
        let mut response = Response::new(format!("<h1>Refused</h1><p>{err}</p>"));
        *response.status_mut() = StatusCode::FORBIDDEN;
        Some(response)
    }
    let h = Harness::new(|c| c.with_rejection(page));
    let response = h.send(form_post("/save", "cross-site", "", "")).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.body().starts_with("<h1>Refused</h1>"));
    assert_eq!(
        response.extensions().get::<CsrfError>(),
        Some(&CsrfError::CrossSite)
    );
}

#[tokio::test]
async fn the_session_layer_alone_still_refuses_cross_site_requests() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let app = ServiceBuilder::new()
        .layer(SessionLayer::new(plain_http()))
        .service(service_fn(move |req: Request<String>| {
            counted.fetch_add(1, Ordering::SeqCst);
            async move {
                sessions(&req).session().await?.set("user", "mallory")?;
                Ok::<_, BoxError>(Response::new(String::new()))
            }
        }));
    let attack = form_post("/login", "cross-site", "", "name=Mallory");
    let response = app.clone().oneshot(attack).await.expect("response");
    refused_with(&response, CsrfError::CrossSite);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    let curl = Request::post("/login")
        .body(String::new())
        .expect("request");
    assert_eq!(
        app.oneshot(curl).await.expect("response").status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn with_csrf_puts_the_csrf_layer_in_front() {
    let app = ServiceBuilder::new()
        .layer(SessionLayer::new(plain_http()).with_csrf())
        .service(service_fn(|_req: Request<CsrfBody<String>>| async {
            Ok::<_, BoxError>(Response::new(String::new()))
        }));
    let response = app
        .oneshot(form_post("/save", "same-origin", "", "name=Ada"))
        .await
        .expect("response");
    refused_with(&response, CsrfError::MissingToken);
}
