use std::fmt;
use std::sync::{Arc, Weak};

use cookie::Cookie;
use http::StatusCode;
use parking_lot::Mutex;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::driver::{DriverState, Loaded, SaveRequest, SessionDriver};
use crate::{
    SessionError,
    driver::{Bucket, Changes, SessionData, SessionId, StoredValue, ValueMap},
    integration::{RequestContext, RequestSessions, clears_flash, saves_changes},
    manager::RequestInner,
};

/// One request's session on one driver.
///
/// `Session` is a cheap handle (an `Arc`): clones see and change the same
/// session, so a handler and the templates it renders share one. Reads come
/// from the data loaded at the start of the request plus this request's own
/// changes; writes are recorded key by key and handed to the driver when the
/// response is finished ([`RequestSessions::finish`](crate::integration::RequestSessions::finish)).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use serde_json::json;
/// use session_core::{integration::RequestContext, SessionManager};
///
/// let manager = SessionManager::builder().build()?; // the memory driver
/// let sessions = manager.request(RequestContext::new());
/// let session = sessions.session().await?;
///
/// session.set("user", json!({"name": "Ada"}))?;
/// session.set("visits", 0)?;
/// session.flash("success", "Welcome back, Ada!")?;
///
/// assert!(session.has("visits")); // 0 is a value
/// assert_eq!(session.get("success"), Some(json!("Welcome back, Ada!")));
/// assert_eq!(session.get_as::<u32>("visits")?, Some(0));
/// assert_eq!(session.all(), json!({"user": {"name": "Ada"}, "visits": 0, "success": "Welcome back, Ada!"}));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Session {
    inner: Arc<Mutex<Inner>>,
}

struct Inner {
    driver_name: Arc<str>,
    driver: Arc<dyn SessionDriver>,
    id: Option<SessionId>,
    /// Shared with the driver's store until this request writes (copy on write).
    data: Arc<SessionData>,
    changes: Changes,
    state: Option<DriverState>,
    needs_save: bool,
    keep: bool,
    saved: bool,
    /// The request this session belongs to, for its CSRF token.
    request: Weak<RequestInner>,
}

impl Session {
    pub(crate) fn from_loaded(
        driver_name: Arc<str>,
        driver: Arc<dyn SessionDriver>,
        loaded: Loaded,
        request: Weak<RequestInner>,
    ) -> Self {
        Session {
            inner: Arc::new(Mutex::new(Inner {
                driver_name,
                driver,
                id: loaded.id,
                data: loaded.data,
                changes: Changes::default(),
                state: loaded.state,
                needs_save: loaded.needs_save,
                keep: false,
                saved: false,
                request,
            })),
        }
    }

    /// Stores `value` under `key` as JSON: maps and lists come back as maps and lists.
    ///
    /// Errors when the value cannot be JSON, when the driver cannot store it
    /// (the cookie driver's 4096-byte limit, say) and after the session was saved.
    pub fn set(&self, key: &str, value: impl Serialize) -> Result<(), SessionError> {
        self.write(Bucket::Session, key, value)
    }

    /// Flashes `value` under `key`: visible to [`get`](Self::get), [`has`](Self::has)
    /// and [`all`](Self::all) now, and kept until the flash is cleared — by
    /// the next 200 OK response (see [`clears_flash`](crate::integration::clears_flash)).
    /// Flash data never becomes session data.
    pub fn flash(&self, key: &str, value: impl Serialize) -> Result<(), SessionError> {
        self.write(Bucket::Flash, key, value)
    }

    /// [`set`](Self::set) for a value already in stored form: nothing to serialize.
    pub fn set_stored(&self, key: &str, value: StoredValue) -> Result<(), SessionError> {
        self.write_stored(Bucket::Session, key, value)
    }

    /// [`flash`](Self::flash) for a value already in stored form: nothing to serialize.
    pub fn flash_stored(&self, key: &str, value: StoredValue) -> Result<(), SessionError> {
        self.write_stored(Bucket::Flash, key, value)
    }

    fn write(&self, bucket: Bucket, key: &str, value: impl Serialize) -> Result<(), SessionError> {
        let value =
            StoredValue::from_serialize(&value).map_err(|source| SessionError::Serialize {
                key: key.to_owned(),
                source,
            })?;
        self.write_stored(bucket, key, value)
    }

    fn write_stored(
        &self,
        bucket: Bucket,
        key: &str,
        value: StoredValue,
    ) -> Result<(), SessionError> {
        let mut inner = self.inner.lock();
        inner.check_open()?;
        inner.driver.check_value(key, bucket, &value)?;
        let Inner { data, changes, .. } = &mut *inner;
        let unchanged = data.bucket(bucket).get(key) == Some(&value)
            && !changes.bucket(bucket).contains_key(key);
        if !unchanged {
            Arc::make_mut(data)
                .bucket_mut(bucket)
                .insert(key, value.clone());
            changes
                .bucket_mut(bucket)
                .insert(key.to_owned(), Some(value));
        }
        Ok(())
    }

    /// The value under `key`: the flash value if the key is flashed, else the
    /// session value, else `None`. `0`, `""`, `false` and `null` are values.
    pub fn get(&self, key: &str) -> Option<Value> {
        self.inner.lock().data.get(key).map(StoredValue::to_value)
    }

    /// [`get`](Self::get), read as a `T`.
    pub fn get_as<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, SessionError> {
        let inner = self.inner.lock();
        let Some(value) = inner.data.get(key) else {
            return Ok(None);
        };
        value
            .parse_as()
            .map(Some)
            .map_err(|source| SessionError::Deserialize {
                key: key.to_owned(),
                type_name: std::any::type_name::<T>(),
                source,
            })
    }

    /// True when `key` is in the session or flash data, whatever its value.
    pub fn has(&self, key: &str) -> bool {
        self.inner.lock().data.get(key).is_some()
    }

    /// Session data overlaid with flash data, as one JSON object.
    pub fn all(&self) -> Value {
        Value::Object(self.inner.lock().data.all())
    }

    /// Runs `f` on the session's data without copying it (for template
    /// engines that look values up many times): read it through
    /// [`SessionData::get`], [`contains_key`](SessionData::contains_key) and
    /// [`overlay`](SessionData::overlay), which apply the flash-over-session
    /// rule. Values are JSON text: parse only the ones you show.
    pub fn with_data<R>(&self, f: impl FnOnce(&SessionData) -> R) -> R {
        let inner = self.inner.lock();
        f(&inner.data)
    }

    /// Removes `key` from the session and flash data; true if it was there.
    ///
    /// Like every call that changes the session, it errors after the
    /// session was saved ([`SessionError::AlreadySaved`]) instead of making a
    /// change that would never be stored.
    pub fn delete(&self, key: &str) -> Result<bool, SessionError> {
        self.pull(key).map(|value| value.is_some())
    }

    /// Removes `key` from the session and flash data and returns what
    /// [`get`](Self::get) would have returned.
    pub fn pull(&self, key: &str) -> Result<Option<Value>, SessionError> {
        let mut inner = self.inner.lock();
        inner.check_open()?;
        let Inner { data, changes, .. } = &mut *inner;
        let mut found = None;
        // Flash first: that is the value `get` shows.
        for bucket in [Bucket::Flash, Bucket::Session] {
            if data.bucket(bucket).contains_key(key) {
                let value = Arc::make_mut(data).bucket_mut(bucket).remove(key);
                changes.bucket_mut(bucket).insert(key.to_owned(), None);
                found = found.or(value);
            }
        }
        Ok(found.map(|value| value.to_value()))
    }

    /// Clears all session and flash data.
    pub fn reset(&self) -> Result<(), SessionError> {
        let mut inner = self.inner.lock();
        inner.check_open()?;
        inner.clear_all();
        Ok(())
    }

    /// Clears the flash data only (Masonite's `reset(flash_only=True)`).
    pub fn reset_flash(&self) -> Result<(), SessionError> {
        let mut inner = self.inner.lock();
        inner.check_open()?;
        if !inner.data.flash.is_empty() {
            Arc::make_mut(&mut inner.data).flash.clear();
        }
        inner.changes.clear_flash = true;
        inner.changes.flash.clear();
        Ok(())
    }

    /// Carries the current flash through one more clearing: a 200 OK
    /// response to this request leaves it in place for the next.
    pub fn keep(&self) -> Result<(), SessionError> {
        let mut inner = self.inner.lock();
        inner.check_open()?;
        inner.keep = true;
        Ok(())
    }

    /// The same as [`keep`](Self::keep) (Laravel's name for it).
    pub fn reflash(&self) -> Result<(), SessionError> {
        self.keep()
    }

    /// Gives the session a new id and keeps its data; the old id stops
    /// working. Call it when a user logs in: it defeats session fixation.
    /// Drivers without ids (the cookie driver) have nothing to change.
    pub fn regenerate(&self) -> Result<(), SessionError> {
        let mut inner = self.inner.lock();
        inner.check_open()?;
        inner.changes.regenerate = true;
        #[cfg(feature = "tracing")]
        tracing::debug!(
            target: "session_core",
            driver = &*inner.driver_name,
            "session id to be regenerated"
        );
        Ok(())
    }

    /// [`reset`](Self::reset) and [`regenerate`](Self::regenerate): call it on logout.
    pub fn invalidate(&self) -> Result<(), SessionError> {
        let mut inner = self.inner.lock();
        inner.check_open()?;
        inner.clear_all();
        inner.changes.regenerate = true;
        #[cfg(feature = "tracing")]
        tracing::debug!(
            target: "session_core",
            driver = &*inner.driver_name,
            "session invalidated"
        );
        Ok(())
    }

    /// Whether this request gives a session that exists, or is about to,
    /// a new id (a log-in or log-out); regenerating an empty visitor's
    /// session that stores nothing changes nothing.
    pub(crate) fn regenerates(&self) -> bool {
        let inner = self.inner.lock();
        inner.changes.regenerate && (inner.id.is_some() || !inner.data.is_empty())
    }

    /// A CSRF token for a form of the page being rendered: the same as
    /// [`RequestSessions::csrf_token`] of the request this session was loaded
    /// for (templates hold only the session). `None` once that request is over.
    pub fn csrf_token(&self) -> Option<String> {
        let request = self.inner.lock().request.clone();
        RequestSessions::upgrade(&request).map(|sessions| sessions.csrf_token())
    }

    /// The id the session was loaded under, if it has one.
    pub fn id(&self) -> Option<SessionId> {
        self.inner.lock().id
    }

    /// The name of the driver that holds this session.
    pub fn driver_name(&self) -> Arc<str> {
        self.inner.lock().driver_name.clone()
    }

    /// True when this request changed the session.
    pub fn is_modified(&self) -> bool {
        !self.inner.lock().changes.is_empty()
    }

    /// Ends the session now, without the driver, when a response with
    /// `status` leaves it nothing to save; returns false (and changes
    /// nothing) otherwise. The check and the close happen under one lock.
    pub(crate) fn close_if_unchanged(&self, status: StatusCode) -> bool {
        let mut inner = self.inner.lock();
        if !inner.saved
            && saves_changes(status)
            && (inner.flash_to_clear(status) || inner.needs_save || !inner.changes.is_empty())
        {
            return false;
        }
        inner.saved = true;
        true
    }

    /// Applies the flash rule for `status`, hands the changes to the driver
    /// and returns the cookies to set. Only the first call saves.
    pub(crate) async fn finish(
        &self,
        request: &RequestContext,
        status: StatusCode,
    ) -> Result<Vec<Cookie<'static>>, SessionError> {
        #[cfg(feature = "tracing")]
        let span;
        let (driver, id, data, changes, state) = {
            let mut inner = self.inner.lock();
            if inner.saved {
                return Ok(Vec::new());
            }
            inner.saved = true;
            if !saves_changes(status) {
                return Ok(Vec::new());
            }
            if inner.flash_to_clear(status) {
                let Inner { data, changes, .. } = &mut *inner;
                for key in data.flash.keys() {
                    changes.flash.insert(key.to_owned(), None);
                }
                match Arc::get_mut(data) {
                    Some(data) => data.flash.clear(),
                    // Shared with the store: copy the session data only, not
                    // the flash that is being dropped.
                    None => {
                        *data = Arc::new(SessionData {
                            session: data.session.clone(),
                            flash: ValueMap::new(),
                        })
                    }
                }
            }
            if inner.changes.is_empty() && !inner.needs_save {
                return Ok(Vec::new());
            }
            // Stores keep what they are given for a long time: no spare capacity.
            if let Some(data) = Arc::get_mut(&mut inner.data) {
                data.shrink_to_fit();
            }
            // Made here, where the driver's name is at hand without a clone.
            #[cfg(feature = "tracing")]
            {
                span = tracing::debug_span!(
                    target: "session_core",
                    "session.save",
                    driver = &*inner.driver_name,
                    outcome = tracing::field::Empty,
                );
            }
            (
                inner.driver.clone(),
                inner.id,
                inner.data.clone(),
                std::mem::take(&mut inner.changes),
                inner.state.take(),
            )
        };
        let save = driver.save(SaveRequest {
            request,
            id: id.as_ref(),
            changes: &changes,
            data: &data,
            state: state.as_deref(),
        });
        #[cfg(feature = "tracing")]
        let save = crate::manager::traced(span, save);
        save.await
    }
}

impl Inner {
    /// True when a response with `status` clears a flash this session holds
    /// (the one rule `finish` applies and `close_if_unchanged` checks).
    fn flash_to_clear(&self, status: StatusCode) -> bool {
        clears_flash(status) && !self.keep && !self.data.flash.is_empty()
    }

    /// Drops all session and flash data (`reset`, and `invalidate` before it
    /// asks for a new id).
    fn clear_all(&mut self) {
        self.data = Arc::default();
        self.changes = Changes {
            clear_session: true,
            clear_flash: true,
            regenerate: self.changes.regenerate,
            ..Changes::default()
        };
    }

    fn check_open(&self) -> Result<(), SessionError> {
        if self.saved {
            return Err(SessionError::AlreadySaved {
                driver: self.driver_name.to_string(),
            });
        }
        Ok(())
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.inner.lock();
        f.debug_struct("Session")
            .field("driver", &inner.driver_name)
            .field("keys", &inner.data.session.keys().collect::<Vec<_>>())
            .field("flash_keys", &inner.data.flash.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}
