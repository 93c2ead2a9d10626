//! The benchmark floor for `bench/run.sh`: the demo's pages on the same
//! hyper 1 stack with the same MiniJinja templates, but without sessions:
//! the fastest reasonable server for the same bytes.
//!
//! Every template is read and compiled once at start-up, as the demo's are
//! (rendering touches no file). The one template that calls `session()`,
//! `helpers/messages.html`, is swapped for a copy that reads plain context
//! variables; the data a session would hold comes from the environment
//! instead. The form helpers the pages call get the cheapest stand-ins
//! that send the same bytes: `csrf_field()` is one hidden `_token` input
//! with a fixed token of a real token's length (86 characters of URL-safe
//! base64), built once; `old()` is `""`; `errors()` is an empty bag. Both
//! servers therefore send the same bytes for the same page (the tokens
//! aside, which differ on every render of the demo), and the difference in
//! requests per second is the cost of sessions.
//!
//! | route | does |
//! | --- | --- |
//! | `GET /` | the home page, showing `FLOOR_FLASH` as a success message |
//! | `GET /dashboard` | the dashboard, signed in as `FLOOR_NAME` |
//! | `POST /flash` | reads the form as the demo does, 303 to `/` |
//! | `GET /static/app.css` | the stylesheet the pages link, as the demo serves it |
//!
//! `PORT=8001 cargo run --release -p session-views-bench --bin floor`

use std::convert::Infallible;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use minijinja::value::{Object, ObjectRepr};
use minijinja::{Environment, Error, ErrorKind, State};
use serde_json::{Value, json};
use tokio::net::TcpListener;

const MAX_FORM_BYTES: usize = 16 * 1024;

/// `helpers/messages.html` with `session().has(k)` / `session().get(k)`
/// replaced by the plain variables `flash.k`; otherwise identical, so the
/// output is byte for byte the demo's.
const PLAIN_MESSAGES: &str = r#"{#- the floor's copy of helpers/messages.html -#}
{%- if flash.success is defined -%}
<div class="alert alert-success" role="alert">{{ flash.success }}</div>
{% elif flash.warning is defined -%}
<div class="alert alert-warning" role="alert">{{ flash.warning }}</div>
{% elif flash.danger is defined -%}
<div class="alert alert-danger" role="alert">{{ flash.danger }}</div>
{% endif -%}
"#;

#[derive(Debug)]
struct Floor {
    env: Environment<'static>,
    name: String,
    flash: String,
}

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = match std::env::var("PORT") {
        Ok(port) => port
            .parse()
            .map_err(|_| format!("PORT={port:?} is not a port number"))?,
        Err(_) => 8001,
    };
    let templates = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../templates"));
    let mut env = Environment::new();
    // As the demo: keep a template's final newline.
    env.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .keep_trailing_newline(true)
            .build()?,
    );
    add_templates(&mut env, templates, "")?;
    env.add_template("helpers/messages.html", PLAIN_MESSAGES)?;
    add_form_stand_ins(&mut env);
    let floor = Arc::new(Floor {
        env,
        name: std::env::var("FLOOR_NAME").unwrap_or_else(|_| "Ada Lovelace".to_owned()),
        flash: std::env::var("FLOOR_FLASH").unwrap_or_else(|_| "Saved from wrk".to_owned()),
    });
    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))?;
    println!("floor (no sessions) on http://127.0.0.1:{port}; Ctrl-C stops it");
    let builder = auto::Builder::new(TokioExecutor::new());
    let shutdown = tokio::signal::ctrl_c();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let floor = floor.clone();
                let service = hyper::service::service_fn(move |req| {
                    let floor = floor.clone();
                    async move { Ok::<_, Infallible>(route(&floor, req).await) }
                });
                let conn = builder.serve_connection(TokioIo::new(stream), service).into_owned();
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
            _ = &mut shutdown => return Ok(()),
        }
    }
}

/// Adds every template under `dir` (names relative to the top directory,
/// with `/`), compiled now.
fn add_templates(
    env: &mut Environment<'static>,
    dir: &Path,
    prefix: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
        if name.starts_with('.') || name.contains("/.") {
            continue;
        }
        if entry.file_type()?.is_dir() {
            add_templates(env, &entry.path(), &format!("{name}/"))?;
        } else {
            env.add_template_owned(name, std::fs::read_to_string(entry.path())?)?;
        }
    }
    Ok(())
}

/// A token of the length the demo's `csrf_field()` renders: the encoding
/// of a 32-byte mask and a 32-byte masked secret.
const FIXED_TOKEN: &str =
    "a_lHk02kKYsvQ7PDJbyYn8a_z8wDSZJ5aMWanz7ldv-_-TU0nFReV7cdwPy-skbjloRenUeQMNMgJ6cTkujZgQ";

/// `csrf_field()`, `old()` and `errors()` for pages without sessions: the
/// same markup as the demo's helpers, from values made once.
fn add_form_stand_ins(env: &mut Environment<'static>) {
    const _: () = assert!(FIXED_TOKEN.len() == 86);
    let field = minijinja::Value::from_safe_string(format!(
        "<input type=\"hidden\" name=\"_token\" value=\"{FIXED_TOKEN}\">"
    ));
    env.add_function("csrf_field", move || field.clone());
    let empty = minijinja::Value::from("");
    env.add_function("old", move |_field: &str| empty.clone());
    let errors = minijinja::Value::from_object(NoErrors);
    env.add_function("errors", move || errors.clone());
}

/// What `errors()` returns on a page without sessions: an empty bag.
#[derive(Debug)]
struct NoErrors;

impl Object for NoErrors {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        _args: &[minijinja::Value],
    ) -> Result<minijinja::Value, Error> {
        match method {
            "any" | "has" => Ok(minijinja::Value::from(false)),
            "first" => Ok(minijinja::Value::from("")),
            "get" | "all" => Ok(minijinja::Value::from(Vec::<minijinja::Value>::new())),
            _ => Err(Error::new(
                ErrorKind::UnknownMethod,
                format!("errors() has no method `{method}`"),
            )),
        }
    }
}

async fn route(floor: &Floor, req: Request<Incoming>) -> Response<Full<Bytes>> {
    match (req.method(), req.uri().path()) {
        (&Method::GET, "/") => page(
            floor,
            "demo/home.html",
            json!({"title": "session-views demo", "flash": {"success": floor.flash}}),
        ),
        (&Method::GET, "/dashboard") => page(
            floor,
            "demo/dashboard.html",
            json!({"title": "Dashboard", "name": floor.name, "flash": {}}),
        ),
        (&Method::POST, "/flash") => flash(req).await,
        (&Method::GET, "/static/app.css") => stylesheet(),
        _ => text(StatusCode::NOT_FOUND, "404 Not Found\n"),
    }
}

fn page(floor: &Floor, name: &str, context: Value) -> Response<Full<Bytes>> {
    let rendered = floor
        .env
        .get_template(name)
        .and_then(|t| t.render(minijinja::Value::from(minijinja::value::Serde(&context))));
    match rendered {
        Ok(html) => {
            let mut res = Response::new(Full::from(html));
            res.headers_mut().insert(
                header::CONTENT_TYPE,
                http::HeaderValue::from_static("text/html; charset=utf-8"),
            );
            res
        }
        Err(e) => {
            eprintln!("render error: {e}");
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "500 Internal Server Error\n",
            )
        }
    }
}

/// Reads and checks the form like the demo's `POST /flash`, then redirects.
async fn flash(req: Request<Incoming>) -> Response<Full<Bytes>> {
    let Ok(body) = Limited::new(req.into_body(), MAX_FORM_BYTES)
        .collect()
        .await
    else {
        return text(StatusCode::PAYLOAD_TOO_LARGE, "413 Payload Too Large\n");
    };
    let form: Vec<(String, String)> = form_urlencoded::parse(&body.to_bytes())
        .into_owned()
        .collect();
    let level = form.iter().find(|(k, _)| k == "level").map(|(_, v)| v);
    if !matches!(
        level.map(String::as_str),
        Some("success" | "warning" | "danger")
    ) {
        return text(StatusCode::BAD_REQUEST, "400 Bad Request\n");
    }
    let mut res = Response::new(Full::from(""));
    *res.status_mut() = StatusCode::SEE_OTHER;
    res.headers_mut()
        .insert(header::LOCATION, http::HeaderValue::from_static("/"));
    res
}

/// The demo's stylesheet, compiled in and served as the demo does.
fn stylesheet() -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::from(Bytes::from_static(include_bytes!(
        "../../../../static/app.css"
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
