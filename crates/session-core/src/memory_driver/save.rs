//! A save, in its three cases: a session keyed by the client's address
//! (changed in place), one that keeps its id, and one whose data moves to a
//! new id (a new session, a regenerate, or an entry gone meanwhile).
//!
//! Every case checks the session's size against the per-session limit
//! before it changes anything, and a request whose id another request
//! ended meanwhile is refused: it writes nothing anywhere.

use std::sync::Arc;

use cookie::Cookie;

use super::budget::session_bytes;
use super::segments::Entry;
use super::{DRIVER, MemoryDriver};
use crate::driver::SaveRequest;
use crate::{
    SessionError,
    driver::{Changes, SessionData, SessionId},
};

/// The data a request loaded, handed from `load` to `save`: when the entry
/// still holds this very copy, nothing was written meanwhile.
pub(super) struct LoadedData(pub(super) Arc<SessionData>);

/// True when `entry` still holds the copy `save`'s request loaded: nothing
/// was written meanwhile, so the stored data with the request's changes is
/// exactly the request's own view, [`SaveRequest::data`].
fn unchanged_since_load(save: &SaveRequest<'_>, entry: &Entry) -> bool {
    save.state
        .and_then(|state| state.downcast_ref::<LoadedData>())
        .is_some_and(|loaded| Arc::ptr_eq(&loaded.0, &entry.data))
}

/// The stored data with this request's changes: its own view when nothing
/// was written meanwhile, else its per-key changes applied to the stored
/// copy, so that what other requests wrote meanwhile stays.
fn changed(save: &SaveRequest<'_>, entry: &Entry) -> Arc<SessionData> {
    if unchanged_since_load(save, entry) {
        return save.data.clone();
    }
    let mut stored = entry.data.clone();
    save.changes.apply_to(Arc::make_mut(&mut stored));
    stored
}

/// True when a request's only change is the clearing of the flash it
/// loaded (a 200 page that showed it): on an ended id there is nothing to
/// refuse, since the flash it would delete went with the session.
fn only_clears_shown_flash(changes: &Changes) -> bool {
    !changes.clear_session
        && !changes.clear_flash
        && !changes.regenerate
        && changes.session.is_empty()
        && changes.flash.values().all(Option::is_none)
}

impl MemoryDriver {
    /// The error for a request whose id another request ended, or `Ok`
    /// (nothing saved, no cookie) when it has nothing to refuse.
    fn stale(changes: &Changes) -> Result<Vec<Cookie<'static>>, SessionError> {
        if only_clears_shown_flash(changes) {
            return Ok(Vec::new());
        }
        Err(SessionError::StaleSession { driver: DRIVER })
    }

    /// `data`'s size, or the error when it is over the per-session limit.
    fn sized(&self, data: &SessionData) -> Result<usize, SessionError> {
        let size = session_bytes(data);
        if size > self.limits.session_bytes {
            return Err(SessionError::SessionTooLarge {
                size,
                limit: self.limits.session_bytes,
                driver: DRIVER,
            });
        }
        Ok(size)
    }

    /// Saves a session keyed by the client's address: the address is the
    /// id, so there is nothing to regenerate and no cookie to set.
    pub(super) fn save_by_client_ip(
        &self,
        save: &SaveRequest<'_>,
        now: u64,
    ) -> Result<Vec<Cookie<'static>>, SessionError> {
        let Some(id) = self.request_id(save.request)? else {
            return Ok(Vec::new());
        };
        // Read, change and store back under one lock: two requests from
        // one address both keep their writes.
        let mut shard = self.shard(&id).lock();
        // An expired session is dropped here, and this request's view stored.
        let stored = shard.sessions.revisit(&id, now, self.lifetime_ms);
        let data = match &stored {
            Some(data) => {
                let mut data = data.clone();
                save.changes.apply_to(Arc::make_mut(&mut data));
                data
            }
            None if save.data.is_empty() => return Ok(Vec::new()),
            None => save.data.clone(),
        };
        let bytes = self.sized(&data)?;
        match (stored.is_some(), data.is_empty()) {
            (true, true) => {
                shard.sessions.remove(&id);
            }
            (true, false) => self.replace_locked(&mut shard, &id, data, bytes, now),
            (false, _) => self.insert_locked(&mut shard, id, data, bytes, false, now),
        }
        Ok(Vec::new())
    }

    /// Stores a new session: what this request wrote is all there is.
    pub(super) fn save_new(
        &self,
        save: &SaveRequest<'_>,
        now: u64,
    ) -> Result<Vec<Cookie<'static>>, SessionError> {
        if save.data.is_empty() {
            return Ok(Vec::new());
        }
        let bytes = self.sized(save.data)?;
        let id = SessionId::generate();
        let mut shard = self.shard(&id).lock();
        self.insert_locked(&mut shard, id, save.data.clone(), bytes, false, now);
        Ok(vec![self.id_cookie.cookie(&id)])
    }

    /// Saves the session `old` under its own id. `None` when its entry is
    /// gone (expired or evicted during the request) without having ended:
    /// the caller then moves the request's view to a new id.
    pub(super) fn save_in_place(
        &self,
        save: &SaveRequest<'_>,
        old: SessionId,
        now: u64,
    ) -> Result<Option<Vec<Cookie<'static>>>, SessionError> {
        let mut shard = self.shard(&old).lock();
        if let Some(entry) = shard.sessions.get(&old) {
            let data = changed(save, entry);
            let bytes = self.sized(&data)?;
            if data.is_empty() {
                // Removed and marked ended in one critical section: a
                // request still running on this id sees one or the other.
                shard.sessions.remove(&old);
                self.end_id(&mut shard, old, now);
                return Ok(Some(vec![self.id_cookie.removal()]));
            }
            self.replace_locked(&mut shard, &old, data, bytes, now);
            return Ok(Some(Vec::new()));
        }
        if Self::has_ended(&shard, &old, now) {
            return Self::stale(save.changes).map(Some);
        }
        Ok(None)
    }

    /// Moves the session `old` to a new id (regenerate, or its entry is
    /// gone). Both shards stay locked from reading the old entry to storing
    /// the new one and marking the old id ended, so a request on the old id
    /// finds the session either still there or ended, never neither (it
    /// would store its stale view under a fresh id and revive the session).
    pub(super) fn save_to_new_id(
        &self,
        save: &SaveRequest<'_>,
        old: SessionId,
        now: u64,
    ) -> Result<Vec<Cookie<'static>>, SessionError> {
        enum Outcome {
            Stored,
            Emptied,
            Stale,
        }
        let new = SessionId::generate();
        let outcome = self.with_two_shards(&old, &new, |old_shard, new_shard| {
            let (data, returned) = match old_shard.sessions.get(&old) {
                Some(entry) => (changed(save, entry), entry.returned()),
                None if Self::has_ended(old_shard, &old, now) => return Ok(Outcome::Stale),
                // Gone during the request: this request's view, of a
                // session that came back (this request loaded it).
                None => (save.data.clone(), true),
            };
            let bytes = self.sized(&data)?;
            if old_shard.sessions.remove(&old).is_some() {
                self.end_id(old_shard, old, now);
            }
            if data.is_empty() {
                return Ok(Outcome::Emptied);
            }
            let destination = match new_shard {
                Some(shard) => shard,
                None => old_shard,
            };
            self.insert_locked(destination, new, data, bytes, returned, now);
            Ok(Outcome::Stored)
        })?;
        match outcome {
            Outcome::Stored => Ok(vec![self.id_cookie.cookie(&new)]),
            Outcome::Emptied => Ok(vec![self.id_cookie.removal()]),
            Outcome::Stale => Self::stale(save.changes),
        }
    }
}
