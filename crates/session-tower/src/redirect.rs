use http::{HeaderMap, HeaderValue, Response, StatusCode, header};
use serde::Serialize;
use session_core::{
    ERRORS_KEY, ErrorBag, OLD_INPUT_KEY, SessionError, csrf, driver::StoredValue,
    integration::RequestSessions,
};

/// The most of one field's text [`Redirect::with_input`] keeps: enough for
/// any field a person retypes, small enough that a pasted essay does not
/// push the session (a 4 KiB cookie, say) past its limit.
pub const MAX_OLD_INPUT_BYTES: usize = 1024;

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
    input: Vec<(String, String)>,
    hidden_input: Vec<String>,
    errors: ErrorBag,
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
            input: Vec::new(),
            hidden_input: Vec::new(),
            errors: ErrorBag::new(),
        }
    }

    /// 303 back to the page the request came from (its `Referer`), for a
    /// form that failed validation; `fallback` when there is no `Referer`
    /// or it names another site (a redirect never leaves the site).
    ///
    /// ```
    /// use http::HeaderMap;
    /// use session_tower::Redirect;
    ///
    /// let mut headers = HeaderMap::new();
    /// headers.insert("host", "app.example".parse()?);
    /// headers.insert("referer", "http://app.example/signup?plan=pro".parse()?);
    /// let back: http::Response<String> = Redirect::back(&headers, "/").into_response();
    /// assert_eq!(back.headers()["location"], "/signup?plan=pro");
    ///
    /// headers.insert("referer", "https://evil.example/phish".parse()?);
    /// let back: http::Response<String> = Redirect::back(&headers, "/").into_response();
    /// assert_eq!(back.headers()["location"], "/");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn back(headers: &HeaderMap, fallback: impl Into<String>) -> Self {
        match same_origin_referer(headers) {
            Some(location) => Self::see_other(location),
            None => Self::see_other(fallback),
        }
    }

    /// Flashes the submitted fields, so the form page can show what the user
    /// typed (`old('name')` in templates). Left out: the CSRF token
    /// (`_token`) and every field whose name contains `password`, plus any
    /// named with [`without_input`](Self::without_input). A value longer
    /// than [`MAX_OLD_INPUT_BYTES`] is cut there.
    ///
    /// ```
    /// use session_tower::Redirect;
    ///
    /// let form = [("name", "Ada"), ("password", "hunter2"), ("_token", "t")];
    /// let response: http::Response<String> =
    ///     Redirect::to("/login").with_input(form).with_error("name", "Try another name.").into_response();
    /// assert_eq!(response.status(), 303);
    /// ```
    pub fn with_input<I, K, V>(mut self, form: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        for (name, value) in form {
            let value = value.as_ref();
            let mut end = value.len().min(MAX_OLD_INPUT_BYTES);
            while !value.is_char_boundary(end) {
                end -= 1;
            }
            self.input
                .push((name.as_ref().to_owned(), value[..end].to_owned()));
        }
        self
    }

    /// Keeps the field `name` out of [`with_input`](Self::with_input) (a
    /// card number, a secret answer).
    pub fn without_input(mut self, name: impl Into<String>) -> Self {
        self.hidden_input.push(name.into());
        self
    }

    /// Flashes validation errors for the form page (`errors()` in templates).
    pub fn with_errors(mut self, errors: ErrorBag) -> Self {
        for (field, messages) in errors.fields() {
            for message in messages {
                self.errors.add(field, message.as_str());
            }
        }
        self
    }

    /// Flashes one validation error: `message` for `field`.
    pub fn with_error(mut self, field: impl Into<String>, message: impl Into<String>) -> Self {
        self.errors.add(field, message);
        self
    }

    fn keeps_input(&self, name: &str) -> bool {
        name != csrf::FIELD
            && !name.to_ascii_lowercase().contains("password")
            && !self.hidden_input.iter().any(|hidden| hidden == name)
    }

    /// Flashes `value` under `key` for the page the browser lands on.
    pub fn flash(mut self, key: impl Into<String>, value: impl Serialize) -> Self {
        let value = StoredValue::from_serialize(&value).map_err(|e| e.to_string());
        self.flashes.push((key.into(), value));
        self
    }

    /// The response: status, `Location`, and the flashes for the layer.
    pub fn into_response<B: From<String>>(mut self) -> Response<B> {
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
        let mut flashes = Vec::with_capacity(self.flashes.len() + 2);
        if !self.input.is_empty() {
            let kept: serde_json::Map<String, serde_json::Value> = self
                .input
                .iter()
                .filter(|(name, _)| self.keeps_input(name))
                .map(|(name, value)| (name.clone(), value.as_str().into()))
                .collect();
            self.flashes.push((
                OLD_INPUT_KEY.to_owned(),
                StoredValue::from_serialize(&kept).map_err(|e| e.to_string()),
            ));
        }
        if self.errors.any() {
            self.flashes.push((
                ERRORS_KEY.to_owned(),
                StoredValue::from_serialize(&self.errors).map_err(|e| e.to_string()),
            ));
        }
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

/// The path and query of the `Referer`, when it is a page of this site
/// (same host as the request's `Host`).
fn same_origin_referer(headers: &HeaderMap) -> Option<&str> {
    let referer = headers.get(header::REFERER)?.to_str().ok()?;
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let (_scheme, rest) = referer.split_once("://")?;
    let path_start = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(path_start);
    if !authority.eq_ignore_ascii_case(host) || authority.contains('@') {
        return None;
    }
    let path = path.split('#').next().unwrap_or_default();
    match path {
        "" => Some("/"),
        // `//host` would be read as another site.
        _ if path.starts_with("//") || path.starts_with("/\\") => None,
        _ => Some(path),
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
    fn back_stays_on_the_site() {
        let back = |referer: &str| {
            let mut headers = http::HeaderMap::new();
            headers.insert(header::HOST, "app.example:8080".parse().expect("host"));
            headers.insert(header::REFERER, referer.parse().expect("referer"));
            let response: Response<String> = Redirect::back(&headers, "/home").into_response();
            response.headers()[header::LOCATION]
                .to_str()
                .expect("text")
                .to_owned()
        };
        assert_eq!(back("http://app.example:8080/login?x=1#top"), "/login?x=1");
        assert_eq!(back("https://APP.example:8080"), "/");
        for elsewhere in [
            "http://evil.example/login",
            "http://app.example/login",
            "http://app.example:8080.evil.example/",
            "http://user@app.example:8080/login",
            "http://app.example:8080//evil.example/",
            "http://app.example:8080/\\evil.example/",
            "/login",
            "",
        ] {
            assert_eq!(back(elsewhere), "/home", "{elsewhere}");
        }
        let no_referer: Response<String> =
            Redirect::back(&http::HeaderMap::new(), "/home").into_response();
        assert_eq!(no_referer.headers()[header::LOCATION], "/home");
    }

    #[test]
    fn with_input_leaves_out_tokens_and_passwords_and_cuts_long_values() {
        let long = "é".repeat(super::MAX_OLD_INPUT_BYTES);
        let form = [
            ("name", "Ada"),
            ("_token", "secret-token"),
            ("password", "hunter2"),
            ("New_Password_Again", "hunter2"),
            ("card", "4111"),
            ("bio", long.as_str()),
        ];
        let response: Response<String> = Redirect::to("/")
            .with_input(form)
            .without_input("card")
            .with_error("name", "Taken.")
            .with_error("name", "Too short.")
            .into_response();
        let PendingFlash(flashes) = response.extensions().get::<PendingFlash>().expect("flash");
        let input = &flashes
            .iter()
            .find(|(k, _)| k == "_old_input")
            .expect("input")
            .1;
        let input: serde_json::Value = input.parse_as().expect("json");
        let fields: Vec<_> = input.as_object().expect("map").keys().cloned().collect();
        assert_eq!(fields, ["bio", "name"]);
        let bio = input["bio"].as_str().expect("text");
        assert_eq!(bio.len(), super::MAX_OLD_INPUT_BYTES);
        let errors = &flashes
            .iter()
            .find(|(k, _)| k == "_errors")
            .expect("errors")
            .1;
        assert_eq!(errors.as_json(), r#"{"name":["Taken.","Too short."]}"#);
    }

    #[test]
    fn a_location_that_is_no_header_value_is_a_500() {
        let response: Response<String> = Redirect::to("/\nx").into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(response.headers().get(header::LOCATION).is_none());
    }
}
