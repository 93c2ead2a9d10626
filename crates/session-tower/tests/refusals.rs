//! Saves the memory driver refuses, as the layer answers them: a stale
//! save (another request regenerated the session meanwhile) is a 409, a
//! session grown past the per-session limit a 413. Neither body shows
//! internal text, neither sets a cookie, and each is a warning event that
//! names the cause but no id or value.
//!
//! A subscriber of this file's own records the events (installed per test
//! thread with `set_default`; this file is its own test binary).
#![cfg(feature = "tracing")]

use std::convert::Infallible;
use std::fmt::Debug;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use http::{Method, Request, Response, StatusCode, header};
use session_core::{MemoryDriver, SessionError, SessionManager};
use session_tower::{SessionLayer, sessions};
use tower::{ServiceBuilder, ServiceExt, service_fn};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// An event's fields by name (the message as `message`).
type FieldList = Vec<(String, String)>;

/// The events seen: level, target and fields.
#[derive(Clone, Default)]
struct Events(Arc<Mutex<Vec<(Level, String, FieldList)>>>);

struct Fields<'a>(&'a mut Vec<(String, String)>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.0.push((field.name().to_owned(), format!("{value:?}")));
    }
}

impl Subscriber for Events {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = Vec::new();
        event.record(&mut Fields(&mut fields));
        let metadata = event.metadata();
        self.0.lock().expect("lock").push((
            *metadata.level(),
            metadata.target().to_owned(),
            fields,
        ));
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

impl Events {
    /// The fields of the layer's events at `level`.
    fn layer_events(&self, level: Level) -> Vec<FieldList> {
        self.0
            .lock()
            .expect("lock")
            .iter()
            .filter(|(l, target, _)| *l == level && target == "session_tower")
            .map(|(_, _, fields)| fields.clone())
            .collect()
    }
}

type App = tower::util::BoxCloneSyncService<Request<String>, Response<String>, Infallible>;

/// A flag one task raises and another waits for (yielding to the runtime).
#[derive(Clone, Default)]
struct Flag(Arc<AtomicBool>);

impl Flag {
    fn raise(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    async fn wait(&self) {
        for _ in 0..1_000_000 {
            if self.0.load(Ordering::SeqCst) {
                return;
            }
            tokio::task::yield_now().await;
        }
        panic!("the flag was never raised");
    }
}

/// `POST /write?key` writes the body under `key`; `POST /slow` writes, then
/// waits for `release`; `POST /login` regenerates.
fn app(driver: MemoryDriver, loaded: Flag, release: Flag) -> App {
    let manager = SessionManager::builder()
        .driver("memory", driver)
        .build()
        .expect("manager");
    let service = ServiceBuilder::new()
        .layer(SessionLayer::new(manager))
        .service(service_fn(move |req: Request<String>| {
            let (loaded, release) = (loaded.clone(), release.clone());
            async move {
                let session = sessions(&req).session().await.expect("load");
                match req.uri().path() {
                    "/write" => session
                        .set(req.uri().query().unwrap_or("k"), req.body())
                        .expect("under the value limit"),
                    "/slow" => {
                        session.set("role", "admin").expect("set");
                        loaded.raise();
                        release.wait().await;
                    }
                    "/login" => session.regenerate().expect("open"),
                    _ => {}
                }
                Ok::<_, Infallible>(Response::new(String::new()))
            }
        }));
    tower::util::BoxCloneSyncService::new(service)
}

async fn post(app: &App, uri: &str, cookie: &str, body: &str) -> Response<String> {
    let request = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(header::COOKIE, cookie)
        .body(body.to_owned())
        .expect("request");
    app.clone().oneshot(request).await.expect("infallible")
}

fn cookie_of(response: &Response<String>) -> String {
    let line = response.headers()[header::SET_COOKIE]
        .to_str()
        .expect("ascii");
    line.split(';').next().expect("pair").to_owned()
}

/// The body and event of a refusal: no internal text, no id, no cookie.
fn assert_clean(response: &Response<String>, cookie: &str, events: &[FieldList]) {
    let body = response.body();
    for internal in ["memory", "driver", "SessionError", "session_id"] {
        assert!(!body.contains(internal), "{internal:?} in {body:?}");
    }
    assert!(response.headers().get(header::SET_COOKIE).is_none());
    assert!(response.extensions().get::<Arc<SessionError>>().is_some());
    assert_eq!(events.len(), 1, "one warning: {events:?}");
    let id = cookie.split_once('=').expect("pair").1;
    let text = format!("{events:?}");
    assert!(!text.contains(id), "the id is in the event: {text}");
    assert!(
        !text.contains("admin") && !text.contains("xxxx"),
        "a value: {text}"
    );
}

#[tokio::test]
async fn a_stale_save_is_a_409_and_a_warning() {
    let events = Events::default();
    let _guard = tracing::subscriber::set_default(events.clone());
    let (loaded, release) = (Flag::default(), Flag::default());
    let app = app(MemoryDriver::default(), loaded.clone(), release.clone());
    let cookie = cookie_of(&post(&app, "/write?cart", "", "1").await);
    // Both in this task, so that the subscriber (this thread's) sees both.
    let slow = post(&app, "/slow", &cookie, "");
    let login = async {
        loaded.wait().await;
        let login = post(&app, "/login", &cookie, "").await;
        release.raise();
        login
    };
    let (late, login) = tokio::join!(slow, login);
    assert_eq!(login.status(), StatusCode::OK);

    assert_eq!(late.status(), StatusCode::CONFLICT);
    assert_eq!(
        late.body(),
        "409 Conflict: the session changed while this request ran (a sign-in or sign-out \
         elsewhere), so nothing was saved; reload the page and try again.\n"
    );
    let warnings = events.layer_events(Level::WARN);
    assert_clean(&late, &cookie, &warnings);
    let fields = &warnings[0];
    assert!(
        fields.contains(&("status".to_owned(), "409".to_owned())),
        "{fields:?}"
    );
    assert!(
        fields
            .iter()
            .any(|(name, value)| name == "error" && value.contains("regenerated or ended")),
        "{fields:?}"
    );
    assert!(events.layer_events(Level::ERROR).is_empty());
}

#[tokio::test]
async fn a_session_over_the_per_session_limit_is_a_413_and_a_warning() {
    let events = Events::default();
    let _guard = tracing::subscriber::set_default(events.clone());
    let driver = MemoryDriver::builder().max_bytes(256 * 1024).build();
    let value = "x".repeat(driver.max_value_bytes() - 16);
    let app = app(driver, Flag::default(), Flag::default());
    let cookie = cookie_of(&post(&app, "/write?a", "", &value).await);
    let mut refused = None;
    for i in 0..8 {
        let response = post(&app, &format!("/write?k{i}"), &cookie, &value).await;
        if response.status() != StatusCode::OK {
            refused = Some(response);
            break;
        }
    }
    let refused = refused.expect("refused before eight values");
    assert_eq!(refused.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        refused.body(),
        "413 Payload Too Large: the session has grown too large to be saved, so nothing was saved.\n"
    );
    assert_clean(&refused, &cookie, &events.layer_events(Level::WARN));
}
