//! A value too large for the driver that reaches the layer is the client's
//! input, not a server fault: a 413 with a plain message (the detail stays
//! in the error the response carries for logging), or the app's own answer.

use std::sync::Arc;

use http::{Request, Response, StatusCode, header};
use session_core::{
    MemoryDriver, SessionConfig, SessionError, SessionManager,
    cookie::Cookie,
    driver::{Bucket, Loaded, SaveRequest, SessionDriver, async_trait},
    integration::RequestContext,
};
use session_tower::{Redirect, SessionLayer, sessions};
use tower::{ServiceBuilder, ServiceExt, service_fn};

fn cookie_manager() -> SessionManager {
    let config = SessionConfig::default()
        .with_driver("cookie")
        .with_secret("a test secret that is long enough to use")
        .expect("secret");
    SessionManager::from_config(&config).expect("manager")
}

/// A redirect that flashes what the client typed: 5 000 bytes, more than a
/// cookie holds.
async fn flash_large(_req: Request<String>) -> Result<Response<String>, SessionError> {
    Ok(Redirect::see_other("/")
        .flash("note", "x".repeat(5000))
        .into_response())
}

async fn send(layer: SessionLayer) -> Response<String> {
    ServiceBuilder::new()
        .layer(layer)
        .service(service_fn(flash_large))
        .oneshot(Request::post("/").body(String::new()).expect("request"))
        .await
        .expect("response")
}

/// The answer is a 413 whose body says what happened and nothing of the
/// error's own text; the error rides along for logging.
fn assert_plain_413(res: &Response<String>) {
    assert_eq!(
        res.status(),
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        res.body()
    );
    assert_eq!(
        res.headers()[header::CONTENT_TYPE],
        "text/plain; charset=utf-8"
    );
    assert_eq!(
        res.body(),
        "413 Payload Too Large: a value sent with this request is too large to keep in the session.\n"
    );
    assert!(res.headers().get(header::SET_COOKIE).is_none());
    let err = res
        .extensions()
        .get::<Arc<SessionError>>()
        .expect("the error, for logging");
    assert!(
        matches!(**err, SessionError::ValueTooLarge { ref key, .. } if key == "note"),
        "{err}"
    );
}

#[tokio::test]
async fn a_redirect_flash_the_driver_refuses_is_a_413() {
    assert_plain_413(&send(SessionLayer::new(cookie_manager())).await);
}

/// The memory driver with a limit it checks only when it saves, as a store
/// with a column size learns it late.
#[derive(Default)]
struct LimitAtSave(MemoryDriver);

#[async_trait]
impl SessionDriver for LimitAtSave {
    async fn load(&self, request: &RequestContext) -> Result<Loaded, SessionError> {
        self.0.load(request).await
    }

    async fn save(&self, save: SaveRequest<'_>) -> Result<Vec<Cookie<'static>>, SessionError> {
        for bucket in [Bucket::Session, Bucket::Flash] {
            for (key, value) in save.changes.bucket(bucket) {
                let size = value.as_ref().map_or(0, |v| v.as_json().len());
                if size > 1000 {
                    return Err(SessionError::ValueTooLarge {
                        key: key.clone(),
                        size,
                        limit: 1000,
                        driver: "limited",
                    });
                }
            }
        }
        self.0.save(save).await
    }
}

#[tokio::test]
async fn a_deferred_write_the_driver_refuses_at_save_is_a_413() {
    let manager = SessionManager::builder()
        .driver("memory", LimitAtSave::default())
        .build()
        .expect("manager");
    let res = ServiceBuilder::new()
        .layer(SessionLayer::new(manager))
        .service(service_fn(|req: Request<String>| async move {
            sessions(&req)
                .session()
                .await?
                .set("note", "x".repeat(5000))?;
            Ok::<_, SessionError>(Response::new(String::from("saved")))
        }))
        .oneshot(Request::post("/").body(String::new()).expect("request"))
        .await
        .expect("response");
    assert_plain_413(&res);
}

fn friendly(err: &SessionError) -> Option<Response<String>> {
    match err {
        SessionError::ValueTooLarge { .. } => {
            let mut res = Response::new(String::from("<p>That note is too long.</p>"));
            *res.status_mut() = StatusCode::BAD_REQUEST;
            res.headers_mut()
                .insert(header::CONTENT_TYPE, "text/html".parse().expect("header"));
            Some(res)
        }
        _ => None,
    }
}

#[tokio::test]
async fn the_app_can_answer_with_its_own_response() {
    let res = send(SessionLayer::new(cookie_manager()).with_rejection(friendly)).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(res.body(), "<p>That note is too long.</p>");
    assert_eq!(res.headers()[header::CONTENT_TYPE], "text/html");
    assert!(
        res.extensions().get::<Arc<SessionError>>().is_some(),
        "the error still rides along for logging"
    );

    // `None` leaves the layer's own answer.
    let res = send(SessionLayer::new(cookie_manager()).with_rejection(|_| None)).await;
    assert_plain_413(&res);
}

#[cfg(feature = "axum")]
#[tokio::test]
async fn a_handlers_session_rejection_for_a_large_value_is_a_413() {
    use axum_core::response::IntoResponse;
    use session_tower::SessionRejection;

    let res = ServiceBuilder::new()
        .layer(SessionLayer::new(cookie_manager()))
        .service(service_fn(|req: Request<String>| async move {
            let session = sessions(&req).session().await?;
            let answer = match session.set("note", "x".repeat(5000)) {
                Ok(()) => Response::new(axum_core::body::Body::empty()),
                Err(err) => SessionRejection(err).into_response(),
            };
            Ok::<_, SessionError>(answer)
        }))
        .oneshot(Request::post("/").body(String::new()).expect("request"))
        .await
        .expect("response");
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(res.extensions().get::<Arc<SessionError>>().is_some());
}
