//! The soak load generator: virtual users (one keep-alive connection each)
//! walking the demo's flows against the soak server (`soak`), each checking that
//! its own session holds exactly what it wrote. Run by `bench/soak.sh`; not
//! part of CI.
//!
//! ```text
//! cargo run --release -p session-views-bench --bin soak_client -- --url http://127.0.0.1:8000 \
//!     --users 64 --seconds 600 --server-pid PID [--warmup 60] [--interval 10] \
//!     [--abandon-every 5] [--expect-outage 1]
//! ```
//!
//! One cycle of a virtual user, each step checked:
//!
//! 1. a new visitor (empty cookie jar): `GET /` shows no message;
//! 2. `POST /counter` → 1, no user;
//! 3. `POST /login` → 303 to `/dashboard`; `GET /dashboard` shows its name
//!    and the welcome flash exactly once;
//! 4. `POST /counter` three times → 2, 3, 4, with its name;
//! 5. a flash round trip: `POST /flash` (a token of its own) → 303;
//!    `GET /` shows the token once, the next `GET /` not at all;
//! 6. `GET /session`: counter 4, its name, no flash left;
//! 7. every `--abandon-every`th cycle the user walks away here (its session
//!    stays until the store evicts or expires it); otherwise `POST /logout`
//!    → 303, and `GET /session` holds only the logout warning.
//!
//! A counter other than the expected one is a **lost write**; another
//! user's name or token is a **crossed session**. After any failure or 5xx
//! the user starts over as a new visitor (after 100 ms for a 503).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::header::{COOKIE, LOCATION, SET_COOKIE};
use http::{HeaderMap, Method, StatusCode};
use serde_json::{Value, json};
use session_core::cookie::Cookie;

#[derive(Debug)]
struct Args {
    url: String,
    users: usize,
    seconds: u64,
    server_pid: Option<u32>,
    warmup: u64,
    interval: u64,
    abandon_every: u64,
    expect_outage: bool,
}

fn args() -> Result<Args, String> {
    let mut args = Args {
        url: "http://127.0.0.1:8000".to_owned(),
        users: 64,
        seconds: 600,
        server_pid: None,
        warmup: 60,
        interval: 10,
        abandon_every: 5,
        expect_outage: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let number = || value.parse::<u64>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--url" => args.url = value.trim_end_matches('/').to_owned(),
            "--users" => args.users = number()? as usize,
            "--seconds" => args.seconds = number()?,
            "--server-pid" => args.server_pid = Some(number()? as u32),
            "--warmup" => args.warmup = number()?,
            "--interval" => args.interval = number()?.max(1),
            "--abandon-every" => args.abandon_every = number()?.max(1),
            "--expect-outage" => args.expect_outage = number()? != 0,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(args)
}

/// Counters shared by every user; the reporter prints their deltas.
#[derive(Debug, Default)]
struct Stats {
    requests: AtomicU64,
    s2xx: AtomicU64,
    s3xx: AtomicU64,
    s4xx: AtomicU64,
    s503: AtomicU64,
    s5xx_other: AtomicU64,
    transport: AtomicU64,
    cycles: AtomicU64,
    abandoned: AtomicU64,
    restarts: AtomicU64,
    lost: AtomicU64,
    crossed: AtomicU64,
    flash: AtomicU64,
    unexpected: AtomicU64,
    /// Milliseconds since the start of the first and the last 503 (0: none).
    first_503_ms: AtomicU64,
    last_503_ms: AtomicU64,
    latencies_us: Mutex<Vec<u32>>,
    failures: Mutex<Vec<String>>,
}

const FIELDS: [&str; 14] = [
    "requests",
    "2xx",
    "3xx",
    "4xx",
    "503",
    "5xx_other",
    "transport_errors",
    "cycles",
    "abandoned",
    "restarts",
    "lost_writes",
    "crossed_sessions",
    "flash_errors",
    "unexpected",
];

impl Stats {
    fn counters(&self) -> [&AtomicU64; 14] {
        [
            &self.requests,
            &self.s2xx,
            &self.s3xx,
            &self.s4xx,
            &self.s503,
            &self.s5xx_other,
            &self.transport,
            &self.cycles,
            &self.abandoned,
            &self.restarts,
            &self.lost,
            &self.crossed,
            &self.flash,
            &self.unexpected,
        ]
    }

    fn snapshot(&self) -> [u64; 14] {
        self.counters().map(|c| c.load(Ordering::Relaxed))
    }
}

/// Why a cycle stopped early.
#[derive(Debug)]
enum Failure {
    /// A 5xx: expected while the store is down, a bug otherwise.
    Unavailable(StatusCode),
    Transport(String),
    Lost(String),
    Crossed(String),
    Flash(String),
    Unexpected(String),
}

type Step<T> = Result<T, Failure>;

#[derive(Debug)]
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

#[derive(Debug)]
struct User {
    id: usize,
    base: String,
    client: reqwest::Client,
    jar: BTreeMap<String, String>,
    stats: Arc<Stats>,
    latencies: Vec<u32>,
    started: Instant,
}

impl User {
    async fn send(&mut self, method: Method, path: &str, form: &[(&str, &str)]) -> Step<Reply> {
        let mut request = self
            .client
            .request(method.clone(), format!("{}{path}", self.base));
        if !self.jar.is_empty() {
            let cookies: Vec<String> = self.jar.iter().map(|(n, v)| format!("{n}={v}")).collect();
            request = request.header(COOKIE, cookies.join("; "));
        }
        if method == Method::POST {
            request = request.form(form);
        }
        let started = Instant::now();
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => {
                self.stats.transport.fetch_add(1, Ordering::Relaxed);
                return Err(Failure::Transport(format!("{method} {path}: {e}")));
            }
        };
        let status = response.status();
        let headers = response.headers().clone();
        let body = match response.text().await {
            Ok(body) => body,
            Err(e) => {
                self.stats.transport.fetch_add(1, Ordering::Relaxed);
                return Err(Failure::Transport(format!("{method} {path} body: {e}")));
            }
        };
        self.latencies
            .push(u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX));
        let class = match status.as_u16() {
            200..=299 => &self.stats.s2xx,
            300..=399 => &self.stats.s3xx,
            400..=499 => &self.stats.s4xx,
            503 => &self.stats.s503,
            _ => &self.stats.s5xx_other,
        };
        class.fetch_add(1, Ordering::Relaxed);
        if status == StatusCode::SERVICE_UNAVAILABLE {
            let at = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
            let _ = self.stats.first_503_ms.compare_exchange(
                0,
                at.max(1),
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
            self.stats.last_503_ms.fetch_max(at, Ordering::Relaxed);
        }
        if status.is_server_error() {
            return Err(Failure::Unavailable(status));
        }
        for line in headers.get_all(SET_COOKIE) {
            let parsed = line
                .to_str()
                .ok()
                .and_then(|l| Cookie::parse(l.to_owned()).ok());
            let Some(cookie) = parsed else {
                return Err(Failure::Unexpected(format!(
                    "{path}: a Set-Cookie that does not parse: {line:?}"
                )));
            };
            if cookie.max_age().is_some_and(|age| age.is_zero()) {
                self.jar.remove(cookie.name());
            } else {
                self.jar
                    .insert(cookie.name().to_owned(), cookie.value().to_owned());
            }
        }
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    async fn expect(
        &mut self,
        method: Method,
        path: &str,
        form: &[(&str, &str)],
        status: StatusCode,
    ) -> Step<Reply> {
        let reply = self.send(method.clone(), path, form).await?;
        if reply.status != status {
            return Err(Failure::Unexpected(format!(
                "{method} {path}: {} instead of {status}: {}",
                reply.status,
                reply.body.trim()
            )));
        }
        Ok(reply)
    }

    async fn redirect(&mut self, path: &str, form: &[(&str, &str)], to: &str) -> Step<()> {
        let reply = self
            .expect(Method::POST, path, form, StatusCode::SEE_OTHER)
            .await?;
        let location = reply.headers.get(LOCATION).and_then(|l| l.to_str().ok());
        if location != Some(to) {
            return Err(Failure::Unexpected(format!(
                "POST {path}: redirected to {location:?}, not {to}"
            )));
        }
        Ok(())
    }

    /// `POST /counter`, expecting `count` for `user`.
    async fn counter(&mut self, count: u64, user: Option<&str>) -> Step<()> {
        let reply = self
            .expect(Method::POST, "/counter", &[], StatusCode::OK)
            .await?;
        let got: Value = serde_json::from_str(&reply.body)
            .map_err(|e| Failure::Unexpected(format!("/counter: {e}: {}", reply.body)))?;
        let got_user = got["user"].as_str();
        if got_user != user {
            let detail = format!("/counter: user {got_user:?}, expected {user:?}");
            return Err(match got_user {
                Some(_) => Failure::Crossed(detail),
                None => Failure::Lost(detail),
            });
        }
        if got["counter"] != json!(count) {
            return Err(Failure::Lost(format!(
                "/counter for {user:?}: {} instead of {count}",
                got["counter"]
            )));
        }
        Ok(())
    }

    /// The names of other users in `body` (names look like `vu12c345`).
    fn others_in(&self, body: &str, me: &str) -> Option<String> {
        body.match_indices("vu").find_map(|(at, _)| {
            let rest = &body[at..];
            let len = rest
                .char_indices()
                .skip(2)
                .find(|(_, c)| !(c.is_ascii_digit() || *c == 'c'))
                .map_or(rest.len(), |(i, _)| i);
            let name = &rest[..len];
            let shaped = len > 3 && name[2..].contains('c');
            (shaped && name != me).then(|| name.to_owned())
        })
    }

    async fn cycle(&mut self, cycle: u64, abandon: bool) -> Step<()> {
        self.jar.clear();
        let name = format!("vu{}c{cycle}", self.id);
        let token = format!("token-{name}-x");

        let home = self.expect(Method::GET, "/", &[], StatusCode::OK).await?;
        if home.body.contains("class=\"alert") {
            return Err(Failure::Crossed(format!(
                "a new visitor sees a message: {}",
                excerpt(&home.body, "alert")
            )));
        }
        self.counter(1, None).await?;

        self.redirect("/login", &[("name", &name)], "/dashboard")
            .await?;
        let page = self
            .expect(Method::GET, "/dashboard", &[], StatusCode::OK)
            .await?;
        if let Some(other) = self.others_in(&page.body, &name) {
            return Err(Failure::Crossed(format!(
                "{name}'s dashboard shows {other}"
            )));
        }
        let welcome = format!("Welcome back, {name}!");
        if page.body.matches(&welcome).count() != 1 {
            return Err(Failure::Flash(format!(
                "{name}'s dashboard shows the welcome {} times",
                page.body.matches(&welcome).count()
            )));
        }
        for count in 2..=4 {
            self.counter(count, Some(&name)).await?;
        }

        self.redirect("/flash", &[("level", "success"), ("message", &token)], "/")
            .await?;
        let shown = self.expect(Method::GET, "/", &[], StatusCode::OK).await?;
        if shown.body.matches(&token).count() != 1 {
            return Err(Failure::Flash(format!(
                "{name}: the flash shows {} times on the first page",
                shown.body.matches(&token).count()
            )));
        }
        if let Some(other) = self.others_in(&shown.body, &name) {
            return Err(Failure::Crossed(format!("{name}'s page shows {other}")));
        }
        let again = self.expect(Method::GET, "/", &[], StatusCode::OK).await?;
        if again.body.contains(&token) {
            return Err(Failure::Flash(format!(
                "{name}: the flash shows on the second page too"
            )));
        }

        let session = self
            .expect(Method::GET, "/session", &[], StatusCode::OK)
            .await?;
        let data: Value = serde_json::from_str(&session.body)
            .map_err(|e| Failure::Unexpected(format!("/session: {e}")))?;
        let user = data["user"]["name"].as_str();
        if user != Some(name.as_str()) {
            let detail = format!("/session of {name} holds user {user:?}");
            return Err(match user {
                Some(_) => Failure::Crossed(detail),
                None => Failure::Lost(detail),
            });
        }
        if data["counter"] != json!(4) {
            return Err(Failure::Lost(format!(
                "/session of {name}: counter {} instead of 4",
                data["counter"]
            )));
        }
        if data.get("success").is_some() {
            return Err(Failure::Flash(format!("/session of {name}: flash left")));
        }
        if abandon {
            self.stats.abandoned.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }

        self.redirect("/logout", &[], "/").await?;
        let after = self
            .expect(Method::GET, "/session", &[], StatusCode::OK)
            .await?;
        let data: Value = serde_json::from_str(&after.body)
            .map_err(|e| Failure::Unexpected(format!("/session: {e}")))?;
        if data != json!({"warning": "You have been logged out."}) {
            return Err(Failure::Unexpected(format!(
                "after {name}'s logout the session holds {data}"
            )));
        }
        Ok(())
    }
}

fn excerpt(body: &str, around: &str) -> String {
    let at = body.find(around).unwrap_or(0);
    let start = body[..at]
        .char_indices()
        .rev()
        .nth(40)
        .map_or(0, |(i, _)| i);
    body[start..].chars().take(120).collect()
}

async fn run_user(
    id: usize,
    args: Arc<Args>,
    stats: Arc<Stats>,
    started: Instant,
    deadline: Instant,
) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(1)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let mut user = User {
        id,
        base: args.url.clone(),
        client,
        jar: BTreeMap::new(),
        stats: stats.clone(),
        latencies: Vec::new(),
        started,
    };
    let mut cycle = 0;
    while Instant::now() < deadline {
        cycle += 1;
        let abandon = cycle % args.abandon_every == 0;
        match user.cycle(cycle, abandon).await {
            Ok(()) => {
                stats.cycles.fetch_add(1, Ordering::Relaxed);
            }
            Err(failure) => {
                stats.restarts.fetch_add(1, Ordering::Relaxed);
                let (counter, detail) = match failure {
                    Failure::Unavailable(StatusCode::SERVICE_UNAVAILABLE) => {
                        // Counted by status; the client waits as Retry-After asks (roughly).
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                    Failure::Unavailable(status) => (None, format!("{status}")),
                    Failure::Transport(d) => (None, d),
                    Failure::Lost(d) => (Some(&stats.lost), d),
                    Failure::Crossed(d) => (Some(&stats.crossed), d),
                    Failure::Flash(d) => (Some(&stats.flash), d),
                    Failure::Unexpected(d) => (Some(&stats.unexpected), d),
                };
                if let Some(counter) = counter {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
                let mut failures = stats.failures.lock().expect("stats lock");
                if failures.len() < 30 {
                    failures.push(format!("user {id} cycle {cycle}: {detail}"));
                }
            }
        }
        if user.latencies.len() > 4096 {
            stats
                .latencies_us
                .lock()
                .expect("stats lock")
                .append(&mut user.latencies);
        }
    }
    stats
        .latencies_us
        .lock()
        .expect("stats lock")
        .append(&mut user.latencies);
}

fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

async fn server_stats(client: &reqwest::Client, url: &str) -> String {
    match client.get(format!("{url}/soak-stats")).send().await {
        Ok(res) => res.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

#[tokio::main]
async fn main() {
    let args = match args() {
        Ok(args) => Arc::new(args),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let stats = Arc::new(Stats::default());
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.seconds);
    println!(
        "soak: {} users against {} for {} s (abandon every {}th cycle), server pid {:?}, outage expected: {}",
        args.users, args.url, args.seconds, args.abandon_every, args.server_pid, args.expect_outage
    );
    let users: Vec<_> = (0..args.users)
        .map(|id| tokio::spawn(run_user(id, args.clone(), stats.clone(), started, deadline)))
        .collect();

    let probe = reqwest::Client::new();
    let mut previous = stats.snapshot();
    let mut rss = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_secs(args.interval));
    tick.tick().await;
    println!(
        "{:>5} {:>7} {:>6} {:>6} {:>5} {:>5} {:>5} {:>6} {:>5} {:>7} {:>9}  server",
        "t_s", "req", "2xx", "3xx", "503", "5xx", "err", "cycles", "lost", "crossed", "rss_kb"
    );
    while Instant::now() < deadline {
        tick.tick().await;
        let now = stats.snapshot();
        let d: Vec<u64> = now.iter().zip(previous).map(|(n, p)| n - p).collect();
        previous = now;
        let t = started.elapsed().as_secs();
        let kb = args.server_pid.and_then(rss_kb);
        if let Some(kb) = kb {
            rss.push((t, kb));
        }
        println!(
            "{t:>5} {:>7} {:>6} {:>6} {:>5} {:>5} {:>5} {:>6} {:>5} {:>7} {:>9}  {}",
            d[0],
            d[1],
            d[2],
            d[4],
            d[5],
            d[6],
            d[7],
            d[10],
            d[11],
            kb.map_or("-".to_owned(), |k| k.to_string()),
            server_stats(&probe, &args.url).await.trim()
        );
    }
    for user in users {
        let _ = user.await;
    }

    let elapsed = started.elapsed().as_secs_f64();
    let totals = stats.snapshot();
    println!("\nsummary after {elapsed:.0} s:");
    for (name, value) in FIELDS.iter().zip(totals) {
        println!("  {name:>17}: {value}");
    }
    println!("  {:>17}: {:.0}", "requests/s", totals[0] as f64 / elapsed);
    let mut latencies = std::mem::take(&mut *stats.latencies_us.lock().expect("stats lock"));
    latencies.sort_unstable();
    if !latencies.is_empty() {
        let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize] as f64 / 1000.0;
        println!(
            "  {:>17}: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.1} ms",
            "latency",
            at(0.5),
            at(0.9),
            at(0.99),
            at(1.0)
        );
    }
    let after: Vec<u64> = rss
        .iter()
        .filter(|(t, _)| *t >= args.warmup)
        .map(|(_, kb)| *kb)
        .collect();
    if let (Some(first), Some(last), Some(min), Some(max)) = (
        after.first(),
        after.last(),
        after.iter().min(),
        after.iter().max(),
    ) {
        println!(
            "  {:>17}: after {} s warm-up: first {first} kB, last {last} kB, min {min} kB, max {max} kB ({} samples)",
            "server RSS",
            args.warmup,
            after.len()
        );
    }
    println!(
        "  {:>17}: {}",
        "server stats",
        server_stats(&probe, &args.url).await.trim()
    );
    let (first, last) = (
        stats.first_503_ms.load(Ordering::Relaxed),
        stats.last_503_ms.load(Ordering::Relaxed),
    );
    if first > 0 {
        println!(
            "  {:>17}: from +{:.1} s to +{:.1} s",
            "503 answers",
            first as f64 / 1000.0,
            last as f64 / 1000.0
        );
    }
    let failures = stats.failures.lock().expect("stats lock");
    if !failures.is_empty() {
        println!("first failures:");
        for failure in failures.iter() {
            println!("  {failure}");
        }
    }
    // During a planned store outage 503s (and the restarts they cause) are
    // the expected answer; otherwise any 5xx or dropped connection fails.
    let outage_ok = if args.expect_outage {
        0
    } else {
        totals[4] + totals[6]
    };
    let bad = outage_ok + totals[5] + totals[10] + totals[11] + totals[12] + totals[13];
    println!(
        "RESULT {}: 5xx other than 503: {}, 503: {}, lost writes: {}, crossed sessions: {}, flash errors: {}, unexpected: {}, transport errors: {}",
        if bad == 0 { "PASS" } else { "FAIL" },
        totals[5],
        totals[4],
        totals[10],
        totals[11],
        totals[12],
        totals[13],
        totals[6]
    );
}
