//! axum 0.8 integration: extractors and responses.

use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, Response};
use http::StatusCode;
use http::request::Parts;
use session_core::{Session, SessionError, integration::RequestSessions};

use crate::Redirect;
use crate::error::error_response;

impl IntoResponse for Redirect {
    fn into_response(self) -> Response {
        Redirect::into_response(self)
    }
}

/// A session error as an axum response: 503 when the store is unavailable,
/// 500 otherwise. Handlers can `?` a [`SessionError`] into it.
#[derive(Debug)]
pub struct SessionRejection(pub SessionError);

impl From<SessionError> for SessionRejection {
    fn from(err: SessionError) -> Self {
        SessionRejection(err)
    }
}

impl IntoResponse for SessionRejection {
    fn into_response(self) -> Response {
        error_response(self.0, StatusCode::SERVICE_UNAVAILABLE)
    }
}

/// Extracts the request's [`RequestSessions`] (every driver, loaded on first use).
#[derive(Debug, Clone)]
pub struct Sessions(pub RequestSessions);

impl<S: Send + Sync> FromRequestParts<S> for Sessions {
    type Rejection = (StatusCode, &'static str);

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let Some(sessions) = parts.extensions.get::<RequestSessions>() else {
            #[cfg(feature = "tracing")]
            tracing::error!(
                target: "session_tower",
                "no sessions on this request (add session_tower::SessionLayer to the router); answered 500"
            );
            return Err((
                StatusCode::INTERNAL_SERVER_ERROR,
                "no sessions on this request: add session_tower::SessionLayer to the router",
            ));
        };
        Ok(Sessions(sessions.clone()))
    }
}

/// Extracts the default driver's [`Session`], loading it.
///
/// ```
/// use axum_core::response::IntoResponse;
/// use session_tower::{Redirect, CurrentSession};
///
/// async fn login(CurrentSession(session): CurrentSession) -> impl IntoResponse {
///     session.set("user", "ada").ok();
///     Redirect::see_other("/dashboard").flash("success", "Welcome back!")
/// }
/// ```
#[derive(Debug, Clone)]
pub struct CurrentSession(pub Session);

impl<S: Send + Sync> FromRequestParts<S> for CurrentSession {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Sessions(sessions) = Sessions::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let session = sessions
            .session()
            .await
            .map_err(|e| SessionRejection(e).into_response())?;
        Ok(CurrentSession(session))
    }
}
