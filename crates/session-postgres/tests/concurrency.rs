//! Concurrent writers on one session through the HTTP layer, over real
//! sockets: a hyper server with `SessionLayer` in front of a tiny app, a
//! real HTTP client, and the real PostgreSQL at `DATABASE_URL`.
//!
//! `POST /w?k=KEY&v=VALUE` sets one key; with `&wait=1` the handler first
//! waits until every writer of the round has loaded the session, so that
//! each one's view misses all the others' writes (the worst case for lost
//! updates). `GET /all` answers `all()`.

mod common;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use session_core::SessionManager;
use session_core::cookie::Cookie;
use session_core::http::{Method, Request, Response, StatusCode, header};
use session_core::serde_json::{self, Value, json};
use session_tower::{SessionLayer, sessions};
use tokio::net::TcpListener;
use tokio::sync::Barrier;
use tower::ServiceExt;

use common::whole_record::WholeRecordDriver;

/// Writers that all load before any saves.
const WRITERS: usize = 24;
/// Clients × writes each for the free-running round.
const CLIENTS: usize = 16;
const WRITES_PER_CLIENT: usize = 8;

async fn route(
    req: Request<Incoming>,
    barrier: Arc<Barrier>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let session = match sessions(&req).session().await {
        Ok(session) => session,
        Err(_) => return Ok(text(StatusCode::SERVICE_UNAVAILABLE, "store down")),
    };
    let query: BTreeMap<String, String> =
        form_urlencoded::parse(req.uri().query().unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    Ok(match (req.method(), req.uri().path()) {
        (&Method::POST, "/w") => {
            let (Some(key), Some(value)) = (query.get("k"), query.get("v")) else {
                return Ok(text(StatusCode::BAD_REQUEST, "k and v"));
            };
            if query.contains_key("wait") {
                barrier.wait().await;
            }
            match session.set(key, value) {
                Ok(()) => text(StatusCode::OK, "ok"),
                Err(e) => text(StatusCode::BAD_REQUEST, &e.to_string()),
            }
        }
        (&Method::GET, "/all") => text(StatusCode::OK, &session.all().to_string()),
        _ => text(StatusCode::NOT_FOUND, "not found"),
    })
}

fn text(status: StatusCode, body: &str) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::from(body.to_owned()));
    *res.status_mut() = status;
    res
}

/// Serves the app behind `SessionLayer` until the test's runtime ends.
async fn serve(manager: SessionManager) -> SocketAddr {
    let barrier = Arc::new(Barrier::new(WRITERS));
    let service = tower::ServiceBuilder::new()
        .layer(SessionLayer::new(manager))
        .service(tower::service_fn(move |req| route(req, barrier.clone())));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let service = service.clone();
            tokio::spawn(async move {
                let hyper_service =
                    hyper::service::service_fn(move |req| service.clone().oneshot(req));
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), hyper_service)
                    .await;
            });
        }
    });
    addr
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(WRITERS)
        .build()
        .expect("client")
}

async fn post(client: &reqwest::Client, url: String, cookie: &str) -> reqwest::Response {
    client
        .post(url)
        .header(header::COOKIE, cookie)
        .send()
        .await
        .expect("POST")
}

/// Opens a session with `opened=yes` and returns its cookie header.
async fn open(client: &reqwest::Client, addr: SocketAddr) -> String {
    let res = post(client, format!("http://{addr}/w?k=opened&v=yes"), "").await;
    assert_eq!(res.status(), StatusCode::OK);
    let line = res
        .headers()
        .get(header::SET_COOKIE)
        .expect("the first write sets the session cookie")
        .to_str()
        .expect("ascii")
        .to_owned();
    Cookie::parse(line)
        .expect("Set-Cookie")
        .stripped()
        .to_string()
}

async fn all(
    client: &reqwest::Client,
    addr: SocketAddr,
    cookie: &str,
) -> serde_json::Map<String, Value> {
    let res = client
        .get(format!("http://{addr}/all"))
        .header(header::COOKIE, cookie)
        .send()
        .await
        .expect("GET /all");
    assert_eq!(res.status(), StatusCode::OK);
    let all: Value = serde_json::from_str(&res.text().await.expect("body")).expect("json");
    all.as_object().expect("object").clone()
}

/// `WRITERS` requests on one session, each setting its own key, all
/// loaded before any saves; returns how many of their keys the session keeps.
async fn overlapping_writers(manager: SessionManager) -> usize {
    let addr = serve(manager).await;
    let client = client();
    let cookie = open(&client, addr).await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..WRITERS {
        let (client, cookie) = (client.clone(), cookie.clone());
        tasks.spawn(async move {
            let res = post(
                &client,
                format!("http://{addr}/w?k=key{i}&v={i}&wait=1"),
                &cookie,
            )
            .await;
            assert_eq!(res.status(), StatusCode::OK, "writer {i}");
            assert!(
                res.headers().get(header::SET_COOKIE).is_none(),
                "writer {i} changed the session cookie"
            );
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("writer");
    }
    let stored = all(&client, addr, &cookie).await;
    assert_eq!(stored.get("opened"), Some(&json!("yes")));
    (0..WRITERS)
        .filter(|i| stored.get(&format!("key{i}")) == Some(&json!(i.to_string())))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn overlapping_writers_to_one_session_keep_every_write() {
    let manager = common::manager(common::shared_driver("http_overlapping").await);
    let kept = overlapping_writers(manager).await;
    eprintln!("postgres: {kept} of {WRITERS} overlapping writes kept");
    assert_eq!(kept, WRITERS, "lost {} writes", WRITERS - kept);
}

/// The contrast: the same requests on a whole-record store keep only the
/// last writer's key. If this ever kept them all, the test above would
/// prove nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_whole_record_store_keeps_one_overlapping_write() {
    let url = common::database_url();
    let driver = WholeRecordDriver::connect(&url, &common::unique_table("whole_record")).await;
    let table = driver.table().to_owned();
    let kept = overlapping_writers(common::manager(driver)).await;
    common::psql(&url, &format!("DROP TABLE IF EXISTS {table}"));
    eprintln!("whole-record: {kept} of {WRITERS} overlapping writes kept");
    assert_eq!(
        kept, 1,
        "a whole-record store keeps only the last writer's key"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_clients_hammering_one_session_lose_nothing() {
    let manager = common::manager(common::shared_driver("http_hammer").await);
    let addr = serve(manager).await;
    let client = client();
    let cookie = open(&client, addr).await;
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..CLIENTS {
        let (client, cookie) = (client.clone(), cookie.clone());
        tasks.spawn(async move {
            for w in 0..WRITES_PER_CLIENT {
                let res = post(
                    &client,
                    format!("http://{addr}/w?k=c{c}w{w}&v={c}.{w}"),
                    &cookie,
                )
                .await;
                assert_eq!(res.status(), StatusCode::OK, "c{c}w{w}");
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("client");
    }
    let stored = all(&client, addr, &cookie).await;
    let lost: Vec<String> = (0..CLIENTS)
        .flat_map(|c| (0..WRITES_PER_CLIENT).map(move |w| (c, w)))
        .filter(|(c, w)| stored.get(&format!("c{c}w{w}")) != Some(&json!(format!("{c}.{w}"))))
        .map(|(c, w)| format!("c{c}w{w}"))
        .collect();
    assert!(lost.is_empty(), "lost writes: {lost:?}");
    assert_eq!(stored.len(), 1 + CLIENTS * WRITES_PER_CLIENT);
}
