//! The memory driver's bounds, through the layer (`tower::ServiceExt::oneshot`):
//! a flood of one-shot logins cannot push out users who came back, and a
//! value over the per-value limit is refused where it is written.
//!
//! The driver is configured as an application configures it, from the
//! environment's settings (`SESSION_MAX_SESSIONS`, `SESSION_MAX_VALUE_BYTES`).

use std::convert::Infallible;

use http::{Method, Request, Response, StatusCode, header};
use session_core::{MemoryDriver, SessionConfig, SessionError, SessionManager};
use session_tower::{SessionLayer, sessions};
use tower::{ServiceBuilder, ServiceExt, service_fn};

type App = tower::util::BoxCloneSyncService<Request<String>, Response<String>, Infallible>;

/// `POST /login` (the body is the user's name) regenerates and stores the
/// name: 303, or 413 when the store refuses the value. `GET /dashboard`
/// answers the name, or 401 without one.
fn app(settings: &[(&str, &str)]) -> App {
    let config = SessionConfig::from_lookup(|var| {
        settings
            .iter()
            .find(|(k, _)| *k == var)
            .map(|(_, v)| (*v).to_owned())
    })
    .expect("config");
    let manager = SessionManager::builder()
        .driver("memory", MemoryDriver::from_config(&config))
        .build()
        .expect("manager");
    let service = ServiceBuilder::new()
        .layer(SessionLayer::new(manager))
        .service(service_fn(|req: Request<String>| async move {
            let session = sessions(&req).session().await.expect("load");
            let mut response = Response::new(String::new());
            match (req.method(), req.uri().path()) {
                (&Method::POST, "/login") => {
                    session.regenerate().expect("open");
                    *response.status_mut() = match session.set("user", req.body()) {
                        Ok(()) => StatusCode::SEE_OTHER,
                        Err(SessionError::ValueTooLarge { .. }) => StatusCode::PAYLOAD_TOO_LARGE,
                        Err(err) => panic!("unexpected: {err}"),
                    };
                }
                (&Method::GET, "/dashboard") => match session.get_as::<String>("user") {
                    Ok(Some(name)) => *response.body_mut() = name,
                    _ => *response.status_mut() = StatusCode::UNAUTHORIZED,
                },
                _ => *response.status_mut() = StatusCode::NOT_FOUND,
            }
            Ok::<_, Infallible>(response)
        }));
    tower::util::BoxCloneSyncService::new(service)
}

async fn call(app: &App, method: Method, uri: &str, cookie: &str, body: &str) -> Response<String> {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::COOKIE, cookie)
        .body(body.to_owned())
        .expect("request");
    app.clone().oneshot(request).await.expect("infallible")
}

/// Logs in as `name` with no cookie; returns the session cookie.
async fn login(app: &App, name: &str) -> String {
    let response = call(app, Method::POST, "/login", "", name).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let line = response.headers()[header::SET_COOKIE]
        .to_str()
        .expect("ascii");
    line.split(';').next().expect("name=value").to_owned()
}

async fn dashboard(app: &App, cookie: &str) -> Response<String> {
    call(app, Method::GET, "/dashboard", cookie, "").await
}

/// 20 users log in and come back once; then 100 000 logins that never come
/// back arrive, with room for 1 000 sessions. Every user is still logged in.
#[tokio::test]
async fn returning_users_survive_a_flood_of_one_shot_logins() {
    let app = app(&[("SESSION_MAX_SESSIONS", "1000")]);
    let mut users = Vec::new();
    for i in 0..20 {
        let name = format!("user-{i}");
        let cookie = login(&app, &name).await;
        assert_eq!(dashboard(&app, &cookie).await.body(), &name, "came back");
        users.push((name, cookie));
    }
    for i in 0..100_000 {
        login(&app, &format!("flood-{i}")).await;
    }
    let mut evicted = Vec::new();
    for (name, cookie) in &users {
        let response = dashboard(&app, cookie).await;
        if response.status() != StatusCode::OK || response.body() != name {
            evicted.push(name.clone());
        }
    }
    assert!(
        evicted.is_empty(),
        "{} of 20 users evicted: {evicted:?}",
        evicted.len()
    );
}

/// A value over `SESSION_MAX_VALUE_BYTES` is refused at `set`, so the
/// handler can answer 413; one under it is stored.
#[tokio::test]
async fn a_value_over_the_per_value_limit_is_refused_at_set() {
    let app = app(&[("SESSION_MAX_VALUE_BYTES", "16K")]);
    let big = "x".repeat(16 * 1024);
    let response = call(&app, Method::POST, "/login", "", &big).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        response.headers().get(header::SET_COOKIE).is_none(),
        "nothing stored"
    );
    let fits = "x".repeat(15 * 1024);
    let cookie = login(&app, &fits).await;
    assert_eq!(dashboard(&app, &cookie).await.body(), &fits);
}

/// The default per-value limit is 64 KiB.
#[tokio::test]
async fn the_default_per_value_limit_is_64_kib() {
    let app = app(&[]);
    let over = "x".repeat(64 * 1024);
    let response = call(&app, Method::POST, "/login", "", &over).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    login(&app, &"x".repeat(60 * 1024)).await;
}
