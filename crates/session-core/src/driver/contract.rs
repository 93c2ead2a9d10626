use std::any::Any;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use cookie::Cookie;

use super::{Bucket, Changes, SessionData, SessionId, StoredValue};
use crate::SessionError;
use crate::integration::RequestContext;

/// Driver-private state carried from [`SessionDriver::load`] to [`SessionDriver::save`]
/// of the same request (for example which cookies the request carried).
pub type DriverState = Box<dyn Any + Send + Sync>;

/// A session as a driver loaded it.
#[derive(Default)]
pub struct Loaded {
    /// The session's id, if the request carried one the driver knows.
    pub id: Option<SessionId>,
    /// The stored data. Shared, not copied: a driver that keeps sessions
    /// in memory hands out its own copy, and the session clones it only
    /// when the request writes.
    pub data: Arc<SessionData>,
    /// Anything the driver wants back in [`SessionDriver::save`].
    pub state: Option<DriverState>,
    /// Call `save` even if the request changes nothing (to re-write or
    /// remove cookies the driver found stale or rejected).
    pub needs_save: bool,
}

impl Loaded {
    /// A request without a session.
    pub fn empty() -> Self {
        Self::default()
    }
}

impl fmt::Debug for Loaded {
    /// The driver's state is opaque: only whether there is one is shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Loaded")
            .field("id", &self.id)
            .field("data", &self.data)
            .field("state", &self.state.is_some())
            .field("needs_save", &self.needs_save)
            .finish()
    }
}

/// What [`SessionDriver::save`] receives: the per-key changes of one request.
#[non_exhaustive]
pub struct SaveRequest<'a> {
    /// The request the session was loaded for.
    pub request: &'a RequestContext,
    /// The id the session was loaded under.
    pub id: Option<&'a SessionId>,
    /// What this request changed, key by key.
    pub changes: &'a Changes,
    /// The session as this request leaves it (loaded data with `changes` applied).
    /// A driver that must write a whole record — because the stored one
    /// vanished, say — writes this.
    pub data: &'a Arc<SessionData>,
    /// The state the driver returned from `load`.
    pub state: Option<&'a (dyn Any + Send + Sync)>,
}

impl fmt::Debug for SaveRequest<'_> {
    /// The driver's state is opaque: only whether there is one is shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SaveRequest")
            .field("request", &self.request)
            .field("id", &self.id)
            .field("changes", &self.changes)
            .field("data", &self.data)
            .field("state", &self.state.is_some())
            .finish()
    }
}

/// A place sessions are kept: the process's memory, the browser's cookies, Redis, ...
///
/// Drivers are change-based: `save` receives what one request changed, key by
/// key, never a whole record to overwrite, so two concurrent requests that
/// change different keys both keep their change. A driver is shared by every
/// request (`Send + Sync`) and reached through an `Arc<dyn SessionDriver>`.
///
/// `save` is called at most once per request and only when there is something
/// to write: [`Changes`] that are not empty, or [`Loaded::needs_save`] (so
/// the driver can, for example, remove a cookie it rejected).
///
/// # Example: a driver that keeps every session in one map
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::{Arc, Mutex};
///
/// use cookie::Cookie;
/// use session_core::driver::{Loaded, SaveRequest, SessionData, SessionDriver, SessionId, async_trait};
/// use session_core::integration::RequestContext;
/// use session_core::{SessionError, SessionManager};
///
/// #[derive(Default)]
/// struct MapDriver(Mutex<HashMap<SessionId, SessionData>>);
///
/// #[async_trait]
/// impl SessionDriver for MapDriver {
///     async fn load(&self, request: &RequestContext) -> Result<Loaded, SessionError> {
///         let id = request.cookie("map_id").and_then(SessionId::parse);
///         let map = self.0.lock().unwrap();
///         match id.and_then(|id| Some((id, map.get(&id)?.clone()))) {
///             Some((id, data)) => Ok(Loaded { id: Some(id), data: Arc::new(data), ..Loaded::empty() }),
///             None => Ok(Loaded::empty()),
///         }
///     }
///
///     async fn save(&self, save: SaveRequest<'_>) -> Result<Vec<Cookie<'static>>, SessionError> {
///         let mut map = self.0.lock().unwrap();
///         let old = save.id.copied();
///         let id = match old {
///             Some(id) if !save.changes.regenerate => id,
///             _ => SessionId::generate(),
///         };
///         let mut data = old.and_then(|old| map.remove(&old)).unwrap_or_else(|| save.data.as_ref().clone());
///         save.changes.apply_to(&mut data);
///         map.insert(id, data);
///         Ok(if Some(id) == old { vec![] } else { vec![Cookie::new("map_id", id.to_string())] })
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let manager = SessionManager::builder().driver("map", MapDriver::default()).default_driver("map").build()?;
/// let sessions = manager.request(RequestContext::new());
/// sessions.session().await?.set("user", "ada")?;
/// let cookies = sessions.finish(http::StatusCode::OK).await?;
/// assert_eq!(cookies[0].name(), "map_id");
/// # Ok(()) }
/// ```
#[async_trait]
pub trait SessionDriver: Send + Sync + 'static {
    /// Loads the session the request refers to. A request without a session
    /// (or with an unknown, expired or forged one) loads as [`Loaded::empty`];
    /// only a failing store is an error.
    async fn load(&self, request: &RequestContext) -> Result<Loaded, SessionError>;

    /// Saves one request's changes and returns the cookies to set on the response.
    async fn save(&self, save: SaveRequest<'_>) -> Result<Vec<Cookie<'static>>, SessionError>;

    /// Checks a value before [`Session::set`](crate::Session::set) or
    /// [`Session::flash`](crate::Session::flash) accepts it, so that a value
    /// the driver cannot store is refused where it is written, not lost when
    /// the response is sent. `value` is the JSON text the driver will store.
    /// The default accepts everything.
    fn check_value(
        &self,
        key: &str,
        bucket: Bucket,
        value: &StoredValue,
    ) -> Result<(), SessionError> {
        let _ = (key, bucket, value);
        Ok(())
    }
}
