use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Bucket, StoredValue, ValueMap};

/// The stored state of one session: its session data and its flash data, kept apart.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionData {
    /// Session data.
    #[serde(default, skip_serializing_if = "ValueMap::is_empty")]
    pub session: ValueMap,
    /// Flash data.
    #[serde(default, skip_serializing_if = "ValueMap::is_empty")]
    pub flash: ValueMap,
}

impl SessionData {
    /// True when there is neither session nor flash data.
    pub fn is_empty(&self) -> bool {
        self.session.is_empty() && self.flash.is_empty()
    }

    /// The map of one bucket.
    pub fn bucket(&self, bucket: Bucket) -> &ValueMap {
        match bucket {
            Bucket::Session => &self.session,
            Bucket::Flash => &self.flash,
        }
    }

    /// The map of one bucket, mutable.
    pub fn bucket_mut(&mut self, bucket: Bucket) -> &mut ValueMap {
        match bucket {
            Bucket::Session => &mut self.session,
            Bucket::Flash => &mut self.flash,
        }
    }

    /// The value the application sees under `key`: the flash value if the key
    /// is flashed, else the session value.
    pub fn get(&self, key: &str) -> Option<&StoredValue> {
        self.flash.get(key).or_else(|| self.session.get(key))
    }

    /// True when `key` is flashed or in the session data, whatever its value.
    pub fn contains_key(&self, key: &str) -> bool {
        self.flash.contains_key(key) || self.session.contains_key(key)
    }

    /// What the application sees, key by key in key order: session data
    /// overlaid with flash data (a flashed key shadows the session value of
    /// the same key). This is the one statement of that rule; [`get`](Self::get),
    /// [`contains_key`](Self::contains_key) and [`all`](Self::all) agree with it,
    /// and template engines iterate it instead of merging the maps themselves.
    pub fn overlay(&self) -> Overlay<'_> {
        Overlay {
            session: self.session.entries.iter().peekable(),
            flash: self.flash.entries.iter().peekable(),
        }
    }

    /// Session data overlaid with flash data, parsed into one JSON object.
    pub fn all(&self) -> Map<String, Value> {
        self.overlay()
            .map(|(key, value)| (key.to_owned(), value.to_value()))
            .collect()
    }

    /// The data as compact JSON, `{"session":{..},"flash":{..}}` with empty
    /// maps left out: what `serde_json::to_vec` would write (for values
    /// written through a `Session`, whose texts are serde_json's own), but
    /// the stored texts are copied, not parsed and written again. For
    /// drivers that store whole records; read it back with
    /// `serde_json::from_slice`.
    pub fn to_json_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        out.push(b'{');
        let buckets = [("session", &self.session), ("flash", &self.flash)];
        for (name, map) in buckets.into_iter().filter(|(_, map)| !map.is_empty()) {
            if out.len() > 1 {
                out.push(b',');
            }
            out.push(b'"');
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"\":{");
            for (at, (key, value)) in map.iter().enumerate() {
                if at > 0 {
                    out.push(b',');
                }
                write_json_string(&mut out, key);
                out.push(b':');
                out.extend_from_slice(value.as_json().as_bytes());
            }
            out.push(b'}');
        }
        out.push(b'}');
        out
    }

    /// Drops spare capacity in both maps.
    pub fn shrink_to_fit(&mut self) {
        self.session.shrink_to_fit();
        self.flash.shrink_to_fit();
    }
}

/// The iterator of [`SessionData::overlay`]: both maps are sorted, so this
/// is a merge that prefers the flash entry when both hold a key.
pub struct Overlay<'a> {
    session: std::iter::Peekable<Entries<'a>>,
    flash: std::iter::Peekable<Entries<'a>>,
}

type Entries<'a> = std::slice::Iter<'a, (Arc<str>, StoredValue)>;

impl<'a> Iterator for Overlay<'a> {
    type Item = (&'a str, &'a StoredValue);

    fn next(&mut self) -> Option<Self::Item> {
        let order = match (self.session.peek(), self.flash.peek()) {
            (None, None) => return None,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some((s, _)), Some((f, _))) => s.cmp(f),
        };
        let entry = match order {
            Ordering::Less => self.session.next(),
            Ordering::Greater => self.flash.next(),
            Ordering::Equal => {
                self.session.next();
                self.flash.next()
            }
        };
        entry.map(|(key, value)| (&**key, value))
    }
}

impl fmt::Debug for Overlay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Overlay").finish_non_exhaustive()
    }
}

/// Appends `text` as a JSON string.
fn write_json_string(out: &mut Vec<u8>, text: &str) {
    // Writing a string into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, text);
}
