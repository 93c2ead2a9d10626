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

    /// A cookie that tells the browser to delete `name`.
    pub fn removal(&self, name: String) -> Cookie<'static> {
        let mut cookie = Cookie::new(name, "");
        self.decorate(&mut cookie);
        cookie.make_removal();
        cookie
    }

    fn decorate(&self, cookie: &mut Cookie<'static>) {
        cookie.set_http_only(true);
        cookie.set_path(self.path.clone());
        cookie.set_same_site(self.same_site);
        cookie.set_secure(self.secure);
    }
}
