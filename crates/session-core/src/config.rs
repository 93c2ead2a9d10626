use std::fmt;
use std::time::Duration;

use cookie::SameSite;

use crate::ConfigError;

#[cfg(test)]
mod cookie_tests;
mod secret;
use secret::check_secret;

/// The shortest secret accepted, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;

/// Settings for the built-in drivers and the manager, and the ones every
/// driver shares (lifetime, cookie attributes, the id cookie's name).
///
/// Build one with the `with_*` methods or read one from the environment with
/// [`SessionConfig::from_env`].
///
/// | variable | meaning | default |
/// | --- | --- | --- |
/// | `SESSION_DRIVER` | the default driver: `memory`, `cookie`, or the name another driver is registered under | `memory` |
/// | `SESSION_SECRET` | the cookie driver's secret: ≥ 32 random bytes (a secret that is plainly typed, such as one character repeated, is refused) | none (the cookie driver is then off) |
/// | `SESSION_PREVIOUS_SECRETS` | comma-separated older secrets, still accepted for reading | none |
/// | `SESSION_LIFETIME` | idle lifetime: seconds, or a number with `s`, `m`, `h`, `d` | `2h` |
/// | `SESSION_FLASH_LIFETIME` | how long the cookie driver's flash cookies stay valid (a copy replayed later is refused) | `5m` |
/// | `SESSION_ABSOLUTE_LIFETIME` | the longest a cookie-driver session lives, however active (refreshes never pass it) | `12h` |
/// | `SESSION_COOKIE_SECURE` | send cookies over HTTPS only (`true`/`false`) | `true` |
/// | `SESSION_SAME_SITE` | `lax`, `strict` or `none` (`none` needs `SESSION_COOKIE_SECURE=true`) | `lax` |
/// | `SESSION_COOKIE_NAME` | the id cookie of server-side drivers (see [`IdCookie`](crate::driver::IdCookie)) | `session_id` |
/// | `SESSION_MAX_SESSIONS` | the memory driver's bound on the number of sessions | `100000` |
/// | `SESSION_MAX_BYTES` | the memory driver's byte budget: bytes, or a number with `K`, `M`, `G` (powers of 1024) | `64M` |
/// | `SESSION_MAX_VALUE_BYTES` | the memory driver's limit on one value (its key and JSON text), refused at `set` | `64K` |
///
/// A driver from another crate reads its own settings (where its store is,
/// say) itself, and these shared ones from here.
///
/// ```
/// use std::time::Duration;
/// use session_core::SessionConfig;
///
/// let config = SessionConfig::from_lookup(|var| match var {
///     "SESSION_DRIVER" => Some("cookie".into()),
///     "SESSION_SECRET" => Some("q3Vb0c5Xv0m3l7mJ6qRZ8k1yH9wqB8xq0Jr6Zx0iV2Wq7d8m".into()),
///     "SESSION_LIFETIME" => Some("30m".into()),
///     _ => None,
/// })
/// .unwrap();
/// assert_eq!(config.driver(), "cookie");
/// assert_eq!(config.lifetime(), Duration::from_secs(1800));
/// assert!(config.cookie_secure());
/// ```
#[derive(Clone)]
pub struct SessionConfig {
    driver: String,
    secret: Option<Vec<u8>>,
    previous_secrets: Vec<Vec<u8>>,
    lifetime: Duration,
    flash_lifetime: Duration,
    absolute_lifetime: Duration,
    cookie_secure: bool,
    same_site: SameSite,
    cookie_path: String,
    id_cookie_name: String,
    max_sessions: usize,
    max_bytes: usize,
    max_value_bytes: usize,
}

/// The memory driver's default byte budget (64 MiB).
const DEFAULT_MAX_BYTES: usize = 64 * 1024 * 1024;

/// The memory driver's default limit on one value (64 KiB).
const DEFAULT_MAX_VALUE_BYTES: usize = 64 * 1024;

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            driver: "memory".to_owned(),
            secret: None,
            previous_secrets: Vec::new(),
            lifetime: Duration::from_secs(2 * 60 * 60),
            // Long enough for any redirect to land, short enough that a
            // flash cookie copied from a response is soon worthless.
            flash_lifetime: Duration::from_secs(5 * 60),
            // A working day of continuous use without a forced log-in, while
            // a stolen cookie-driver session (which cannot be revoked) is
            // dead by the next morning.
            absolute_lifetime: Duration::from_secs(12 * 60 * 60),
            cookie_secure: true,
            same_site: SameSite::Lax,
            cookie_path: "/".to_owned(),
            id_cookie_name: "session_id".to_owned(),
            max_sessions: 100_000,
            max_bytes: DEFAULT_MAX_BYTES,
            max_value_bytes: DEFAULT_MAX_VALUE_BYTES,
        }
    }
}

impl SessionConfig {
    /// Reads the configuration from the process environment (see the table above).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|var| std::env::var(var).ok())
    }

    /// Reads the configuration through `lookup` (for tests, or other sources of settings).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut config = Self::default();
        if let Some(driver) = lookup("SESSION_DRIVER") {
            config = config.with_driver(driver.trim());
        }
        if let Some(secret) = lookup("SESSION_SECRET") {
            config = config.with_secret_named("SESSION_SECRET", secret.as_bytes())?;
        }
        if let Some(list) = lookup("SESSION_PREVIOUS_SECRETS") {
            for (i, secret) in list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .enumerate()
            {
                let which = format!("entry {} of SESSION_PREVIOUS_SECRETS", i + 1);
                check_secret(&which, secret.as_bytes())?;
                config.previous_secrets.push(secret.as_bytes().to_vec());
            }
        }
        if let Some(text) = lookup("SESSION_LIFETIME") {
            config.lifetime = parse_duration(&text).ok_or(ConfigError::InvalidValue {
                var: "SESSION_LIFETIME",
                value: text,
                expected: "a positive number of seconds, or a number followed by s, m, h or d",
            })?;
        }
        for (var, slot) in [
            ("SESSION_FLASH_LIFETIME", &mut config.flash_lifetime),
            ("SESSION_ABSOLUTE_LIFETIME", &mut config.absolute_lifetime),
        ] {
            if let Some(text) = lookup(var) {
                *slot = parse_duration(&text).ok_or(ConfigError::InvalidValue {
                    var,
                    value: text,
                    expected: "a positive number of seconds, or a number followed by s, m, h or d",
                })?;
            }
        }
        if let Some(text) = lookup("SESSION_COOKIE_SECURE") {
            config.cookie_secure = match text.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => true,
                "0" | "false" | "no" | "off" => false,
                _ => {
                    return Err(ConfigError::InvalidValue {
                        var: "SESSION_COOKIE_SECURE",
                        value: text,
                        expected: "true or false",
                    });
                }
            };
        }
        if let Some(text) = lookup("SESSION_SAME_SITE") {
            config.same_site = match text.trim().to_ascii_lowercase().as_str() {
                "lax" => SameSite::Lax,
                "strict" => SameSite::Strict,
                "none" => SameSite::None,
                _ => {
                    return Err(ConfigError::InvalidValue {
                        var: "SESSION_SAME_SITE",
                        value: text,
                        expected: "lax, strict or none",
                    });
                }
            };
        }
        config.validate()?;
        if let Some(name) = lookup("SESSION_COOKIE_NAME") {
            config.id_cookie_name = name.trim().to_owned();
        }
        if let Some(text) = lookup("SESSION_MAX_SESSIONS") {
            config.max_sessions =
                text.trim()
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or(ConfigError::InvalidValue {
                        var: "SESSION_MAX_SESSIONS",
                        value: text,
                        expected: "a positive whole number",
                    })?;
        }
        for (var, setting) in [
            ("SESSION_MAX_BYTES", &mut config.max_bytes),
            ("SESSION_MAX_VALUE_BYTES", &mut config.max_value_bytes),
        ] {
            if let Some(text) = lookup(var) {
                *setting = parse_bytes(&text).ok_or(ConfigError::InvalidValue {
                    var,
                    value: text,
                    expected: "a positive number of bytes, or a number followed by K, M or G",
                })?;
            }
        }
        Ok(config)
    }

    /// Names the default driver.
    pub fn with_driver(mut self, driver: impl Into<String>) -> Self {
        self.driver = driver.into();
        self
    }

    /// Sets the secret the cookie driver derives its key from: ≥ 32 random
    /// bytes. One that is plainly typed (one character repeated, a short
    /// pattern repeated, a handful of different bytes) is refused.
    pub fn with_secret(self, secret: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        self.with_secret_named("the session secret", secret.as_ref())
    }

    fn with_secret_named(mut self, which: &str, secret: &[u8]) -> Result<Self, ConfigError> {
        check_secret(which, secret)?;
        self.secret = Some(secret.to_vec());
        Ok(self)
    }

    /// Adds an older secret: cookies made with it are still read (and
    /// re-written under the current secret). Remove it once the session
    /// lifetime has passed since the rotation.
    pub fn with_previous_secret(mut self, secret: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        check_secret("a previous session secret", secret.as_ref())?;
        self.previous_secrets.push(secret.as_ref().to_vec());
        Ok(self)
    }

    /// Sets the idle lifetime of a session.
    pub fn with_lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// Sets how long a flash cookie of the cookie driver stays valid: long
    /// enough for the redirect that shows it, since a copy of it can be
    /// replayed until then.
    pub fn with_flash_lifetime(mut self, lifetime: Duration) -> Self {
        self.flash_lifetime = lifetime;
        self
    }

    /// Sets the longest a cookie-driver session lives, counted from the
    /// request that started it (or last called `regenerate`/`invalidate`),
    /// however active it is. Idle and flash lifetimes longer than this are
    /// cut to it. The server-side drivers end a session by its idle
    /// lifetime and at logout, and do not read this.
    pub fn with_absolute_lifetime(mut self, lifetime: Duration) -> Self {
        self.absolute_lifetime = lifetime;
        self
    }

    /// Sets whether cookies carry `Secure` (HTTPS only). Turn it off only for
    /// local development over plain http.
    pub fn with_cookie_secure(mut self, secure: bool) -> Self {
        self.cookie_secure = secure;
        self
    }

    /// Sets the cookies' `SameSite` attribute.
    pub fn with_same_site(mut self, same_site: SameSite) -> Self {
        self.same_site = same_site;
        self
    }

    /// Sets the cookies' `Path` (default `/`).
    pub fn with_cookie_path(mut self, path: impl Into<String>) -> Self {
        self.cookie_path = path.into();
        self
    }

    /// Sets the name of the cookie that carries a session id (the base of
    /// every server-side driver's id cookie name; see [`IdCookie`](crate::driver::IdCookie)).
    pub fn with_id_cookie_name(mut self, name: impl Into<String>) -> Self {
        self.id_cookie_name = name.into();
        self
    }

    /// Sets the memory driver's maximum number of sessions.
    pub fn with_max_sessions(mut self, max: usize) -> Self {
        self.max_sessions = max.max(1);
        self
    }

    /// Sets the memory driver's byte budget: what its sessions (and the
    /// ids they ended, for ten minutes) may take in all.
    pub fn with_max_bytes(mut self, max: usize) -> Self {
        self.max_bytes = max.max(1);
        self
    }

    /// Sets the memory driver's limit on one value: its key and JSON text.
    pub fn with_max_value_bytes(mut self, max: usize) -> Self {
        self.max_value_bytes = max.max(1);
        self
    }

    /// The default driver's name.
    pub fn driver(&self) -> &str {
        &self.driver
    }

    /// The current secret.
    pub fn secret(&self) -> Option<&[u8]> {
        self.secret.as_deref()
    }

    /// The older secrets, still accepted for reading.
    pub fn previous_secrets(&self) -> impl Iterator<Item = &[u8]> {
        self.previous_secrets.iter().map(Vec::as_slice)
    }

    /// The idle lifetime of a session.
    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// How long a flash cookie of the cookie driver stays valid.
    pub fn flash_lifetime(&self) -> Duration {
        self.flash_lifetime
    }

    /// The longest a cookie-driver session lives, however active.
    pub fn absolute_lifetime(&self) -> Duration {
        self.absolute_lifetime
    }

    /// Checks the settings that are fine one by one but not together:
    /// `SameSite=None` needs `Secure`, which browsers insist on.
    /// [`from_env`](Self::from_env) and the drivers built from a
    /// configuration call it, so such a configuration stops the app at start-up.
    ///
    /// ```
    /// use session_core::{ConfigError, SessionConfig, cookie::SameSite};
    ///
    /// let config = SessionConfig::default().with_same_site(SameSite::None);
    /// assert!(config.validate().is_ok(), "Secure is on by default");
    /// let config = config.with_cookie_secure(false);
    /// assert!(matches!(config.validate(), Err(ConfigError::SameSiteNoneWithoutSecure)));
    /// ```
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.same_site == SameSite::None && !self.cookie_secure {
            return Err(ConfigError::SameSiteNoneWithoutSecure);
        }
        Ok(())
    }

    /// Whether cookies carry `Secure`.
    pub fn cookie_secure(&self) -> bool {
        self.cookie_secure
    }

    /// The cookies' `SameSite`.
    pub fn same_site(&self) -> SameSite {
        self.same_site
    }

    /// The cookies' `Path`.
    pub fn cookie_path(&self) -> &str {
        &self.cookie_path
    }

    /// The name of the cookie carrying a session id.
    pub fn id_cookie_name(&self) -> &str {
        &self.id_cookie_name
    }

    /// The memory driver's maximum number of sessions.
    pub fn max_sessions(&self) -> usize {
        self.max_sessions
    }

    /// The memory driver's byte budget.
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// The memory driver's limit on one value.
    pub fn max_value_bytes(&self) -> usize {
        self.max_value_bytes
    }
}

impl fmt::Debug for SessionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionConfig")
            .field("driver", &self.driver)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("previous_secrets", &self.previous_secrets.len())
            .field("lifetime", &self.lifetime)
            .field("flash_lifetime", &self.flash_lifetime)
            .field("absolute_lifetime", &self.absolute_lifetime)
            .field("cookie_secure", &self.cookie_secure)
            .field("same_site", &self.same_site)
            .field("cookie_path", &self.cookie_path)
            .field("id_cookie_name", &self.id_cookie_name)
            .field("max_sessions", &self.max_sessions)
            .field("max_bytes", &self.max_bytes)
            .field("max_value_bytes", &self.max_value_bytes)
            .finish()
    }
}

fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u64 = number.parse().ok().filter(|n| *n > 0)?;
    let secs = match unit.trim() {
        "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        "d" => n.checked_mul(86400)?,
        _ => return None,
    };
    Some(Duration::from_secs(secs))
}

/// A size: bytes, or a number with `K`, `M` or `G` (powers of 1024; `KB`,
/// `KiB` and lower case are the same).
fn parse_bytes(text: &str) -> Option<usize> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, ""),
    };
    let n: usize = number.parse().ok().filter(|n| *n > 0)?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => return None,
    };
    n.checked_mul(1 << shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |var| {
            vars.iter()
                .find(|(k, _)| *k == var)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn reads_every_variable() {
        let secret = "a current secret of 32 bytes or more".to_owned();
        let old = "an older secret also of 32 bytes or more";
        let prev = format!("{old}, {secret}");
        let config = SessionConfig::from_lookup(lookup(&[
            ("SESSION_DRIVER", "redis"),
            ("SESSION_SECRET", &secret),
            ("SESSION_PREVIOUS_SECRETS", &prev),
            ("SESSION_LIFETIME", "90"),
            ("SESSION_COOKIE_SECURE", "false"),
            ("SESSION_SAME_SITE", "Strict"),
            ("SESSION_COOKIE_NAME", "sid"),
            ("SESSION_MAX_SESSIONS", "7"),
            ("SESSION_MAX_BYTES", "16M"),
            ("SESSION_MAX_VALUE_BYTES", "4096"),
        ]))
        .expect("valid");
        assert_eq!(config.driver(), "redis");
        assert_eq!(config.secret(), Some(secret.as_bytes()));
        assert_eq!(config.previous_secrets().count(), 2);
        assert_eq!(config.lifetime(), Duration::from_secs(90));
        assert!(!config.cookie_secure());
        assert_eq!(config.same_site(), SameSite::Strict);
        assert_eq!(config.id_cookie_name(), "sid");
        assert_eq!(config.max_sessions(), 7);
        assert_eq!(config.max_bytes(), 16 << 20);
        assert_eq!(config.max_value_bytes(), 4096);
        assert!(
            !format!("{config:?}").contains(&secret),
            "Debug must not show secrets"
        );
    }

    #[test]
    fn rejects_bad_values_naming_the_variable() {
        let short = SessionConfig::from_lookup(lookup(&[("SESSION_SECRET", "too short")]));
        let message = short.expect_err("short secret").to_string();
        assert!(message.contains("SESSION_SECRET is 9 bytes"), "{message}");
        assert!(message.contains("openssl rand"), "{message}");
        for (var, value) in [
            ("SESSION_LIFETIME", "soon"),
            ("SESSION_LIFETIME", "0"),
            ("SESSION_LIFETIME", "5y"),
            ("SESSION_COOKIE_SECURE", "maybe"),
            ("SESSION_SAME_SITE", "sometimes"),
            ("SESSION_MAX_SESSIONS", "-1"),
            ("SESSION_MAX_BYTES", "0"),
            ("SESSION_MAX_BYTES", "lots"),
            ("SESSION_MAX_VALUE_BYTES", "64T"),
        ] {
            let err = SessionConfig::from_lookup(lookup(&[(var, value)])).expect_err(var);
            assert!(err.to_string().starts_with(var), "{err}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("15m"), Some(Duration::from_secs(900)));
        assert_eq!(parse_duration("2h"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_duration("1d"), Some(Duration::from_secs(86400)));
        assert_eq!(parse_duration(""), None);
        assert_eq!(parse_duration("m"), None);
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_bytes("4096"), Some(4096));
        assert_eq!(parse_bytes("64K"), Some(64 << 10));
        assert_eq!(parse_bytes(" 64 kib "), Some(64 << 10));
        assert_eq!(parse_bytes("3MB"), Some(3 << 20));
        assert_eq!(parse_bytes("1g"), Some(1 << 30));
        assert_eq!(parse_bytes("0"), None);
        assert_eq!(parse_bytes("K"), None);
        assert_eq!(parse_bytes("1.5M"), None);
        assert_eq!(SessionConfig::default().max_bytes(), 64 << 20);
        assert_eq!(SessionConfig::default().max_value_bytes(), 64 << 10);
    }
}
