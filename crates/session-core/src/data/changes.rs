use std::collections::BTreeMap;

use super::{Bucket, SessionData, StoredValue};

/// What one request changed in a session, key by key.
///
/// Drivers receive this instead of a whole record to overwrite, so two
/// concurrent requests that change different keys both keep their change.
/// Apply it with [`Changes::apply_to`]: the clears first, then the per-key
/// writes (`Some`) and deletes (`None`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Changes {
    /// [`Session::reset`](crate::Session::reset) was called: drop all session data first.
    pub clear_session: bool,
    /// [`Session::reset`](crate::Session::reset) or [`Session::reset_flash`](crate::Session::reset_flash)
    /// was called: drop all flash data first.
    pub clear_flash: bool,
    /// Session keys written (`Some`) or deleted (`None`).
    pub session: BTreeMap<String, Option<StoredValue>>,
    /// Flash keys written (`Some`) or deleted (`None`). The automatic clearing
    /// after a 200 OK deletes the flash keys this request saw, one by one, so a
    /// flash another request adds meanwhile survives.
    pub flash: BTreeMap<String, Option<StoredValue>>,
    /// [`Session::regenerate`](crate::Session::regenerate) was called: move the data to a new id.
    pub regenerate: bool,
}

impl Changes {
    /// True when there is nothing to save.
    pub fn is_empty(&self) -> bool {
        !self.clear_session
            && !self.clear_flash
            && !self.regenerate
            && self.session.is_empty()
            && self.flash.is_empty()
    }

    /// The per-key operations of one bucket.
    pub fn bucket(&self, bucket: Bucket) -> &BTreeMap<String, Option<StoredValue>> {
        match bucket {
            Bucket::Session => &self.session,
            Bucket::Flash => &self.flash,
        }
    }

    pub(crate) fn bucket_mut(
        &mut self,
        bucket: Bucket,
    ) -> &mut BTreeMap<String, Option<StoredValue>> {
        match bucket {
            Bucket::Session => &mut self.session,
            Bucket::Flash => &mut self.flash,
        }
    }

    /// True when the bucket is cleared before the per-key operations.
    pub fn clears(&self, bucket: Bucket) -> bool {
        match bucket {
            Bucket::Session => self.clear_session,
            Bucket::Flash => self.clear_flash,
        }
    }

    /// Applies the changes to stored data: clears first, then per-key operations.
    pub fn apply_to(&self, data: &mut SessionData) {
        for bucket in [Bucket::Session, Bucket::Flash] {
            let map = data.bucket_mut(bucket);
            if self.clears(bucket) {
                map.clear();
            }
            for (key, op) in self.bucket(bucket) {
                match op {
                    Some(value) => {
                        map.insert(key.as_str(), value.clone());
                    }
                    None => {
                        map.remove(key);
                    }
                }
            }
        }
    }
}
