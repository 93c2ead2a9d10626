//! The Tera 2 form of the rewrite (the `session_has` test and the
//! `session_get` filter) renders what the keyword form (calls of the
//! `session()` function) renders, for any session data and any mix of
//! helper uses.

mod common;

use proptest::prelude::*;
use session_core::serde_json::{Map, Value, json};

use common::session_with;

const KEYS: &[&str] = &["a", "b", "my-key", "true", "zero"];

/// Values of every kind, falsy ones included.
fn value() -> impl Strategy<Value = Value> {
    prop::sample::select(vec![
        json!(0),
        json!(""),
        json!(false),
        json!(null),
        json!(1),
        json!(-2.5),
        json!("x <b>&</b>"),
        json!(true),
        json!({"n": 1}),
        json!([1, "two"]),
    ])
}

fn entries() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map(prop::sample::select(KEYS), value(), 0..=KEYS.len())
        .prop_map(|m| m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

/// A key as a template writes it: a literal, a variable, a path, or an
/// expression (which the Tera 2 form reads through the keyword form).
fn key() -> impl Strategy<Value = String> {
    (0..KEYS.len(), 0..5u8).prop_map(|(i, form)| {
        let key = KEYS[i];
        match form {
            0 => format!("'{key}'"),
            1 => format!("\"{key}\""),
            2 => format!("k{i}"),
            3 => format!("keys[{i}]"),
            _ => format!("'' ~ '{key}'"),
        }
    })
}

fn helper_use() -> impl Strategy<Value = String> {
    (0..6u8, key(), prop::bool::ANY).prop_map(|(kind, key, newline)| {
        let nl = if newline { "\n  " } else { "" };
        match kind {
            0 => format!("{{% if session().has({nl}{key}) %}}y{{% else %}}n{{% endif %}}"),
            1 => format!("[{{{{ session().get({key}{nl}) }}}}]"),
            2 => format!("[{{{{ session().get({key},{nl} 'd') }}}}]"),
            // none, falsy and truthy told apart.
            3 => format!(
                "{{% set v = session().get({key}) %}}{{% if v is none %}}N{{% elif v %}}T{{% else %}}F{{% endif %}}"
            ),
            4 => format!("{{{{ session().get({key}, none) is none }}}}"),
            _ => "{{ session().all() | length }}".to_owned(),
        }
    })
}

fn context() -> tera::Context {
    let mut context = tera::Context::new();
    for (i, key) in KEYS.iter().enumerate() {
        context.insert(format!("k{i}"), key);
    }
    context.insert("keys", KEYS);
    context
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 300,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn lookups_render_what_the_function_renders(
        session in entries(),
        flash in entries(),
        uses in prop::collection::vec(helper_use(), 1..8),
    ) {
        let source = uses.join("\n");
        let session = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(session_with(&json!({"session": session, "flash": flash})));

        let mut lookups = tera::Tera::new();
        session_tera::add_raw_template(&mut lookups, "t.html", &source).expect("loads");
        let mut keywords = tera::Tera::new();
        session_tera::add_to_tera(&mut keywords);
        keywords
            .add_raw_template("t.html", &session_tera::rewrite(&source).expect("rewrites"))
            .expect("loads");

        let context = context();
        let from_lookups = session_tera::render(&lookups, "t.html", &context, &session)
            .map_err(|e| format!("{e:#}"));
        let from_keywords = session_tera::render(&keywords, "t.html", &context, &session)
            .map_err(|e| format!("{e:#}"));
        prop_assert!(from_keywords.is_ok(), "{}: {:?}", source, from_keywords);
        prop_assert_eq!(from_lookups, from_keywords, "{}", source);
    }
}

#[tokio::test]
async fn falsy_values_missing_keys_and_defaults() {
    let session = session_with(&json!({
        "session": {"zero": 0, "empty": "", "no": false, "nothing": null, "user": {"name": "Ada"}},
        "flash": {"success": "Saved <b>!</b>"}
    }))
    .await;
    let mut tera = tera::Tera::new();
    session_tera::add_raw_template(
        &mut tera,
        "t.html",
        "{% for k in ['zero', 'empty', 'no', 'nothing', 'missing'] %}{{ session().has(k) }} {% endfor %}\n\
         [{{ session().get('zero') }}][{{ session().get('empty') }}][{{ session().get('no') }}][{{ session().get('nothing') }}][{{ session().get('missing') }}]\n\
         [{{ session().get('zero', 'd') }}][{{ session().get('missing', 'd') }}][{{ session().get('missing', session().get('zero')) }}]\n\
         {{ session().get('success') }} {% set user = session().get('user') %}{{ user.name }} {{ session().get('user')['name'] }}",
    )
    .expect("loads");
    let out =
        session_tera::render(&tera, "t.html", &tera::Context::new(), &session).expect("renders");
    assert_eq!(
        out,
        "true true true true false \n[0][][false][][]\n[0][d][0]\nSaved &lt;b&gt;!&lt;&#x2F;b&gt; Ada Ada"
            .replace("&#x2F;", "/")
    );
}

/// `all()` and `get` overlay flash data on session data whichever of them is empty.
#[tokio::test]
async fn bind_overlays_flash_on_session_data() {
    for (data, expected) in [
        (json!({}), "0|-|-"),
        (json!({"session": {"a": "s"}}), "1|s|-"),
        (json!({"flash": {"a": "f"}}), "1|f|-"),
        (
            json!({"session": {"a": "s", "b": "s"}, "flash": {"a": "f"}}),
            "2|f|s",
        ),
    ] {
        let session = session_with(&data).await;
        let mut tera = tera::Tera::new();
        session_tera::add_raw_template(
            &mut tera,
            "t.txt",
            "{{ session().all() | length }}|{{ session().get('a', '-') }}|{{ session().get('b', '-') }}",
        )
        .expect("loads");
        let out =
            session_tera::render(&tera, "t.txt", &tera::Context::new(), &session).expect("renders");
        assert_eq!(out, expected, "{data}");
    }
}
