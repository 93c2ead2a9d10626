//! The benchmark peer: the demo's routes (`examples/demo/mod.rs`) on the
//! best-known Rust stack for the job — axum 0.8, tower-sessions 0.14 and
//! axum-messages 0.8 — rendering the demo's own templates
//! (`templates/demo/*.html` and `templates/helpers/messages.html`) with
//! MiniJinja 3.
//!
//! The templates call `session().has(level)` / `session().get(level)`. Here
//! `session()` is a MiniJinja global whose object serves the axum-messages
//! messages taken for this request ([`FlashView`]): the peer stack's
//! equivalent of our helper, and what an application on it would write.
//! The level `danger` maps to axum-messages' `Error`.
//!
//! The form helpers the templates call (`csrf_field()`, `old()`,
//! `errors()`) get the same stand-ins as the floor's
//! (`bench/harness/src/bin/floor.rs`): one hidden `_token` input with a
//! fixed 86-character token, built once; `""`; an empty bag. The peer stack
//! has no CSRF protection or form helpers of its own, and these are the
//! cheapest way to send the same bytes.
//!
//! | route | does |
//! | --- | --- |
//! | `GET /` | the home page with the messages include |
//! | `POST /login` (form `name`) | inserts `user`, cycles the id, a success message, 303 to `/dashboard` |
//! | `GET /dashboard` | the user's name (or a login link) and the messages include |
//! | `POST /flash` (form `level`, `message`) | a message at `level`, 303 to `/` |
//! | `POST /logout` | clears the session, cycles the id, a warning, 303 to `/` |
//! | `GET /session` | the session's data as JSON (messages not taken) |
//!
//! Environment: `PORT` (8002), `SESSION_STORE` = memory (default) | redis |
//! postgres, `REDIS_URL` (redis://127.0.0.1:6379), `REDIS_POOL` (connections,
//! 4), `DATABASE_URL` (postgres://postgres@127.0.0.1:5432/test),
//! `POSTGRES_POOL` (connections, 16), `POSTGRES_TABLE` (`peer_sessions` in the
//! schema `tower_sessions`, created at start-up by the store's own migration).

use std::sync::Arc;

use axum::extract::{Form, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use axum_messages::{Level, Messages, MessagesManagerLayer};
use minijinja::value::{Object, ObjectRepr, Serde};
use minijinja::{Environment, Error, ErrorKind, Value};
use serde::Deserialize;
use serde_json::json;
use tower_sessions::cookie::SameSite;
use tower_sessions::cookie::time::Duration;
use tower_sessions::{Expiry, MemoryStore, Session, SessionManagerLayer, SessionStore};
use tower_sessions_redis_store::RedisStore;
use tower_sessions_redis_store::fred::prelude::{ClientLike, Config, Pool};
use tower_sessions_sqlx_store::PostgresStore;
use tower_sessions_sqlx_store::sqlx::postgres::PgPoolOptions;

/// The context key carrying this request's messages into a render.
const MESSAGES_KEY: &str = "__messages";

type App = Arc<Environment<'static>>;

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
        Err(_) => 8002,
    };
    let store = std::env::var("SESSION_STORE").unwrap_or_else(|_| "memory".to_owned());
    let env = Arc::new(environment()?);
    let router = match store.as_str() {
        "memory" => app(env, MemoryStore::default()),
        "redis" => {
            let url =
                std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
            let size: usize = std::env::var("REDIS_POOL")
                .ok()
                .and_then(|n| n.parse().ok())
                .unwrap_or(4);
            let pool = Pool::new(Config::from_url(&url)?, None, None, None, size)?;
            // The connection tasks run for the life of the process.
            let _connections = pool.connect();
            pool.wait_for_connect().await?;
            app(env, RedisStore::new(pool))
        }
        "postgres" => {
            let url = std::env::var("DATABASE_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
            let size: u32 = std::env::var("POSTGRES_POOL")
                .ok()
                .and_then(|n| n.parse().ok())
                .unwrap_or(16);
            let table = std::env::var("POSTGRES_TABLE").unwrap_or_else(|_| "peer_sessions".to_owned());
            let pool = PgPoolOptions::new().max_connections(size).connect(&url).await?;
            let store = PostgresStore::new(pool).with_table_name(table)?;
            store.migrate().await?;
            app(env, store)
        }
        other => {
            return Err(
                format!("SESSION_STORE is `{other}`; expected memory, redis or postgres").into(),
            );
        }
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))?;
    println!("peer (axum + tower-sessions {store} + axum-messages) on http://127.0.0.1:{port}");
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

/// The demo's MiniJinja set-up: every template compiled once at start-up,
/// the same syntax, `session()` added.
fn environment() -> Result<Environment<'static>, Box<dyn std::error::Error>> {
    let mut env = Environment::new();
    env.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .keep_trailing_newline(true)
            .build()?,
    );
    let templates = concat!(env!("CARGO_MANIFEST_DIR"), "/../../templates");
    add_templates(&mut env, std::path::Path::new(templates), "")?;
    add_form_stand_ins(&mut env);
    env.add_function("session", |state: &minijinja::State<'_, '_>| {
        state.lookup(MESSAGES_KEY).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidOperation,
                "session() called outside a request",
            )
        })
    });
    Ok(env)
}

/// A token of the length session-views' `csrf_field()` renders.
const FIXED_TOKEN: &str =
    "a_lHk02kKYsvQ7PDJbyYn8a_z8wDSZJ5aMWanz7ldv-_-TU0nFReV7cdwPy-skbjloRenUeQMNMgJ6cTkujZgQ";

/// `csrf_field()`, `old()` and `errors()` as the floor has them: the same
/// markup, from values made once.
fn add_form_stand_ins(env: &mut Environment<'static>) {
    const _: () = assert!(FIXED_TOKEN.len() == 86);
    let field = Value::from_safe_string(format!(
        "<input type=\"hidden\" name=\"_token\" value=\"{FIXED_TOKEN}\">"
    ));
    env.add_function("csrf_field", move || field.clone());
    let empty = Value::from("");
    env.add_function("old", move |_field: &str| empty.clone());
    let errors = Value::from_object(NoErrors);
    env.add_function("errors", move || errors.clone());
}

/// What `errors()` returns: an empty bag.
#[derive(Debug)]
struct NoErrors;

impl Object for NoErrors {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut minijinja::State<'_, '_>,
        method: &str,
        _args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "any" | "has" => Ok(Value::from(false)),
            "first" => Ok(Value::from("")),
            "get" | "all" => Ok(Value::from(Vec::<Value>::new())),
            _ => Err(Error::new(
                ErrorKind::UnknownMethod,
                format!("errors() has no method `{method}`"),
            )),
        }
    }
}

/// Adds every template under `dir` (names relative to the top directory,
/// with `/`), compiled now: rendering touches no file.
fn add_templates(
    env: &mut Environment<'static>,
    dir: &std::path::Path,
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

fn app<S: SessionStore + Clone>(env: App, store: S) -> Router {
    // As the demo: plain http on loopback, SameSite=Lax, a 2-hour idle
    // lifetime (also the TTL of the Redis keys).
    let sessions = SessionManagerLayer::new(store)
        .with_secure(false)
        .with_same_site(SameSite::Lax)
        .with_expiry(Expiry::OnInactivity(Duration::hours(2)));
    Router::new()
        .route("/", get(home))
        .route("/dashboard", get(dashboard))
        .route("/session", get(session_json))
        .route("/login", post(login))
        .route("/flash", post(flash))
        .route("/logout", post(logout))
        .layer(MessagesManagerLayer)
        .layer(sessions)
        .with_state(env)
}

/// What `session()` returns here: this request's messages, by level name.
#[derive(Debug)]
struct FlashView(Vec<(Level, String)>);

impl FlashView {
    fn take(messages: Messages) -> Value {
        Value::from_object(FlashView(messages.map(|m| (m.level, m.message)).collect()))
    }

    fn find(&self, key: &str) -> Option<&str> {
        let level = level(key)?;
        // The last one wins, as a second flash of one key does in session-views.
        self.0
            .iter()
            .rev()
            .find(|(l, _)| *l == level)
            .map(|(_, m)| m.as_str())
    }
}

impl Object for FlashView {
    fn call_method(
        self: &Arc<Self>,
        _state: &mut minijinja::State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let key = args.first().and_then(Value::as_str).ok_or_else(|| {
            Error::new(ErrorKind::InvalidOperation, "session() methods take a key")
        })?;
        match method {
            "has" => Ok(Value::from(self.find(key).is_some())),
            "get" => Ok(self.find(key).map_or_else(
                || args.get(1).cloned().unwrap_or(Value::UNDEFINED),
                Value::from,
            )),
            _ => Err(Error::new(
                ErrorKind::UnknownMethod,
                format!("session() has no method `{method}`"),
            )),
        }
    }
}

fn level(name: &str) -> Option<Level> {
    Some(match name {
        "success" => Level::Success,
        "warning" => Level::Warning,
        "danger" => Level::Error,
        "info" => Level::Info,
        "debug" => Level::Debug,
        _ => return None,
    })
}

fn render(
    env: &Environment<'static>,
    name: &str,
    ctx: serde_json::Value,
    messages: Value,
) -> Response {
    let ctx = Value::from(Serde(&ctx));
    let rendered = env
        .get_template(name)
        .and_then(|t| t.render(minijinja::context! { __messages => messages, ..ctx }));
    match rendered {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            eprintln!("render error: {e}");
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "500 Internal Server Error\n",
            )
        }
    }
}

async fn home(State(env): State<App>, messages: Messages) -> Response {
    render(
        &env,
        "demo/home.html",
        json!({"title": "session-views demo"}),
        FlashView::take(messages),
    )
}

async fn dashboard(State(env): State<App>, session: Session, messages: Messages) -> Response {
    let user: Option<serde_json::Value> = match session.get("user").await {
        Ok(user) => user,
        Err(_) => return unavailable(),
    };
    let name = user.as_ref().and_then(|u| u.get("name")).cloned();
    render(
        &env,
        "demo/dashboard.html",
        json!({"title": "Dashboard", "name": name}),
        FlashView::take(messages),
    )
}

/// The session's data; messages are shown as pending, not taken.
async fn session_json(session: Session) -> Response {
    let mut all = serde_json::Map::new();
    match session.get::<serde_json::Value>("user").await {
        Ok(Some(user)) => {
            all.insert("user".to_owned(), user);
        }
        Ok(None) => {}
        Err(_) => return unavailable(),
    }
    if let Ok(Some(data)) = session.get::<serde_json::Value>("axum-messages.data").await {
        let pending = data["pending_messages"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for message in pending {
            let name = match message["l"].as_str() {
                Some("Error") => "danger".to_owned(),
                Some(l) => l.to_lowercase(),
                None => continue,
            };
            all.insert(name, message["m"].clone());
        }
    }
    Json(serde_json::Value::Object(all)).into_response()
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    name: String,
}

async fn login(session: Session, messages: Messages, Form(form): Form<LoginForm>) -> Response {
    let name = form.name.trim();
    if name.is_empty() {
        messages.error("Please enter a name to log in.");
        return Redirect::to("/").into_response();
    }
    let result = async {
        session.insert("user", json!({ "name": name })).await?;
        session.cycle_id().await
    }
    .await;
    if result.is_err() {
        return unavailable();
    }
    messages.success(format!("Welcome back, {name}!"));
    Redirect::to("/dashboard").into_response()
}

#[derive(Deserialize)]
struct FlashForm {
    #[serde(default)]
    level: String,
    #[serde(default)]
    message: String,
}

async fn flash(messages: Messages, Form(form): Form<FlashForm>) -> Response {
    let level = match form.level.as_str() {
        "success" | "warning" | "danger" => level(&form.level),
        _ => None,
    };
    let Some(level) = level else {
        return text(
            StatusCode::BAD_REQUEST,
            "400 Bad Request: level must be success, warning or danger\n",
        );
    };
    messages.push(level, form.message, None);
    Redirect::to("/").into_response()
}

async fn logout(session: Session, messages: Messages) -> Response {
    session.clear().await;
    if session.cycle_id().await.is_err() {
        return unavailable();
    }
    messages.warning("You have been logged out.");
    Redirect::to("/").into_response()
}

fn unavailable() -> Response {
    text(
        StatusCode::SERVICE_UNAVAILABLE,
        "503 Service Unavailable: the session store is unavailable\n",
    )
}

fn text(status: StatusCode, body: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}
