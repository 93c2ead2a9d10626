use std::collections::BTreeMap;

use http::StatusCode;

use crate::{Session, SessionError, SessionManager, integration::RequestContext};

/// A client that keeps the cookies responses set and sends them back, the
/// way a browser does, and runs "requests" against a [`SessionManager`].
#[derive(Clone, Debug)]
pub struct Browser {
    manager: SessionManager,
    jar: BTreeMap<String, String>,
}

impl Browser {
    /// A browser with an empty cookie jar.
    pub fn new(manager: SessionManager) -> Self {
        Browser {
            manager,
            jar: BTreeMap::new(),
        }
    }

    /// The `Cookie` header this browser would send.
    pub fn cookie_header(&self) -> String {
        self.jar
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The cookies held, by name.
    pub fn cookies(&self) -> &BTreeMap<String, String> {
        &self.jar
    }

    /// Sets or replaces a cookie by hand (to tamper with one, say).
    pub fn set_cookie(&mut self, name: &str, value: &str) {
        self.jar.insert(name.to_owned(), value.to_owned());
    }

    /// Runs one request: loads the default driver's session, hands it to
    /// `handler`, finishes the response with `status` and keeps the cookies
    /// it sets. Returns what the handler returned.
    pub async fn request<R>(
        &mut self,
        status: StatusCode,
        handler: impl FnOnce(&Session) -> R,
    ) -> Result<R, SessionError> {
        self.request_on(None, status, handler).await
    }

    /// [`request`](Self::request) on the driver named `driver`.
    pub async fn request_on<R>(
        &mut self,
        driver: Option<&str>,
        status: StatusCode,
        handler: impl FnOnce(&Session) -> R,
    ) -> Result<R, SessionError> {
        let sessions = self
            .manager
            .request(RequestContext::from_cookie_header(&self.cookie_header()));
        let session = match driver {
            Some(name) => sessions.driver(name).await?,
            None => sessions.session().await?,
        };
        let result = handler(&session);
        let cookies = sessions.finish(status).await?;
        self.apply(&cookies);
        Ok(result)
    }

    /// Applies `Set-Cookie`s as a browser does: sets, replaces or removes.
    pub fn apply(&mut self, cookies: &[cookie::Cookie<'static>]) {
        for cookie in cookies {
            let removal =
                cookie.max_age().is_some_and(|age| age.is_zero()) || cookie.value().is_empty();
            if removal {
                self.jar.remove(cookie.name());
            } else {
                self.jar
                    .insert(cookie.name().to_owned(), cookie.value().to_owned());
            }
        }
    }

    /// The manager this browser talks to.
    pub fn manager(&self) -> &SessionManager {
        &self.manager
    }

    /// A 200 OK request that only reads the session's `all()`.
    pub async fn view(&mut self) -> Result<serde_json::Value, SessionError> {
        self.request(StatusCode::OK, Session::all).await
    }
}
