use std::fmt;
use std::sync::Arc;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;

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
/// use session_core::driver::StoredValue;
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
