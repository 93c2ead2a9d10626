use cookie::Cookie;

use crate::{
    SessionConfig,
    driver::{CookieSettings, SessionId},
    integration::RequestContext,
};

/// The name under which [`IdCookie::for_driver`] gives a driver the plain
/// configured name.
const PLAIN_NAME_DRIVER: &str = "memory";

/// The cookie in which a server-side driver keeps its session id: a name and
/// the [`CookieSettings`] every session cookie carries. It reads the id a
/// request sends, makes the `Set-Cookie` that hands a new id to the browser,
/// and the one that removes it, so every server-side driver (memory, redis,
/// your own) treats its id cookie alike.
///
/// # The name
///
/// [`IdCookie::for_driver`] names every server-side driver's cookie by one
/// rule: the memory driver's is [`SessionConfig::id_cookie_name`] itself
/// (`SESSION_COOKIE_NAME`, `session_id` by default); any other driver's is
/// its registered name, `_`, then that name (`redis_session_id`). The
/// default driver keeps the plain name people configure, and two server-side
/// drivers in one manager never share a cookie: if they did, each would
/// overwrite the other's id, and each would look up ids the other made.
///
/// # The cookie
///
/// `HttpOnly`, with the configured `Path`, `SameSite` and `Secure`, and no
/// `Max-Age`: the server-side idle lifetime decides when a session ends, and
/// a cookie that lasts until the browser closes never outlives an active
/// session. A value that is not exactly a [`SessionId`] reads as no id.
///
/// ```
/// use session_core::{driver::{IdCookie, SessionId}, integration::RequestContext, SessionConfig};
///
/// let config = SessionConfig::default();
/// assert_eq!(IdCookie::for_driver(&config, "memory").name(), "session_id");
/// let redis = IdCookie::for_driver(&config, "redis");
/// assert_eq!(redis.name(), "redis_session_id");
///
/// let id = SessionId::generate();
/// let set = redis.cookie(&id);
/// assert_eq!(
///     set.to_string(),
///     format!("redis_session_id={id}; HttpOnly; SameSite=Lax; Secure; Path=/")
/// );
///
/// let request = RequestContext::from_cookie_header(&set.stripped().to_string());
/// assert_eq!(redis.read(&request), Some(id));
/// let forged = RequestContext::from_cookie_header("redis_session_id=not-an-id");
/// assert_eq!(redis.read(&forged), None);
///
/// assert_eq!(
///     redis.removal().to_string(),
///     "redis_session_id=; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=0"
/// );
/// ```
#[derive(Clone, Debug)]
pub struct IdCookie {
    name: String,
    settings: CookieSettings,
}

impl IdCookie {
    /// A cookie named `name` with `settings`.
    pub fn new(name: impl Into<String>, settings: CookieSettings) -> Self {
        IdCookie {
            name: name.into(),
            settings,
        }
    }

    /// The cookie of the server-side driver registered as `driver`, named by
    /// the rule above, with the attributes `config` asks for.
    pub fn for_driver(config: &SessionConfig, driver: &str) -> Self {
        let base = config.id_cookie_name();
        let name = if driver == PLAIN_NAME_DRIVER {
            base.to_owned()
        } else {
            format!("{driver}_{base}")
        };
        Self::new(name, CookieSettings::from_config(config))
    }

    /// The same cookie under another name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The same cookie with other attributes.
    pub fn with_settings(mut self, settings: CookieSettings) -> Self {
        self.settings = settings;
        self
    }

    /// The cookie's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The cookie's attributes.
    pub fn settings(&self) -> &CookieSettings {
        &self.settings
    }

    /// True when the name is an RFC 6265 cookie-name token (letters, digits
    /// and ``!#$%&'*+-.^_`|~``): any other name makes a `Set-Cookie` that
    /// browsers misread. Drivers check it when they start.
    pub fn name_is_token(&self) -> bool {
        crate::cookie_driver::is_token(&self.name)
    }

    /// The id `request` sends in this cookie; `None` when it sends none, or
    /// a value that is not exactly an id.
    #[inline]
    pub fn read(&self, request: &RequestContext) -> Option<SessionId> {
        request.cookie(&self.name).and_then(SessionId::parse)
    }

    /// The `Set-Cookie` that hands `id` to the browser.
    #[inline]
    pub fn cookie(&self, id: &SessionId) -> Cookie<'static> {
        self.settings
            .cookie(self.name.clone(), id.to_string(), None)
    }

    /// The `Set-Cookie` that tells the browser to delete its id.
    #[inline]
    pub fn removal(&self) -> Cookie<'static> {
        self.settings.removal(self.name.clone())
    }
}
