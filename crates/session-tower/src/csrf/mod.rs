//! Cross-site request forgery protection: [`CsrfLayer`].

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::request::Parts;
use http::{HeaderValue, Method, Request, Response, header};
use http_body::Body;
use http_body_util::BodyExt;
use pin_project_lite::pin_project;
use session_core::SessionManager;
use session_core::csrf::{self, HEADER};
use session_core::integration::RequestContext;
use tower::{Layer, Service};

mod body;
mod error;
mod form_token;
mod origin;

pub use body::CsrfBody;
pub use error::CsrfError;
use form_token::{FormKind, TokenScan};
pub(crate) use origin::{OriginPolicy, Verdict};

/// What an application answers a refused request with instead of the
/// layer's plain 403: return `None` to keep the layer's.
pub type CsrfRejection = fn(&CsrfError) -> Option<Response<String>>;

/// Refuses requests that change state (`POST`, `PUT`, `PATCH`, `DELETE`, and
/// any other method but `GET`, `HEAD`, `OPTIONS`, `TRACE`) when they come
/// from another site's page, and checks the synchronizer token forms carry.
///
/// Two lines of defence:
///
/// 1. **Where the request comes from**, as the browser tells it:
///    `Sec-Fetch-Site` first (`same-origin` and `none`, a typed URL or a
///    bookmark, pass; `cross-site` and `same-site` are refused unless
///    [trusted](Self::trust_origin) or [allowed](Self::allow_same_site)),
///    then `Origin` against the request's own `Host` (`Origin: null`, sent
///    by sandboxed frames and some redirects, is refused). A request with
///    neither header is not from a browser (curl, a server): it passes, as
///    with Go's `CrossOriginProtection`, unless
///    [`require_token_from_every_client`](Self::require_token_from_every_client).
/// 2. **A token only this site's pages have**: every unsafe request from a
///    browser must carry a valid token, as the form field `_token`
///    (`csrf_field()` in a template) or the header `X-CSRF-Token`
///    (`csrf_token()` for scripts). The token is masked anew per render and
///    checked in constant time against the browser's secret cookie (see
///    [`session_core::csrf`]). For a form body the layer reads only as far
///    as the `_token` field, then passes the whole body on as a
///    [`CsrfBody`].
///
/// A refused request never reaches the service: no session is loaded or
/// changed and no cookie is set. It gets a 403 whose text tells a person
/// what to do (see [`with_rejection`](Self::with_rejection) for your own),
/// and the [`CsrfError`] rides in the response's extensions.
///
/// The layer goes outside the [`SessionLayer`](crate::SessionLayer); the
/// one-line way is [`SessionLayer::with_csrf`](crate::SessionLayer::with_csrf).
/// Without a `CsrfLayer` the `SessionLayer` still refuses what the first
/// line refuses, with this layer's defaults.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use http::{Method, Request, Response, StatusCode};
/// use session_core::SessionManager;
/// use session_tower::{CsrfBody, CsrfLayer, SessionLayer};
/// use tower::{ServiceBuilder, ServiceExt, service_fn};
///
/// let manager = SessionManager::builder().build()?;
/// let app = ServiceBuilder::new()
///     .layer(CsrfLayer::new(&manager).exempt("/webhooks/payment"))
///     .layer(SessionLayer::new(manager))
///     .service(service_fn(|_req: Request<CsrfBody<String>>| async {
///         Ok::<_, std::convert::Infallible>(Response::new(String::from("done")))
///     }));
///
/// let attack = Request::builder()
///     .method(Method::POST)
///     .uri("/logout")
///     .header("host", "app.example")
///     .header("sec-fetch-site", "cross-site")
///     .body(String::new())?;
/// let response = app.clone().oneshot(attack).await?;
/// assert_eq!(response.status(), StatusCode::FORBIDDEN);
/// assert!(response.headers().get("set-cookie").is_none());
///
/// let webhook = Request::builder()
///     .method(Method::POST)
///     .uri("/webhooks/payment")
///     .header("sec-fetch-site", "cross-site")
///     .body(String::new())?;
/// assert_eq!(app.oneshot(webhook).await?.status(), StatusCode::OK);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct CsrfLayer {
    config: Config,
}

#[derive(Clone, Debug)]
struct Config {
    cookie_name: &'static str,
    policy: OriginPolicy,
    exempt_paths: Vec<String>,
    exempt_prefixes: Vec<String>,
    token_from_every_client: bool,
    max_form_bytes: usize,
    rejection: Option<CsrfRejection>,
}

/// The most of a form body read to find its `_token` field by default.
pub const DEFAULT_MAX_FORM_BYTES: usize = 1024 * 1024;

/// Set on requests a [`CsrfLayer`] let through, so that the
/// [`SessionLayer`](crate::SessionLayer) does not judge them again.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CsrfChecked;

impl CsrfLayer {
    /// The layer for the sessions of `manager` (it reads the secret from
    /// the cookie `manager` names), with the defaults described above.
    pub fn new(manager: &SessionManager) -> Self {
        CsrfLayer {
            config: Config {
                cookie_name: manager.csrf_cookie_name(),
                policy: OriginPolicy::default(),
                exempt_paths: Vec::new(),
                exempt_prefixes: Vec::new(),
                token_from_every_client: false,
                max_form_bytes: DEFAULT_MAX_FORM_BYTES,
                rejection: None,
            },
        }
    }

    /// Lets browsers on pages of `origin` (`https://admin.example.com`:
    /// scheme, host and port if not the default) past the first line. They
    /// still need a valid token.
    ///
    /// # Panics
    /// If `origin` is not `scheme://host[:port]`: a typo here would
    /// otherwise fail only when a user submits a form.
    pub fn trust_origin(mut self, origin: &str) -> Self {
        let origin = origin.trim().trim_end_matches('/').to_ascii_lowercase();
        let valid = origin.split_once("://").is_some_and(|(scheme, host)| {
            !scheme.is_empty() && !host.is_empty() && !host.contains(['/', '?', '#', '@'])
        });
        assert!(
            valid,
            "CsrfLayer::trust_origin: `{origin}` is not an origin; write scheme://host[:port], \
             e.g. https://admin.example.com"
        );
        self.config.policy.trusted.push(origin);
        self
    }

    /// Whether pages on sibling subdomains (`Sec-Fetch-Site: same-site`)
    /// pass the first line (default: no, since a subdomain that serves
    /// user content or is taken over would otherwise post as your users).
    pub fn allow_same_site(mut self, allow: bool) -> Self {
        self.config.policy.allow_same_site = allow;
        self
    }

    /// Lets every request to exactly `path` through unchecked (a webhook
    /// whose sender signs its requests, say).
    pub fn exempt(mut self, path: impl Into<String>) -> Self {
        self.config.exempt_paths.push(path.into());
        self
    }

    /// Lets every request to a path that starts with `prefix` through
    /// unchecked (`/api/` for a token-authenticated API without cookies).
    /// Paths with dot segments (`/api/../login`), empty segments or
    /// percent-encoded `.`, `/`, `\` are never exempt: a proxy or router
    /// that normalizes them would deliver them elsewhere.
    pub fn exempt_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.config.exempt_prefixes.push(prefix.into());
        self
    }

    /// Requires a token from clients that send neither `Sec-Fetch-Site`
    /// nor `Origin` too (by default they pass: no browser leaves both out
    /// of a cross-site request, and curl or a server has no token to send).
    /// Turn it on to cover browsers too old to send either header.
    pub fn require_token_from_every_client(mut self) -> Self {
        self.config.token_from_every_client = true;
        self
    }

    /// The most of a form body read to find `_token` (default
    /// [`DEFAULT_MAX_FORM_BYTES`]); a form whose token comes later is
    /// refused. `csrf_field()` at the top of the form keeps this small.
    pub fn max_form_bytes(mut self, max: usize) -> Self {
        self.config.max_form_bytes = max;
        self
    }

    /// Answers refused requests with the application's own response
    /// (`None` keeps the layer's). The body becomes the service's body
    /// type through `From<String>`.
    pub fn with_rejection(mut self, rejection: CsrfRejection) -> Self {
        self.config.rejection = Some(rejection);
        self
    }
}

impl<S> Layer<S> for CsrfLayer {
    type Service = CsrfService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CsrfService {
            inner,
            config: Arc::new(self.config.clone()),
        }
    }
}

/// The service [`CsrfLayer`] makes; see there.
#[derive(Clone, Debug)]
pub struct CsrfService<S> {
    inner: S,
    config: Arc<Config>,
}

/// What to do with an unsafe request, decided from its head.
enum Decision {
    Pass,
    Refuse(CsrfError),
    ReadForm(FormKind, Option<String>),
}

/// A path without dot segments, empty segments, backslashes or
/// percent-encoded `.`, `/` and `\`: one that means the same before and
/// after any normalization.
fn is_plain_path(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    !path.contains('\\')
        && !path.contains("//")
        && !["%2e", "%2f", "%5c"]
            .iter()
            .any(|encoded| lower.contains(encoded))
        && !path
            .split('/')
            .any(|segment| segment == "." || segment == "..")
}

/// `GET`, `HEAD`, `OPTIONS` and `TRACE` change nothing (RFC 9110's safe methods).
pub(crate) fn is_safe(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

impl Config {
    fn is_exempt(&self, path: &str) -> bool {
        if self.exempt_paths.is_empty() && self.exempt_prefixes.is_empty() {
            return false;
        }
        // `/api/../login` starts with `/api/` but a server or proxy that
        // normalizes paths routes it to `/login`: such paths are never exempt.
        if !is_plain_path(path) {
            return false;
        }
        self.exempt_paths.iter().any(|p| p == path)
            || self
                .exempt_prefixes
                .iter()
                .any(|p| path.starts_with(p.as_str()))
    }

    fn decide(&self, parts: &Parts) -> Decision {
        if self.is_exempt(parts.uri.path()) {
            return Decision::Pass;
        }
        let needs_token = match self.policy.judge(&parts.headers, &parts.uri) {
            Verdict::Refused(err) => return Decision::Refuse(err),
            Verdict::Browser => true,
            Verdict::NotBrowser => self.token_from_every_client,
        };
        if !needs_token {
            return Decision::Pass;
        }
        let secret = RequestContext::from_headers(&parts.headers)
            .cookie(self.cookie_name)
            .map(str::to_owned);
        if let Some(token) = parts.headers.get(HEADER) {
            let valid = token
                .to_str()
                .is_ok_and(|token| csrf::verify(secret.as_deref(), token));
            return if valid {
                Decision::Pass
            } else {
                Decision::Refuse(CsrfError::InvalidToken)
            };
        }
        match FormKind::of(&parts.headers) {
            Some(kind) => Decision::ReadForm(kind, secret),
            None => Decision::Refuse(CsrfError::MissingToken),
        }
    }

    fn reject<B: From<String>>(&self, err: CsrfError) -> Response<B> {
        refusal(err, self.rejection)
    }
}

/// The response to a refused request: the application's, or a plain 403
/// that says what to do; the error in its extensions.
pub(crate) fn refusal<B: From<String>>(
    err: CsrfError,
    rejection: Option<CsrfRejection>,
) -> Response<B> {
    #[cfg(feature = "tracing")]
    tracing::info!(
        target: "session_tower",
        reason = %err,
        "request refused as a cross-site request forgery"
    );
    let custom = rejection.and_then(|rejection| rejection(&err));
    let mut response = match custom {
        Some(custom) => custom.map(B::from),
        None => {
            let status = err.status();
            let reason = status.canonical_reason().unwrap_or("Error");
            let body = format!("{} {reason}: {}\n", status.as_u16(), err.advice());
            let mut response = Response::new(B::from(body));
            *response.status_mut() = status;
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            response
        }
    };
    response.extensions_mut().insert(err);
    response
}

impl<S, B, ResBody> Service<Request<B>> for CsrfService<S>
where
    S: Service<Request<CsrfBody<B>>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Body<Data = Bytes> + Unpin + Send + 'static,
    ResBody: From<String> + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = CsrfFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let (mut parts, body) = request.into_parts();
        if is_safe(&parts.method) {
            let request = Request::from_parts(parts, CsrfBody::new(body));
            return CsrfFuture::inner(self.inner.call(request));
        }
        match self.config.decide(&parts) {
            Decision::Pass => {
                parts.extensions.insert(CsrfChecked);
                let request = Request::from_parts(parts, CsrfBody::new(body));
                CsrfFuture::inner(self.inner.call(request))
            }
            Decision::Refuse(err) => CsrfFuture::ready(Ok(self.config.reject(err))),
            Decision::ReadForm(kind, secret) => {
                // The service that was polled ready serves this request; a
                // clone takes its place for the next one.
                let clone = self.inner.clone();
                let inner = std::mem::replace(&mut self.inner, clone);
                let config = self.config.clone();
                CsrfFuture::boxed(check_form(inner, config, parts, body, kind, secret))
            }
        }
    }
}

/// Reads a form body up to its `_token`, checks it, and calls `inner` with
/// the whole body.
async fn check_form<S, B, ResBody>(
    mut inner: S,
    config: Arc<Config>,
    mut parts: Parts,
    mut body: B,
    kind: FormKind,
    secret: Option<String>,
) -> Result<Response<ResBody>, S::Error>
where
    S: Service<Request<CsrfBody<B>>, Response = Response<ResBody>>,
    B: Body<Data = Bytes> + Unpin,
    ResBody: From<String>,
{
    let mut read = VecDeque::new();
    let mut prefix = Vec::new();
    let mut scan = TokenScan::new(kind);
    let mut ended;
    let token = loop {
        match body.frame().await {
            None => {
                ended = true;
                break scan.scan(&prefix, true).flatten();
            }
            Some(Err(_)) => return Ok(config.reject(CsrfError::UnreadableBody)),
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    prefix.extend_from_slice(data);
                }
                read.push_back(frame);
                ended = body.is_end_stream();
                if let Some(found) = scan.scan(&prefix, ended) {
                    break found;
                }
                if prefix.len() > config.max_form_bytes {
                    break None;
                }
            }
        }
    };
    let Some(token) = token else {
        return Ok(config.reject(CsrfError::MissingToken));
    };
    if !csrf::verify(secret.as_deref(), &token) {
        return Ok(config.reject(CsrfError::InvalidToken));
    }
    parts.extensions.insert(CsrfChecked);
    let body = CsrfBody::with_read(read, body, ended);
    inner.call(Request::from_parts(parts, body)).await
}

type Boxed<T> = Pin<Box<dyn Future<Output = T> + Send>>;

pin_project! {
    /// The future of a [`CsrfService`]: the inner service's own future for
    /// requests that need no reading, the refusal, or the reading of a form
    /// followed by the inner call.
    #[must_use = "futures do nothing unless polled"]
    pub struct CsrfFuture<F: Future> {
        #[pin]
        inner: Option<F>,
        ready: Option<F::Output>,
        boxed: Option<Boxed<F::Output>>,
    }
}

impl<F: Future> CsrfFuture<F> {
    fn inner(future: F) -> Self {
        CsrfFuture {
            inner: Some(future),
            ready: None,
            boxed: None,
        }
    }

    fn ready(output: F::Output) -> Self {
        CsrfFuture {
            inner: None,
            ready: Some(output),
            boxed: None,
        }
    }

    fn boxed(future: impl Future<Output = F::Output> + Send + 'static) -> Self {
        CsrfFuture {
            inner: None,
            ready: None,
            boxed: Some(Box::pin(future)),
        }
    }
}

impl<F: Future> Future for CsrfFuture<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        if let Some(future) = this.inner.as_pin_mut() {
            return future.poll(cx);
        }
        if let Some(boxed) = this.boxed {
            return boxed.as_mut().poll(cx);
        }
        Poll::Ready(
            this.ready
                .take()
                .expect("CsrfFuture polled after it completed"),
        )
    }
}

impl<F: Future> fmt::Debug for CsrfFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CsrfFuture").finish_non_exhaustive()
    }
}
