//! The demo server, shared by `examples/app.rs`, `examples/axum.rs` and the
//! end-to-end tests (which include this file with `#[path]`). Its routes are
//! a stable contract: the browser, e2e and benchmark scripts drive them.
//!
//! | route | does |
//! | --- | --- |
//! | `GET /` | the home page, with the messages include, a login form and a flash form |
//! | `POST /login` (form `name`) | a name of 1 to 40 characters: sets `user`, regenerates the id, flashes `success`, 303 to `/dashboard`; otherwise 303 back to the form with the error and the typed name |
//! | `GET /dashboard` | the user's name (or a login link) and the messages include |
//! | `POST /flash` (form `level`, `message`) | flashes `level` = `message`, 303 to `/` |
//! | `POST /logout` | invalidates, flashes `warning`, 303 to `/` |
//! | `GET /session` | `all()` of the default driver as JSON |
//! | `GET /static/app.css` | the pages' stylesheet (`static/app.css`), compiled in |
//!
//! Every `POST` passes the [`CsrfLayer`](session_views::CsrfLayer): a page of
//! another site cannot post to it, and each form carries `csrf_field()`.
#![allow(dead_code)] // each includer uses a different part

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use serde_json::json;
use session_core::{ConfigError, ErrorBag, SessionConfig, SessionManager};
use session_views::{CsrfBody, Redirect, SessionLayer, Views, sessions};
use tokio::net::TcpListener;
use tower::{Service, ServiceBuilder, ServiceExt};

/// The largest form body the demo reads.
const MAX_FORM_BYTES: usize = 16 * 1024;

/// The longest name `POST /login` accepts, in characters.
pub const MAX_NAME_CHARS: usize = 40;

/// A request as the demo's handlers get it, past the CSRF check.
type DemoRequest = Request<CsrfBody<Incoming>>;

/// Used only by the demo, and only when `SESSION_SECRET` is not set.
pub const DEVELOPMENT_SECRET: &str =
    "session-views demo secret: NEVER use this outside local development";

/// What the demo needs at start-up.
#[derive(Debug)]
pub struct Demo {
    /// The session drivers, from `SessionConfig::from_env`.
    pub manager: SessionManager,
    /// The templates, in the engine `TEMPLATE_ENGINE` chose.
    pub views: Views,
}

/// The template directory shared by both engines.
pub fn templates_dir() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/templates").to_owned()
}

/// Views for `engine` (`minijinja` or `tera`) over [`templates_dir`]: every
/// template compiled now (a syntax error stops the demo at start-up), or
/// re-read on change with `TEMPLATES_AUTO_RELOAD=1`.
pub fn views(engine: &str) -> Result<Views, String> {
    let builder = Views::builder(templates_dir())
        .auto_reload_from_env()
        .map_err(|e| e.to_string())?;
    match engine {
        // MiniJinja with Tera's trailing newline, so both engines' pages match byte for byte.
        "minijinja" => builder.minijinja(),
        "tera" => builder.tera(),
        other => {
            return Err(format!(
                "TEMPLATE_ENGINE is `{other}`; expected minijinja or tera"
            ));
        }
    }
    .map_err(|e| format!("loading the templates failed: {e}"))
}

/// The session configuration from the environment, with the demo's
/// development defaults: plain-http cookies and a fixed secret for the cookie
/// driver when none is set (the returned flag says a default was used).
pub fn config_from_env() -> Result<(SessionConfig, bool), ConfigError> {
    let mut config = SessionConfig::from_lookup(|var| std::env::var(var).ok())?;
    if std::env::var("SESSION_COOKIE_SECURE").is_err() {
        // The demo serves plain http on localhost.
        config = config.with_cookie_secure(false);
    }
    let mut default_secret = false;
    if config.secret().is_none() {
        config = config.with_secret(DEVELOPMENT_SECRET)?;
        default_secret = config.driver() == "cookie";
    }
    Ok((config, default_secret))
}

/// Builds the manager for `config`, connecting the redis driver, to the Redis
/// at `REDIS_URL`, or the postgres driver, to the database at `DATABASE_URL`,
/// when it is the default (an unreachable store stops the demo at start-up).
pub async fn manager(config: &SessionConfig) -> Result<SessionManager, ConfigError> {
    let mut builder = SessionManager::builder_from_config(config)?;
    if config.driver() == "redis" {
        builder = builder.driver("redis", session_redis::RedisDriver::from_env(config).await?);
    }
    if config.driver() == "postgres" {
        builder = builder.driver(
            "postgres",
            session_postgres::PostgresDriver::from_env(config).await?,
        );
    }
    builder.build()
}

/// The demo as a hyper-compatible tower service.
pub fn service(
    demo: Arc<Demo>,
) -> impl Service<Request<Incoming>, Response = Response<Full<Bytes>>, Error = Infallible, Future: Send>
+ Clone
+ Send
+ 'static {
    ServiceBuilder::new()
        .layer(SessionLayer::new(demo.manager.clone()).with_csrf())
        .service(tower::service_fn(move |req| {
            let demo = demo.clone();
            async move { Ok::<_, Infallible>(route(&demo, req).await) }
        }))
}

/// Serves the demo on `listener` until `shutdown` completes, then lets open
/// connections finish.
pub async fn serve(
    listener: TcpListener,
    demo: Arc<Demo>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let service = service(demo);
    let graceful = GracefulShutdown::new();
    let builder = auto::Builder::new(TokioExecutor::new());
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                let service = service.clone();
                let hyper_service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
                    req.extensions_mut().insert::<SocketAddr>(peer);
                    service.clone().oneshot(req)
                });
                let conn = builder.serve_connection(TokioIo::new(stream), hyper_service).into_owned();
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
            () = &mut shutdown => break,
        }
    }
    graceful.shutdown().await;
}

async fn route(demo: &Demo, req: DemoRequest) -> Response<Full<Bytes>> {
    let method = req.method().clone();
    let get = method == Method::GET || method == Method::HEAD;
    match (req.uri().path(), get, method == Method::POST) {
        ("/", true, _) => {
            page(
                demo,
                &req,
                "demo/home.html",
                json!({"title": "session-views demo"}),
            )
            .await
        }
        ("/dashboard", true, _) => dashboard(demo, &req).await,
        ("/session", true, _) => session_json(&req).await,
        (STYLESHEET_PATH, true, _) => stylesheet(),
        ("/login", _, true) => login(req).await,
        ("/flash", _, true) => flash(req).await,
        ("/logout", _, true) => logout(req).await,
        ("/" | "/dashboard" | "/session" | "/login" | "/flash" | "/logout", _, _) => {
            text(StatusCode::METHOD_NOT_ALLOWED, "405 Method Not Allowed\n")
        }
        (STYLESHEET_PATH, _, _) => text(StatusCode::METHOD_NOT_ALLOWED, "405 Method Not Allowed\n"),
        _ => text(StatusCode::NOT_FOUND, "404 Not Found\n"),
    }
}

async fn page(
    demo: &Demo,
    req: &DemoRequest,
    name: &str,
    context: serde_json::Value,
) -> Response<Full<Bytes>> {
    match demo.views.render(sessions(req), name, context).await {
        Ok(html) => {
            let mut res = Response::new(Full::from(html));
            res.headers_mut().insert(
                header::CONTENT_TYPE,
                http::HeaderValue::from_static("text/html; charset=utf-8"),
            );
            res
        }
        Err(e) if e.is_unavailable() => unavailable(),
        Err(e) => {
            eprintln!("render error: {e}");
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "500 Internal Server Error\n",
            )
        }
    }
}

async fn dashboard(demo: &Demo, req: &DemoRequest) -> Response<Full<Bytes>> {
    /// What the dashboard reads of the `user` that `POST /login` stores.
    #[derive(serde::Deserialize)]
    struct User {
        name: String,
    }
    let user = match sessions(req).session().await {
        // A typed read parses just the fields it needs; a `user` of another
        // shape shows as signed out.
        Ok(session) => session.get_as::<User>("user").ok().flatten(),
        Err(_) => {
            return unavailable();
        }
    };
    let name = user.map(|user| user.name);
    page(
        demo,
        req,
        "demo/dashboard.html",
        json!({"title": "Dashboard", "name": name}),
    )
    .await
}

async fn session_json(req: &DemoRequest) -> Response<Full<Bytes>> {
    match sessions(req).session().await {
        Ok(session) => {
            let mut res = Response::new(Full::from(session.all().to_string()));
            res.headers_mut().insert(
                header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/json"),
            );
            res
        }
        Err(_) => unavailable(),
    }
}

async fn login(req: DemoRequest) -> Response<Full<Bytes>> {
    let sessions = sessions(&req).clone();
    let headers = req.headers().clone();
    let form = match read_form(req).await {
        Ok(form) => form,
        Err(res) => return res,
    };
    let name = form_value(&form, "name").unwrap_or_default();
    let name = name.trim();
    let errors = validate_name(name);
    if errors.any() {
        return Redirect::back(&headers, "/")
            .with_input(form.iter().map(|(k, v)| (k, v)))
            .with_errors(errors)
            .into_response();
    }
    let result = async {
        let session = sessions.session().await?;
        session.set("user", json!({"name": name}))?;
        session.regenerate()?;
        Ok::<_, session_core::SessionError>(())
    }
    .await;
    match result {
        Ok(()) => Redirect::see_other("/dashboard")
            .flash("success", format!("Welcome back, {name}!"))
            .into_response(),
        Err(e) if e.is_unavailable() => unavailable(),
        // A validated name always fits: anything else is the server's fault,
        // and its text is for the log, not the visitor.
        Err(e) => {
            eprintln!("login failed: {e}");
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "500 Internal Server Error\n",
            )
        }
    }
}

/// The login form's rules: a name is required and at most
/// [`MAX_NAME_CHARS`] characters long.
pub fn validate_name(name: &str) -> ErrorBag {
    let mut errors = ErrorBag::new();
    let chars = name.chars().count();
    if chars == 0 {
        errors.add("name", "Enter a name to log in.");
    } else if chars > MAX_NAME_CHARS {
        errors.add(
            "name",
            format!("Use at most {MAX_NAME_CHARS} characters (this one has {chars})."),
        );
    }
    errors
}

async fn flash(req: DemoRequest) -> Response<Full<Bytes>> {
    let form = match read_form(req).await {
        Ok(form) => form,
        Err(res) => return res,
    };
    let level = form_value(&form, "level").unwrap_or_default();
    if !matches!(level.as_str(), "success" | "warning" | "danger") {
        return text(
            StatusCode::BAD_REQUEST,
            "400 Bad Request: level must be success, warning or danger\n",
        );
    }
    let message = form_value(&form, "message").unwrap_or_default();
    Redirect::see_other("/")
        .flash(level, message)
        .into_response()
}

async fn logout(req: DemoRequest) -> Response<Full<Bytes>> {
    match sessions(&req).session().await {
        Ok(session) => match session.invalidate() {
            Ok(()) => Redirect::see_other("/")
                .flash("warning", "You have been logged out.")
                .into_response(),
            // Only after the response was finished, which cannot happen here.
            Err(_) => text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "500 Internal Server Error\n",
            ),
        },
        Err(_) => unavailable(),
    }
}

async fn read_form(req: DemoRequest) -> Result<Vec<(String, String)>, Response<Full<Bytes>>> {
    let body = Limited::new(req.into_body(), MAX_FORM_BYTES);
    let bytes = body
        .collect()
        .await
        .map_err(|_| {
            text(
                StatusCode::PAYLOAD_TOO_LARGE,
                "413 Payload Too Large: forms are limited to 16 KiB\n",
            )
        })?
        .to_bytes();
    Ok(form_urlencoded::parse(&bytes).into_owned().collect())
}

fn form_value(form: &[(String, String)], name: &str) -> Option<String> {
    form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

/// The session store is down: 503, and when to try again (as the layer's
/// own 503s say), so that clients and proxies retry instead of giving up.
fn unavailable() -> Response<Full<Bytes>> {
    let mut res = text(
        StatusCode::SERVICE_UNAVAILABLE,
        "503 Service Unavailable: the session store is unavailable\n",
    );
    res.headers_mut()
        .insert(header::RETRY_AFTER, http::HeaderValue::from_static("1"));
    res
}

/// Where the pages (`templates/demo/base.html`) link the stylesheet.
const STYLESHEET_PATH: &str = "/static/app.css";

/// The stylesheet, served by the demo itself so that it works offline. It
/// never touches the session: a stylesheet request neither loads it nor
/// clears the flash.
fn stylesheet() -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::from(Bytes::from_static(include_bytes!(
        "../../static/app.css"
    ))));
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/css; charset=utf-8"),
    );
    res
}

fn text(status: StatusCode, body: &str) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::from(body.to_owned()));
    *res.status_mut() = status;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    res
}
