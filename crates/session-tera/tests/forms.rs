//! The form helpers in every engine: CSRF tokens that verify against the
//! request's secret, markup that is not escaped twice, and errors that name
//! the helper and say how to bind a session.

mod common;

use std::path::Path;

use session_core::Session;
use session_core::csrf;
use session_core::serde_json::json;

use common::{csrf_tokens, minijinja_env, request_with, session_with};

const ENGINES: &[&str] = &[
    "minijinja",
    "tera",
    #[cfg(feature = "tera1")]
    "tera1",
];

/// Renders `source` as `page.html` with `engine`, the session bound unless `None`.
fn render(engine: &str, source: &str, session: Option<&Session>) -> Result<String, String> {
    match engine {
        "minijinja" => {
            let mut env = minijinja_env(Path::new("/nonexistent"));
            env.add_template("page.html", source)
                .map_err(|e| format!("{e:#}"))?;
            let template = env
                .get_template("page.html")
                .map_err(|e| format!("{e:#}"))?;
            match session {
                Some(session) => {
                    session_minijinja::render(&template, minijinja::context! {}, session)
                }
                None => template.render(minijinja::context! {}),
            }
            .map_err(|e| format!("{e:#}"))
        }
        "tera" => {
            let mut tera = tera::Tera::new();
            session_tera::add_raw_template(&mut tera, "page.html", source)
                .map_err(|e| e.to_string())?;
            let context = tera::Context::new();
            match session {
                Some(session) => session_tera::render(&tera, "page.html", &context, session),
                None => tera.render("page.html", &context),
            }
            .map_err(|e| e.to_string())
        }
        #[cfg(feature = "tera1")]
        "tera1" => {
            use session_tera::tera1;
            let mut tera = tera1::Tera::default();
            tera1::add_raw_template(&mut tera, "page.html", source)
                .map_err(|e| format!("{e:?}"))?;
            let context = tera1::Context::new();
            match session {
                Some(session) => tera1::render(&tera, "page.html", &context, session),
                None => tera.render("page.html", &context),
            }
            .map_err(|e| format!("{e:?}"))
        }
        _ => unreachable!("unknown engine {engine}"),
    }
}

#[tokio::test]
async fn every_engine_makes_tokens_that_verify_against_the_request_secret() {
    let (request, session) = request_with(&json!({})).await;
    let mut tokens = Vec::new();
    for engine in ENGINES {
        let out = render(
            engine,
            "{{ csrf_token() }}\n{{ csrf_field() }}",
            Some(&session),
        )
        .expect(engine);
        let found = csrf_tokens(&out);
        assert_eq!(found.len(), 2, "{engine}: {out}");
        // The field is markup, in an autoescaped template: not escaped (twice).
        assert_eq!(
            out,
            format!(
                "{}\n<input type=\"hidden\" name=\"_token\" value=\"{}\">",
                found[0], found[1]
            ),
            "{engine}"
        );
        tokens.extend(found.into_iter().map(str::to_owned));
    }
    let cookie = request.issued_csrf_cookie().expect("a new secret");
    for token in &tokens {
        assert!(csrf::verify(Some(cookie.value()), token), "{token}");
    }
    // Masked afresh for every call, in every engine.
    let mut unique = tokens.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), tokens.len());
    // And made from this request's secret only.
    let (other, _) = request_with(&json!({})).await;
    other.csrf_token();
    let other_cookie = other.issued_csrf_cookie().expect("another secret");
    assert!(!csrf::verify(Some(other_cookie.value()), &tokens[0]));
}

#[tokio::test]
async fn a_token_once_the_request_is_over_is_an_error_that_says_so() {
    // `session_with` drops its request: the session outlives it.
    let session = session_with(&json!({})).await;
    for engine in ENGINES {
        for (function, source) in [
            ("csrf_token", "\n{{ csrf_token() }}"),
            ("csrf_field", "\n{{ csrf_field() }}"),
        ] {
            let err = render(engine, source, Some(&session)).expect_err(source);
            assert!(
                err.contains(&format!(
                    "{function}() was called after the request of the bound session ended"
                )),
                "{engine}: {err}"
            );
        }
    }
}

#[tokio::test]
async fn every_helper_without_a_session_says_so_and_how_to_bind_one() {
    for engine in ENGINES {
        let hint = match *engine {
            "minijinja" => "session_minijinja::render",
            "tera" => "session_tera::render",
            _ => "session_tera::tera1::render",
        };
        for (function, source) in [
            ("csrf_token", "a\n{{ csrf_token() }}"),
            ("csrf_field", "a\n{{ csrf_field() }}"),
            ("old", "a\n{{ old('name') }}"),
            ("old", "a\n{{ old('name', 'x') }}"),
            ("errors", "a\n{% if errors().any() %}{% endif %}"),
            ("errors", "a\n{% if errors().has('name') %}{% endif %}"),
            ("errors", "a\n{{ errors().first('name') }}"),
            (
                "errors",
                "a\n{% for m in errors().get('name') %}{% endfor %}",
            ),
            ("errors", "a\n{{ errors().all() | length }}"),
        ] {
            let err = render(engine, source, None).expect_err(source);
            assert!(
                err.contains(&format!(
                    "{function}() was called but no session is bound to this render"
                )),
                "{engine} {source}: {err}"
            );
            assert!(err.contains(hint), "{engine} {source}: {err}");
            // The line of the use (Tera 1 reports no lines).
            if *engine != "tera1" {
                assert!(
                    err.contains("page.html:2") || err.contains("line 2"),
                    "{engine} {source}: {err}"
                );
            }
        }
    }
}

#[tokio::test]
async fn old_input_and_errors_read_the_same_in_every_engine() {
    let (_request, session) = request_with(&json!({"flash": {
        "_old_input": {"name": "<b>Ada</b>", "count": 3, "none": null},
        "_errors": {"name": ["Too <long>", "Too bold"]}
    }}))
    .await;
    let source = "{{ old('name') }}|{{ old('count') }}|{{ old('none', 'd') }}|{{ old('missing') }}|\
                  {{ old('missing', 7) }}|{% if errors().any() %}any{% endif %}|\
                  {% if errors().has('name') %}has{% endif %}|{% if errors().has('x') %}x{% endif %}|\
                  {{ errors().first('name') }}|{{ errors().first('x') }}|\
                  {{ errors().get('name') | join(sep=', ') }}|{{ errors().get('x') | length }}|\
                  {% for m in errors().all() %}[{{ m }}]{% endfor %}";
    let expected = "&lt;b&gt;Ada&lt;/b&gt;|3|d||7|any|has||Too &lt;long&gt;||Too &lt;long&gt;, Too bold|0|[Too &lt;long&gt;][Too bold]";
    for engine in ENGINES {
        // MiniJinja's `join` takes the separator by position.
        let source = if *engine == "minijinja" {
            source.replace("join(sep=', ')", "join(', ')")
        } else {
            source.to_owned()
        };
        let out = render(engine, &source, Some(&session)).expect(engine);
        assert_eq!(common::normalise(&out), expected, "{engine}");
    }
}

#[tokio::test]
async fn wrong_arguments_are_errors_that_name_the_helper() {
    let (_request, session) = request_with(&json!({})).await;
    for engine in ENGINES {
        for (source, message) in [
            ("{{ old(1) }}", "old() takes the field name as a string"),
            ("{{ old('a', 1, 2) }}", "old() takes 1 or 2 arguments"),
            (
                "{{ errors().has(1) }}",
                "errors().has() takes the field name as a string",
            ),
            (
                "{{ errors().first(1) }}",
                "errors().first() takes the field name as a string",
            ),
            (
                "{{ errors().get(true) }}",
                "errors().get() takes the field name as a string",
            ),
            (
                "{{ errors().has() }}",
                "errors().has() takes 1 argument (the field), got 0",
            ),
            ("{{ errors().nope() }}", "errors() has no method `nope`"),
        ] {
            let err = render(engine, source, Some(&session)).expect_err(source);
            assert!(err.contains(message), "{engine} {source}: {err}");
        }
    }
}

/// The bag is read once per render (however many fields ask), and afresh
/// by the next render.
#[tokio::test]
async fn errors_are_read_afresh_by_each_render() {
    let (_request, session) = request_with(&json!({})).await;
    let source = "{% if errors().any() %}{{ errors().first('name') }}{% else %}none{% endif %}";
    for engine in ENGINES {
        assert_eq!(
            render(engine, source, Some(&session)).expect(engine),
            "none"
        );
    }
    session
        .flash("_errors", json!({"name": ["Enter a name."]}))
        .expect("flash");
    for engine in ENGINES {
        assert_eq!(
            render(engine, source, Some(&session)).expect(engine),
            "Enter a name.",
            "{engine}"
        );
    }
}
