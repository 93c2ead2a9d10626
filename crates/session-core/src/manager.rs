use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};

use cookie::Cookie;
use http::StatusCode;
use parking_lot::Mutex;

use crate::{
    ConfigError, CookieDriver, MemoryDriver, Session, SessionConfig, SessionError,
    cookie_settings::CookieSettings,
    csrf::{self, Secret},
    driver::SessionDriver,
    integration::{RequestContext, saves_changes},
};

/// The configured drivers, by name, and which one is the default.
///
/// Build it once at start-up and share it (it is a cheap `Arc` handle). Each
/// request gets its sessions through [`SessionManager::request`].
///
/// ```
/// # fn main() -> Result<(), session_core::ConfigError> {
/// use session_core::{SessionConfig, SessionManager};
///
/// let config = SessionConfig::default()
///     .with_driver("cookie")
///     .with_secret("a secret of at least thirty-two bytes, from a vault")?;
/// let manager = SessionManager::from_config(&config)?;
/// assert_eq!(manager.default_driver(), "cookie");
/// assert_eq!(manager.driver_names(), ["cookie", "memory"]);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SessionManager {
    inner: Arc<ManagerInner>,
}

struct ManagerInner {
    drivers: BTreeMap<String, (Arc<str>, Arc<dyn SessionDriver>)>,
    default: Arc<str>,
    csrf_cookie: CookieSettings,
}

impl SessionManager {
    /// A builder holding the memory driver (with its defaults) as `memory`,
    /// which is the default driver unless another is named.
    pub fn builder() -> SessionManagerBuilder {
        SessionManagerBuilder {
            drivers: BTreeMap::from([(
                "memory".to_owned(),
                Arc::new(MemoryDriver::default()) as Arc<dyn SessionDriver>,
            )]),
            default: None,
            csrf_cookie: CookieSettings::default(),
        }
    }

    /// A builder with the drivers `config` describes: `memory`, and `cookie`
    /// when a secret is set. Add drivers that live in other crates (such as
    /// `redis`) before [`build`](SessionManagerBuilder::build).
    pub fn builder_from_config(
        config: &SessionConfig,
    ) -> Result<SessionManagerBuilder, ConfigError> {
        config.validate()?;
        let mut builder = Self::builder()
            .driver("memory", MemoryDriver::from_config(config))
            .default_driver(config.driver());
        builder.csrf_cookie = CookieSettings::from_config(config);
        if config.secret().is_some() || config.driver() == "cookie" {
            builder = builder.driver("cookie", CookieDriver::from_config(config)?);
        }
        Ok(builder)
    }

    /// [`builder_from_config`](Self::builder_from_config), built.
    pub fn from_config(config: &SessionConfig) -> Result<Self, ConfigError> {
        Self::builder_from_config(config)?.build()
    }

    /// The sessions of one request. Nothing is loaded until asked for.
    pub fn request(&self, request: RequestContext) -> RequestSessions {
        RequestSessions {
            inner: Arc::new(RequestInner {
                manager: self.clone(),
                request,
                loaded: Mutex::new(Vec::new()),
                driver_asked_to_save: AtomicBool::new(false),
                finished: AtomicBool::new(false),
                csrf: Mutex::new(CsrfState::default()),
            }),
        }
    }

    /// The name of the default driver (the one templates see).
    pub fn default_driver(&self) -> &str {
        &self.inner.default
    }

    /// The name of the cookie that holds each browser's CSRF secret (see
    /// [`csrf`](crate::csrf)): `__Host-csrf` when cookies are `Secure` (the
    /// default), `csrf` otherwise.
    pub fn csrf_cookie_name(&self) -> &'static str {
        self.inner.csrf_cookie.csrf_cookie_name()
    }

    /// The names of all configured drivers, sorted.
    pub fn driver_names(&self) -> Vec<&str> {
        self.inner.drivers.keys().map(String::as_str).collect()
    }

    /// The driver registered under `name`.
    pub fn get_driver(&self, name: &str) -> Option<Arc<dyn SessionDriver>> {
        self.inner.drivers.get(name).map(|(_, d)| d.clone())
    }

    fn lookup(&self, name: &str) -> Result<&(Arc<str>, Arc<dyn SessionDriver>), SessionError> {
        self.inner
            .drivers
            .get(name)
            .ok_or_else(|| SessionError::UnknownDriver {
                name: name.to_owned(),
                known: self.driver_names().join(", "),
            })
    }
}

impl fmt::Debug for SessionManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionManager")
            .field("drivers", &self.driver_names())
            .field("default", &self.default_driver())
            .finish()
    }
}

/// Builds a [`SessionManager`]; see [`SessionManager::builder`].
pub struct SessionManagerBuilder {
    drivers: BTreeMap<String, Arc<dyn SessionDriver>>,
    default: Option<String>,
    csrf_cookie: CookieSettings,
}

impl fmt::Debug for SessionManagerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionManagerBuilder")
            .field("drivers", &self.drivers.keys().collect::<Vec<_>>())
            .field("default", &self.default)
            .finish()
    }
}

impl SessionManagerBuilder {
    /// Registers `driver` under `name`, replacing a driver of that name.
    pub fn driver(mut self, name: impl Into<String>, driver: impl SessionDriver) -> Self {
        self.drivers.insert(name.into(), Arc::new(driver));
        self
    }

    /// Registers a shared driver under `name`.
    pub fn shared_driver(
        mut self,
        name: impl Into<String>,
        driver: Arc<dyn SessionDriver>,
    ) -> Self {
        self.drivers.insert(name.into(), driver);
        self
    }

    /// Names the default driver (`memory` if never called).
    pub fn default_driver(mut self, name: impl Into<String>) -> Self {
        self.default = Some(name.into());
        self
    }

    /// Checks that the default driver exists and builds the manager.
    pub fn build(self) -> Result<SessionManager, ConfigError> {
        let default = self.default.unwrap_or_else(|| "memory".to_owned());
        if !self.drivers.contains_key(&default) {
            return Err(ConfigError::UnknownDriver {
                name: default,
                known: self.drivers.keys().cloned().collect::<Vec<_>>().join(", "),
            });
        }
        let drivers = self
            .drivers
            .into_iter()
            .map(|(name, driver)| {
                let shared: Arc<str> = Arc::from(name.as_str());
                (name, (shared, driver))
            })
            .collect::<BTreeMap<_, _>>();
        let default = drivers[&default].0.clone();
        Ok(SessionManager {
            inner: Arc::new(ManagerInner {
                drivers,
                default,
                csrf_cookie: self.csrf_cookie,
            }),
        })
    }
}

/// The sessions of one request, loaded driver by driver on first use.
///
/// A cheap handle: clones share the loaded sessions. Integrations create one
/// per request with [`SessionManager::request`], hand it to the handler and the
/// templates, and call [`finish`](Self::finish) with the response status.
#[derive(Clone)]
pub struct RequestSessions {
    inner: Arc<RequestInner>,
}

pub(crate) struct RequestInner {
    manager: SessionManager,
    request: RequestContext,
    loaded: Mutex<Vec<(Arc<str>, Session)>>,
    /// A driver's `load` set [`Loaded::needs_save`](crate::driver::Loaded::needs_save).
    driver_asked_to_save: AtomicBool,
    /// `finish` (or a `finish_unchanged` that ended the request) ran: no
    /// driver loads any more, set under the `loaded` lock.
    finished: AtomicBool,
    csrf: Mutex<CsrfState>,
}

/// This request's CSRF secret, found or made on the first token.
#[derive(Debug, Default)]
struct CsrfState {
    /// The secret tokens are made from, once one was asked for.
    secret: Option<Secret>,
    /// The secret is new: the response sets it in the cookie.
    issue: bool,
    /// A session of this request was regenerated and the secret replaced for it.
    rotated: bool,
}

impl RequestSessions {
    /// Whether a session of this request is to get a new id (log in, log out).
    fn regenerates(&self) -> bool {
        self.inner
            .loaded
            .lock()
            .iter()
            .any(|(_, session)| session.regenerates())
    }

    /// A CSRF token for a form or a script of the page this request renders
    /// (masked afresh on every call; see [`csrf`](crate::csrf)). The first
    /// call reads the browser's secret from its cookie, or makes a new one
    /// that [`finish`](Self::finish) sets. After a session of this request
    /// was regenerated or invalidated, tokens come from a new secret.
    pub fn csrf_token(&self) -> String {
        let mut token = String::with_capacity(csrf::TOKEN_LEN);
        self.push_csrf_token(&mut token);
        token
    }

    /// [`csrf_token`](Self::csrf_token), appended to `out`: for a template
    /// helper that writes the token into its markup. The token is
    /// [`csrf::TOKEN_LEN`] characters of URL-safe base64, which need no
    /// escaping in HTML.
    pub fn push_csrf_token(&self, out: &mut String) {
        self.rotate_csrf_after_regenerate();
        let mut csrf = self.inner.csrf.lock();
        let secret = match &csrf.secret {
            Some(secret) => secret.clone(),
            None => {
                let name = self.inner.manager.csrf_cookie_name();
                let found = self
                    .inner
                    .request
                    .sole_cookie(name)
                    .and_then(Secret::from_cookie);
                csrf.issue = found.is_none();
                csrf.secret
                    .insert(found.unwrap_or_else(Secret::generate))
                    .clone()
            }
        };
        secret.push_masked(out);
    }

    /// Whether `token` (a form's `_token`, an `X-CSRF-Token` header) belongs
    /// to the CSRF secret this request's browser sent in its cookie.
    pub fn verify_csrf_token(&self, token: &str) -> bool {
        let name = self.inner.manager.csrf_cookie_name();
        csrf::verify(self.inner.request.sole_cookie(name), token)
    }

    /// The cookie that carries a CSRF secret made during this request, if
    /// one was: [`finish`](Self::finish) includes it in the cookies to set.
    pub fn issued_csrf_cookie(&self) -> Option<Cookie<'static>> {
        let csrf = self.inner.csrf.lock();
        let secret = csrf.secret.as_ref().filter(|_| csrf.issue)?;
        Some(
            self.inner
                .manager
                .inner
                .csrf_cookie
                .csrf_cookie(secret.cookie_value()),
        )
    }

    /// Whether this request made a CSRF token (or a new secret): its
    /// response is that browser's alone, and must never be shared by a cache.
    pub fn made_csrf_token(&self) -> bool {
        self.inner.csrf.lock().secret.is_some()
    }

    /// Replaces the secret, once per request, when a session of this request
    /// is regenerated or invalidated: tokens made before the login (or
    /// logout) stop working after it, whether or not the page renders one.
    fn rotate_csrf_after_regenerate(&self) {
        if !self.regenerates() {
            return;
        }
        let mut csrf = self.inner.csrf.lock();
        if !csrf.rotated {
            csrf.rotated = true;
            csrf.secret = Some(Secret::generate());
            csrf.issue = true;
        }
    }

    /// A handle the request's sessions keep, so that a template holding only
    /// a [`Session`] can still ask for a CSRF token.
    pub(crate) fn downgrade(&self) -> Weak<RequestInner> {
        Arc::downgrade(&self.inner)
    }

    pub(crate) fn upgrade(inner: &Weak<RequestInner>) -> Option<Self> {
        inner.upgrade().map(|inner| RequestSessions { inner })
    }
}

impl RequestSessions {
    /// The session on the default driver.
    pub async fn session(&self) -> Result<Session, SessionError> {
        let name = self.inner.manager.inner.default.clone();
        self.driver(&name).await
    }

    /// The session on the driver named `name` (Masonite's `SessionManager.driver('cookie')`).
    /// Switching driver does not change what templates see: they use the default.
    pub async fn driver(&self, name: &str) -> Result<Session, SessionError> {
        if let Some(session) = self.loaded(name) {
            return Ok(session);
        }
        let (shared_name, driver) = self.inner.manager.lookup(name)?.clone();
        // A session first asked for after the request ended would never be
        // saved: refuse it rather than let its writes vanish.
        let ended = || SessionError::AlreadySaved {
            driver: name.to_owned(),
        };
        if self.inner.finished.load(Ordering::Acquire) {
            return Err(ended());
        }
        #[cfg(not(feature = "tracing"))]
        let loaded = driver.load(&self.inner.request).await?;
        #[cfg(feature = "tracing")]
        let loaded = traced(
            tracing::debug_span!(
                target: "session_core",
                "session.load",
                driver = name,
                outcome = tracing::field::Empty,
            ),
            driver.load(&self.inner.request),
        )
        .await?;
        if loaded.needs_save {
            self.inner
                .driver_asked_to_save
                .store(true, Ordering::Relaxed);
        }
        let mut sessions = self.inner.loaded.lock();
        if self.inner.finished.load(Ordering::Acquire) {
            return Err(ended());
        }
        // Two concurrent first uses in one request: the first one loaded wins.
        if let Some((_, session)) = sessions.iter().find(|(n, _)| &**n == name) {
            return Ok(session.clone());
        }
        let session = Session::from_loaded(shared_name.clone(), driver, loaded, self.downgrade());
        sessions.push((shared_name, session.clone()));
        Ok(session)
    }

    /// The session on `name` if this request already loaded it.
    pub fn loaded(&self, name: &str) -> Option<Session> {
        let sessions = self.inner.loaded.lock();
        sessions
            .iter()
            .find(|(n, _)| &**n == name)
            .map(|(_, s)| s.clone())
    }

    /// Every session this request has loaded so far.
    pub fn loaded_sessions(&self) -> Vec<Session> {
        self.inner
            .loaded
            .lock()
            .iter()
            .map(|(_, s)| s.clone())
            .collect()
    }

    /// Whether this request loaded any session (to read or to write it) or
    /// made a CSRF token, so that its response depends on the browser:
    /// integrations keep such a response out of shared caches. Doing
    /// neither, it is `false`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use session_core::{integration::RequestContext, SessionManager};
    ///
    /// let manager = SessionManager::builder().build()?;
    /// let sessions = manager.request(RequestContext::new());
    /// assert!(!sessions.used());
    /// sessions.session().await?.has("user");
    /// assert!(sessions.used());
    /// # Ok(()) }
    /// ```
    pub fn used(&self) -> bool {
        !self.inner.loaded.lock().is_empty() || self.inner.csrf.lock().secret.is_some()
    }

    /// The default driver's session, if this request already loaded it.
    pub fn loaded_default(&self) -> Option<Session> {
        self.loaded(self.inner.manager.default_driver())
    }

    /// The manager these sessions come from.
    pub fn manager(&self) -> &SessionManager {
        &self.inner.manager
    }

    /// The request the sessions belong to.
    pub fn request(&self) -> &RequestContext {
        &self.inner.request
    }

    /// Ends the request: applies the flash rule for the response `status`
    /// ([`clears_flash`](crate::integration::clears_flash), [`saves_changes`](crate::integration::saves_changes)),
    /// saves every loaded session and returns the cookies to set.
    ///
    /// Every session is saved even when one fails; the first error is
    /// returned, and the response should then not claim success (the HTTP
    /// layer answers 503).
    pub async fn finish(&self, status: StatusCode) -> Result<Vec<Cookie<'static>>, SessionError> {
        // Before the sessions are saved, which ends their changes.
        self.rotate_csrf_after_regenerate();
        let sessions: Vec<Session> = {
            let loaded = self.inner.loaded.lock();
            self.inner.finished.store(true, Ordering::Release);
            loaded.iter().map(|(_, session)| session.clone()).collect()
        };
        let mut cookies = Vec::new();
        let mut first_error = None;
        for session in sessions {
            match session.finish(&self.inner.request, status).await {
                Ok(mut set) => cookies.append(&mut set),
                Err(err) => {
                    first_error.get_or_insert(err);
                }
            }
        }
        if let Some(err) = first_error {
            return Err(err);
        }
        cookies.extend(self.issued_csrf_cookie());
        Ok(cookies)
    }

    /// Ends the request without waiting, when that is all [`finish`](Self::finish)
    /// would do: no loaded session has anything to write for a response of
    /// `status` (nothing changed, no flash for a 200 to clear, no driver
    /// asked to save at load), or `status` saves nothing (5xx). Then every
    /// loaded session is closed as `finish` closes it (later writes fail
    /// with [`SessionError::AlreadySaved`]), there are no cookies to set,
    /// and the result is `true`.
    ///
    /// Otherwise nothing happens and the result is `false`: call `finish`.
    /// Integrations call this first so that the common request — a page that
    /// only reads its session — needs no future for its end.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use http::StatusCode;
    /// use session_core::{integration::RequestContext, SessionManager};
    ///
    /// let manager = SessionManager::builder().build()?;
    /// let sessions = manager.request(RequestContext::new());
    /// sessions.session().await?.set("user", "Ada")?;
    /// assert!(!sessions.finish_unchanged(StatusCode::OK)); // a write to save
    /// assert_eq!(sessions.finish(StatusCode::OK).await?.len(), 1);
    ///
    /// let reading = manager.request(RequestContext::new());
    /// assert!(!reading.session().await?.has("user"));
    /// assert!(reading.finish_unchanged(StatusCode::OK));
    /// # Ok(()) }
    /// ```
    pub fn finish_unchanged(&self, status: StatusCode) -> bool {
        if saves_changes(status) && self.inner.driver_asked_to_save.load(Ordering::Relaxed) {
            return false;
        }
        // A new CSRF secret has a cookie to set.
        if self.inner.csrf.lock().issue {
            return false;
        }
        // Each session is checked and closed under its own lock, so a write
        // from another task either lands before (and is saved by `finish`)
        // or after (and is refused as `AlreadySaved`), never in between.
        // Sessions closed here before one that has changes had nothing to
        // save; `finish` passes over them.
        let loaded = self.inner.loaded.lock();
        let ended = loaded
            .iter()
            .all(|(_, session)| session.close_if_unchanged(status));
        if ended {
            self.inner.finished.store(true, Ordering::Release);
        }
        ended
    }
}

/// Runs a driver's `load` or `save` inside `span` and records its outcome
/// there. The span names the driver only: ids, values and cookies are
/// secrets. A failure is also a debug event, because the caller may drop the
/// error (an integration answers it with a status); integrations log the
/// errors they answer at a higher level themselves.
#[cfg(feature = "tracing")]
pub(crate) async fn traced<T>(
    span: tracing::Span,
    call: impl Future<Output = Result<T, SessionError>>,
) -> Result<T, SessionError> {
    // Nothing listens: no wrapper around the call, no fields to look up.
    if span.is_disabled() {
        return call.await;
    }
    let result = tracing::Instrument::instrument(call, span.clone()).await;
    match &result {
        Ok(_) => {
            span.record("outcome", "ok");
        }
        Err(err) => {
            span.record("outcome", "error");
            tracing::debug!(
                target: "session_core",
                parent: &span,
                error = %err,
                "session driver failed"
            );
        }
    }
    result
}

impl fmt::Debug for RequestSessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let loaded: Vec<String> = self
            .inner
            .loaded
            .lock()
            .iter()
            .map(|(n, _)| n.to_string())
            .collect();
        f.debug_struct("RequestSessions")
            .field("default", &self.inner.manager.default_driver())
            .field("loaded", &loaded)
            .finish()
    }
}
