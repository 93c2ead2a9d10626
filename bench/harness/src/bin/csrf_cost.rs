//! What the CSRF protection costs a page, counted in instructions: run it
//! under callgrind (`bench/csrf_cost.sh` does) with two request counts and
//! take the difference, so start-up and the log-in cancel out.
//!
//! `csrf_cost MODE N` sends N logged-in `GET /dashboard` requests, in
//! process (no sockets, no runtime: the memory driver never waits), through
//! the demo's stack on the memory driver, and renders the demo's dashboard
//! (which has one `csrf_field()`, in its logout form):
//!
//! | MODE | stack | template |
//! | --- | --- | --- |
//! | `layer` | `SessionLayer` | the dashboard |
//! | `csrf` | `SessionLayer::with_csrf()` (the demo's) | the dashboard |
//! | `no-field` | `SessionLayer` | a page that reads the session and renders no field |
//! | `one-field` | `SessionLayer` | the same page with one `csrf_field()` |
//! | `two-fields` | `SessionLayer` | the same page with two |
//!
//! `csrf` − `layer` is what the CSRF check adds to a `GET`; `one-field` −
//! `no-field` is what rendering one field costs (the request's first token:
//! it reads the browser's secret from its cookie), `two-fields` −
//! `one-field` what each further field costs.

use std::convert::Infallible;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use serde_json::json;
use session_core::SessionManager;
use session_views::{SessionLayer, Views, sessions};
use tower::{Service, ServiceBuilder, ServiceExt, service_fn};

/// Polls `future` once; it must be ready.
fn ready<F: Future>(future: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(future).poll(&mut cx) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the memory driver never waits"),
    }
}

/// The page of the `*-field(s)` modes: the dashboard's session read and
/// its form, with 0, 1 or 2 fields.
fn field_page(fields: usize) -> String {
    format!(
        "{{% if session().has('user') %}}<form method=\"post\" action=\"/logout\">{}</form>{{% endif %}}\n",
        "{{ csrf_field() }}".repeat(fields)
    )
}

async fn handler<B>(
    views: Arc<Views>,
    template: &'static str,
    req: Request<B>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let sessions = sessions(&req);
    let session = sessions.session().await.expect("the memory driver");
    if req.method() == Method::POST {
        session
            .set("user", json!({"name": "Ada Lovelace"}))
            .expect("set");
        session.regenerate().expect("open");
        let mut res = Response::new(Full::default());
        *res.status_mut() = StatusCode::SEE_OTHER;
        return Ok(res);
    }
    #[derive(serde::Deserialize)]
    struct User {
        name: String,
    }
    let name = session
        .get_as::<User>("user")
        .ok()
        .flatten()
        .map(|u| u.name);
    let html = views
        .render(
            sessions,
            template,
            json!({"title": "Dashboard", "name": name}),
        )
        .await
        .expect("render");
    Ok(Response::new(Full::from(html)))
}

fn get(cookie: &str) -> Request<Full<Bytes>> {
    Request::builder()
        .uri("/dashboard")
        .header(header::COOKIE, cookie)
        .body(Full::default())
        .expect("request")
}

/// Logs in through `app` (a POST a non-browser client may send) and
/// returns the Cookie header a browser would send next, after one page
/// that made a CSRF token (so the secret cookie is set too).
fn log_in<S>(app: &S) -> String
where
    S: Service<Request<Full<Bytes>>, Response = Response<Full<Bytes>>, Error = Infallible> + Clone,
{
    fn keep(jar: &mut Vec<String>, res: &Response<Full<Bytes>>) {
        for line in res.headers().get_all(header::SET_COOKIE) {
            let pair = line
                .to_str()
                .expect("ascii")
                .split(';')
                .next()
                .unwrap_or_default();
            let (name, _) = pair.split_once('=').expect("name=value");
            jar.retain(|kept| !kept.starts_with(&format!("{name}=")));
            jar.push(pair.to_owned());
        }
    }
    let mut jar = Vec::new();
    let login = Request::builder()
        .method(Method::POST)
        .uri("/login")
        .body(Full::default())
        .expect("request");
    let res = ready(app.clone().oneshot(login)).expect("infallible");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    keep(&mut jar, &res);
    let res = ready(app.clone().oneshot(get(&jar.join("; ")))).expect("infallible");
    keep(&mut jar, &res);
    let cookie = jar.join("; ");
    // Logged in, with the secret: the pages measured set no cookie.
    let res = ready(app.clone().oneshot(get(&cookie))).expect("infallible");
    assert!(res.headers().get(header::SET_COOKIE).is_none(), "{cookie}");
    assert_eq!(jar.len(), 2, "a session id and a CSRF secret: {cookie}");
    cookie
}

fn run<S>(app: S, n: usize, fields: usize)
where
    S: Service<Request<Full<Bytes>>, Response = Response<Full<Bytes>>, Error = Infallible> + Clone,
{
    let cookie = log_in(&app);
    let page = ready(app.clone().oneshot(get(&cookie))).expect("infallible");
    let page = ready(page.into_body().collect())
        .expect("infallible")
        .to_bytes();
    let page = String::from_utf8_lossy(&page);
    assert_eq!(page.matches("name=\"_token\"").count(), fields, "{page}");
    assert!(fields == 0 || page.contains("action=\"/logout\""), "{page}");
    for _ in 0..n {
        let res = ready(app.clone().oneshot(get(&cookie))).expect("infallible");
        assert_eq!(res.status(), StatusCode::OK);
        std::hint::black_box(res);
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(mode), Some(n)) = (args.next(), args.next().and_then(|n| n.parse().ok())) else {
        eprintln!("usage: csrf_cost layer|csrf|no-field|one-field|two-fields N");
        std::process::exit(2);
    };
    let templates = concat!(env!("CARGO_MANIFEST_DIR"), "/../../templates");
    let mut env = minijinja::Environment::new();
    env.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .keep_trailing_newline(true)
            .build()
            .expect("syntax"),
    );
    for fields in 0..3 {
        env.add_template_owned(format!("fields-{fields}.html"), field_page(fields))
            .expect("template");
    }
    let views = Views::builder(templates)
        .minijinja_with(env)
        .expect("the demo's templates");
    let views = Arc::new(views);
    let manager = SessionManager::builder().build().expect("memory manager");
    let (template, fields) = match mode.as_str() {
        "layer" | "csrf" => ("demo/dashboard.html", 1),
        "no-field" => ("fields-0.html", 0),
        "one-field" => ("fields-1.html", 1),
        "two-fields" => ("fields-2.html", 2),
        other => {
            eprintln!("unknown mode {other}");
            std::process::exit(2);
        }
    };
    if mode == "csrf" {
        run(
            ServiceBuilder::new()
                .layer(SessionLayer::new(manager).with_csrf())
                .service(service_fn(move |req| handler(views.clone(), template, req))),
            n,
            fields,
        );
    } else {
        run(
            ServiceBuilder::new()
                .layer(SessionLayer::new(manager))
                .service(service_fn(move |req| handler(views.clone(), template, req))),
            n,
            fields,
        );
    }
}
