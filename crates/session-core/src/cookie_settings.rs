use std::borrow::Cow;
use std::time::Duration;

use cookie::{Cookie, SameSite};

use crate::SessionConfig;

/// The attributes every cookie a driver sets carries: `HttpOnly` always,
/// `Path`, `SameSite` and `Secure` from the configuration.
///
/// Drivers outside this crate (redis) use it so that all session cookies look alike.
#[derive(Clone, Debug)]
pub struct CookieSettings {
    path: Cow<'static, str>,
    same_site: SameSite,
    secure: bool,
}

impl Default for CookieSettings {
    fn default() -> Self {
        Self::from_config(&SessionConfig::default())
    }
}

impl CookieSettings {
    /// The attributes `config` asks for.
    pub fn from_config(config: &SessionConfig) -> Self {
        CookieSettings {
            // The usual path costs no allocation per cookie.
            path: match config.cookie_path() {
                "/" => Cow::Borrowed("/"),
                other => Cow::Owned(other.to_owned()),
            },
            same_site: config.same_site(),
            secure: config.cookie_secure(),
        }
    }

    /// A cookie to set; without `max_age` it lasts until the browser closes.
    pub fn cookie(
        &self,
        name: String,
        value: String,
        max_age: Option<Duration>,
    ) -> Cookie<'static> {
        let mut cookie = Cookie::new(name, value);
        self.decorate(&mut cookie);
        if let Some(max_age) = max_age {
            cookie.set_max_age(cookie::time::Duration::seconds(
                i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX),
            ));
        }
        cookie
    }

    /// The CSRF secret's cookie name under these settings: only a `Secure`
    /// cookie for `Path=/` may carry the `__Host-` prefix.
    pub(crate) fn csrf_cookie_name(&self) -> &'static str {
        if self.secure && self.path == "/" {
            crate::csrf::HOST_COOKIE_NAME
        } else {
            crate::csrf::COOKIE_NAME
        }
    }

    /// A cookie that tells the browser to delete `name`.
    pub fn removal(&self, name: String) -> Cookie<'static> {
        let mut cookie = Cookie::new(name, "");
        self.decorate(&mut cookie);
        // `Max-Age=0` alone: every browser honours it, and it spares
        // formatting an `Expires` date in the past on every removal.
        cookie.set_max_age(cookie::time::Duration::ZERO);
        cookie
    }

    fn decorate(&self, cookie: &mut Cookie<'static>) {
        cookie.set_http_only(true);
        cookie.set_path(self.path.clone());
        cookie.set_same_site(self.same_site);
        cookie.set_secure(self.secure);
    }
}

/// The `Set-Cookie` header value of `cookie`: exactly what its `Display`
/// writes, without going through `fmt` for the attributes drivers set (an
/// `Expires` date is left to `Display`).
pub(crate) fn set_cookie_string(cookie: &Cookie<'_>) -> String {
    if cookie.expires_datetime().is_some() {
        return cookie.to_string();
    }
    let (name, value) = cookie.name_value();
    let mut out = String::with_capacity(name.len() + value.len() + 64);
    out.push_str(name);
    out.push('=');
    out.push_str(value);
    if cookie.http_only() == Some(true) {
        out.push_str("; HttpOnly");
    }
    if let Some(same_site) = cookie.same_site() {
        out.push_str(match same_site {
            SameSite::Strict => "; SameSite=Strict",
            SameSite::Lax => "; SameSite=Lax",
            SameSite::None => "; SameSite=None",
        });
    }
    if cookie.partitioned() == Some(true) {
        out.push_str("; Partitioned");
    }
    if cookie.secure() == Some(true)
        || cookie.partitioned() == Some(true)
        || cookie.secure().is_none() && cookie.same_site() == Some(SameSite::None)
    {
        out.push_str("; Secure");
    }
    if let Some(path) = cookie.path() {
        out.push_str("; Path=");
        out.push_str(path);
    }
    if let Some(domain) = cookie.domain() {
        out.push_str("; Domain=");
        out.push_str(domain);
    }
    if let Some(max_age) = cookie.max_age() {
        out.push_str("; Max-Age=");
        push_decimal(&mut out, max_age.whole_seconds());
    }
    out
}

fn push_decimal(out: &mut String, n: i64) {
    if n < 0 {
        out.push('-');
    }
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = n.unsigned_abs();
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    for &digit in &digits[at..] {
        out.push(char::from(digit));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cookie::time::{Duration as TimeDuration, OffsetDateTime};

    #[test]
    fn set_cookie_string_is_what_display_writes() {
        let settings = CookieSettings::default();
        let mut cases = vec![
            settings.cookie(
                "s_user".into(),
                "abc".into(),
                Some(Duration::from_secs(7200)),
            ),
            settings.cookie("f_note".into(), "x".into(), None),
            settings.removal("session_id".into()),
            Cookie::new("plain", "v"),
        ];
        for same_site in [
            None,
            Some(SameSite::Strict),
            Some(SameSite::Lax),
            Some(SameSite::None),
        ] {
            for secure in [None, Some(false), Some(true)] {
                for partitioned in [None, Some(true)] {
                    for max_age in [None, Some(0), Some(-5), Some(i64::MAX), Some(i64::MIN)] {
                        let mut cookie = Cookie::new("n", "v");
                        cookie.set_same_site(same_site);
                        cookie.set_secure(secure);
                        cookie.set_partitioned(partitioned);
                        cookie.set_http_only(secure);
                        cookie.set_domain("example.org");
                        cookie.set_path("/app");
                        if let Some(seconds) = max_age {
                            cookie.set_max_age(TimeDuration::seconds(seconds));
                        }
                        cases.push(cookie);
                    }
                }
            }
        }
        let mut expiring = Cookie::new("e", "v");
        expiring.set_expires(OffsetDateTime::UNIX_EPOCH);
        cases.push(expiring);
        for cookie in &cases {
            assert_eq!(set_cookie_string(cookie), cookie.to_string());
        }
    }

    #[test]
    fn removal_is_max_age_zero_without_expires() {
        let removal = CookieSettings::default().removal("session_id".into());
        assert_eq!(
            set_cookie_string(&removal),
            "session_id=; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=0"
        );
    }
}
