//! The `tracing` feature: the errors the layer answers for itself are events
//! that name their cause, the driver calls are spans that name the driver,
//! and nothing recorded carries a session id or a value.
//!
//! A test subscriber of its own records everything; each test installs it
//! for its thread only (`set_default`), and this file is its own test
//! binary, so the other tests never run with it.
#![cfg(feature = "tracing")]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use http::{Method, Request, Response, StatusCode, header};
use session_core::{
    MemoryDriver, SessionConfig, SessionError, SessionManager,
    cookie::Cookie,
    driver::{Loaded, SaveRequest, SessionDriver, async_trait},
    integration::RequestContext,
};
use session_tower::{Redirect, SessionLayer, sessions};
use tower::{ServiceBuilder, ServiceExt, service_fn};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// A span or an event as the subscriber saw it.
#[derive(Debug, Clone)]
struct Recorded {
    is_span: bool,
    level: Level,
    target: String,
    /// The span's name, or the event's message.
    name: String,
    fields: Vec<(String, String)>,
}

impl Recorded {
    fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

struct Fields<'a>(&'a mut Vec<(String, String)>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name().to_owned(), value.to_owned()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push((field.name().to_owned(), format!("{value:?}")));
    }
}

/// Records every span (with the fields recorded on it later) and event.
#[derive(Clone, Default)]
struct Recorder {
    records: Arc<Mutex<Vec<Recorded>>>,
}

impl Recorder {
    fn records(&self) -> Vec<Recorded> {
        self.records.lock().expect("lock").clone()
    }

    fn push(&self, metadata: &Metadata<'_>, is_span: bool, fields: Vec<(String, String)>) -> u64 {
        let mut records = self.records.lock().expect("lock");
        let name = if is_span {
            metadata.name().to_owned()
        } else {
            fields
                .iter()
                .find(|(n, _)| n == "message")
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        records.push(Recorded {
            is_span,
            level: *metadata.level(),
            target: metadata.target().to_owned(),
            name,
            fields,
        });
        records.len() as u64
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut fields = Vec::new();
        span.record(&mut Fields(&mut fields));
        // The span's place in `records`, counted from 1 (an `Id` is never 0).
        Id::from_u64(self.push(span.metadata(), true, fields))
    }

    fn record(&self, span: &Id, values: &Record<'_>) {
        let mut records = self.records.lock().expect("lock");
        let index = usize::try_from(span.into_u64()).expect("index") - 1;
        values.record(&mut Fields(&mut records[index].fields));
    }

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut fields = Vec::new();
        event.record(&mut Fields(&mut fields));
        self.push(event.metadata(), false, fields);
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

/// The memory driver, failing saves on demand.
#[derive(Default)]
struct Flaky {
    inner: MemoryDriver,
    fail_saves: AtomicBool,
}

#[async_trait]
impl SessionDriver for Flaky {
    async fn load(&self, request: &RequestContext) -> Result<Loaded, SessionError> {
        self.inner.load(request).await
    }

    async fn save(&self, save: SaveRequest<'_>) -> Result<Vec<Cookie<'static>>, SessionError> {
        if self.fail_saves.load(Ordering::SeqCst) {
            return Err(SessionError::backend("memory", "the store is down"));
        }
        self.inner.save(save).await
    }
}

async fn app(req: Request<String>) -> Result<Response<String>, SessionError> {
    let session = sessions(&req).session().await?;
    if req.uri().path() == "/login" {
        session.set("user", "ada-secret-value")?;
        session.regenerate()?;
    } else {
        session.set("seen", "another-secret-value")?;
    }
    Ok(Response::new(String::new()))
}

#[tokio::test]
async fn a_failed_save_answered_503_is_a_warning_naming_the_cause() {
    let recorder = Recorder::default();
    let _guard = tracing::subscriber::set_default(recorder.clone());

    let driver = Arc::new(Flaky::default());
    let manager = SessionManager::builder()
        .shared_driver("memory", driver.clone())
        .build()
        .expect("manager");
    let app = ServiceBuilder::new()
        .layer(SessionLayer::new(manager))
        .service(service_fn(app));

    let res = app
        .clone()
        .oneshot(
            Request::post("/login")
                .body(String::new())
                .expect("request"),
        )
        .await
        .expect("response");
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = res.headers()[header::SET_COOKIE]
        .to_str()
        .expect("ascii")
        .to_owned();
    let id = Cookie::parse(cookie.clone())
        .expect("cookie")
        .value()
        .to_owned();
    assert!(!id.is_empty());

    driver.fail_saves.store(true, Ordering::SeqCst);
    let res = app
        .oneshot(
            Request::builder()
                .method(Method::POST)
                .uri("/set")
                .header(header::COOKIE, format!("session_id={id}"))
                .body(String::new())
                .expect("request"),
        )
        .await
        .expect("response");
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);

    let records = recorder.records();
    let answered: Vec<&Recorded> = records
        .iter()
        .filter(|r| !r.is_span && r.target == "session_tower")
        .collect();
    assert_eq!(answered.len(), 1, "{records:#?}");
    let event = answered[0];
    assert_eq!(event.level, Level::WARN);
    assert!(
        event.name.contains("session store unavailable"),
        "{event:?}"
    );
    assert_eq!(event.field("status"), Some("503"));
    let error = event.field("error").expect("the cause");
    assert!(
        error.contains("`memory` session store failed: the store is down"),
        "{error}"
    );

    // The driver calls are spans that name the driver and the outcome.
    let spans = |name: &str| -> Vec<&Recorded> {
        records
            .iter()
            .filter(|r| r.is_span && r.name == name)
            .collect()
    };
    let loads = spans("session.load");
    assert_eq!(loads.len(), 2, "{records:#?}");
    assert!(loads.iter().all(|s| s.level == Level::DEBUG
        && s.target == "session_core"
        && s.field("driver") == Some("memory")
        && s.field("outcome") == Some("ok")));
    let saves = spans("session.save");
    let outcomes: Vec<Option<&str>> = saves.iter().map(|s| s.field("outcome")).collect();
    assert_eq!(outcomes, [Some("ok"), Some("error")]);
    let finishes = spans("session.finish");
    assert_eq!(finishes.len(), 2);
    assert!(finishes.iter().all(|s| s.field("status") == Some("200")));

    assert!(
        records.iter().any(
            |r| r.name == "session id to be regenerated" && r.field("driver") == Some("memory")
        ),
        "{records:#?}"
    );

    // Nothing recorded carries the session id or a value.
    for record in &records {
        for (_, value) in &record.fields {
            assert!(!value.contains(&id), "the id leaked: {record:?}");
            assert!(
                !value.contains("secret-value"),
                "a value leaked: {record:?}"
            );
        }
    }
}

#[tokio::test]
async fn a_flash_the_driver_refuses_answered_413_is_a_warning_naming_the_key() {
    let recorder = Recorder::default();
    let _guard = tracing::subscriber::set_default(recorder.clone());

    let config = SessionConfig::default()
        .with_driver("cookie")
        .with_secret("a test secret that is long enough to use")
        .expect("secret");
    let manager = SessionManager::from_config(&config).expect("manager");
    let app = ServiceBuilder::new()
        .layer(SessionLayer::new(manager))
        .service(service_fn(|_req: Request<String>| async move {
            Ok::<Response<String>, SessionError>(
                Redirect::see_other("/")
                    .flash("success", "x".repeat(5000))
                    .into_response(),
            )
        }));
    let res = app
        .oneshot(Request::post("/").body(String::new()).expect("request"))
        .await
        .expect("response");
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);

    let records = recorder.records();
    let event = records
        .iter()
        .find(|r| !r.is_span && r.target == "session_tower")
        .expect("an event");
    // The client sent too much: not a fault of the application's.
    assert_eq!(event.level, Level::WARN);
    assert!(event.name.contains("too large"), "{event:?}");
    assert_eq!(event.field("status"), Some("413"));
    let error = event.field("error").expect("the cause");
    assert!(error.contains("session key `success`"), "{error}");
    assert!(!error.contains("xxxx"), "the value stays out: {error}");
}

#[tokio::test]
async fn an_error_the_app_answers_itself_is_still_an_event_with_its_status() {
    let recorder = Recorder::default();
    let _guard = tracing::subscriber::set_default(recorder.clone());

    let driver = Arc::new(Flaky::default());
    driver.fail_saves.store(true, Ordering::SeqCst);
    let manager = SessionManager::builder()
        .shared_driver("memory", driver)
        .build()
        .expect("manager");
    let maintenance = |_: &SessionError| {
        let mut res = Response::new(String::from("<p>Back in a minute.</p>"));
        *res.status_mut() = StatusCode::BAD_GATEWAY;
        Some(res)
    };
    let res = ServiceBuilder::new()
        .layer(SessionLayer::new(manager).with_rejection(maintenance))
        .service(service_fn(app))
        .oneshot(Request::post("/set").body(String::new()).expect("request"))
        .await
        .expect("response");
    assert_eq!(res.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(res.body(), "<p>Back in a minute.</p>");

    let records = recorder.records();
    let answered: Vec<&Recorded> = records
        .iter()
        .filter(|r| !r.is_span && r.target == "session_tower")
        .collect();
    assert_eq!(answered.len(), 1, "{records:#?}");
    assert_eq!(answered[0].level, Level::WARN);
    assert_eq!(answered[0].field("status"), Some("502"));
    assert!(
        answered[0]
            .field("error")
            .is_some_and(|e| e.contains("the store is down")),
        "{:?}",
        answered[0]
    );
}
