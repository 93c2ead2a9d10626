use std::error::Error as StdError;

/// A boxed error from a driver's backing store (Redis, a database, ...).
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// What went wrong while using a session.
///
/// Every variant says what to do about it; the underlying error, where there is
/// one, is kept as [`source`](std::error::Error::source).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The value for `key` is too large for the driver that stores it.
    #[error(
        "the value for session key `{key}` needs {size} bytes but the `{driver}` driver allows at most {limit}; {}",
        too_large_advice(driver)
    )]
    ValueTooLarge {
        /// The session or flash key.
        key: String,
        /// The size the value would take (for the cookie driver: the whole `Set-Cookie` line).
        size: usize,
        /// The driver's limit.
        limit: usize,
        /// The driver's name.
        driver: &'static str,
    },

    /// A value could not be turned into JSON (for example a map with non-string keys).
    #[error("the value for session key `{key}` cannot be stored as JSON: {source}")]
    Serialize {
        /// The session or flash key.
        key: String,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },

    /// A stored value could not be read as the type asked for by [`Session::get_as`](crate::Session::get_as).
    #[error("the value under session key `{key}` is not a `{type_name}`: {source}")]
    Deserialize {
        /// The session or flash key.
        key: String,
        /// The Rust type that was asked for.
        type_name: &'static str,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },

    /// [`RequestSessions::driver`](crate::integration::RequestSessions::driver) named a driver the manager does not have.
    #[error(
        "no session driver named `{name}` is configured (configured: {known}); register it with SessionManagerBuilder::driver"
    )]
    UnknownDriver {
        /// The name asked for.
        name: String,
        /// The names that are configured, comma separated.
        known: String,
    },

    /// The session was already saved; changes after [`RequestSessions::finish`](crate::integration::RequestSessions::finish) would be lost.
    #[error(
        "the session of the `{driver}` driver was already saved for this request; change it before the response is finished"
    )]
    AlreadySaved {
        /// The driver's name.
        driver: String,
    },

    /// Another request ended the session this request loaded while this one
    /// ran: a login's [`regenerate`](crate::Session::regenerate) moved it to
    /// a new id, or a logout's [`invalidate`](crate::Session::invalidate)
    /// (or a save that emptied it) ended it. Nothing this request changed
    /// was saved, anywhere: a write made on the id from before a login never
    /// reaches the logged-in session, and one made before a logout never
    /// brings the session back.
    ///
    /// What to do: do not tell the user the change was made. The browser
    /// already holds the session's current cookie (or none, after a
    /// logout), so ask it to reload and let the user repeat the action,
    /// which then applies to the session as it is now; the HTTP layer
    /// answers 409 Conflict. Do not retry the save yourself: the request
    /// was made for a session that no longer exists.
    ///
    /// Server-side drivers report it (memory, redis). The cookie driver
    /// keeps the session in the browser and cannot know that another
    /// request regenerated it; its responses reach only the browser that
    /// sent the request. A stale request whose only change is the clearing
    /// of the flash it showed (a 200 page) is not refused: it saves nothing.
    #[error(
        "the `{driver}` session this request loaded was regenerated or ended by another request \
         while this one ran; nothing this request changed was saved"
    )]
    StaleSession {
        /// The driver's name.
        driver: &'static str,
    },

    /// The session as this request leaves it is larger than the driver
    /// keeps for one session (for the memory driver, see
    /// [`MemoryDriver::max_session_bytes`](crate::MemoryDriver::max_session_bytes)).
    /// Nothing this request changed was saved. Each value passed the
    /// per-value limit, so it is the number of keys that grew: bound what
    /// users can add (a cart's items, say) or raise the driver's byte
    /// budget. The HTTP layer answers 413.
    #[error(
        "the session would take {size} bytes but the `{driver}` driver keeps at most {limit} for one \
         session; nothing this request changed was saved (store fewer keys, or raise the byte budget)"
    )]
    SessionTooLarge {
        /// The size the session would take.
        size: usize,
        /// The driver's per-session limit.
        limit: usize,
        /// The driver's name.
        driver: &'static str,
    },

    /// The driver's backing store failed (Redis unreachable, a timeout, ...).
    ///
    /// The HTTP layer answers such a request with 503 by default.
    #[error("the `{driver}` session store failed: {source}")]
    Backend {
        /// The driver's name.
        driver: String,
        /// What the store reported.
        #[source]
        source: BoxError,
    },
}

fn too_large_advice(driver: &str) -> &'static str {
    if driver == "cookie" {
        "store less under this key, or move to a server-side driver (name one in SESSION_DRIVER)"
    } else {
        "store less under this key, or raise the driver's value limit"
    }
}

impl SessionError {
    /// A [`SessionError::Backend`] for a driver's own store errors.
    pub fn backend(driver: impl Into<String>, source: impl Into<BoxError>) -> Self {
        SessionError::Backend {
            driver: driver.into(),
            source: source.into(),
        }
    }

    /// True when the error is the store's fault rather than the application's
    /// (worth a 503 and a retry, not a 500).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, SessionError::Backend { .. })
    }
}

/// A configuration mistake, reported when the [`SessionManager`](crate::SessionManager)
/// is built, so that it stops the application at start-up instead of failing
/// its first request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The default driver is not one of the configured drivers.
    #[error(
        "SESSION_DRIVER is `{name}`, but no driver of that name is configured (configured: {known})"
    )]
    UnknownDriver {
        /// The name asked for.
        name: String,
        /// The names that are configured, comma separated.
        known: String,
    },

    /// The cookie driver needs a secret.
    #[error(
        "the cookie driver needs a secret: set SESSION_SECRET to at least 32 random bytes, \
         for example the output of `openssl rand -base64 48`"
    )]
    MissingSecret,

    /// A secret is too short to derive a key from safely.
    #[error(
        "{which} is {len} bytes long; it must be at least 32 bytes of random data \
         (make one with `openssl rand -base64 48`)"
    )]
    SecretTooShort {
        /// Which secret (`SESSION_SECRET` or an entry of `SESSION_PREVIOUS_SECRETS`).
        which: String,
        /// Its length in bytes.
        len: usize,
    },

    /// An environment variable holds a value that cannot be used.
    #[error("{var}={value:?} is not valid: expected {expected}")]
    InvalidValue {
        /// The variable.
        var: &'static str,
        /// What it holds.
        value: String,
        /// What it may hold.
        expected: &'static str,
    },

    /// A driver failed to start (for example Redis unreachable at start-up).
    #[error("the `{driver}` session driver could not start: {source}")]
    Driver {
        /// The driver's name.
        driver: String,
        /// Why.
        #[source]
        source: BoxError,
    },

    /// A secret that is long enough but plainly not random (one character
    /// repeated, a short pattern repeated, a handful of different bytes): a
    /// key derived from it can be guessed, and with it every cookie forged.
    #[error(
        "{which} does not look random: it {reason}; use at least 32 random bytes, \
         for example the output of `openssl rand -base64 48`"
    )]
    WeakSecret {
        /// Which secret (`SESSION_SECRET` or an entry of `SESSION_PREVIOUS_SECRETS`).
        which: String,
        /// What gives it away (never the secret itself).
        reason: String,
    },

    /// `SameSite=None` without `Secure`: browsers drop such cookies, so no
    /// session would survive a request.
    #[error(
        "SESSION_SAME_SITE=none needs SESSION_COOKIE_SECURE=true: browsers reject \
         SameSite=None cookies that are not Secure; serve the app over HTTPS and set \
         SESSION_COOKIE_SECURE=true, or use SESSION_SAME_SITE=lax"
    )]
    SameSiteNoneWithoutSecure,
}
