//! The demo over a real socket with a real cookie-keeping client, for each
//! driver and each engine.

#[path = "../examples/demo/mod.rs"]
pub mod demo;

use std::net::SocketAddr;
use std::sync::Arc;

use reqwest::StatusCode;
use session_core::SessionConfig;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

const SECRET: &str = "an end-to-end test secret, long enough to use";

struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    async fn start(driver: &str, engine: &str) -> Server {
        Self::start_on("127.0.0.1:0".parse().expect("addr"), driver, engine).await
    }

    async fn start_on(addr: SocketAddr, driver: &str, engine: &str) -> Server {
        let config = SessionConfig::default()
            .with_driver(driver)
            .with_secret(SECRET)
            .expect("secret")
            .with_cookie_secure(false);
        let manager = demo::manager(&config).await.unwrap_or_else(|e| {
            panic!("{e}\n(the redis tests need Redis at REDIS_URL, default redis://127.0.0.1:6379: start one with `redis-server --daemonize yes --save \"\" --appendonly no`)")
        });
        let views = demo::views(engine).expect("views");
        let listener = TcpListener::bind(addr).await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = oneshot::channel();
        let demo = Arc::new(demo::Demo { manager, views });
        let task = tokio::spawn(demo::serve(listener, demo, async {
            let _ = stopped.await;
        }));
        Server {
            addr,
            stop: Some(stop),
            task,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await.expect("server task");
    }
}

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client")
}

async fn get(client: &reqwest::Client, url: String) -> (StatusCode, String) {
    let res = client.get(url).send().await.expect("GET");
    (res.status(), res.text().await.expect("body"))
}

async fn post(
    client: &reqwest::Client,
    url: String,
    form: &[(&str, &str)],
) -> (StatusCode, String) {
    let res = client.post(url).form(form).send().await.expect("POST");
    (res.status(), res.text().await.expect("body"))
}

fn alerts(html: &str) -> Vec<&str> {
    html.lines()
        .filter(|l| l.contains("class=\"alert"))
        .map(str::trim)
        .collect()
}

/// login → dashboard shows the name and the flash once → reload shows none;
/// the flash survives a 404; logout; two clients isolated.
async fn lifecycle(driver: &str, engine: &str) {
    let server = Server::start(driver, engine).await;
    let ada = browser();

    let (status, html) = post(&ada, server.url("/login"), &[("name", "Ada")]).await;
    assert_eq!(status, StatusCode::OK, "followed the 303 to the dashboard");
    assert_eq!(
        alerts(&html),
        [r#"<div class="alert alert-success" role="alert">Welcome back, Ada!</div>"#]
    );
    assert!(html.contains("Signed in as <strong>Ada</strong>"), "{html}");
    let (_, html) = get(&ada, server.url("/dashboard")).await;
    assert!(alerts(&html).is_empty(), "shown once: {html}");
    assert!(html.contains("Signed in as <strong>Ada</strong>"));

    // A flash survives a 404 and shows on the next page.
    let res = ada
        .post(server.url("/flash"))
        .form(&[("level", "warning"), ("message", "Mind the <gap>")])
        .send()
        .await
        .expect("POST");
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.expect("body");
    assert_eq!(alerts(&html).len(), 1);
    assert!(html.contains("Mind the &lt;gap&gt;"), "escaped: {html}");
    // Without following the redirect: flash, then a 404, then the page.
    let no_follow = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let (status, _) = post(
        &no_follow,
        server.url("/flash"),
        &[("level", "danger"), ("message", "kept")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        get(&no_follow, server.url("/nope")).await.0,
        StatusCode::NOT_FOUND
    );
    let (_, html) = get(&no_follow, server.url("/")).await;
    assert!(
        html.contains("alert-danger") && html.contains(">kept<"),
        "{html}"
    );
    assert!(alerts(&get(&no_follow, server.url("/")).await.1).is_empty());

    // Another client sees none of Ada's session.
    let bob = browser();
    let (_, json) = get(&bob, server.url("/session")).await;
    assert_eq!(json, "{}");
    post(&bob, server.url("/login"), &[("name", "Bob")]).await;
    assert_eq!(
        get(&ada, server.url("/session")).await.1,
        r#"{"user":{"name":"Ada"}}"#
    );
    assert_eq!(
        get(&bob, server.url("/session")).await.1,
        r#"{"user":{"name":"Bob"}}"#
    );

    // Logout: the user is gone, the warning shows once.
    let (status, html) = post(&ada, server.url("/logout"), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("You have been logged out."), "{html}");
    let (_, html) = get(&ada, server.url("/dashboard")).await;
    assert!(
        html.contains("You are not signed in") && alerts(&html).is_empty(),
        "{html}"
    );
    assert_eq!(
        get(&bob, server.url("/session")).await.1,
        r#"{"user":{"name":"Bob"}}"#
    );
    server.stop().await;
}

#[tokio::test]
async fn memory_minijinja() {
    lifecycle("memory", "minijinja").await;
}

#[tokio::test]
async fn memory_tera() {
    lifecycle("memory", "tera").await;
}

#[tokio::test]
async fn cookie_minijinja() {
    lifecycle("cookie", "minijinja").await;
}

#[tokio::test]
async fn cookie_tera() {
    lifecycle("cookie", "tera").await;
}

#[tokio::test]
async fn redis_minijinja() {
    lifecycle("redis", "minijinja").await;
}

#[tokio::test]
async fn redis_tera() {
    lifecycle("redis", "tera").await;
}

/// A running `examples/app` process (built by `cargo test` with the other examples).
struct AppProcess(std::process::Child, u16);

impl AppProcess {
    async fn start(envs: &[(&str, &str)]) -> AppProcess {
        let exe = std::env::current_exe().expect("test binary");
        // target/<profile>/deps/e2e-<hash> -> target/<profile>/examples/app
        let app = exe
            .parent()
            .and_then(|deps| deps.parent())
            .map(|profile| profile.join("examples").join("app"))
            .expect("target dir");
        assert!(
            app.exists(),
            "{} is missing: run the tests through cargo test",
            app.display()
        );
        let port = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
            probe.local_addr().expect("addr").port()
        };
        let child = std::process::Command::new(&app)
            .env("PORT", port.to_string())
            .env("REDIS_URL", redis_url())
            .envs(envs.iter().copied())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start the demo");
        let process = AppProcess(child, port);
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return process;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("the demo did not start listening on port {port}");
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.1)
    }
}

impl Drop for AppProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn two_demo_processes_share_sessions_through_redis() {
    let env = [("SESSION_DRIVER", "redis")];
    let (one, two) = (AppProcess::start(&env).await, AppProcess::start(&env).await);
    // Cookies are per host, not per port: one browser talks to both processes.
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let (status, _) = post(&client, one.url("/login"), &[("name", "Ada")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, html) = get(&client, two.url("/dashboard")).await;
    assert!(
        html.contains("Welcome back, Ada!"),
        "the flash set by one shows on two: {html}"
    );
    assert!(html.contains("Signed in as <strong>Ada</strong>"));
    let (_, html) = get(&client, one.url("/dashboard")).await;
    assert!(alerts(&html).is_empty(), "shown once across both: {html}");
    assert!(html.contains("Signed in as <strong>Ada</strong>"));
}

/// Two demo processes with `SESSION_DRIVER=postgres` on the PostgreSQL at
/// `DATABASE_URL`, in a table of this test's own (dropped at the end).
#[tokio::test]
async fn two_demo_processes_share_sessions_through_postgres() {
    let url =
        std::env::var("DATABASE_URL").unwrap_or_else(|_| session_postgres::DEFAULT_URL.to_owned());
    let table = format!("e2e_{}", std::process::id());
    let env = [
        ("SESSION_DRIVER", "postgres"),
        ("DATABASE_URL", url.as_str()),
        ("SESSION_POSTGRES_SCHEMA", "session_postgres_tests"),
        ("SESSION_POSTGRES_TABLE", table.as_str()),
    ];
    let (one, two) = (AppProcess::start(&env).await, AppProcess::start(&env).await);
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let (status, _) = post(&client, one.url("/login"), &[("name", "Ada")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, html) = get(&client, two.url("/dashboard")).await;
    assert!(
        html.contains("Welcome back, Ada!"),
        "the flash set by one shows on two: {html}"
    );
    assert!(html.contains("Signed in as <strong>Ada</strong>"));
    let (_, html) = get(&client, one.url("/dashboard")).await;
    assert!(alerts(&html).is_empty(), "shown once across both: {html}");
    assert!(html.contains("Signed in as <strong>Ada</strong>"));
    // A flash set through two is shown once, by one.
    let form = [("level", "warning"), ("message", "Low on coffee")];
    let (status, _) = post(&client, two.url("/flash"), &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, html) = get(&client, one.url("/")).await;
    assert!(html.contains("Low on coffee"), "{html}");
    let (_, html) = get(&client, two.url("/")).await;
    assert!(!html.contains("Low on coffee"), "shown once: {html}");
    drop((one, two));
    let dropped = std::process::Command::new("psql")
        .args([url.as_str(), "-X", "-q", "-c"])
        .arg(format!(
            "DROP TABLE IF EXISTS session_postgres_tests.{table}"
        ))
        .status()
        .expect("psql");
    assert!(dropped.success(), "drop the test's table");
}

#[tokio::test]
async fn cookie_and_redis_sessions_survive_a_server_restart_memory_ones_do_not() {
    for (driver, survives) in [("cookie", true), ("redis", true), ("memory", false)] {
        let server = Server::start(driver, "minijinja").await;
        let addr = server.addr;
        let client = browser();
        post(&client, server.url("/login"), &[("name", "Ada")]).await;
        server.stop().await;
        let server = Server::start_on(addr, driver, "minijinja").await;
        let (_, json) = get(&client, server.url("/session")).await;
        let expected = if survives {
            r#"{"user":{"name":"Ada"}}"#
        } else {
            "{}"
        };
        assert_eq!(json, expected, "{driver}");
        server.stop().await;
    }
}

#[tokio::test]
async fn hostile_cookie_headers_get_a_2xx_or_4xx_never_a_5xx() {
    for driver in ["memory", "cookie", "redis"] {
        let server = Server::start(driver, "minijinja").await;
        let client = reqwest::Client::new();
        let huge = format!("s_user={}", "A".repeat(70_000));
        let headers: Vec<Vec<u8>> = vec![
            b"session_id=\xff\xfe\xfd; s_user=\x80".to_vec(),
            b";;;===;; ;".to_vec(),
            b"s_user=AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA; f_success=bm90IGEgc2VhbGVkIHZhbHVl".to_vec(),
            b"s!!!=1; f!=2; s_=3; f_x%zz=4".to_vec(),
            format!("session_id={}", "x".repeat(4000)).into_bytes(),
            huge.into_bytes(),
        ];
        for header in headers {
            for path in ["/", "/dashboard", "/session"] {
                let value =
                    reqwest::header::HeaderValue::from_bytes(&header).expect("opaque bytes");
                let status = client
                    .get(server.url(path))
                    .header(reqwest::header::COOKIE, value)
                    .send()
                    .await
                    .expect("the server answers")
                    .status();
                assert!(
                    status.is_success() || status.is_client_error(),
                    "{driver} {path} {status} for {:?}",
                    String::from_utf8_lossy(&header[..header.len().min(60)])
                );
            }
        }
        // Still serving.
        assert_eq!(get(&browser(), server.url("/")).await.0, StatusCode::OK);
        server.stop().await;
    }
}

#[tokio::test]
async fn bad_forms_are_4xx() {
    let server = Server::start("memory", "minijinja").await;
    let client = browser();
    let (status, _) = post(
        &client,
        server.url("/flash"),
        &[("level", "info"), ("message", "x")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let big = "x".repeat(20_000);
    let (status, _) = post(&client, server.url("/login"), &[("name", big.as_str())]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let (status, html) = post(&client, server.url("/login"), &[("name", "  ")]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("alert-danger"), "{html}");
    assert_eq!(
        get(&client, server.url("/login")).await.0,
        StatusCode::METHOD_NOT_ALLOWED
    );
    server.stop().await;
}

#[tokio::test]
async fn both_engines_render_the_same_bytes_for_the_same_session() {
    // The cookie driver carries the whole session in the request, so one
    // Cookie header replays the same session against both servers.
    let (mj, tera) = (
        Server::start("cookie", "minijinja").await,
        Server::start("cookie", "tera").await,
    );
    let no_follow = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let res = no_follow
        .post(mj.url("/login"))
        .form(&[("name", "<Ada & \"Bob\">")])
        .send()
        .await
        .expect("login");
    let cookie = res
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_owned))
        .collect::<Vec<_>>()
        .join("; ");
    assert!(
        cookie.contains("f_success=") && cookie.contains("s_user="),
        "{cookie}"
    );
    for path in ["/", "/dashboard"] {
        let fetch = |server: &Server| {
            no_follow
                .get(server.url(path))
                .header(reqwest::header::COOKIE, cookie.clone())
                .send()
        };
        let a = fetch(&mj).await.expect("GET").text().await.expect("body");
        let b = fetch(&tera).await.expect("GET").text().await.expect("body");
        assert!(a.contains("alert-success"), "{a}");
        // CSRF tokens are masked anew on every render.
        assert_eq!(without_tokens(&a), without_tokens(&b), "{path}");
    }
    mj.stop().await;
    tera.stop().await;
}

/// `html` with the value of every `_token` field replaced by `TOKEN`.
fn without_tokens(html: &str) -> String {
    const FIELD: &str = r#"name="_token" value=""#;
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(at) = rest.find(FIELD) {
        let value_start = at + FIELD.len();
        out.push_str(&rest[..value_start]);
        out.push_str("TOKEN");
        let value_len = rest[value_start..].find('"').unwrap_or(0);
        rest = &rest[value_start + value_len..];
    }
    out.push_str(rest);
    out
}

/// The `_token` of the first form on a page.
fn page_token(html: &str) -> String {
    const FIELD: &str = r#"name="_token" value=""#;
    let start = html.find(FIELD).expect("a form with csrf_field()") + FIELD.len();
    let len = html[start..].find('"').expect("the end of the value");
    html[start..start + len].to_owned()
}

/// A failed login comes back to the form with the error beside the field
/// and the typed name in it, once; a good one goes on as before. Over
/// plain HTTP, as a script or an old browser without Fetch Metadata would.
#[tokio::test]
async fn a_refused_login_comes_back_with_its_error_and_input() {
    for (driver, engine) in [("memory", "minijinja"), ("cookie", "tera")] {
        let server = Server::start(driver, engine).await;
        let client = browser();
        let too_long = "Ada".repeat(14);
        let (status, html) = post(&client, server.url("/login"), &[("name", &too_long)]).await;
        assert_eq!(status, StatusCode::OK, "followed the 303 back");
        assert!(
            html.contains(&format!(r#"value="{too_long}""#)),
            "{driver}/{engine}: the name is kept: {html}"
        );
        let error = r#"<span class="error" id="name-error">Use at most 40 characters (this one has 42).</span>"#;
        assert!(html.contains(error), "{driver}/{engine}: {html}");
        assert!(html.contains(r#"aria-invalid="true""#), "{html}");
        let (_, again) = get(&client, server.url("/")).await;
        assert!(!again.contains(r#"class="error""#), "shown once: {again}");
        assert!(again.contains(r#"autocomplete="off" value="">"#), "{again}");

        let (_, html) = post(&client, server.url("/login"), &[("name", "")]).await;
        assert!(html.contains("Enter a name to log in."), "{html}");

        let (status, html) = post(&client, server.url("/login"), &[("name", "Ada")]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("Signed in as <strong>Ada</strong>"), "{html}");
        server.stop().await;
    }
}

/// What a browser on the demo's own page sends passes; the same form
/// without the page's token, or from another site, is refused with 403.
#[tokio::test]
async fn browser_posts_need_the_token_of_the_page() {
    let server = Server::start("memory", "minijinja").await;
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let (_, home) = get(&client, server.url("/")).await;
    let token = page_token(&home);
    let send = |site: &'static str, token: &str| {
        let form = [("_token", token), ("level", "success"), ("message", "hi")];
        client
            .post(server.url("/flash"))
            .header("sec-fetch-site", site)
            .form(&form)
            .send()
    };
    let res = send("same-origin", &token).await.expect("POST");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = send("same-origin", "").await.expect("POST");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.headers().get(reqwest::header::SET_COOKIE).is_none());
    let res = send("cross-site", &token).await.expect("POST");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let body = res.text().await.expect("body");
    assert!(
        body.starts_with("403 Forbidden: this request was sent by a page of another site"),
        "{body}"
    );
    assert!(
        !body.contains("Sec-Fetch"),
        "no internals in the page: {body}"
    );
    server.stop().await;
}

/// The stylesheet the pages link: CSS from the demo itself, served without
/// touching the session, so a flash waiting for the next page is still there
/// after the browser fetched it, and no cookie is set.
#[tokio::test]
async fn the_stylesheet_is_served_without_touching_the_session() {
    for driver in ["memory", "cookie"] {
        let server = Server::start(driver, "minijinja").await;
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let res = client
            .post(server.url("/flash"))
            .form(&[("level", "warning"), ("message", "kept")])
            .send()
            .await
            .expect("POST /flash");
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{driver}");
        let css = client
            .get(server.url("/static/app.css"))
            .send()
            .await
            .expect("GET the stylesheet");
        assert_eq!(css.status(), StatusCode::OK, "{driver}");
        assert_eq!(
            css.headers()[reqwest::header::CONTENT_TYPE],
            "text/css; charset=utf-8"
        );
        assert!(
            css.headers().get(reqwest::header::SET_COOKIE).is_none(),
            "{driver}: {:?}",
            css.headers()
        );
        assert!(css.text().await.expect("body").contains(".alert-warning"));
        let (_, html) = get(&client, server.url("/")).await;
        assert!(
            html.contains(">kept<"),
            "{driver}: the flash is gone: {html}"
        );
        server.stop().await;
    }
}
