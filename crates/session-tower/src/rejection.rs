//! How the layer answers a session error it meets itself (a save that
//! failed, a flash the driver refused): its own plain responses, or the
//! application's through [`SessionLayer::with_rejection`](crate::SessionLayer::with_rejection).

use std::sync::Arc;

use http::{Response, StatusCode};
use session_core::SessionError;

use crate::error::error_response;

/// The application's answer to a session error the layer meets: its own
/// response, or `None` to keep the layer's (see
/// [`SessionLayer::with_rejection`](crate::SessionLayer::with_rejection)).
///
/// A plain function rather than a closure: the layer copies it into every
/// request's future, which must cost nothing on the requests that never
/// fail.
pub type Rejection = fn(&SessionError) -> Option<Response<String>>;

/// What the layer answers with; copied into each request's future.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Answers {
    /// The status when the store fails (503 by default).
    pub(crate) error_status: StatusCode,
    /// The application's own answers, if it gave some.
    pub(crate) rejection: Option<Rejection>,
}

impl Answers {
    pub(crate) fn new() -> Self {
        Answers {
            error_status: StatusCode::SERVICE_UNAVAILABLE,
            rejection: None,
        }
    }

    /// The response for `err`: the application's, if its [`Rejection`]
    /// gives one, else the layer's own. Either way the error rides along in
    /// the extensions as an `Arc<SessionError>` and (feature `tracing`) is
    /// an event with the status the client got.
    pub(crate) fn respond<B: From<String>>(&self, err: SessionError) -> Response<B> {
        let Some(custom) = self.rejection.and_then(|rejection| rejection(&err)) else {
            return error_response(err, self.error_status);
        };
        #[cfg(feature = "tracing")]
        if crate::too_large::is_too_large(&err) {
            crate::too_large::trace_too_large(&err, custom.status());
        } else {
            crate::error::trace_error(&err, custom.status());
        }
        let mut response = custom.map(B::from);
        response.extensions_mut().insert(Arc::new(err));
        response
    }
}
