//! The soak server: the demo (every route of its contract) plus two routes
//! the load generator needs. Driven by `bench/soak.sh` with `soak_client`;
//! not part of CI.
//!
//! | route | does |
//! | --- | --- |
//! | `POST /counter` | adds 1 to `counter` in the session; answers `{"counter": n, "user": name}` |
//! | `GET /soak-stats` | `{"memory_sessions": n, "memory_evictions": n}` (memory driver) |
//! | anything else | the demo (`examples/demo/mod.rs`) |
//!
//! Environment: the demo's (`PORT`, `SESSION_DRIVER`, `SESSION_SECRET`,
//! `REDIS_URL`, `SESSION_MAX_SESSIONS`, `SESSION_LIFETIME`, ...), plus
//! `SOAK_REDIS_PREFIX` (default `soak:<random>:`), the key prefix of the
//! redis driver, so a soak's keys can be told apart and removed.

#[path = "../../../../examples/demo/mod.rs"]
pub mod demo;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use serde_json::json;
use session_core::{MemoryDriver, SessionManager, driver::SessionId};
use session_views::{SessionLayer, Views, sessions};
use tokio::net::TcpListener;
use tower::{Service, ServiceBuilder, ServiceExt};

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let (config, _) = demo::config_from_env()?;
    let memory = Arc::new(MemoryDriver::from_config(&config));
    let mut builder =
        SessionManager::builder_from_config(&config)?.shared_driver("memory", memory.clone());
    if config.driver() == "redis" {
        let prefix = std::env::var("SOAK_REDIS_PREFIX")
            .unwrap_or_else(|_| format!("soak:{}:", SessionId::generate()));
        let driver = session_redis::RedisDriverBuilder::from_env(&config)
            .key_prefix(prefix.clone())
            .connect()
            .await?;
        println!("redis key prefix: {prefix}");
        builder = builder.driver("redis", driver);
    }
    let manager = builder.build()?;
    let engine = std::env::var("TEMPLATE_ENGINE").unwrap_or_else(|_| "minijinja".to_owned());
    let demo = Arc::new(demo::Demo {
        manager: manager.clone(),
        views: views(&engine)?,
    });
    let port: u16 = std::env::var("PORT").map_or(Ok(8000), |p| p.parse())?;
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    println!(
        "soak server on http://127.0.0.1:{port} (driver: {}, engine: {engine}, pid {})",
        config.driver(),
        std::process::id()
    );

    let demo_service = demo::service(demo);
    let counter_service = ServiceBuilder::new()
        .layer(SessionLayer::new(manager))
        .service(tower::service_fn(counter));
    let graceful = GracefulShutdown::new();
    let builder = auto::Builder::new(TokioExecutor::new());
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                let (demo_service, counter_service) = (demo_service.clone(), counter_service.clone());
                let memory = memory.clone();
                let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
                    req.extensions_mut().insert::<SocketAddr>(peer);
                    let (mut demo_service, mut counter_service) = (demo_service.clone(), counter_service.clone());
                    let memory = memory.clone();
                    async move {
                        match req.uri().path() {
                            "/counter" => counter_service.ready().await?.call(req).await,
                            "/soak-stats" => Ok(stats(&memory)),
                            _ => demo_service.ready().await?.call(req).await,
                        }
                    }
                });
                let conn = graceful.watch(builder.serve_connection(TokioIo::new(stream), service).into_owned());
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
            () = &mut shutdown => break,
        }
    }
    println!(
        "shutting down: {} memory sessions, {} evictions",
        memory.len(),
        memory.evictions()
    );
    graceful.shutdown().await;
    Ok(())
}

/// The demo's views (as `demo::views`) over the workspace's `templates/`: the
/// demo module finds them beside the package that includes it, and this
/// package lives in `bench/harness`. Compiled once, as the demo's are.
fn views(engine: &str) -> Result<Views, String> {
    const TEMPLATES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../templates");
    let builder = Views::builder(TEMPLATES);
    match engine {
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

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

/// `POST /counter`: one more in this session's counter.
async fn counter(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.method() != Method::POST {
        return Ok(json_response(
            StatusCode::METHOD_NOT_ALLOWED,
            json!({"error": "POST"}),
        ));
    }
    let session = match sessions(&req).session().await {
        Ok(session) => session,
        Err(_) => {
            return Ok(json_response(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"error": "the session store is unavailable"}),
            ));
        }
    };
    let count = match session.get_as::<u64>("counter") {
        Ok(count) => count.unwrap_or(0) + 1,
        Err(e) => {
            return Ok(json_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"error": e.to_string()}),
            ));
        }
    };
    if let Err(e) = session.set("counter", count) {
        return Ok(json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"error": e.to_string()}),
        ));
    }
    let user = session.get("user").and_then(|u| u.get("name").cloned());
    Ok(json_response(
        StatusCode::OK,
        json!({"counter": count, "user": user}),
    ))
}

fn stats(memory: &MemoryDriver) -> Response<Full<Bytes>> {
    json_response(
        StatusCode::OK,
        json!({"memory_sessions": memory.len(), "memory_evictions": memory.evictions()}),
    )
}

fn json_response(status: StatusCode, body: serde_json::Value) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::from(body.to_string()));
    *res.status_mut() = status;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    res
}
