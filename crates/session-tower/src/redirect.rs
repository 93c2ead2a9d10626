use http::{HeaderValue, Response, StatusCode, header};
use serde::Serialize;
use session_core::{SessionError, driver::StoredValue, integration::RequestSessions};

/// A redirect that flashes messages on the way — Masonite's
/// `request().redirect('/dashboard').session.flash('success', ...)`:
///
/// ```
/// use session_tower::Redirect;
///
/// let response: http::Response<String> = Redirect::see_other("/dashboard")
///     .flash("success", "Welcome back, Ada!")
///     .into_response();
/// assert_eq!(response.status(), 303);
/// assert_eq!(response.headers()["location"], "/dashboard");
/// ```
///
/// The flashes travel in the response's extensions; the [`SessionLayer`](crate::SessionLayer)
/// writes them into the default driver's session before it saves. A value
/// the driver refuses (too large for a cookie, say) turns the response into
/// a 413 rather than losing the message.
#[derive(Debug)]
#[must_use = "a Redirect does nothing until it is turned into a response"]
pub struct Redirect {
    status: StatusCode,
    location: String,
    flashes: Vec<(String, Result<StoredValue, String>)>,
}

impl Redirect {
    /// 303 See Other: after a form POST, the browser GETs `location`.
    pub fn see_other(location: impl Into<String>) -> Self {
        Self::with_status(StatusCode::SEE_OTHER, location)
    }

    /// 303 See Other, as axum's `Redirect::to`: the same as [`Redirect::see_other`].
    pub fn to(location: impl Into<String>) -> Self {
        Self::see_other(location)
    }

    /// 302 Found. Browsers turn a POST into a GET on 302 too, but the status
    /// does not promise it; prefer [`Redirect::see_other`] after a form.
    pub fn found(location: impl Into<String>) -> Self {
        Self::with_status(StatusCode::FOUND, location)
    }

    /// 307 Temporary Redirect: the browser repeats the method and body.
    pub fn temporary(location: impl Into<String>) -> Self {
        Self::with_status(StatusCode::TEMPORARY_REDIRECT, location)
    }

    fn with_status(status: StatusCode, location: impl Into<String>) -> Self {
        Redirect {
            status,
            location: location.into(),
            flashes: Vec::new(),
        }
    }

    /// Flashes `value` under `key` for the page the browser lands on.
    pub fn flash(mut self, key: impl Into<String>, value: impl Serialize) -> Self {
        let value = StoredValue::from_serialize(&value).map_err(|e| e.to_string());
        self.flashes.push((key.into(), value));
        self
    }

    /// The response: status, `Location`, and the flashes for the layer.
    pub fn into_response<B: From<String>>(self) -> Response<B> {
        let Ok(location) = HeaderValue::try_from(self.location.as_str()) else {
            // The location itself is left out: it may carry a token.
            #[cfg(feature = "tracing")]
            tracing::error!(
                target: "session_tower",
                "redirect location is not a valid header value; answered 500"
            );
            return plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "500 Internal Server Error: the redirect location is not a valid header value.\n",
            );
        };
        let mut flashes = Vec::with_capacity(self.flashes.len());
        for (key, value) in self.flashes {
            match value {
                Ok(value) => flashes.push((key, value)),
                #[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
                Err(error) => {
                    #[cfg(feature = "tracing")]
                    tracing::error!(
                        target: "session_tower",
                        key = %key,
                        error = %error,
                        "redirect flash cannot be stored as JSON; answered 500"
                    );
                    return plain(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "500 Internal Server Error: a flash message could not be stored as JSON.\n",
                    );
                }
            }
        }
        let mut response = Response::new(B::from(String::new()));
        *response.status_mut() = self.status;
        response.headers_mut().insert(header::LOCATION, location);
        if !flashes.is_empty() {
            response.extensions_mut().insert(PendingFlash(flashes));
        }
        response
    }
}

fn plain<B: From<String>>(status: StatusCode, text: &str) -> Response<B> {
    let mut response = Response::new(B::from(text.to_owned()));
    *response.status_mut() = status;
    response
}

/// Flashes a [`Redirect`] carries to the layer.
#[derive(Clone, Debug)]
pub(crate) struct PendingFlash(Vec<(String, StoredValue)>);

impl PendingFlash {
    pub(crate) async fn apply(self, sessions: &RequestSessions) -> Result<(), SessionError> {
        let session = sessions.session().await?;
        for (key, value) in self.0 {
            session.flash_stored(&key, value)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use http::{Response, StatusCode, header};

    use super::{PendingFlash, Redirect};

    #[test]
    fn each_constructor_answers_its_status() {
        let cases = [
            (Redirect::to("/a"), StatusCode::SEE_OTHER),
            (Redirect::see_other("/a"), StatusCode::SEE_OTHER),
            (Redirect::found("/a"), StatusCode::FOUND),
            (Redirect::temporary("/a"), StatusCode::TEMPORARY_REDIRECT),
        ];
        for (redirect, status) in cases {
            let response: Response<String> = redirect.into_response();
            assert_eq!(response.status(), status);
            assert_eq!(response.headers()[header::LOCATION], "/a");
        }
    }

    #[test]
    fn into_response_sets_the_location_and_carries_the_flashes() {
        let response: Response<String> = Redirect::to("/dashboard?tab=1")
            .flash("success", "Saved!")
            .into_response();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(response.headers()[header::LOCATION], "/dashboard?tab=1");
        assert_eq!(response.headers().len(), 1);
        assert!(response.body().is_empty());
        let PendingFlash(flashes) = response
            .extensions()
            .get::<PendingFlash>()
            .expect("the flash rides to the layer");
        assert_eq!(flashes.len(), 1);
        assert_eq!(flashes[0].0, "success");

        let plain: Response<String> = Redirect::found("/").into_response();
        assert!(plain.extensions().get::<PendingFlash>().is_none());
    }

    #[test]
    fn a_location_that_is_no_header_value_is_a_500() {
        let response: Response<String> = Redirect::to("/\nx").into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(response.headers().get(header::LOCATION).is_none());
    }
}
