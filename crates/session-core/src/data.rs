use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Which of a session's two maps a key lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bucket {
    /// Session data: kept until deleted, reset or expired.
    Session,
    /// Flash data: kept until the flash is cleared (see [`clears_flash`](crate::clears_flash)).
    Flash,
}

/// The stored state of one session: its session data and its flash data, kept apart.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionData {
    /// Session data.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub session: Map<String, Value>,
    /// Flash data.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub flash: Map<String, Value>,
}

impl SessionData {
    /// True when there is neither session nor flash data.
    pub fn is_empty(&self) -> bool {
        self.session.is_empty() && self.flash.is_empty()
    }

    /// The map of one bucket.
    pub fn bucket(&self, bucket: Bucket) -> &Map<String, Value> {
        match bucket {
            Bucket::Session => &self.session,
            Bucket::Flash => &self.flash,
        }
    }

    /// The map of one bucket, mutable.
    pub fn bucket_mut(&mut self, bucket: Bucket) -> &mut Map<String, Value> {
        match bucket {
            Bucket::Session => &mut self.session,
            Bucket::Flash => &mut self.flash,
        }
    }

    /// The value the application sees under `key`: the flash value if the key
    /// is flashed, else the session value.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.flash.get(key).or_else(|| self.session.get(key))
    }

    /// Session data overlaid with flash data, as one JSON object.
    pub fn all(&self) -> Map<String, Value> {
        let mut all = self.session.clone();
        all.extend(self.flash.iter().map(|(k, v)| (k.clone(), v.clone())));
        all
    }
}

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
    pub session: BTreeMap<String, Option<Value>>,
    /// Flash keys written (`Some`) or deleted (`None`). The automatic clearing
    /// after a 200 OK deletes the flash keys this request saw, one by one, so a
    /// flash another request adds meanwhile survives.
    pub flash: BTreeMap<String, Option<Value>>,
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
    pub fn bucket(&self, bucket: Bucket) -> &BTreeMap<String, Option<Value>> {
        match bucket {
            Bucket::Session => &self.session,
            Bucket::Flash => &self.flash,
        }
    }

    pub(crate) fn bucket_mut(&mut self, bucket: Bucket) -> &mut BTreeMap<String, Option<Value>> {
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
                        map.insert(key.clone(), value.clone());
                    }
                    None => {
                        map.remove(key);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flash_overlays_session_in_get_and_all() {
        let mut data = SessionData::default();
        data.session.insert("a".into(), json!(1));
        data.session.insert("b".into(), json!(2));
        data.flash.insert("b".into(), json!("flash"));
        assert_eq!(data.get("a"), Some(&json!(1)));
        assert_eq!(data.get("b"), Some(&json!("flash")));
        assert_eq!(Value::Object(data.all()), json!({"a": 1, "b": "flash"}));
        // the overlay is a view: session data is untouched
        assert_eq!(data.session.get("b"), Some(&json!(2)));
    }

    #[test]
    fn apply_clears_before_per_key_operations() {
        let mut data = SessionData::default();
        data.session.insert("old".into(), json!(1));
        data.flash.insert("gone".into(), json!(1));
        let mut changes = Changes {
            clear_session: true,
            ..Changes::default()
        };
        changes.session.insert("new".into(), Some(json!(2)));
        changes.flash.insert("gone".into(), None);
        changes.apply_to(&mut data);
        assert_eq!(Value::Object(data.session.clone()), json!({"new": 2}));
        assert!(data.flash.is_empty());
    }
}
