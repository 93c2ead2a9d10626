use super::*;
use serde::Deserialize;
use serde_json::Value;
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
