//! Every case under `tests/fixtures/` rendered by every engine against its
//! `expected.html` (see `tests/fixtures/README.md`).

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use session_core::Session;
use session_core::serde_json::{self, Value};

use common::{minijinja_env, normalise, project_templates, request_with, session_with};

const ENGINES: &[&str] = &[
    "minijinja",
    "tera",
    #[cfg(feature = "tera1")]
    "tera1",
];

/// The files a case gives `engine`: `templates/`, then `<engine>/` over it.
fn templates_for(case: &Path, engine: &str) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    for dir in [case.join("templates"), case.join(engine)] {
        read_dir_into(&dir, &dir, &mut files);
    }
    files
}

fn read_dir_into(root: &Path, dir: &Path, files: &mut BTreeMap<String, String>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            read_dir_into(root, &path, files);
        } else {
            let name = path
                .strip_prefix(root)
                .expect("under root")
                .to_string_lossy()
                .replace('\\', "/");
            files.insert(name, fs::read_to_string(&path).expect("template"));
        }
    }
}

fn render(
    engine: &str,
    templates: &BTreeMap<String, String>,
    name: &str,
    context: &Value,
    session: &Session,
) -> Result<String, String> {
    match engine {
        "minijinja" => {
            let mut env = minijinja_env(Path::new("/nonexistent"));
            for (file, source) in templates {
                env.add_template_owned(file.clone(), source.clone())
                    .map_err(|e| format!("{e:#}"))?;
            }
            let template = env.get_template(name).map_err(|e| format!("{e:#}"))?;
            session_minijinja::render(
                &template,
                minijinja::Value::from(minijinja::value::Serde(context)),
                session,
            )
            .map_err(|e| format!("{e:#}"))
        }
        "tera" => {
            let mut tera = tera::Tera::new();
            session_tera::add_raw_templates(&mut tera, templates).map_err(|e| e.to_string())?;
            let context = tera::Context::from_serialize(context).map_err(|e| e.to_string())?;
            session_tera::render(&tera, name, &context, session).map_err(|e| e.to_string())
        }
        #[cfg(feature = "tera1")]
        "tera1" => {
            use session_tera::tera1;
            let mut tera = tera1::Tera::default();
            tera1::add_raw_templates(&mut tera, templates).map_err(|e| format!("{e:?}"))?;
            let context = tera1::Context::from_value(context.clone()).map_err(|e| e.to_string())?;
            tera1::render(&tera, name, &context, session).map_err(|e| format!("{e:?}"))
        }
        _ => unreachable!("unknown engine {engine}"),
    }
}

/// The sessions a case renders with: `session.json` (`None`) and each
/// `session.NAME.json` (`Some(NAME)`, compared with `expected.NAME.html`).
fn variants(case: &Path) -> Vec<Option<String>> {
    let mut variants = vec![None];
    for entry in fs::read_dir(case).expect("case dir") {
        let file = entry.expect("entry").file_name();
        let file = file.to_string_lossy();
        if let Some(variant) = file
            .strip_prefix("session.")
            .and_then(|rest| rest.strip_suffix(".json"))
        {
            variants.push(Some(variant.to_owned()));
        }
    }
    variants.sort();
    variants
}

fn read_json(path: PathBuf) -> Value {
    match fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).expect("valid JSON"),
        Err(_) => Value::Object(Default::default()),
    }
}

#[tokio::test]
async fn every_fixture_renders_the_same_in_every_engine() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut cases: Vec<PathBuf> = fs::read_dir(&root)
        .expect("fixtures dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 8, "fixtures went missing: {cases:?}");

    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().expect("name").to_string_lossy();
        let context = read_json(case.join("context.json"));
        for variant in variants(case) {
            let expected_file = match &variant {
                None => "expected.html".to_owned(),
                Some(variant) => format!("expected.{variant}.html"),
            };
            let session_file = match &variant {
                None => "session.json".to_owned(),
                Some(variant) => format!("session.{variant}.json"),
            };
            let label = match &variant {
                None => name.to_string(),
                Some(variant) => format!("{name} ({variant})"),
            };
            let expected = fs::read_to_string(case.join(&expected_file)).expect(&expected_file);
            // The request stays alive through the renders: `csrf_token()` needs it.
            let (_request, session) = request_with(&read_json(case.join(session_file))).await;
            for engine in ENGINES {
                let templates = templates_for(case, engine);
                match render(engine, &templates, "main.html", &context, &session)
                    .map(|out| normalise(&out))
                {
                    Ok(out) if out == expected => {}
                    Ok(out) => failures.push(format!(
                        "{label} / {engine}: got\n{out}\n--- expected\n{expected}"
                    )),
                    Err(e) => failures.push(format!("{label} / {engine}: error {e}")),
                }
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n=====\n"));
}

/// The project's own `templates/` (the page and `helpers/messages.html`),
/// loaded from disk by each engine's loader, for each flash level.
#[tokio::test]
async fn the_project_page_is_byte_identical_across_engines() {
    let dir = project_templates();
    let tera = session_tera::new(dir.to_str().expect("utf-8 path")).expect("tera loads");
    let env = minijinja_env(dir);
    #[cfg(feature = "tera1")]
    let tera1 = session_tera::tera1::new(dir.to_str().expect("utf-8 path")).expect("tera1 loads");

    let cases = [
        (serde_json::json!({}), None),
        (
            serde_json::json!({"flash": {"success": "Saved!"}}),
            Some("alert-success\" role=\"alert\">Saved!</div>"),
        ),
        (
            serde_json::json!({"flash": {"warning": "Hm", "danger": "No"}}),
            Some("alert-warning\" role=\"alert\">Hm</div>"),
        ),
        (
            serde_json::json!({"flash": {"danger": "No"}, "session": {"user": {"name": "Ada"}}}),
            Some("alert-danger\" role=\"alert\">No</div>"),
        ),
    ];
    for (data, alert) in cases {
        let session = session_with(&data).await;
        let mut context = tera::Context::new();
        context.insert("title", "Home");
        let from_tera =
            session_tera::render(&tera, "index.html", &context, &session).expect("tera");
        let from_minijinja = session_minijinja::render(
            &env.get_template("index.html").expect("template"),
            minijinja::context! { title => "Home" },
            &session,
        )
        .expect("minijinja");
        // No escaped characters in these messages: the outputs are byte-identical.
        assert_eq!(from_tera, from_minijinja, "{data}");
        #[cfg(feature = "tera1")]
        {
            let mut context = session_tera::tera1::Context::new();
            context.insert("title", "Home");
            let from_tera1 = session_tera::tera1::render(&tera1, "index.html", &context, &session)
                .expect("tera1");
            assert_eq!(from_tera1, from_tera, "{data}");
        }
        assert_eq!(
            from_tera.matches("class=\"alert").count(),
            usize::from(alert.is_some()),
            "{from_tera}"
        );
        if let Some(alert) = alert {
            assert!(from_tera.contains(alert), "{from_tera}");
        }
        assert_eq!(
            from_tera.contains("Signed in as Ada."),
            data["session"]["user"]["name"] == "Ada",
            "{from_tera}"
        );
        assert!(from_tera.ends_with("</html>\n"));
    }
}

/// The project's `templates/helpers/errors.html`, loaded from disk by each
/// engine's loader, with and without errors.
#[tokio::test]
async fn the_project_errors_helper_is_byte_identical_across_engines() {
    let dir = project_templates();
    let tera = session_tera::new(dir.to_str().expect("utf-8 path")).expect("tera loads");
    let env = minijinja_env(dir);
    #[cfg(feature = "tera1")]
    let tera1 = session_tera::tera1::new(dir.to_str().expect("utf-8 path")).expect("tera1 loads");

    let with_errors = serde_json::json!({"flash": {"_errors": {
        "name": ["Enter a name.", "Use at most 40 characters."],
        "email": ["Enter an email <address>."]
    }}});
    let cases = [
        (serde_json::json!({}), ""),
        (serde_json::json!({"flash": {"success": "Saved!"}}), ""),
        (
            with_errors,
            "<div class=\"alert alert-danger\" role=\"alert\">\n  <ul>\n    \
             <li>Enter an email &lt;address&gt;.</li>\n    <li>Enter a name.</li>\n    \
             <li>Use at most 40 characters.</li>\n  </ul>\n</div>\n",
        ),
    ];
    for (data, expected) in cases {
        let session = session_with(&data).await;
        let from_tera = session_tera::render(
            &tera,
            "helpers/errors.html",
            &tera::Context::new(),
            &session,
        )
        .expect("tera");
        assert_eq!(from_tera, expected, "{data}");
        let from_minijinja = session_minijinja::render(
            &env.get_template("helpers/errors.html").expect("template"),
            minijinja::context! {},
            &session,
        )
        .expect("minijinja");
        assert_eq!(from_minijinja, from_tera, "{data}");
        #[cfg(feature = "tera1")]
        {
            let from_tera1 = session_tera::tera1::render(
                &tera1,
                "helpers/errors.html",
                &session_tera::tera1::Context::new(),
                &session,
            )
            .expect("tera1");
            assert_eq!(from_tera1, from_tera, "{data}");
        }
    }
}

/// The demo's form page (`templates/demo/home.html`: `csrf_field()` in each
/// form, `old('name')`, the name's error beside it and
/// `helpers/errors.html`), the same in every engine after the tokens are
/// replaced, with and without errors.
#[tokio::test]
async fn the_demo_form_page_is_byte_identical_across_engines() {
    let dir = project_templates();
    let tera = session_tera::new(dir.to_str().expect("utf-8 path")).expect("tera loads");
    let env = minijinja_env(dir);
    #[cfg(feature = "tera1")]
    let tera1 = session_tera::tera1::new(dir.to_str().expect("utf-8 path")).expect("tera1 loads");

    let refused = serde_json::json!({"flash": {
        "_errors": {"name": ["Use 1 to 40 characters."]},
        "_old_input": {"name": "<b>x</b>"}
    }});
    for data in [serde_json::json!({}), refused] {
        let (_request, session) = request_with(&data).await;
        let mut context = tera::Context::new();
        context.insert("title", "Home");
        let from_tera = normalise(
            &session_tera::render(&tera, "demo/home.html", &context, &session).expect("tera"),
        );
        let from_minijinja = normalise(
            &session_minijinja::render(
                &env.get_template("demo/home.html").expect("template"),
                minijinja::context! { title => "Home" },
                &session,
            )
            .expect("minijinja"),
        );
        assert_eq!(from_minijinja, from_tera, "{data}");
        #[cfg(feature = "tera1")]
        {
            let mut context = session_tera::tera1::Context::new();
            context.insert("title", "Home");
            let from_tera1 = normalise(
                &session_tera::tera1::render(&tera1, "demo/home.html", &context, &session)
                    .expect("tera1"),
            );
            assert_eq!(from_tera1, from_tera, "{data}");
        }
        assert_eq!(
            from_tera
                .matches("<input type=\"hidden\" name=\"_token\" value=\"{CSRF_TOKEN}\">")
                .count(),
            2,
            "{from_tera}"
        );
        let refused = data != serde_json::json!({});
        assert_eq!(
            from_tera.contains("value=\"&lt;b&gt;x&lt;/b&gt;\" aria-invalid=\"true\""),
            refused,
            "{from_tera}"
        );
        assert_eq!(
            from_tera.contains("<li>Use 1 to 40 characters.</li>"),
            refused,
            "{from_tera}"
        );
    }
}
