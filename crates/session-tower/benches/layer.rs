//! The layer's cost per request: a whole request through [`SessionLayer`]
//! with `tower::ServiceExt::oneshot` (memory and cookie drivers), against
//! the same handler without the layer, whose "session data" is a constant.
//!
//! - `dashboard_get`: a logged-in GET that reads `user` and formats one line.
//! - `flash_round_trip`: POST /flash (a redirect that flashes) then GET /
//!   carrying the cookies the POST set; the GET shows and clears the flash.
//! - `untouched_get`: a GET whose handler never asks for a session.
//!
//! `cargo bench -p session-tower --bench layer`
#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::collections::BTreeMap;
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::LazyLock;
use std::task::{Context, Poll, Waker};

use criterion::{Criterion, criterion_group, criterion_main};
use http::{Method, Request, Response, StatusCode, header};
use serde_json::{Value, json};
use session_core::{SessionConfig, SessionError, SessionManager};
use session_tower::{Redirect, SessionLayer, sessions};
use tower::{ServiceBuilder, ServiceExt, service_fn};

const SECRET: &str = "a benchmark secret that is long enough to use";

static USER: LazyLock<Value> = LazyLock::new(|| json!({"name": "Ada Lovelace"}));

type App = tower::util::BoxCloneService<Request<String>, Response<String>, SessionError>;

/// Polls `future` once; it must be ready. The memory and cookie drivers
/// never wait, so no runtime's cost lands in the measurement.
fn ready<F: Future>(future: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(future).poll(&mut cx) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("this request was expected never to wait"),
    }
}

fn page(body: String) -> Response<String> {
    let mut res = Response::new(body);
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    res
}

fn dashboard_line(user: Option<&Value>) -> String {
    match user.and_then(|u| u.get("name")).and_then(Value::as_str) {
        Some(name) => format!("<p id=\"user\">Signed in as <strong>{name}</strong>.</p>\n"),
        None => "<p id=\"user\">You are not signed in.</p>\n".to_owned(),
    }
}

fn message_line(message: Option<&Value>) -> String {
    match message.and_then(Value::as_str) {
        Some(text) => format!("<div class=\"alert alert-success\">{text}</div>\n"),
        None => String::new(),
    }
}

/// The handler behind the layer: the demo's routes in miniature.
async fn with_sessions(req: Request<String>) -> Result<Response<String>, SessionError> {
    match (req.method(), req.uri().path()) {
        (&Method::POST, "/login") => {
            let session = sessions(&req).session().await?;
            session.set("user", &*USER)?;
            session.regenerate().expect("open");
            Ok(Redirect::see_other("/dashboard").into_response())
        }
        (&Method::POST, "/flash") => Ok(Redirect::see_other("/")
            .flash("success", "Saved!")
            .into_response()),
        (_, "/dashboard") => {
            let user = sessions(&req).session().await?.get("user");
            Ok(page(dashboard_line(user.as_ref())))
        }
        (_, "/") => {
            let message = sessions(&req).session().await?.get("success");
            Ok(page(message_line(message.as_ref())))
        }
        _ => Ok(page("<p>static</p>\n".to_owned())),
    }
}

/// The same handler with no layer: the session's values are constants.
async fn without_sessions(req: Request<String>) -> Result<Response<String>, SessionError> {
    match (req.method(), req.uri().path()) {
        (&Method::POST, "/flash") => Ok(Redirect::see_other("/").into_response()),
        (_, "/dashboard") => Ok(page(dashboard_line(Some(&USER.clone())))),
        (_, "/") => Ok(page(message_line(Some(&json!("Saved!"))))),
        _ => Ok(page("<p>static</p>\n".to_owned())),
    }
}

fn layered(manager: SessionManager) -> App {
    tower::util::BoxCloneService::new(
        ServiceBuilder::new()
            .layer(SessionLayer::new(manager))
            .service(service_fn(with_sessions)),
    )
}

fn bare() -> App {
    tower::util::BoxCloneService::new(service_fn(without_sessions))
}

/// The browser's cookies, enough for these routes: set, replace, remove.
#[derive(Clone, Default)]
struct Jar(BTreeMap<String, String>);

impl Jar {
    fn update(&mut self, res: &Response<String>) {
        for line in res.headers().get_all(header::SET_COOKIE) {
            let line = line.to_str().expect("ascii Set-Cookie");
            let pair = line.split(';').next().unwrap_or_default();
            let (name, value) = pair.split_once('=').expect("name=value");
            if value.is_empty() {
                self.0.remove(name);
            } else {
                self.0.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

fn request(method: Method, path: &str, cookie: &str) -> Request<String> {
    let mut req = Request::builder().method(method).uri(path);
    if !cookie.is_empty() {
        req = req.header(header::COOKIE, cookie);
    }
    req.body(String::new()).expect("request")
}

fn send(app: &App, method: Method, path: &str, cookie: &str) -> Response<String> {
    ready(app.clone().oneshot(request(method, path, cookie))).expect("response")
}

/// POST /flash, then GET / with the cookies the POST left.
fn flash_round_trip(app: &App, jar: &Jar) -> Response<String> {
    let cookie = jar.header();
    let redirect = send(app, Method::POST, "/flash", &cookie);
    debug_assert_eq!(redirect.status(), StatusCode::SEE_OTHER);
    let mut after = jar.clone();
    after.update(&redirect);
    send(app, Method::GET, "/", &after.header())
}

/// A logged-in client of `app`, checked to see what the benchmark measures.
fn logged_in(app: &App) -> Jar {
    let mut jar = Jar::default();
    let res = send(app, Method::POST, "/login", "");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    jar.update(&res);
    let dashboard = send(app, Method::GET, "/dashboard", &jar.header());
    assert!(
        dashboard.body().contains("Ada Lovelace"),
        "{}",
        dashboard.body()
    );
    assert!(
        dashboard.headers().get(header::SET_COOKIE).is_none(),
        "a read writes nothing"
    );
    let shown = flash_round_trip(app, &jar);
    assert!(shown.body().contains("Saved!"), "{}", shown.body());
    let again = send(app, Method::GET, "/", &jar.header());
    assert_eq!(again.body(), "", "the flash shows once");
    jar
}

fn managers() -> Vec<(&'static str, SessionManager)> {
    let memory = SessionManager::builder().build().expect("memory manager");
    let config = SessionConfig::default()
        .with_driver("cookie")
        .with_secret(SECRET)
        .expect("secret");
    let cookie = SessionManager::from_config(&config).expect("cookie manager");
    vec![("memory", memory), ("cookie", cookie)]
}

fn bench(c: &mut Criterion) {
    let apps: Vec<(&str, App, Jar)> = managers()
        .into_iter()
        .map(|(name, manager)| {
            let app = layered(manager);
            let jar = logged_in(&app);
            (name, app, jar)
        })
        .collect();
    let bare = bare();

    let mut group = c.benchmark_group("dashboard_get");
    for (name, app, jar) in &apps {
        let cookie = jar.header();
        group.bench_function(format!("layer, {name}"), |b| {
            b.iter(|| black_box(send(app, Method::GET, "/dashboard", &cookie)))
        });
    }
    let cookie = apps[0].2.header();
    group.bench_function("no layer", |b| {
        b.iter(|| black_box(send(&bare, Method::GET, "/dashboard", &cookie)))
    });
    group.finish();

    let mut group = c.benchmark_group("flash_round_trip");
    for (name, app, jar) in &apps {
        group.bench_function(format!("layer, {name}"), |b| {
            b.iter(|| black_box(flash_round_trip(app, jar)))
        });
    }
    let jar = apps[0].2.clone();
    group.bench_function("no layer", |b| {
        b.iter(|| black_box(flash_round_trip(&bare, &jar)))
    });
    group.finish();

    let mut group = c.benchmark_group("untouched_get");
    for (name, app, jar) in &apps {
        let cookie = jar.header();
        group.bench_function(format!("layer, {name}"), |b| {
            b.iter(|| black_box(send(app, Method::GET, "/static", &cookie)))
        });
    }
    group.bench_function("no layer", |b| {
        b.iter(|| black_box(send(&bare, Method::GET, "/static", &cookie)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
