//! Many clients hammering one session through the HTTP layer, over a real
//! socket: `SessionLayer` in front of a tiny app whose `POST /w?k=KEY&v=VALUE`
//! sets one key and whose `GET /all` answers `all()`.
//!
//! - memory and redis: 32 tasks × 16 writes to distinct keys of one session,
//!   all at once: no write is lost, and no response changes the session id.
//! - cookie: the session lives in the browser, one cookie per key, and a
//!   browser applies `Set-Cookie`s in the order responses arrive. While the
//!   cookies are fresh each response carries only the cookie of the key it
//!   wrote, so every write survives whatever the order. Once they are past
//!   half their lifetime, every response also re-seals (refreshes) each key
//!   it saw, with the value it saw, so the last response to arrive decides
//!   every key: concurrent writes are lost. Measured here, stated in
//!   SECURITY.md ("Measured").

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use session_core::cookie::Cookie;
use session_core::{CookieDriver, SessionConfig, SessionManager, driver::SessionId};
use session_views::{SessionLayer, sessions};
use tokio::net::TcpListener;
use tower::{ServiceBuilder, ServiceExt};

const TASKS: usize = 32;
const WRITES_PER_TASK: usize = 16;
const SECRET: &str = "an http concurrency test secret, long enough";

/// The app: one key per write, the whole session on read.
async fn route(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
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
            match session.set(key, value) {
                Ok(()) => text(StatusCode::OK, "ok"),
                Err(e) => text(StatusCode::BAD_REQUEST, &e.to_string()),
            }
        }
        (&Method::GET, "/all") => text(StatusCode::OK, &session.all().to_string()),
        (&Method::POST, "/invalidate") => {
            session.invalidate().expect("open");
            text(StatusCode::OK, "ok")
        }
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
    let service = ServiceBuilder::new()
        .layer(SessionLayer::new(manager))
        .service(tower::service_fn(route));
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
        .pool_max_idle_per_host(TASKS)
        .build()
        .expect("client")
}

fn set_cookies(res: &reqwest::Response) -> Vec<Cookie<'static>> {
    res.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| Cookie::parse(v.to_str().expect("ascii").to_owned()).expect("a Set-Cookie line"))
        .collect()
}

async fn all(client: &reqwest::Client, addr: SocketAddr, cookie: &str) -> serde_json::Value {
    let res = client
        .get(format!("http://{addr}/all"))
        .header(header::COOKIE, cookie)
        .send()
        .await
        .expect("GET /all");
    assert_eq!(res.status(), StatusCode::OK);
    serde_json::from_str(&res.text().await.expect("body")).expect("json")
}

fn key(task: usize, write: usize) -> String {
    format!("t{task:02}-w{write:02}")
}

/// 32 tasks × 16 writes to distinct keys of one server-side session, all at
/// once; returns the keys that were lost.
async fn hammer_server_side(manager: SessionManager) -> Vec<String> {
    let addr = serve(manager).await;
    let client = client();
    let res = client
        .post(format!("http://{addr}/w?k=opened&v=yes"))
        .send()
        .await
        .expect("open the session");
    assert_eq!(res.status(), StatusCode::OK);
    let id = set_cookies(&res)
        .into_iter()
        .next()
        .expect("the first write sets the session cookie");
    let cookie = id.stripped().to_string();

    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..TASKS {
        let (client, cookie) = (client.clone(), cookie.clone());
        tasks.spawn(async move {
            for write in 0..WRITES_PER_TASK {
                let key = key(task, write);
                let res = client
                    .post(format!("http://{addr}/w?k={key}&v=value-of-{key}"))
                    .header(header::COOKIE, &cookie)
                    .send()
                    .await
                    .expect("POST /w");
                assert_eq!(res.status(), StatusCode::OK, "{key}");
                assert!(
                    set_cookies(&res).is_empty(),
                    "a write to {key} changed the session cookie"
                );
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("writer task");
    }

    let stored = all(&client, addr, &cookie).await;
    let stored = stored.as_object().expect("object");
    let mut lost = Vec::new();
    for task in 0..TASKS {
        for write in 0..WRITES_PER_TASK {
            let key = key(task, write);
            if stored.get(&key) != Some(&serde_json::json!(format!("value-of-{key}"))) {
                lost.push(key);
            }
        }
    }
    assert_eq!(stored.get("opened"), Some(&serde_json::json!("yes")));
    assert!(
        stored.len() <= 1 + TASKS * WRITES_PER_TASK,
        "keys nobody wrote: {stored:?}"
    );

    let res = client
        .post(format!("http://{addr}/invalidate"))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .expect("POST /invalidate");
    assert_eq!(res.status(), StatusCode::OK);
    lost
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_one_session_many_writers_loses_nothing() {
    let manager = SessionManager::builder().build().expect("manager");
    let lost = hammer_server_side(manager).await;
    eprintln!(
        "memory: {} writes from {TASKS} concurrent clients, {} lost",
        TASKS * WRITES_PER_TASK,
        lost.len()
    );
    assert!(lost.is_empty(), "lost writes: {lost:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_one_session_many_writers_loses_nothing() {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let driver = session_redis::RedisDriver::builder()
        .url(url.clone())
        .key_prefix(format!("http-concurrency:{}:", SessionId::generate()))
        .lifetime(Duration::from_secs(120))
        .connect()
        .await
        .unwrap_or_else(|e| {
            panic!("this test needs Redis at {url} (redis-server --daemonize yes --save \"\" --appendonly no): {e}")
        });
    let manager = SessionManager::builder()
        .driver("redis", driver)
        .default_driver("redis")
        .build()
        .expect("manager");
    let lost = hammer_server_side(manager).await;
    eprintln!(
        "redis: {} writes from {TASKS} concurrent clients, {} lost",
        TASKS * WRITES_PER_TASK,
        lost.len()
    );
    assert!(lost.is_empty(), "lost writes: {lost:?}");
}

/// A browser's cookie jar for one site, shared by its concurrent requests.
#[derive(Clone, Default)]
struct Jar(Arc<Mutex<BTreeMap<String, String>>>);

impl Jar {
    fn header(&self) -> String {
        let jar = self.0.lock().expect("jar");
        let pairs: Vec<String> = jar.iter().map(|(n, v)| format!("{n}={v}")).collect();
        pairs.join("; ")
    }

    /// Applies a response's `Set-Cookie`s, as a browser does on arrival.
    fn apply(&self, cookies: &[Cookie<'static>]) {
        let mut jar = self.0.lock().expect("jar");
        for cookie in cookies {
            if cookie.max_age().is_some_and(|age| age.is_zero()) {
                jar.remove(cookie.name());
            } else {
                jar.insert(cookie.name().to_owned(), cookie.value().to_owned());
            }
        }
    }
}

/// One round of `TASKS` concurrent writes (task `t` writes `k{t}` = `value`)
/// from one browser. With `together`, every request takes its cookies before
/// any is sent (a page firing its requests at once); otherwise each takes
/// them when it starts. Returns each response's `Set-Cookie` names.
async fn cookie_round(
    addr: SocketAddr,
    client: &reqwest::Client,
    jar: &Jar,
    value: &str,
    together: bool,
) -> Vec<Vec<String>> {
    let snapshot = jar.header();
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..TASKS {
        let (client, jar, value) = (client.clone(), jar.clone(), value.to_owned());
        let cookies = if together {
            snapshot.clone()
        } else {
            String::new()
        };
        tasks.spawn(async move {
            let cookies = if together { cookies } else { jar.header() };
            let res = client
                .post(format!("http://{addr}/w?k=k{task:02}&v={value}"))
                .header(header::COOKIE, cookies)
                .send()
                .await
                .expect("POST /w");
            assert_eq!(res.status(), StatusCode::OK);
            let set = set_cookies(&res);
            jar.apply(&set);
            set.iter().map(|c| c.name().to_owned()).collect::<Vec<_>>()
        });
    }
    let mut names = Vec::new();
    while let Some(done) = tasks.join_next().await {
        names.push(done.expect("writer task"));
    }
    names
}

/// How many of the `TASKS` keys hold `value` in the jar's session; every key
/// must be there with one of `values`.
async fn holding(
    addr: SocketAddr,
    client: &reqwest::Client,
    jar: &Jar,
    value: &str,
    values: &[&str],
) -> usize {
    let stored = all(client, addr, &jar.header()).await;
    let stored = stored.as_object().expect("object");
    assert_eq!(stored.len(), TASKS, "{stored:?}");
    let mut count = 0;
    for task in 0..TASKS {
        let held = stored
            .get(&format!("k{task:02}"))
            .and_then(|v| v.as_str())
            .expect("every key is present");
        assert!(values.contains(&held), "k{task:02} = {held:?}");
        count += usize::from(held == value);
    }
    count
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cookie_concurrent_writes_survive_while_fresh_and_the_refresh_loses_them() {
    // 10 s: cookies are fresh for 5 s, then each request refreshes them.
    let lifetime = Duration::from_secs(10);
    let config = SessionConfig::default()
        .with_secret(SECRET)
        .expect("secret")
        .with_cookie_secure(false)
        .with_lifetime(lifetime);
    let manager = SessionManager::builder()
        .driver(
            "cookie",
            CookieDriver::from_config(&config).expect("driver"),
        )
        .default_driver("cookie")
        .build()
        .expect("manager");
    let addr = serve(manager).await;
    let client = client();
    let jar = Jar::default();

    // Fresh cookies, all requests fired at once from an empty jar, then again
    // from the full jar: each response carries exactly its own key's cookie,
    // so all writes survive whatever the arrival order.
    for (round, value) in ["first", "second"].into_iter().enumerate() {
        let names = cookie_round(addr, &client, &jar, value, true).await;
        for set in &names {
            assert_eq!(set.len(), 1, "round {round}: a response set {set:?}");
        }
        let kept = holding(addr, &client, &jar, value, &[value]).await;
        eprintln!("cookie, fresh cookies, round {round}: {kept}/{TASKS} concurrent writes survive");
        assert_eq!(kept, TASKS);
    }

    // Past half the lifetime every request re-seals every key it carries with
    // the value it carried: a response that arrives after another request's
    // write undoes that write in the browser.
    tokio::time::sleep(Duration::from_millis(6200)).await;
    let names = cookie_round(addr, &client, &jar, "third", true).await;
    let refreshed = names.iter().filter(|set| set.len() == TASKS).count();
    let kept = holding(addr, &client, &jar, "third", &["second", "third"]).await;
    eprintln!(
        "cookie, cookies past half their lifetime, requests fired together: \
         {refreshed}/{TASKS} responses re-sealed all {TASKS} keys; \
         {kept}/{TASKS} concurrent writes survive"
    );
    assert_eq!(refreshed, TASKS);
    // The last response to arrive decides every key: only its own write is left.
    assert_eq!(kept, 1);
}
