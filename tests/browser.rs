//! A real browser against the demo server: Debian's `chromium`, headless,
//! driven over WebDriver (`chromedriver` + fantoccini).
//!
//! Each test starts the demo in-process on a free port, its own
//! `chromedriver` and a fresh browser profile, then logs in through the form,
//! sees the flash once, flashes a message with markup in it (it must render as
//! text) and logs out. The tests take turns: three browsers at once on a small
//! CI machine only make each one slower.
//!
//! `styled_dashboard` looks at the page as a visitor does: the flash alert is
//! styled (coloured, readable, per level), the page fits a phone and shows
//! keyboard focus, and its screenshot of the dashboard is
//! `docs/demo-dashboard.png`, the one in the README.
//!
//! Without `chromium` and `chromedriver` these tests fail, they never skip:
//! `make test` installs them (`scripts/test-deps.sh`).

#[path = "support/attacker.rs"]
pub mod attacker;
#[path = "../examples/demo/mod.rs"]
pub mod demo;

use std::error::Error;
use std::fs::File;
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use session_core::SessionConfig;

type TestResult<T = ()> = Result<T, Box<dyn Error + Send + Sync>>;

/// How long one step (a page load, an element to appear) may take.
const STEP: Duration = Duration::from_secs(10);
/// How long one whole scenario may take, browser start included.
const SCENARIO: Duration = Duration::from_secs(45);

const HOME_TITLE: &str = "session-views demo";
/// Would change the title, set a global and fire `onerror` if the page
/// treated the flash message as HTML.
const MARKUP: &str = r#"<script>window.__xss = 1; document.title = "XSS"</script><img src="x" onerror="window.__xss = 2"> & done"#;

static ONE_BROWSER_AT_A_TIME: Mutex<()> = Mutex::new(());

#[test]
fn minijinja_memory() {
    run("minijinja", "memory");
}

#[test]
fn tera_memory() {
    run("tera", "memory");
}

#[test]
fn minijinja_cookie() {
    run("minijinja", "cookie");
}

#[test]
fn tera_cookie() {
    run("tera", "cookie");
}

#[test]
fn minijinja_redis() {
    run("minijinja", "redis");
}

#[test]
fn tera_redis() {
    run("tera", "redis");
}

/// See [`look`]; also writes [`SCREENSHOT`].
#[test]
fn styled_dashboard() {
    let (chromium, chromedriver) = browser_binaries();
    // A failed test poisons the lock; the next one may still run.
    let _turn = ONE_BROWSER_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let scenario = async {
        let dir = TempDir::new("styled");
        let addr = start_demo("minijinja", "memory").await?;
        let chromedriver = Chromedriver::start(&chromedriver, &dir.0).await?;
        let client = connect(&chromedriver, &chromium, &dir.0.join("profile")).await?;
        let result = look(&client, &format!("http://{addr}")).await;
        let closed = client.close().await;
        result?;
        closed?;
        TestResult::Ok(())
    };
    let outcome = runtime.block_on(async { tokio::time::timeout(SCENARIO, scenario).await });
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(e)) => panic!("browser test styled_dashboard failed: {e}"),
        Err(_) => panic!("browser test styled_dashboard took longer than {SCENARIO:?}"),
    }
}

fn run(engine: &str, driver: &str) {
    let (chromium, chromedriver) = browser_binaries();
    // A failed test poisons the lock; the next one may still run.
    let _turn = ONE_BROWSER_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let started = Instant::now();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let outcome = runtime.block_on(async {
        tokio::time::timeout(SCENARIO, scenario(engine, driver, &chromium, &chromedriver)).await
    });
    match outcome {
        Ok(Ok(())) => eprintln!(
            "browser test {engine}/{driver}: passed in {:.1?}",
            started.elapsed()
        ),
        Ok(Err(e)) => panic!("browser test {engine}/{driver} failed: {e}"),
        Err(_) => panic!("browser test {engine}/{driver} took longer than {SCENARIO:?}"),
    }
}

/// `chromium` and `chromedriver` from `PATH`, or a failure that says how to
/// get them.
fn browser_binaries() -> (PathBuf, PathBuf) {
    let chromium = find_on_path("chromium");
    let chromedriver = find_on_path("chromedriver");
    match (chromium, chromedriver) {
        (Some(chromium), Some(chromedriver)) => (chromium, chromedriver),
        (chromium, chromedriver) => {
            let missing: Vec<&str> = [
                chromium.is_none().then_some("chromium"),
                chromedriver.is_none().then_some("chromedriver"),
            ]
            .into_iter()
            .flatten()
            .collect();
            panic!(
                "the browser test needs {} on PATH: install them with \
                 `apt-get install chromium chromium-driver` (`make setup` does this)",
                missing.join(" and ")
            )
        }
    }
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// A directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(label: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = std::env::temp_dir().join(format!(
            "session-views-browser-{label}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&path).expect("creating a temp dir");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A `chromedriver` child in its own process group; dropping it kills the
/// group, so no browser outlives the test even if the session was not closed.
struct Chromedriver {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Chromedriver {
    async fn start(binary: &Path, dir: &Path) -> TestResult<Self> {
        let port = free_port()?;
        let log = dir.join("chromedriver.log");
        let out = File::create(&log)?;
        let child = Command::new(binary)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .process_group(0)
            .spawn()
            .map_err(|e| format!("starting {}: {e}", binary.display()))?;
        let mut driver = Chromedriver { child, port, log };
        let deadline = Instant::now() + STEP;
        loop {
            if let Some(status) = driver.child.try_wait()? {
                return Err(format!(
                    "chromedriver exited at start ({status}):\n{}",
                    driver.log_text()
                )
                .into());
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Ok(driver);
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "chromedriver did not listen on port {port} within {STEP:?}:\n{}",
                    driver.log_text()
                )
                .into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // The group holds chromedriver and the browser it started.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nobody listens on right now (the OS picks it).
fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// The demo on a free loopback port, served until the runtime stops.
async fn start_demo(engine: &str, driver: &str) -> TestResult<SocketAddr> {
    // Configured here rather than through the environment, which the tests share.
    let mut config = SessionConfig::default()
        .with_driver(driver)
        .with_cookie_secure(false);
    if driver == "cookie" {
        config = config.with_secret(demo::DEVELOPMENT_SECRET)?;
    }
    let views = demo::views(engine)?;
    let manager = demo::manager(&config).await.map_err(|e| e.to_string())?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let demo = Arc::new(demo::Demo { manager, views });
    tokio::spawn(demo::serve(listener, demo, std::future::pending()));
    Ok(addr)
}

async fn connect(driver: &Chromedriver, chromium: &Path, profile: &Path) -> TestResult<Client> {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".to_owned(),
        json!({
            "binary": chromium,
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let client = ClientBuilder::new(connector)
        .capabilities(capabilities)
        .connect(&driver.url())
        .await
        .map_err(|e| {
            format!(
                "no browser session from chromedriver: {e}\n{}",
                driver.log_text()
            )
        })?;
    Ok(client)
}

async fn scenario(engine: &str, driver: &str, chromium: &Path, chromedriver: &Path) -> TestResult {
    let dir = TempDir::new(&format!("{engine}-{driver}"));
    let addr = start_demo(engine, driver).await?;
    let chromedriver = Chromedriver::start(chromedriver, &dir.0).await?;
    let profile = dir.0.join("profile");
    let client = connect(&chromedriver, chromium, &profile).await?;
    let result = steps(&client, &format!("http://{addr}"), driver).await;
    // Closing the session lets chromedriver shut the browser down cleanly.
    let closed = client.close().await;
    result?;
    closed?;
    drop(chromedriver);
    drop(dir);
    Ok(())
}

async fn steps(c: &Client, base: &str, driver: &str) -> TestResult {
    let name = "Ada Zoë";

    // Log in through the form: 303 to the dashboard with the flash.
    c.goto(&format!("{base}/")).await?;
    check_eq("home page title", c.title().await?, HOME_TITLE.to_owned())?;
    check_eq("alerts on a fresh home page", alerts(c).await?, vec![])?;
    // A name the form refuses: back to the form, the error beside the
    // field, and what was typed still in it.
    let too_long = "Ada ".repeat(demo::MAX_NAME_CHARS / 4 + 1);
    let too_long = too_long.trim();
    c.find(Locator::Css("input#name"))
        .await?
        .send_keys(too_long)
        .await?;
    click_and_wait(c, "button#login", "/").await?;
    let error = text(c, "#name-error.error").await?;
    if !error.contains("at most 40 characters") {
        return Err(format!("the error beside the name field: {error:?}").into());
    }
    let field = c.find(Locator::Css("input#name")).await?;
    check_eq(
        "the name field after the refused login",
        (
            field.prop("value").await?,
            field.attr("aria-invalid").await?,
        ),
        (Some(too_long.to_owned()), Some("true".to_owned())),
    )?;
    reload(c).await?;
    check_eq(
        "form errors after a reload (shown once)",
        c.find_all(Locator::Css(".error")).await?.len(),
        0,
    )?;

    let field = c.find(Locator::Css("input#name")).await?;
    field.clear().await?;
    field.send_keys(name).await?;
    click_and_wait(c, "button#login", "/dashboard").await?;
    check_eq(
        "the flash after logging in",
        alerts(c).await?,
        vec![(
            "alert alert-success".to_owned(),
            format!("Welcome back, {name}!"),
        )],
    )?;
    check_eq(
        "p#user after logging in",
        text(c, "p#user").await?,
        format!("Signed in as {name}."),
    )?;
    visible_alert(c).await?;

    // The browser really holds the session, in cookies scripts cannot read.
    let cookies: Vec<String> = c
        .get_all_cookies()
        .await?
        .iter()
        .map(|cookie| cookie.name().to_owned())
        .collect();
    let expected_cookie = match driver {
        "cookie" => "s_user",
        "redis" => "redis_session_id",
        _ => "session_id",
    };
    if !cookies.iter().any(|n| n == expected_cookie) {
        return Err(format!(
            "the {driver} driver should have set a `{expected_cookie}` cookie; the browser has {cookies:?}"
        )
        .into());
    }
    check_eq(
        "document.cookie (all session cookies are HttpOnly)",
        c.execute("return document.cookie", vec![]).await?,
        json!(""),
    )?;

    // Reload: the flash was shown once, the user stays.
    reload(c).await?;
    check_eq("alerts after a reload", alerts(c).await?, vec![])?;
    check_eq(
        "p#user after a reload",
        text(c, "p#user").await?,
        format!("Signed in as {name}."),
    )?;

    cross_site_forms_change_nothing(c, base).await?;

    // A flash message with markup in it renders as text.
    c.goto(&format!("{base}/")).await?;
    c.find(Locator::Css("select#level"))
        .await?
        .select_by_value("danger")
        .await?;
    let message = c.find(Locator::Css("input#message")).await?;
    message.clear().await?;
    message.send_keys(MARKUP).await?;
    click_and_wait(c, "button#flash", "/").await?;
    check_eq(
        "the flashed markup",
        alerts(c).await?,
        vec![("alert alert-danger".to_owned(), MARKUP.to_owned())],
    )?;
    check_eq(
        "elements inside the alert",
        c.execute(
            "return document.querySelector('.alert').children.length",
            vec![],
        )
        .await?,
        json!(0),
    )?;
    check_eq(
        "the title after the markup flash",
        c.title().await?,
        HOME_TITLE.to_owned(),
    )?;
    check_eq(
        "window.__xss (set only if the markup ran)",
        c.execute("return window.__xss === undefined", vec![])
            .await?,
        json!(true),
    )?;

    // Still logged in; the dashboard shows no leftover flash.
    c.goto(&format!("{base}/dashboard")).await?;
    check_eq("alerts on the dashboard again", alerts(c).await?, vec![])?;
    check_eq(
        "p#user on the dashboard again",
        text(c, "p#user").await?,
        format!("Signed in as {name}."),
    )?;

    // Log out: 303 to the home page with the warning, and the user is gone.
    click_and_wait(c, "button#logout", "/").await?;
    check_eq(
        "the flash after logging out",
        alerts(c).await?,
        vec![(
            "alert alert-warning".to_owned(),
            "You have been logged out.".to_owned(),
        )],
    )?;
    c.goto(&format!("{base}/dashboard")).await?;
    check_eq("alerts after logging out", alerts(c).await?, vec![])?;
    check_eq(
        "p#user after logging out",
        text(c, "p#user").await?,
        "You are not signed in. Log in".to_owned(),
    )?;
    Ok(())
}

/// Pages of another site post the demo's forms (log in as the attacker,
/// write a message on this site, log the user out): each is refused with
/// the 403 page and the session and its cookies stay as they were.
async fn cross_site_forms_change_nothing(c: &Client, base: &str) -> TestResult {
    let attacker = attacker::Attacker::start(base).await?;
    let before = session_state(c, base).await?;
    for path in ["/login", "/flash", "/logout"] {
        mark_page(c).await?;
        c.goto(&attacker.page_posting_to(path)).await?;
        wait_for_new_page(c, path, &format!("the other site's form to {path}")).await?;
        let page = c.find(Locator::Css("body")).await?.text().await?;
        if !page.contains("403 Forbidden") || !page.contains("another site") {
            return Err(format!("the other site's post to {path} got: {page}").into());
        }
        check_eq(
            &format!("the session after the other site's post to {path}"),
            session_state(c, base).await?,
            before.clone(),
        )?;
    }
    Ok(())
}

/// What a forged request could change: the session's data, the names of
/// the browser's cookies and the value of the session id.
async fn session_state(c: &Client, base: &str) -> TestResult<(Value, Vec<String>, Option<String>)> {
    c.goto(&format!("{base}/session")).await?;
    let json = c.find(Locator::Css("body")).await?.text().await?;
    let data: Value = serde_json::from_str(&json).map_err(|e| format!("{e}: {json}"))?;
    let cookies = c.get_all_cookies().await?;
    let mut names: Vec<String> = cookies.iter().map(|k| k.name().to_owned()).collect();
    names.sort();
    let id = cookies
        .iter()
        .find(|k| k.name().ends_with("session_id"))
        .map(|k| k.value().to_owned());
    Ok((data, names, id))
}

fn check_eq<T: PartialEq + std::fmt::Debug>(what: &str, actual: T, expected: T) -> TestResult {
    if actual == expected {
        Ok(())
    } else {
        Err(format!("{what}: expected {expected:?}, got {actual:?}").into())
    }
}

async fn text(c: &Client, css: &str) -> TestResult<String> {
    Ok(c.find(Locator::Css(css)).await?.text().await?)
}

/// Every `.alert` on the page as (class, text).
async fn alerts(c: &Client) -> TestResult<Vec<(String, String)>> {
    let mut found = Vec::new();
    for alert in c.find_all(Locator::Css(".alert")).await? {
        let class = alert.attr("class").await?.unwrap_or_default();
        found.push((class, alert.text().await?));
    }
    Ok(found)
}

/// Marks the current document, so that a wait can tell the next page from
/// this one even when both have the same URL.
async fn mark_page(c: &Client) -> TestResult {
    c.execute("window.__sv_old_page = true", vec![]).await?;
    Ok(())
}

async fn click_and_wait(c: &Client, css: &str, path: &str) -> TestResult {
    mark_page(c).await?;
    c.find(Locator::Css(css)).await?.click().await?;
    wait_for_new_page(c, path, &format!("clicking {css}")).await
}

async fn reload(c: &Client) -> TestResult {
    mark_page(c).await?;
    let path = c.current_url().await?.path().to_owned();
    c.refresh().await?;
    wait_for_new_page(c, &path, "reloading").await
}

/// Waits until a document other than the marked one has loaded at `path`.
async fn wait_for_new_page(c: &Client, path: &str, after: &str) -> TestResult {
    let probe = "return [document.readyState, location.pathname, window.__sv_old_page === true]";
    let deadline = Instant::now() + STEP;
    let mut last = Value::Null;
    loop {
        // While the browser navigates, scripts may fail to run: try again.
        if let Ok(state) = c.execute(probe, vec![]).await {
            if state == json!(["complete", path, false]) {
                return Ok(());
            }
            last = state;
        }
        if Instant::now() > deadline {
            return Err(format!(
                "after {after}: no new page at {path} within {STEP:?} \
                 (last [readyState, path, old page]: {last})"
            )
            .into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Where the screenshot of the dashboard goes (the README shows it).
const SCREENSHOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/demo-dashboard.png");
/// The desktop window the screenshot is taken in, and a phone's.
const DESKTOP: (u32, u32) = (900, 560);
const PHONE: (u32, u32) = (390, 844);

/// The demo as a visitor sees it: a styled alert per level, a screenshot, the
/// keyboard focus, a phone-sized window, the form-error styles.
async fn look(c: &Client, base: &str) -> TestResult {
    c.set_window_size(DESKTOP.0, DESKTOP.1).await?;
    c.goto(&format!("{base}/")).await?;
    c.find(Locator::Css("input#name"))
        .await?
        .send_keys("Ada Lovelace")
        .await?;
    click_and_wait(c, "button#login", "/dashboard").await?;
    check_eq(
        "the flash after logging in",
        alerts(c).await?,
        vec![(
            "alert alert-success".to_owned(),
            "Welcome back, Ada Lovelace!".to_owned(),
        )],
    )?;
    let success = visible_alert(c).await?;
    save_screenshot(&c.screenshot().await?, c).await?;

    // Everything the page loaded came from the demo (it works offline, under a
    // `default-src 'self'` policy): no CDN, no inline style or script.
    check_eq(
        "what the page loaded from elsewhere, or inline",
        c.execute(
            "const links = document.querySelectorAll('link[href], script[src], img[src], iframe[src]');
             return performance.getEntriesByType('resource').map(e => e.name)
                 .concat([...links].map(e => e.href || e.src))
                 .filter(url => !url.startsWith(location.origin + '/'))
                 .concat([...document.querySelectorAll('[style], style, script')]
                     .map(e => e.outerHTML))",
            vec![],
        )
        .await?,
        json!([]),
    )?;

    // Tab from the top: the header link, then the logout button, each with a focus ring.
    for expected in ["A session-views", "BUTTON logout"] {
        c.perform_actions(
            KeyActions::new("keyboard".to_owned())
                .then(KeyAction::Down {
                    value: Key::Tab.into(),
                })
                .then(KeyAction::Up {
                    value: Key::Tab.into(),
                }),
        )
        .await?;
        let focused = c
            .execute(
                "const e = document.activeElement, s = getComputedStyle(e);
                 return [e.tagName + ' ' + (e.id || e.textContent.trim()), s.outlineStyle,
                         parseFloat(s.outlineWidth)]",
                vec![],
            )
            .await?;
        if focused[0] != expected
            || focused[1] != "solid"
            || focused[2].as_f64().unwrap_or(0.0) < 2.0
        {
            return Err(format!(
                "after Tab: expected {expected} focused with a visible outline; \
                 [element, outline style, outline width]: {focused}"
            )
            .into());
        }
    }

    // Each level has its own colours; on a phone the page fits the screen.
    let warning = flash(c, base, "warning").await?;
    c.set_window_size(PHONE.0, PHONE.1).await?;
    let danger = flash(c, base, "danger").await?;
    let widths = c
        .execute(
            "return [document.documentElement.scrollWidth, window.innerWidth]",
            vec![],
        )
        .await?;
    if widths[0].as_f64() > widths[1].as_f64() || widths[1].as_f64() > Some(f64::from(PHONE.0)) {
        return Err(format!(
            "on a {PHONE:?} window the page scrolls sideways: [scrollWidth, innerWidth] {widths}"
        )
        .into());
    }
    if success == warning || warning == danger || success == danger {
        return Err(format!(
            "the levels look alike: success {success}, warning {warning}, danger {danger}"
        )
        .into());
    }

    // The form errors' markup (an `.error` beside a field, a list in an alert) is styled too.
    let errors = c
        .execute(
            "const main = document.querySelector('main');
             main.insertAdjacentHTML('beforeend', '<ul class=\"alert alert-danger\" role=\"alert\">\
               <li>Name is required.</li></ul><label>Name <input aria-invalid=\"true\">\
               <span class=\"error\">Name is required.</span></label>');
             const list = getComputedStyle(main.querySelector('ul.alert'));
             const error = getComputedStyle(main.querySelector('.error'));
             const field = getComputedStyle(main.querySelector('[aria-invalid]'));
             return [list.backgroundColor, error.color, getComputedStyle(main).color,
                     field.borderTopColor, error.color]",
            vec![],
        )
        .await?;
    let list = rgba(&errors[0])?;
    if list.3 < 1.0 || errors[1] == errors[2] || errors[3] != errors[4] {
        return Err(format!(
            "form errors unstyled: [list background, .error colour, text colour, \
             invalid field border, .error colour] {errors}"
        )
        .into());
    }
    Ok(())
}

/// Flashes `level` through the home page's form; returns the alert's background.
async fn flash(c: &Client, base: &str, level: &str) -> TestResult<String> {
    c.goto(&format!("{base}/")).await?;
    c.find(Locator::Css("select#level"))
        .await?
        .select_by_value(level)
        .await?;
    let message = c.find(Locator::Css("input#message")).await?;
    message.clear().await?;
    message.send_keys(&format!("A {level} message")).await?;
    click_and_wait(c, "button#flash", "/").await?;
    visible_alert(c).await
}

/// Fails unless the page's one `.alert` is on screen with a size, an opaque
/// background that stands out from the page, and text readable on it
/// (contrast at least 4.5:1); returns the background colour.
async fn visible_alert(c: &Client) -> TestResult<String> {
    let found = c
        .execute(
            "const all = document.querySelectorAll('.alert');
             if (all.length !== 1) return 'alerts on the page: ' + all.length;
             const a = all[0], r = a.getBoundingClientRect(), s = getComputedStyle(a);
             return {width: r.width, height: r.height,
                     onScreen: r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight
                               && r.right <= innerWidth,
                     shown: s.display !== 'none' && s.visibility === 'visible'
                            && parseFloat(s.opacity) === 1,
                     background: s.backgroundColor, color: s.color,
                     around: getComputedStyle(a.parentElement).backgroundColor}",
            vec![],
        )
        .await?;
    let background = found["background"].as_str().unwrap_or_default().to_owned();
    let fail = |why: &str| Err(format!("the alert is not visible: {why}; found {found}").into());
    if !found.is_object() {
        return fail("not exactly one");
    }
    let size = |key: &str| found[key].as_f64().unwrap_or(0.0);
    if size("width") <= 0.0 || size("height") <= 0.0 {
        return fail("no size");
    }
    if found["onScreen"] != true || found["shown"] != true {
        return fail("off screen or hidden");
    }
    let (bg, fg) = (rgba(&found["background"])?, rgba(&found["color"])?);
    if bg.3 < 1.0 || found["background"] == found["around"] {
        return fail("no background of its own (is the stylesheet served?)");
    }
    let ratio = contrast((bg.0, bg.1, bg.2), (fg.0, fg.1, fg.2));
    if ratio < 4.5 {
        return fail(&format!("text contrast {ratio:.2}:1, under 4.5:1"));
    }
    Ok(background)
}

/// `rgb(r, g, b)` or `rgba(r, g, b, a)` as computed styles give colours.
fn rgba(value: &Value) -> TestResult<(f64, f64, f64, f64)> {
    let text = value.as_str().unwrap_or_default();
    let inner = text
        .strip_prefix("rgba(")
        .or_else(|| text.strip_prefix("rgb("))
        .and_then(|rest| rest.strip_suffix(')'))
        .ok_or_else(|| format!("not an rgb() colour: {value}"))?;
    let parts: Vec<f64> = inner
        .split(',')
        .map(|part| part.trim().parse())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{value}: {e}"))?;
    match parts[..] {
        [r, g, b] => Ok((r, g, b, 1.0)),
        [r, g, b, a] => Ok((r, g, b, a)),
        _ => Err(format!("not an rgb() colour: {value}").into()),
    }
}

/// The WCAG contrast ratio of two sRGB colours (1 to 21).
fn contrast(a: (f64, f64, f64), b: (f64, f64, f64)) -> f64 {
    let luminance = |(r, g, b): (f64, f64, f64)| {
        let channel = |c: f64| {
            let c = c / 255.0;
            if c <= 0.040_45 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
    };
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

/// Checks that `png` is a PNG of the whole viewport, then writes it to
/// [`SCREENSHOT`] (only when it changed, so an unchanged page leaves the
/// committed file alone).
async fn save_screenshot(png: &[u8], c: &Client) -> TestResult {
    let viewport = c
        .execute(
            "return [innerWidth * devicePixelRatio, innerHeight * devicePixelRatio]",
            vec![],
        )
        .await?;
    let size = |at: usize| {
        png.get(at..at + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    let (width, height) = (size(16), size(20));
    if !png.starts_with(b"\x89PNG\r\n\x1a\n")
        || width.map(f64::from) != viewport[0].as_f64()
        || height.map(f64::from) != viewport[1].as_f64()
    {
        return Err(format!(
            "the screenshot is not a PNG of the viewport {viewport}: {width:?} x {height:?}, {} bytes",
            png.len()
        )
        .into());
    }
    if std::fs::read(SCREENSHOT).ok().as_deref() != Some(png) {
        std::fs::write(SCREENSHOT, png).map_err(|e| format!("writing {SCREENSHOT}: {e}"))?;
        eprintln!("browser test: wrote {SCREENSHOT}");
    }
    Ok(())
}
