//! JSON between the driver and `jsonb` columns, without a detour through
//! `serde_json::Value`: values travel as the JSON text they are stored as.

use std::error::Error as StdError;

use bytes::{BufMut, BytesMut};
use serde::Deserialize;
use serde_json::value::RawValue;
use session_core::driver::{Bucket, Changes, SessionData, StoredValue, ValueMap};
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};

/// The version byte of `jsonb`'s binary format.
const JSONB_VERSION: u8 = 1;

/// JSON text for a `json` or `jsonb` parameter or column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JsonText(pub(crate) String);

impl ToSql for JsonText {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        if *ty == Type::JSONB {
            out.put_u8(JSONB_VERSION);
        }
        out.put_slice(self.0.as_bytes());
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        matches!(*ty, Type::JSON | Type::JSONB)
    }

    to_sql_checked!();
}

impl<'a> FromSql<'a> for JsonText {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn StdError + Sync + Send>> {
        let text = if *ty == Type::JSONB {
            match raw.split_first() {
                Some((&JSONB_VERSION, rest)) => rest,
                _ => return Err("unsupported jsonb encoding version".into()),
            }
        } else {
            raw
        };
        Ok(JsonText(std::str::from_utf8(text)?.to_owned()))
    }

    fn accepts(ty: &Type) -> bool {
        matches!(*ty, Type::JSON | Type::JSONB)
    }
}

/// The JSON object `{key: value, ...}` of `pairs`: keys escaped by
/// serde_json, values the stored JSON text as it is.
pub(crate) fn object<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a StoredValue)>) -> JsonText {
    let mut out = String::from("{");
    for (key, value) in pairs {
        if out.len() > 1 {
            out.push(',');
        }
        // A `str` always serializes.
        out.push_str(&serde_json::to_string(key).unwrap_or_else(|_| "\"\"".to_owned()));
        out.push(':');
        out.push_str(value.as_json());
    }
    out.push('}');
    JsonText(out)
}

/// One bucket's part of a save: whether it is cleared, the keys it
/// deletes, and the object of the keys it writes.
#[derive(Debug, PartialEq)]
pub(crate) struct BucketDelta {
    pub(crate) clear: bool,
    pub(crate) delete: Vec<String>,
    pub(crate) write: JsonText,
}

impl BucketDelta {
    pub(crate) fn new(changes: &Changes, bucket: Bucket) -> Self {
        let ops = changes.bucket(bucket);
        let delete = ops
            .iter()
            .filter(|(_, op)| op.is_none())
            .map(|(key, _)| key)
            // A key with U+0000 is never stored (see `check`), and `text`
            // cannot carry one: there is nothing to delete.
            .filter(|key| !key.contains('\0'))
            .cloned()
            .collect();
        let write = object(
            ops.iter()
                .filter_map(|(key, op)| Some((key.as_str(), op.as_ref()?))),
        );
        BucketDelta {
            clear: changes.clears(bucket),
            delete,
            write,
        }
    }
}

/// A stored bucket read back. A value that is not valid JSON for
/// [`StoredValue`] is skipped rather than failing the request, as is an
/// object that is not one (a row edited by hand).
pub(crate) fn read_bucket(text: &str) -> ValueMap {
    let mut map = ValueMap::new();
    if let Ok(Object(pairs)) = serde_json::from_str::<Object>(text) {
        for (key, raw) in pairs {
            if let Ok(value) = StoredValue::from_json_str(raw.get()) {
                map.insert(key, value);
            }
        }
    }
    map
}

/// A JSON object with its values left as text.
#[derive(Deserialize)]
#[serde(transparent)]
struct Object(std::collections::BTreeMap<String, Box<RawValue>>);

/// A stored session read back from its two columns.
pub(crate) fn session_data(session: &str, flash: &str) -> SessionData {
    SessionData {
        session: read_bucket(session),
        flash: read_bucket(flash),
    }
}

/// Why PostgreSQL would refuse to store `key` = `json`, if it would:
/// `jsonb` (like `text`) cannot hold the character U+0000.
pub(crate) fn unstorable(key: &str, json: &str) -> Option<&'static str> {
    if key.contains('\0') {
        Some("the key contains the character U+0000")
    } else if has_nul_escape(json) {
        Some("the value contains the character U+0000 (`\\u0000`)")
    } else {
        None
    }
}

/// True when the JSON text has the escape `\u0000` (an escaped backslash
/// followed by `u0000` is not one).
fn has_nul_escape(json: &str) -> bool {
    let bytes = json.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            if bytes.get(i + 1) == Some(&b'u') && bytes.get(i + 2..i + 6) == Some(b"0000") {
                return true;
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn value(v: serde_json::Value) -> StoredValue {
        StoredValue::from_serialize(&v).expect("json")
    }

    #[test]
    fn objects_keep_the_values_text_and_escape_the_keys() {
        let a = value(json!({"name": "Ada", "roles": ["admin"]}));
        let b = value(json!("x"));
        let text = object([("user", &a), ("quote\" \n;", &b)]);
        assert_eq!(
            text.0,
            r#"{"user":{"name":"Ada","roles":["admin"]},"quote\" \n;":"x"}"#
        );
        assert_eq!(object([]).0, "{}");
        let parsed: serde_json::Value = serde_json::from_str(&text.0).expect("valid JSON");
        assert_eq!(parsed["quote\" \n;"], json!("x"));
    }

    #[test]
    fn deltas_split_clears_deletes_and_writes_per_bucket() {
        let mut changes = Changes {
            clear_flash: true,
            ..Changes::default()
        };
        changes.session.insert("a".into(), Some(value(json!(1))));
        changes.session.insert("gone".into(), None);
        changes.session.insert("nul\0".into(), None);
        changes.flash.insert("f".into(), Some(value(json!("x"))));
        let session = BucketDelta::new(&changes, Bucket::Session);
        assert_eq!(
            session,
            BucketDelta {
                clear: false,
                delete: vec!["gone".into()],
                write: JsonText(r#"{"a":1}"#.into()),
            }
        );
        let flash = BucketDelta::new(&changes, Bucket::Flash);
        assert!(flash.clear && flash.delete.is_empty());
        assert_eq!(flash.write.0, r#"{"f":"x"}"#);
        let none = BucketDelta::new(&Changes::default(), Bucket::Session);
        assert!(!none.clear && none.delete.is_empty() && none.write.0 == "{}");
    }

    #[test]
    fn stored_buckets_read_back_and_junk_is_skipped() {
        let data = session_data(
            r#"{"user": {"name": "Ada"}, "n": 1.5, "": null}"#,
            r#"{"success": "Saved!"}"#,
        );
        assert_eq!(
            data.all(),
            *json!({"user": {"name": "Ada"}, "n": 1.5, "": null, "success": "Saved!"})
                .as_object()
                .expect("object")
        );
        assert_eq!(data.flash.len(), 1);
        for junk in ["[1, 2]", "\"text\"", "not json", "", "null"] {
            assert!(read_bucket(junk).is_empty(), "{junk}");
        }
    }

    #[test]
    fn nul_characters_are_found_in_keys_and_values_only_where_they_are() {
        assert!(unstorable("a\0", "1").is_some());
        assert!(unstorable("a", r#""x\u0000y""#).is_some());
        assert!(unstorable("a", r#"{"k\u0000": 1}"#).is_some());
        assert!(
            unstorable("a", r#""\\u0000""#).is_none(),
            "an escaped backslash"
        );
        assert!(unstorable("a", r#""\\\u0000""#).is_some());
        assert!(unstorable("a", r#""\u00001""#).is_some());
        assert!(unstorable("a", r#""\u0001 \u1000""#).is_none());
        assert!(unstorable("ünï", r#""plain \" text""#).is_none());
        assert!(unstorable("a", "\"\\").is_none(), "a trailing backslash");
    }
}
