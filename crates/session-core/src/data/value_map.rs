use std::fmt;
use std::sync::Arc;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::StoredValue;

/// The keys and stored values of one bucket, sorted by key.
///
/// A sorted vector, not a tree: a session holds a handful of keys, and
/// a B-tree node is sized for eleven, so this keeps an idle session in the
/// memory driver at a few hundred bytes. Keys and values are
/// reference-counted, so a copy of the map is one allocation.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ValueMap {
    pub(super) entries: Vec<(Arc<str>, StoredValue)>,
}

impl ValueMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    fn position(&self, key: &str) -> Result<usize, usize> {
        self.entries.binary_search_by(|(k, _)| (**k).cmp(key))
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<&StoredValue> {
        self.position(key).ok().map(|at| &self.entries[at].1)
    }

    /// True when `key` has a value.
    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_ok()
    }

    /// Stores `value` under `key`; returns the value it replaces.
    pub fn insert(&mut self, key: impl Into<Arc<str>>, value: StoredValue) -> Option<StoredValue> {
        let key = key.into();
        match self.position(&key) {
            Ok(at) => Some(std::mem::replace(&mut self.entries[at].1, value)),
            Err(at) => {
                self.entries.insert(at, (key, value));
                None
            }
        }
    }

    /// Removes `key`; returns its value.
    pub fn remove(&mut self, key: &str) -> Option<StoredValue> {
        self.position(key).ok().map(|at| self.entries.remove(at).1)
    }

    /// Removes every key.
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// The number of keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no keys.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The keys and values, sorted by key.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &StoredValue)> {
        self.entries.iter().map(|(k, v)| (&**k, v))
    }

    /// The keys, sorted.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &str> {
        self.entries.iter().map(|(k, _)| &**k)
    }

    /// Drops spare capacity (the memory driver keeps maps for a long time).
    pub fn shrink_to_fit(&mut self) {
        self.entries.shrink_to_fit();
    }

    /// The map parsed into a JSON object.
    pub fn to_json_map(&self) -> Map<String, Value> {
        self.iter()
            .map(|(k, v)| (k.to_owned(), v.to_value()))
            .collect()
    }
}

impl fmt::Debug for ValueMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: Into<Arc<str>>> FromIterator<(K, StoredValue)> for ValueMap {
    fn from_iter<I: IntoIterator<Item = (K, StoredValue)>>(iter: I) -> Self {
        let mut map = ValueMap::new();
        for (key, value) in iter {
            map.insert(key, value);
        }
        map
    }
}

impl Serialize for ValueMap {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.len()))?;
        for (key, value) in self.iter() {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for ValueMap {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MapVisitor;
        impl<'de> Visitor<'de> for MapVisitor {
            type Value = ValueMap;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of session keys to JSON values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<ValueMap, A::Error> {
                let mut map = ValueMap::new();
                // The last of a repeated key wins, as in a JSON object.
                while let Some((key, value)) = access.next_entry::<String, StoredValue>()? {
                    map.insert(key, value);
                }
                map.shrink_to_fit();
                Ok(map)
            }
        }
        deserializer.deserialize_map(MapVisitor)
    }
}
