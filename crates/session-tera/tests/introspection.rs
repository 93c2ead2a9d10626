//! What a Tera 2 template can see of its context is what its author put
//! there: a bound session shows in no context dump, no list of the
//! template's variables and no "not found" error.

mod common;

use session_core::serde_json::json;

use common::session_with;

const DUMP: &str = "{{ __tera_context }}";

/// `{{ __tera_context }}` prints what plain Tera prints, whether the bound
/// session is empty or not, with or without helper uses beside it.
#[tokio::test]
async fn context_dumps_do_not_show_the_session() {
    let mut plain = tera::Tera::new();
    plain.add_raw_template("dump.html", DUMP).expect("loads");
    let mut helper = tera::Tera::new();
    session_tera::add_raw_templates(
        &mut helper,
        [
            ("dump.html", DUMP),
            (
                "uses.html",
                "{% if session().has('success') %}{{ session().get('success') }}{% endif %}|{{ __tera_context }}",
            ),
        ],
    )
    .expect("loads");

    for data in [
        json!({}),
        json!({"session": {"user_id": 42}, "flash": {"success": "Saved"}}),
    ] {
        let session = session_with(&data).await;
        for context in [
            tera::Context::new(),
            tera::Context::from_serialize(&json!({"title": "Home"})).expect("context"),
        ] {
            let expected = plain.render("dump.html", &context).expect("renders");
            let dumped =
                session_tera::render(&helper, "dump.html", &context, &session).expect("renders");
            assert_eq!(dumped, expected, "{data}");
            let used =
                session_tera::render(&helper, "uses.html", &context, &session).expect("renders");
            let flash = data["flash"]["success"].as_str().unwrap_or("");
            assert_eq!(used, format!("{flash}|{expected}"), "{data}");
        }
    }
    let empty = tera::Context::new();
    assert_eq!(plain.render("dump.html", &empty).expect("renders"), "{}");
}

/// `Tera::get_template_variables` lists the variables the template reads,
/// not the session the helper reads.
#[test]
fn template_variables_are_the_authors() {
    let mut tera = tera::Tera::new();
    session_tera::add_raw_template(
        &mut tera,
        "page.html",
        "{{ title }}{% if session().has('success') %}{{ session().get('success') }}{% endif %}\
         {{ session().get(level, 'x') }}{{ session().has('a' ~ suffix) }}{{ session().all() | length }}",
    )
    .expect("loads");
    let mut variables: Vec<&str> = tera
        .get_template_variables("page.html")
        .expect("template")
        .into_iter()
        .collect();
    variables.sort_unstable();
    assert_eq!(variables, ["level", "suffix", "title"]);
}

/// A variable that is not found is reported with the variables there are:
/// the session is not among them.
#[tokio::test]
async fn not_found_errors_list_only_the_context() {
    let session = session_with(&json!({"flash": {"success": "Saved"}})).await;
    let mut tera = tera::Tera::new();
    session_tera::add_raw_template(
        &mut tera,
        "page.html",
        "{{ session().get('success') }}{{ titel }}",
    )
    .expect("loads");
    let context = tera::Context::from_serialize(&json!({"title": "Home"})).expect("context");
    let err = session_tera::render(&tera, "page.html", &context, &session)
        .expect_err("titel is not defined")
        .to_string();
    assert!(err.contains("titel"), "{err}");
    assert!(!err.contains("__session"), "{err}");
}
