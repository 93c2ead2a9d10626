use std::fmt;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::{Extensions, Method, Request, Response, StatusCode};
use pin_project_lite::pin_project;
use session_core::{
    SessionManager,
    integration::{RequestContext, RequestSessions, append_set_cookies},
};
use tower::layer::util::Stack;
use tower::{Layer, Service};

use crate::cache::mark_private;
use crate::csrf::{CsrfChecked, CsrfLayer, OriginPolicy, Verdict, is_safe, refusal};
use crate::redirect::PendingFlash;
use crate::rejection::{Answers, Rejection};

/// Adds sessions to every request of the service it wraps.
///
/// Per request the layer keeps the `Cookie` headers (read only when a driver
/// asks for a cookie) and puts a [`RequestSessions`] into the request's
/// extensions; a driver loads only when the handler (or a template) asks for
/// its session. When the handler's response is ready the layer applies the
/// flash rule to the final status, saves what changed and appends its
/// `Set-Cookie` headers beside any the handler set. The handler's future is
/// polled in place inside the layer's [`ResponseFuture`]; only a request
/// that has something to save gets a (small) boxed future for the saving.
///
/// - A save that fails (Redis down, say) turns the response into a
///   503 Service Unavailable (see [`with_error_status`](Self::with_error_status)):
///   the client is never told "done" for a write that was lost. The error is
///   kept in the response's extensions as an `Arc<SessionError>` for logging
///   (and, with the `tracing` feature, is an event; see the crate docs).
/// - A 5xx response saves nothing, and a handler that panics never reaches
///   the save: no half-finished request is stored.
/// - A `HEAD` response shows no page, so it keeps the flash.
/// - A value too large for its driver that reaches the layer (a
///   [`Redirect`](crate::Redirect)'s flash, a write the driver refuses when
///   it saves) is the client's input: 413 Payload Too Large with a plain
///   message, the detail in the log. [`with_rejection`](Self::with_rejection)
///   lets the application answer any such error itself.
/// - The response of a request that used a session (read or wrote one) is
///   kept out of shared caches: `Cache-Control: private, no-cache` unless the
///   handler set its own `Cache-Control`, and `Cookie` added to `Vary`. A
///   response whose request used no session (a stylesheet) is left as it is.
/// - The client's address, for the memory driver's opt-in
///   [client-IP keying](session_core::MemoryDriverBuilder::key_by_client_ip),
///   is a [`SocketAddr`] in the request's extensions (a hyper accept loop
///   inserts the peer's, as the demo does) or, with the `axum` feature,
///   axum's `ConnectInfo<SocketAddr>` (serve the router with
///   `into_make_service_with_connect_info::<SocketAddr>()`).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use http::{Request, Response, StatusCode};
/// use session_tower::{SessionLayer, sessions};
/// use session_core::SessionManager;
/// use tower::{ServiceBuilder, ServiceExt, service_fn};
///
/// let app = ServiceBuilder::new()
///     .layer(SessionLayer::new(SessionManager::builder().build()?))
///     .service(service_fn(|req: Request<String>| async move {
///         let session = sessions(&req).session().await?;
///         let visits = session.get_as::<u64>("visits")?.unwrap_or(0) + 1;
///         session.set("visits", visits)?;
///         Ok::<_, session_core::SessionError>(Response::new(format!("visit {visits}")))
///     }));
///
/// let response = app.oneshot(Request::new(String::new())).await?;
/// assert_eq!(response.status(), StatusCode::OK);
/// assert!(response.headers()["set-cookie"].to_str()?.starts_with("session_id="));
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct SessionLayer {
    manager: SessionManager,
    answers: Answers,
}

impl SessionLayer {
    /// A layer over the drivers of `manager`.
    pub fn new(manager: SessionManager) -> Self {
        SessionLayer {
            manager,
            answers: Answers::new(),
        }
    }

    /// The status of the response when the session store fails (default 503).
    pub fn with_error_status(mut self, status: StatusCode) -> Self {
        self.answers.error_status = status;
        self
    }

    /// Answers the session errors the layer meets itself (a store that
    /// failed, a value too large for its driver, ...) with the application's
    /// own response: `rejection` returns it, or `None` to keep the layer's
    /// plain one. Either way the error rides along in the response's
    /// extensions as an `Arc<SessionError>` and (feature `tracing`) is an
    /// event with the status the client got. The body becomes the
    /// service's body type through `From<String>`.
    ///
    /// Errors a handler answers itself never reach the layer; a handler that
    /// wants to refuse a value politely checks the `Result` of
    /// [`Session::set`](session_core::Session::set) or
    /// [`flash`](session_core::Session::flash) (see the crate docs).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use http::{Request, Response, StatusCode};
    /// use session_core::{SessionConfig, SessionError, SessionManager};
    /// use session_tower::{Redirect, SessionLayer};
    /// use tower::{ServiceBuilder, ServiceExt, service_fn};
    ///
    /// fn friendly(err: &SessionError) -> Option<Response<String>> {
    ///     let SessionError::ValueTooLarge { .. } = err else { return None };
    ///     let mut page = Response::new("<p>That message is too long to keep.</p>".to_owned());
    ///     *page.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
    ///     Some(page)
    /// }
    ///
    /// let config = SessionConfig::default()
    ///     .with_driver("cookie")
    ///     .with_secret("a secret of at least thirty-two bytes, from a vault")?;
    /// let app = ServiceBuilder::new()
    ///     .layer(SessionLayer::new(SessionManager::from_config(&config)?).with_rejection(friendly))
    ///     .service(service_fn(|_req: Request<String>| async move {
    ///         // A flash far larger than a cookie holds.
    ///         let flash = Redirect::see_other("/").flash("note", "x".repeat(5000));
    ///         Ok::<Response<String>, SessionError>(flash.into_response())
    ///     }));
    ///
    /// let response = app.oneshot(Request::new(String::new())).await?;
    /// assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    /// assert_eq!(response.body(), "<p>That message is too long to keep.</p>");
    /// # Ok(()) }
    /// ```
    pub fn with_rejection(mut self, rejection: Rejection) -> Self {
        self.answers.rejection = Some(rejection);
        self
    }

    /// This layer with a [`CsrfLayer`] in front of it (its defaults), in
    /// one layer: cross-site requests refused and tokens checked. For other
    /// settings, put `CsrfLayer::new(&manager)` with them in front yourself.
    /// The service inside gets its request body as a
    /// [`CsrfBody`](crate::CsrfBody).
    pub fn with_csrf(self) -> Stack<SessionLayer, CsrfLayer> {
        let csrf = CsrfLayer::new(&self.manager);
        Stack::new(self, csrf)
    }
}

impl<S> Layer<S> for SessionLayer {
    type Service = SessionService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SessionService {
            inner,
            manager: self.manager.clone(),
            answers: self.answers,
        }
    }
}

/// The service [`SessionLayer`] makes; see there.
#[derive(Clone, Debug)]
pub struct SessionService<S> {
    inner: S,
    manager: SessionManager,
    answers: Answers,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for SessionService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: From<String> + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        // Without a CsrfLayer in front, the first line of its defence still holds.
        if !is_safe(request.method()) && request.extensions().get::<CsrfChecked>().is_none() {
            let verdict = OriginPolicy::default().judge(request.headers(), request.uri());
            if let Verdict::Refused(err) = verdict {
                return ResponseFuture::refused(Ok(refusal(err, None)));
            }
        }
        let mut context = RequestContext::from_headers(request.headers());
        if let Some(ip) = peer_ip(request.extensions()) {
            context = context.with_peer_ip(ip);
        }
        let sessions = self.manager.request(context);
        request.extensions_mut().insert(sessions.clone());
        let is_head = request.method() == Method::HEAD;
        ResponseFuture {
            inner: Some(self.inner.call(request)),
            refused: None,
            sessions: Some(sessions),
            is_head,
            answers: self.answers,
            finishing: None,
        }
    }
}

/// The end of a request that has something to save: its own small future.
type Finishing<T> = Pin<Box<dyn Future<Output = T> + Send>>;

pin_project! {
    /// The future of a [`SessionService`]: the handler's future, polled in
    /// place, then the end of the request's sessions.
    ///
    /// When the handler's response is ready and there is nothing to save —
    /// a page that only read its session, a request that never used one, a
    /// 5xx — the sessions are closed at once
    /// ([`RequestSessions::finish_unchanged`]) and the response is the
    /// output of that same poll. Otherwise (a [`Redirect`](crate::Redirect)'s
    /// flash to store, a change to save) the saving runs as a boxed future
    /// of its own, which holds the response and the sessions but not the
    /// handler's future.
    #[must_use = "futures do nothing unless polled"]
    pub struct ResponseFuture<F: Future> {
        #[pin]
        inner: Option<F>,
        // A cross-site request refused before the handler.
        refused: Option<F::Output>,
        sessions: Option<RequestSessions>,
        is_head: bool,
        answers: Answers,
        finishing: Option<Finishing<F::Output>>,
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: From<String> + Send + 'static,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Some(finishing) = this.finishing {
            return finishing.as_mut().poll(cx);
        }
        let Some(inner) = this.inner.as_pin_mut() else {
            return Poll::Ready(
                this.refused
                    .take()
                    .expect("ResponseFuture polled after it completed"),
            );
        };
        let result = ready!(inner.poll(cx));
        let sessions = this
            .sessions
            .take()
            .expect("ResponseFuture polled after it completed");
        let mut response = result?;
        let (is_head, answers) = (*this.is_head, *this.answers);
        if response.extensions().get::<PendingFlash>().is_none() {
            if is_head {
                keep_flash(&sessions);
            }
            if sessions.finish_unchanged(response.status()) {
                if sessions.used() {
                    mark_private(response.headers_mut());
                }
                return Poll::Ready(Ok(response));
            }
        }
        // Only a request that saves gets the span: the common read-only one
        // pays nothing for it.
        #[cfg(feature = "tracing")]
        let span = tracing::debug_span!(
            target: "session_tower",
            "session.finish",
            status = response.status().as_u16(),
        );
        let saving = async move {
            let mut response = finish(&sessions, response, is_head, answers).await;
            // Checked after the save: a `Redirect`'s flash loads the session there.
            if sessions.used() {
                mark_private(response.headers_mut());
            }
            Ok(response)
        };
        #[cfg(feature = "tracing")]
        let saving = tracing::Instrument::instrument(saving, span);
        let finishing = this.finishing.insert(Box::pin(saving));
        finishing.as_mut().poll(cx)
    }
}

impl<F: Future> ResponseFuture<F> {
    fn refused(output: F::Output) -> Self {
        ResponseFuture {
            inner: None,
            refused: Some(output),
            sessions: None,
            is_head: false,
            answers: Answers::new(),
            finishing: None,
        }
    }
}

impl<F: Future> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("sessions", &self.sessions)
            .field("finishing", &self.finishing.is_some())
            .finish_non_exhaustive()
    }
}

/// A `HEAD` response shows no page, so it keeps the flash.
fn keep_flash(sessions: &RequestSessions) {
    for session in sessions.loaded_sessions() {
        // Already ended (a 5xx, say): nothing to keep.
        let _ = session.keep();
    }
}

async fn finish<B: From<String>>(
    sessions: &RequestSessions,
    mut response: Response<B>,
    is_head: bool,
    answers: Answers,
) -> Response<B> {
    if let Some(pending) = response.extensions_mut().remove::<PendingFlash>() {
        if let Err(err) = pending.apply(sessions).await {
            return answers.respond(err);
        }
    }
    if is_head {
        keep_flash(sessions);
    }
    match sessions.finish(response.status()).await {
        Ok(cookies) => {
            append_set_cookies(response.headers_mut(), &cookies);
            response
        }
        Err(err) => answers.respond(err),
    }
}

/// The peer's address, where the server put it: a bare [`SocketAddr`] (a
/// hyper accept loop) or axum's `ConnectInfo<SocketAddr>`.
fn peer_ip(extensions: &Extensions) -> Option<IpAddr> {
    if let Some(addr) = extensions.get::<SocketAddr>() {
        return Some(addr.ip());
    }
    #[cfg(feature = "axum")]
    if let Some(axum::extract::ConnectInfo(addr)) =
        extensions.get::<axum::extract::ConnectInfo<SocketAddr>>()
    {
        return Some(addr.ip());
    }
    None
}

/// The request's sessions, put there by [`SessionLayer`].
///
/// # Panics
/// If the request did not pass through a [`SessionLayer`]: that is a wiring
/// mistake that every request would hit, so it fails loudly in development.
pub fn sessions<B>(request: &Request<B>) -> &RequestSessions {
    try_sessions(request).unwrap_or_else(|| {
        panic!("no sessions on this request: add session_tower::SessionLayer to the service stack")
    })
}

/// The request's sessions, or `None` if no [`SessionLayer`] ran.
pub fn try_sessions<B>(request: &Request<B>) -> Option<&RequestSessions> {
    request.extensions().get::<RequestSessions>()
}
