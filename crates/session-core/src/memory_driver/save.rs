//! A save, in its three cases: a session keyed by the client's address
//! (changed in place), one that keeps its id, and one whose data moves to a
//! new id (a new session, a regenerate, or an entry gone meanwhile).

use std::sync::Arc;

use cookie::Cookie;

use super::MemoryDriver;
use super::shard::Entry;
use crate::driver::SaveRequest;
use crate::{
    SessionError,
    driver::{Changes, SessionId},
};

/// The data a request loaded, handed from `load` to `save`: when the entry
/// still holds this very copy, nothing was written meanwhile.
pub(super) struct LoadedData(pub(super) Arc<crate::driver::SessionData>);

/// True when `entry` still holds the copy `save`'s request loaded: nothing
/// was written meanwhile, so the stored data with the request's changes is
/// exactly the request's own view, [`SaveRequest::data`].
fn unchanged_since_load(save: &SaveRequest<'_>, entry: &Entry) -> bool {
    save.state
        .and_then(|state| state.downcast_ref::<LoadedData>())
        .is_some_and(|loaded| Arc::ptr_eq(&loaded.0, &entry.data))
}

impl MemoryDriver {
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
        if shard.map.get(&id).is_some_and(|e| self.expired(e, now)) {
            shard.map.remove(&id);
        }
        if let Some(entry) = shard.map.get_mut(&id) {
            save.changes.apply_to(Arc::make_mut(&mut entry.data));
            entry.touched_ms = now;
            if entry.data.is_empty() {
                shard.map.remove(&id);
            }
        } else if !save.data.is_empty() {
            self.insert_locked(&mut shard, id, save.data.clone(), now);
        }
        Ok(Vec::new())
    }

    /// Stores a new session: what this request wrote is all there is.
    pub(super) fn save_new(&self, save: &SaveRequest<'_>, now: u64) -> Vec<Cookie<'static>> {
        if save.data.is_empty() {
            return Vec::new();
        }
        let id = SessionId::generate();
        self.insert(id, save.data.clone(), now);
        vec![self.id_cookie.cookie(&id)]
    }

    /// Saves the session `old` under its own id. `None` when its entry is
    /// gone (expired or evicted during the request) without having moved:
    /// the caller then moves the request's view to a new id.
    pub(super) fn save_in_place(
        &self,
        save: &SaveRequest<'_>,
        old: SessionId,
        now: u64,
    ) -> Result<Option<Vec<Cookie<'static>>>, SessionError> {
        let mut shard = self.shard(&old).lock();
        if let Some(entry) = shard.map.get_mut(&old) {
            // Per-key changes on the stored entry, under its shard lock:
            // what other requests wrote meanwhile stays. When nothing was
            // written meanwhile (the entry holds the copy this request
            // loaded), that is exactly the request's own view: it is
            // stored as it is, without applying the changes again.
            let data = if unchanged_since_load(save, entry) {
                save.data.clone()
            } else {
                let mut stored = entry.data.clone();
                save.changes.apply_to(Arc::make_mut(&mut stored));
                stored
            };
            if data.is_empty() {
                // Removed and marked ended in one critical section: a
                // request still running on this id sees one or the other.
                shard.map.remove(&old);
                self.record_moved(&mut shard, old, None, now);
                return Ok(Some(vec![self.id_cookie.removal()]));
            }
            entry.data = data;
            entry.touched_ms = now;
            return Ok(Some(Vec::new()));
        }
        if let Some(to) = Self::moved_to(&shard, &old, now) {
            // Another request ended this id while this one ran.
            drop(shard);
            self.apply_moved(to, save, now)?;
            return Ok(Some(Vec::new()));
        }
        Ok(None)
    }

    /// Moves the session `old` to a new id (regenerate, or its entry is
    /// gone). Both shards stay locked from reading the old entry to storing
    /// the new one and marking the old id as moved, so a request on the old
    /// id finds the session either still there or moved, never neither (it
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
            AlreadyMoved(Option<SessionId>),
        }
        let new = SessionId::generate();
        let outcome = self.with_two_shards(&old, &new, |old_shard, new_shard| {
            let data = match old_shard.map.remove(&old) {
                Some(mut entry) => {
                    let data = if unchanged_since_load(save, &entry) {
                        save.data.clone()
                    } else {
                        save.changes.apply_to(Arc::make_mut(&mut entry.data));
                        entry.data
                    };
                    if data.is_empty() {
                        self.record_moved(old_shard, old, None, now);
                        return Outcome::Emptied;
                    }
                    self.record_moved(old_shard, old, Some(new), now);
                    data
                }
                None => {
                    if let Some(to) = Self::moved_to(old_shard, &old, now) {
                        return Outcome::AlreadyMoved(to);
                    }
                    if save.data.is_empty() {
                        return Outcome::Emptied;
                    }
                    save.data.clone()
                }
            };
            let destination = match new_shard {
                Some(shard) => shard,
                None => old_shard,
            };
            self.insert_locked(destination, new, data, now);
            Outcome::Stored
        });
        match outcome {
            Outcome::Stored => Ok(vec![self.id_cookie.cookie(&new)]),
            Outcome::Emptied => Ok(vec![self.id_cookie.removal()]),
            Outcome::AlreadyMoved(to) => {
                self.apply_moved(to, save, now)?;
                Ok(Vec::new())
            }
        }
    }

    /// Applies a late request's changes where the data of its ended id went
    /// (following at most a few regenerations); nothing when the session ended.
    fn apply_moved(
        &self,
        mut to: Option<SessionId>,
        save: &SaveRequest<'_>,
        now: u64,
    ) -> Result<(), SessionError> {
        for _ in 0..4 {
            let Some(id) = to else { return Ok(()) };
            let mut shard = self.shard(&id).lock();
            if let Some(entry) = shard.map.get_mut(&id) {
                // Only this request's own changes: never its stale view, and
                // never a clear, which belonged to the session it loaded.
                let changes = Changes {
                    clear_session: false,
                    clear_flash: false,
                    regenerate: false,
                    ..save.changes.clone()
                };
                changes.apply_to(Arc::make_mut(&mut entry.data));
                entry.touched_ms = now;
                return Ok(());
            }
            to = shard.moved.get(&id).and_then(|moved| moved.to);
        }
        Ok(())
    }
}
