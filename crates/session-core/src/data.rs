use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// Which of a session's two maps a key lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bucket {
    /// Session data: kept until deleted, reset or expired.
    Session,
    /// Flash data: kept until the flash is cleared (see [`clears_flash`](crate::clears_flash)).
    Flash,
}

/// One stored value: its JSON text, validated once when it was made.
///
/// Sessions keep values as text, the form every driver stores them in (a
/// Redis hash field, a sealed cookie), and parse one only when a request
/// reads it: loading a session and checking `has(key)` parse nothing, and
/// the memory driver shares one immutable copy between its store and every
/// request that reads it. The text is reference-counted: copying a session
/// to change one key copies no value.
///
/// ```
/// use session_core::StoredValue;
/// use serde_json::json;
///
/// let value = StoredValue::from_serialize(&json!({"name": "Ada"}))?;
/// assert_eq!(value.as_json(), r#"{"name":"Ada"}"#);
/// assert_eq!(value.to_value(), json!({"name": "Ada"}));
/// assert!(StoredValue::from_json("{not json".to_owned()).is_err());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone)]
pub struct StoredValue(Arc<str>);

impl StoredValue {
    /// `value` as JSON. Fails when `value` cannot be JSON (a map with
    /// non-string keys, say).
    pub fn from_serialize<T: Serialize + ?Sized>(value: &T) -> Result<Self, serde_json::Error> {
        let raw = serde_json::value::to_raw_value(value)?;
        // serde_json writes any depth; it reads back at most 128 levels.
        StoredValue::from_json_str(raw.get())
    }

    /// Stored JSON text read back (from a cookie, a Redis field); fails
    /// unless `json` is one JSON value that reads back: numbers in range,
    /// no lone surrogate escapes, at most 128 levels deep (serde_json's
    /// limits). Whitespace around the value is dropped.
    pub fn from_json(json: String) -> Result<Self, serde_json::Error> {
        StoredValue::from_json_str(&json)
    }

    /// [`from_json`](Self::from_json) for borrowed text (a decrypted cookie, say).
    pub fn from_json_str(json: &str) -> Result<Self, serde_json::Error> {
        let mut reader = serde_json::Deserializer::from_str(json);
        serde::de::DeserializeSeed::deserialize(Check, &mut reader)?;
        reader.end()?;
        Ok(StoredValue(Arc::from(json.trim_matches(JSON_WHITESPACE))))
    }

    /// The JSON text.
    pub fn as_json(&self) -> &str {
        &self.0
    }

    /// The value parsed.
    pub fn to_value(&self) -> Value {
        // Every constructor read the text through serde_json's parser with
        // the same settings (`Check`), so parsing it again cannot fail.
        serde_json::from_str(self.as_json()).unwrap_or(Value::Null)
    }

    /// The value read as a `T`.
    pub fn parse_as<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.as_json())
    }
}

/// A value as stored; fails only for one nested deeper than serde_json
/// reads back (128 levels).
impl TryFrom<&Value> for StoredValue {
    type Error = serde_json::Error;
    fn try_from(value: &Value) -> Result<Self, Self::Error> {
        StoredValue::from_serialize(value)
    }
}

/// See `TryFrom<&Value>`.
impl TryFrom<Value> for StoredValue {
    type Error = serde_json::Error;
    fn try_from(value: Value) -> Result<Self, Self::Error> {
        StoredValue::from_serialize(&value)
    }
}

impl PartialEq for StoredValue {
    fn eq(&self, other: &Self) -> bool {
        self.as_json() == other.as_json()
    }
}

impl Eq for StoredValue {}

impl fmt::Debug for StoredValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_json())
    }
}

impl fmt::Display for StoredValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_json())
    }
}

/// Serialized as the value it holds, for any serializer.
impl Serialize for StoredValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(serializer)
    }
}

/// Read from JSON text (`serde_json::from_str`/`from_slice`) only: the value's
/// text is kept as it was, once it is checked to read back.
impl<'de> Deserialize<'de> for StoredValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        // A deserializer other than serde_json's can hand over any text here.
        StoredValue::from_json_str(raw.get()).map_err(serde::de::Error::custom)
    }
}

/// JSON's whitespace (RFC 8259), the only characters around a value.
const JSON_WHITESPACE: &[char] = &[' ', '\t', '\n', '\r'];

/// Reads any JSON value through serde_json's parser and keeps nothing:
/// what a `RawValue`'s scan lets pass (`1e400`, `"\ud800"`, 200 levels of
/// nesting) and a real read refuses is refused here too.
struct Check;

impl<'de> serde::de::DeserializeSeed<'de> for Check {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(Check)
    }
}

impl<'de> Visitor<'de> for Check {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(Check)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Check)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_key_seed(Check)?.is_some() {
            map.next_value_seed(Check)?;
        }
        Ok(())
    }
}

/// The keys and stored values of one bucket, sorted by key.
///
/// A sorted vector, not a tree: a session holds a handful of keys, and
/// a B-tree node is sized for eleven, so this keeps an idle session in the
/// memory driver at a few hundred bytes. Keys and values are
/// reference-counted, so a copy of the map is one allocation.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ValueMap {
    entries: Vec<(Arc<str>, StoredValue)>,
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn v(value: Value) -> StoredValue {
        StoredValue::try_from(value).expect("a shallow value")
    }

    #[test]
    fn flash_overlays_session_in_get_and_all() {
        let mut data = SessionData::default();
        data.session.insert("a", v(json!(1)));
        data.session.insert("b", v(json!(2)));
        data.flash.insert("b", v(json!("flash")));
        assert_eq!(data.get("a"), Some(&v(json!(1))));
        assert_eq!(data.get("b"), Some(&v(json!("flash"))));
        assert_eq!(Value::Object(data.all()), json!({"a": 1, "b": "flash"}));
        // the overlay is a view: session data is untouched
        assert_eq!(data.session.get("b"), Some(&v(json!(2))));
    }

    #[test]
    fn apply_clears_before_per_key_operations() {
        let mut data = SessionData::default();
        data.session.insert("old", v(json!(1)));
        data.flash.insert("gone", v(json!(1)));
        let mut changes = Changes {
            clear_session: true,
            ..Changes::default()
        };
        changes.session.insert("new".into(), Some(v(json!(2))));
        changes.flash.insert("gone".into(), None);
        changes.apply_to(&mut data);
        assert_eq!(Value::Object(data.session.to_json_map()), json!({"new": 2}));
        assert!(data.flash.is_empty());
    }

    #[test]
    fn value_map_stays_sorted_and_last_insert_wins() {
        let mut map = ValueMap::new();
        for (k, n) in [("m", 1), ("a", 2), ("z", 3), ("m", 4)] {
            map.insert(k, v(json!(n)));
        }
        assert_eq!(map.keys().collect::<Vec<_>>(), ["a", "m", "z"]);
        assert_eq!(map.get("m"), Some(&v(json!(4))));
        assert_eq!(map.remove("a"), Some(v(json!(2))));
        assert!(!map.contains_key("a"));
        assert_eq!(map.len(), 2);
    }

    #[test]
    fn session_data_round_trips_through_json_text_unchanged() {
        let text = r#"{"session":{"b":[1,2.5,"x"],"a":{"name":"Ada"}},"flash":{"ok":null}}"#;
        let data: SessionData = serde_json::from_str(text).expect("parses");
        assert_eq!(data.session.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(
            data.session.get("b").map(StoredValue::as_json),
            Some(r#"[1,2.5,"x"]"#)
        );
        let again: SessionData =
            serde_json::from_str(&serde_json::to_string(&data).expect("writes")).expect("parses");
        assert_eq!(again, data);
        assert_eq!(
            data.to_json_vec(),
            serde_json::to_vec(&data).expect("writes"),
            "the fast writer writes what serde_json writes"
        );
        let odd = SessionData {
            session: [("quote\"d\n\u{1}ünï", v(json!("x")))]
                .into_iter()
                .collect(),
            flash: ValueMap::new(),
        };
        assert_eq!(odd.to_json_vec(), serde_json::to_vec(&odd).expect("writes"));
        assert_eq!(SessionData::default().to_json_vec(), b"{}");
        // Repeated keys: the last wins, as serde_json's own maps do.
        let dup: ValueMap = serde_json::from_str(r#"{"k":1,"k":2}"#).expect("parses");
        assert_eq!(dup.get("k"), Some(&v(json!(2))));
    }

    #[test]
    fn text_that_does_not_read_back_is_refused_everywhere() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        for bad in [
            "1e400",
            "-1e400",
            "\"\\ud800\"",
            "\"\\udc00x\"",
            deep.as_str(),
        ] {
            assert!(StoredValue::from_json(bad.to_owned()).is_err(), "{bad:?}");
            assert!(StoredValue::from_json_str(bad).is_err(), "{bad:?}");
            let doc = format!("{{\"session\":{{\"k\":{bad}}}}}");
            assert!(
                serde_json::from_str::<SessionData>(&doc).is_err(),
                "{doc:?}"
            );
        }
        // serde_json writes what it cannot read back: 200 levels of nesting.
        let mut nested = json!(1);
        for _ in 0..200 {
            nested = json!([nested]);
        }
        assert!(StoredValue::from_serialize(&nested).is_err());
        // Another deserializer can hand any text to a RawValue: checked too.
        let sneaky = serde::de::value::MapDeserializer::<_, serde::de::value::Error>::new(
            [("$serde_json::private::RawValue", "}{ not json")].into_iter(),
        );
        assert!(StoredValue::deserialize(sneaky).is_err());
        // 128 levels still read back.
        let ok = format!("{}{}", "[".repeat(127), "]".repeat(127));
        assert!(StoredValue::from_json_str(&ok).is_ok());
    }

    #[test]
    fn whitespace_around_a_value_is_dropped() {
        let value = StoredValue::from_json(" \n[1, 2]\t".to_owned()).expect("valid");
        assert_eq!(value.as_json(), "[1, 2]");
        assert_eq!(value.to_value(), json!([1, 2]));
    }

    #[test]
    fn invalid_json_text_is_refused() {
        for bad in ["", "{", "[1,]", "nul", "1 2", "\"unterminated"] {
            assert!(StoredValue::from_json(bad.to_owned()).is_err(), "{bad:?}");
            assert!(StoredValue::from_json_str(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            StoredValue::from_json_str(" [1, 2] ")
                .map(|v| v.to_value())
                .ok(),
            Some(serde_json::json!([1, 2]))
        );
    }

    #[test]
    fn stored_values_serialize_as_their_value_for_any_serializer() {
        // A serializer other than serde_json's sees the value, not raw text.
        let value = v(json!({"n": [1, true]}));
        assert_eq!(
            serde_json::to_value(&value).expect("serializes"),
            json!({"n": [1, true]})
        );
        let data = SessionData {
            session: [("k", value)].into_iter().collect(),
            flash: ValueMap::new(),
        };
        assert_eq!(
            serde_json::to_value(&data).expect("serializes"),
            json!({"session": {"k": {"n": [1, true]}}})
        );
    }

    #[test]
    fn the_overlay_merges_in_key_order_and_the_flash_wins() {
        let data = SessionData {
            session: [
                ("a", v(json!(1))),
                ("b", v(json!("session"))),
                ("d", v(json!(4))),
            ]
            .into_iter()
            .collect(),
            flash: [
                ("b", v(json!("flash"))),
                ("c", v(json!(3))),
                ("e", v(json!(5))),
            ]
            .into_iter()
            .collect(),
        };
        let seen: Vec<(&str, Value)> = data.overlay().map(|(k, v)| (k, v.to_value())).collect();
        assert_eq!(
            seen,
            [
                ("a", json!(1)),
                ("b", json!("flash")),
                ("c", json!(3)),
                ("d", json!(4)),
                ("e", json!(5)),
            ]
        );
        for (key, value) in data.overlay() {
            assert_eq!(data.get(key), Some(value), "{key}");
            assert!(data.contains_key(key), "{key}");
        }
        assert!(!data.contains_key("z"));
        assert_eq!(
            Value::Object(data.all()),
            json!({"a": 1, "b": "flash", "c": 3, "d": 4, "e": 5})
        );
        assert_eq!(SessionData::default().overlay().count(), 0);
    }
}
