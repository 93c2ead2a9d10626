//! A value too large for the driver that stores it, reaching the layer (a
//! [`Redirect`](crate::Redirect)'s flash, a write a driver refuses only when
//! it saves, a handler's `SessionRejection`).
//!
//! Such a value nearly always comes from the client (a message typed into a
//! form and flashed back), so it is the client's error, not the server's:
//! 413 with a plain message, never the error's own text, which names the key,
//! the sizes and the driver. That detail goes to the log.

use std::sync::Arc;

use http::{HeaderValue, Response, StatusCode, header};
use session_core::SessionError;

/// Whether `err` is a value too large for its driver.
pub(crate) fn is_too_large(err: &SessionError) -> bool {
    matches!(err, SessionError::ValueTooLarge { .. })
}

/// The layer's answer to a value too large: 413 Payload Too Large, a plain
/// message, the error in the extensions (as for every error the layer
/// answers) and, with the `tracing` feature, a warning that names the key
/// and the sizes.
pub(crate) fn too_large_response<B: From<String>>(err: SessionError) -> Response<B> {
    let status = StatusCode::PAYLOAD_TOO_LARGE;
    #[cfg(feature = "tracing")]
    trace_too_large(&err, status);
    let mut response = Response::new(B::from(
        "413 Payload Too Large: a value sent with this request is too large to keep in the session.\n"
            .to_owned(),
    ));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response.extensions_mut().insert(Arc::new(err));
    response
}

/// A warning, not an error: the client sent too much, which the server
/// refused as it should. The message names the key and the sizes, never the
/// value.
#[cfg(feature = "tracing")]
pub(crate) fn trace_too_large(err: &SessionError, status: StatusCode) {
    tracing::warn!(
        target: "session_tower",
        status = status.as_u16(),
        error = %err,
        "session value too large for its driver; answered with a client error"
    );
}
