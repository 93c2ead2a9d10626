//! What a client sees of the demo (and of an axum router) over a real
//! socket when its request is odd or the store is down: a cookie that is not
//! ASCII beside the session, a shared cache between it and the server, a
//! Redis that went away, an app that keys sessions by client address.

#[path = "../examples/demo/mod.rs"]
pub mod demo;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, COOKIE, HeaderValue, RETRY_AFTER, SET_COOKIE, VARY};
use session_core::{SessionConfig, SessionManager};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

const SECRET: &str = "an http hardening test secret, long enough to use";

/// The demo on a free loopback port, until dropped.
struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
}

impl Server {
    async fn start(driver: &str) -> Server {
        let config = SessionConfig::default()
            .with_driver(driver)
            .with_secret(SECRET)
            .expect("secret")
            .with_cookie_secure(false);
        let manager = demo::manager(&config).await.unwrap_or_else(|e| {
            panic!("{e}\n(the redis case needs Redis at REDIS_URL, default redis://127.0.0.1:6379)")
        });
        Self::with_manager(manager).await
    }

    async fn with_manager(manager: SessionManager) -> Server {
        let views = demo::views("minijinja").expect("views");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = oneshot::channel();
        let demo = Arc::new(demo::Demo { manager, views });
        tokio::spawn(demo::serve(listener, demo, async {
            let _ = stopped.await;
        }));
        Server {
            addr,
            stop: Some(stop),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A client that follows no redirect and keeps no cookies: each test says
/// exactly which `Cookie` header it sends.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// The `name=value` pairs a response sets (removals included, with an empty value).
fn set_cookies(res: &reqwest::Response) -> Vec<(String, String)> {
    res.headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| {
            let pair = v.to_str().ok()?.split(';').next()?;
            let (name, value) = pair.split_once('=')?;
            Some((name.to_owned(), value.to_owned()))
        })
        .collect()
}

/// Logs in as `name` and returns the `Cookie` header that carries the
/// session (every cookie the login set that is not a removal).
async fn log_in(server: &Server, name: &str) -> String {
    let res = client()
        .post(server.url("/login"))
        .form(&[("name", name)])
        .send()
        .await
        .expect("POST /login");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let cookies: Vec<String> = set_cookies(&res)
        .into_iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    assert!(!cookies.is_empty(), "the login sets a session cookie");
    cookies.join("; ")
}

fn header(bytes: &[u8]) -> HeaderValue {
    HeaderValue::from_bytes(bytes).expect("a header value")
}

#[tokio::test]
async fn a_cookie_that_is_not_ascii_never_hides_the_session() {
    let mut failures = Vec::new();
    for driver in ["memory", "cookie", "redis"] {
        let server = Server::start(driver).await;
        let session = log_in(&server, "Ada").await;
        let http = client();
        // UTF-8 (`français`), Latin-1 bytes, a lone continuation byte: an
        // unrelated cookie, before or after the session's, whatever its bytes.
        for (n, header_bytes) in [
            format!("{session}; lang=français").into_bytes(),
            format!("lang=français; {session}").into_bytes(),
            [format!("{session}; theme=").as_bytes(), b"caf\xe9; x=\x80"].concat(),
            [b"pref=\xff\xfe; ".as_slice(), session.as_bytes()].concat(),
        ]
        .into_iter()
        .enumerate()
        {
            let res = http
                .get(server.url("/dashboard"))
                .header(COOKIE, header(&header_bytes))
                .send()
                .await
                .expect("GET /dashboard");
            assert_eq!(res.status(), StatusCode::OK, "{driver} #{n}");
            let html = res.text().await.expect("body");
            if !html.contains("Signed in as <strong>Ada</strong>") {
                failures.push(format!(
                    "{driver} #{n}: GET /dashboard shows the user signed out"
                ));
            }

            // A write in that state keeps the session it was sent.
            let res = http
                .post(server.url("/flash"))
                .header(COOKIE, header(&header_bytes))
                .form(&[("level", "success"), ("message", "still me")])
                .send()
                .await
                .expect("POST /flash");
            assert_eq!(res.status(), StatusCode::SEE_OTHER, "{driver} #{n}");
            // A cookie of the session (not a flash) set anew: a new id, or
            // a removal of what the request carried.
            for (name, value) in set_cookies(&res) {
                let pair = format!("{name}={value}");
                let of_the_session = session
                    .split("; ")
                    .any(|p| p.starts_with(&format!("{name}=")));
                if !name.starts_with("f_")
                    && of_the_session
                    && !session.split("; ").any(|p| p == pair)
                {
                    failures.push(format!(
                        "{driver} #{n}: POST /flash replaced the session cookie `{name}`"
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[tokio::test]
async fn the_dashboard_is_private_and_a_page_without_session_stays_cacheable() {
    let server = Server::start("memory").await;
    let session = log_in(&server, "Ada").await;
    let http = client();
    for (path, cookie) in [
        ("/dashboard", Some(session.as_str())),
        ("/dashboard", None),
        ("/", Some(session.as_str())),
    ] {
        let mut req = http.get(server.url(path));
        if let Some(cookie) = cookie {
            req = req.header(COOKIE, cookie);
        }
        let res = req.send().await.expect("GET");
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(
            res.headers()
                .get(CACHE_CONTROL)
                .and_then(|v| v.to_str().ok()),
            Some("private, no-cache"),
            "{path} with cookie {cookie:?}"
        );
        let vary: Vec<_> = res.headers().get_all(VARY).iter().collect();
        assert_eq!(vary, [HeaderValue::from_static("Cookie")], "{path}");
    }
    // The login's redirect sets the session cookie: no shared cache may keep it.
    let res = http
        .post(server.url("/login"))
        .form(&[("name", "Bob")])
        .send()
        .await
        .expect("POST /login");
    assert_eq!(res.headers()[CACHE_CONTROL], "private, no-cache");

    // A 404 that never touched a session is left as the handler made it.
    let res = http
        .get(server.url("/favicon.ico"))
        .header(COOKIE, session.as_str())
        .send()
        .await
        .expect("GET");
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(res.headers().get(CACHE_CONTROL).is_none());
    assert!(res.headers().get(VARY).is_none());
}

/// A `redis-server` of this test's own on a free port, killed when dropped.
struct OwnRedis {
    child: Child,
    port: u16,
}

impl OwnRedis {
    async fn start() -> OwnRedis {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|probe| probe.local_addr())
            .expect("free port")
            .port();
        // Owned at once, so that a failure below still kills it (on drop).
        let redis = OwnRedis {
            child: Command::new("redis-server")
                .args([
                    "--port",
                    &port.to_string(),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("redis-server (Debian package redis-server) on the PATH"),
            port,
        };
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return redis;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("redis-server did not listen on {port}");
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

#[tokio::test]
async fn the_demos_own_503s_say_when_to_retry() {
    let mut redis = OwnRedis::start().await;
    let driver = session_redis::RedisDriver::builder()
        .url(format!("redis://127.0.0.1:{}", redis.port))
        .connect_timeout(Duration::from_millis(300))
        .response_timeout(Duration::from_millis(300))
        .operation_timeout(Duration::from_millis(800))
        .connect()
        .await
        .expect("the test's own redis-server");
    let manager = SessionManager::builder()
        .driver("redis", driver)
        .default_driver("redis")
        .build()
        .expect("manager");
    let server = Server::with_manager(manager).await;
    let session = log_in(&server, "Ada").await;
    redis.kill();

    let http = client();
    for (method, path) in [
        ("GET", "/dashboard"),
        ("GET", "/"),
        ("GET", "/session"),
        ("POST", "/logout"),
    ] {
        let res = http
            .request(method.parse().expect("method"), server.url(path))
            .header(COOKIE, session.as_str())
            .send()
            .await
            .expect("the server answers");
        assert_eq!(
            res.status(),
            StatusCode::SERVICE_UNAVAILABLE,
            "{method} {path}"
        );
        assert_eq!(
            res.headers().get(RETRY_AFTER).and_then(|v| v.to_str().ok()),
            Some("1"),
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn axum_ip_keying_reads_connect_info() {
    use session_core::MemoryDriver;
    use session_views::{SessionLayer, Sessions};

    async fn visit(Sessions(sessions): Sessions) -> Result<String, StatusCode> {
        let session = sessions
            .session()
            .await
            .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?;
        let visits = session.get_as::<u64>("visits").ok().flatten().unwrap_or(0) + 1;
        session
            .set("visits", visits)
            .map_err(|_| StatusCode::BAD_REQUEST)?;
        Ok(visits.to_string())
    }

    let manager = SessionManager::builder()
        .driver(
            "memory",
            MemoryDriver::builder().key_by_client_ip(Vec::new()).build(),
        )
        .build()
        .expect("manager");
    let app = axum::Router::new()
        .route("/", axum::routing::get(visit))
        .layer(SessionLayer::new(manager));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    let http = client();
    for expected in ["1", "2", "3"] {
        let res = http
            .get(format!("http://{addr}/"))
            .send()
            .await
            .expect("GET");
        assert_eq!(res.status(), StatusCode::OK, "keyed by the client address");
        assert!(
            set_cookies(&res).is_empty(),
            "no cookie: the address is the key"
        );
        assert_eq!(res.text().await.expect("body"), expected);
    }
}
