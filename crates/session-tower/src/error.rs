//! How a session error becomes a response, for the layer and for axum's
//! `SessionRejection`.

use std::sync::Arc;

use http::{HeaderValue, Response, StatusCode, header};
use session_core::SessionError;

/// The response for a session error: `error_status` when the store failed,
/// 409 Conflict when another request regenerated or ended the session this
/// request loaded ([`SessionError::StaleSession`]: nothing was saved, and
/// the browser already holds the current cookie, so no cookie is set),
/// 413 for a value too large for its driver (the client's input) or when
/// the session grew past the driver's per-session limit, and 500
/// for a mistake in the application. The body says what happened without
/// exposing the store's own message; the error itself rides along in the
/// extensions for logging, and (feature `tracing`) is an event here, since
/// the client sees only the status.
pub(crate) fn error_response<B: From<String>>(
    err: SessionError,
    error_status: StatusCode,
) -> Response<B> {
    // The client's input, not the server's fault: a 4xx of its own.
    if crate::too_large::is_too_large(&err) {
        return crate::too_large::too_large_response(err);
    }
    let (status, what) = match &err {
        _ if err.is_unavailable() => (
            error_status,
            "the session store is unavailable; please try again shortly",
        ),
        SessionError::StaleSession { .. } => (
            StatusCode::CONFLICT,
            "the session changed while this request ran (a sign-in or sign-out elsewhere), \
             so nothing was saved; reload the page and try again",
        ),
        SessionError::SessionTooLarge { .. } => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "the session has grown too large to be saved, so nothing was saved",
        ),
        _ => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "the session could not be saved",
        ),
    };
    #[cfg(feature = "tracing")]
    trace_error(&err, status);
    let reason = status.canonical_reason().unwrap_or("Error");
    let body = format!("{} {reason}: {what}.\n", status.as_u16());
    let mut response = Response::new(B::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    if err.is_unavailable() {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response.extensions_mut().insert(Arc::new(err));
    response
}

/// A store that failed is a warning: the client is told to retry (with
/// `Retry-After`) and the outage is the store's, which its own client
/// reports too. A refused stale save, or a session grown too large, is a
/// warning too: a race with another request, or what a client did. Any
/// other session error is a mistake in the application that every such
/// request will hit: an error.
///
/// The error's message names the driver and, for a value, the key; never
/// an id, a value or a cookie.
#[cfg(feature = "tracing")]
pub(crate) fn trace_error(err: &SessionError, status: StatusCode) {
    match err {
        _ if err.is_unavailable() => tracing::warn!(
            target: "session_tower",
            status = status.as_u16(),
            error = %err,
            "session store unavailable; answered with an error status"
        ),
        SessionError::StaleSession { .. } => tracing::warn!(
            target: "session_tower",
            status = status.as_u16(),
            error = %err,
            "stale session save refused: another request regenerated or ended the session"
        ),
        SessionError::SessionTooLarge { .. } => tracing::warn!(
            target: "session_tower",
            status = status.as_u16(),
            error = %err,
            "session too large to save; answered with an error status"
        ),
        _ => tracing::error!(
            target: "session_tower",
            status = status.as_u16(),
            error = %err,
            "session error; answered with an error status"
        ),
    }
}
