//! The demo's pages in an axum 0.8 router: `cargo run --example axum`, then
//! open <http://127.0.0.1:8000> (`PORT` overrides). Same environment
//! variables as `examples/app.rs`.

pub mod demo;

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Json, Response};
use axum::routing::{get, post};
use serde_json::json;
use session_views::{Redirect, SessionLayer, SessionRejection, Sessions, Views};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (config, _) = demo::config_from_env()?;
    let engine = std::env::var("TEMPLATE_ENGINE").unwrap_or_else(|_| "minijinja".to_owned());
    let views = demo::views(&engine)?;
    let manager = demo::manager(&config).await?;
    let app = Router::new()
        .route("/", get(home))
        .route("/dashboard", get(dashboard))
        .route("/session", get(session_json))
        .route("/login", post(login))
        .route("/flash", post(flash))
        .route("/logout", post(logout))
        .layer(SessionLayer::new(manager).with_csrf())
        .with_state(views);
    let port = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8000u16);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!(
        "session-views axum demo on http://127.0.0.1:{port} (driver: {}, engine: {engine})",
        config.driver()
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

async fn render(
    views: &Views,
    sessions: &Sessions,
    name: &str,
    context: serde_json::Value,
) -> Response {
    match views.render(&sessions.0, name, context).await {
        Ok(html) => Html(html).into_response(),
        Err(e) if e.is_unavailable() => StatusCode::SERVICE_UNAVAILABLE.into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn home(State(views): State<Views>, sessions: Sessions) -> Response {
    render(
        &views,
        &sessions,
        "demo/home.html",
        json!({"title": "session-views demo"}),
    )
    .await
}

async fn dashboard(
    State(views): State<Views>,
    sessions: Sessions,
) -> Result<Response, SessionRejection> {
    let user = sessions.0.session().await?.get("user");
    let name = user.as_ref().and_then(|u| u.get("name")).cloned();
    Ok(render(
        &views,
        &sessions,
        "demo/dashboard.html",
        json!({"title": "Dashboard", "name": name}),
    )
    .await)
}

async fn session_json(sessions: Sessions) -> Result<Json<serde_json::Value>, SessionRejection> {
    Ok(Json(sessions.0.session().await?.all()))
}

async fn login(
    sessions: Sessions,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Redirect, SessionRejection> {
    let name = form.get("name").map(|n| n.trim()).unwrap_or_default();
    let errors = demo::validate_name(name);
    if errors.any() {
        return Ok(Redirect::back(&headers, "/")
            .with_input(&form)
            .with_errors(errors));
    }
    let session = sessions.0.session().await?;
    session.set("user", json!({"name": name}))?;
    session.regenerate()?;
    Ok(Redirect::see_other("/dashboard").flash("success", format!("Welcome back, {name}!")))
}

async fn flash(Form(form): Form<HashMap<String, String>>) -> Response {
    let level = form.get("level").map(String::as_str).unwrap_or_default();
    if !matches!(level, "success" | "warning" | "danger") {
        return (
            StatusCode::BAD_REQUEST,
            "level must be success, warning or danger",
        )
            .into_response();
    }
    let message = form.get("message").cloned().unwrap_or_default();
    Redirect::see_other("/")
        .flash(level, message)
        .into_response()
}

async fn logout(sessions: Sessions) -> Result<Redirect, SessionRejection> {
    sessions.0.session().await?.invalidate()?;
    Ok(Redirect::see_other("/").flash("warning", "You have been logged out."))
}
