//! Errors that must name their cause and their line, and the binding's edges.

mod common;

use common::flashed;

fn tera_with(name: &str, source: &str) -> Result<tera::Tera, tera::Error> {
    let mut tera = tera::Tera::new();
    session_tera::add_raw_template(&mut tera, name, source)?;
    Ok(tera)
}

#[test]
fn a_render_without_a_session_says_so() {
    let tera = tera_with("page.html", "a\n{{ session().has('x') }}").expect("loads");
    let err = tera
        .render("page.html", &tera::Context::new())
        .expect_err("no session")
        .to_string();
    assert!(
        err.contains("session() was called but no session is bound to this render"),
        "{err}"
    );
    assert!(err.contains("session_tera::render"), "{err}");
    assert!(err.contains("page.html:2:"), "{err}");
}

/// Every form the Tera 2 rewrite produces, rendered with no session bound:
/// the error names the cause and the line of the call, in an included
/// template too.
#[test]
fn every_helper_form_without_a_session_says_so() {
    for (source, line) in [
        ("a\n{{ session().has('x') }}", 2),
        ("{{ session().has(k) }}", 1),
        ("\n\n{{ session().get('x') }}", 3),
        ("{{ session().get(\n'x',\n'd') }}", 1),
        ("{{ session().get(keys[0]) }}", 1),
        ("\n{{ session().get('my-key', 1) }}", 2),
        ("\n{% for x in session().all() %}{% endfor %}", 2),
        ("\n{{ session().has('a' ~ 'b') }}", 2),
        ("\n{% set x = session(get='a') %}", 2),
    ] {
        let tera = tera_with("page.html", source).expect(source);
        let mut context = tera::Context::new();
        context.insert("k", "x");
        context.insert("keys", &["x"]);
        let err = tera
            .render("page.html", &context)
            .expect_err(source)
            .to_string();
        assert!(
            err.contains("session() was called but no session is bound to this render"),
            "{source}: {err}"
        );
        assert!(
            err.contains(&format!("page.html:{line}:")),
            "{source}: {err}"
        );
    }

    let mut tera = tera::Tera::new();
    session_tera::add_raw_templates(
        &mut tera,
        [
            ("page.html", "{% include \"inc.html\" %}"),
            ("inc.html", "\n{{ session().get('x') }}"),
        ],
    )
    .expect("loads");
    let err = tera
        .render("page.html", &tera::Context::new())
        .expect_err("no session")
        .to_string();
    assert!(err.contains("no session is bound to this render"), "{err}");
    assert!(err.contains("inc.html:2:"), "{err}");
}

/// A component sees only its arguments, but the session is not in the
/// context: a component uses the helper with nothing to declare, and one
/// rendered with no session bound fails with the error that says so, at
/// the line of the use.
#[tokio::test]
async fn components_see_the_bound_session() {
    let session = flashed("success", "Saved").await;
    let tera = tera_with(
        "page.html",
        "{% component alert(level) %}\n{{ session().has(level) }} {{ session().get(level, '-') }}{% endcomponent alert %}\
         {{ <alert level=\"success\"/> }}|{{ <alert level=\"x\"/> }}",
    )
    .expect("loads");
    assert_eq!(
        session_tera::render(&tera, "page.html", &tera::Context::new(), &session).expect("renders"),
        "\ntrue Saved|\nfalse -"
    );
    let err = tera
        .render("page.html", &tera::Context::new())
        .expect_err("no session")
        .to_string();
    assert!(err.contains("no session is bound to this render"), "{err}");
    assert!(err.contains("page.html:2:"), "{err}");
}

/// Literal keys that are not strings are still the function's error.
#[tokio::test]
async fn a_key_that_is_not_a_string_literal_is_an_error() {
    let session = flashed("success", "Saved").await;
    for source in ["{{ session().has(1) }}", "{{ session().get(true, 'd') }}"] {
        let tera = tera_with("page.html", source).expect("loads");
        let err = session_tera::render(&tera, "page.html", &tera::Context::new(), &session)
            .expect_err(source)
            .to_string();
        assert!(err.contains("session keys are strings"), "{source}: {err}");
    }
}

/// A key held in a variable must be a string too, whichever form the
/// rewrite gives the use (as in MiniJinja and Tera 1).
#[tokio::test]
async fn a_key_held_in_a_variable_must_be_a_string() {
    let session = flashed("success", "Saved").await;
    for source in [
        "\n{{ session().has(k) }}",
        "\n{{ session().get(k) }}",
        "\n{{ session().get(k, 'd') }}",
        "\n{{ session().has((k)) }}",
        "\n{{ session().get((k), 'd') }}",
    ] {
        let tera = tera_with("page.html", source).expect("loads");
        for value in [
            tera::Value::from(1),
            tera::Value::from(true),
            tera::Value::from(vec!["success"]),
        ] {
            let mut context = tera::Context::new();
            context.insert_value("k", value);
            let err = session_tera::render(&tera, "page.html", &context, &session)
                .expect_err(source)
                .to_string();
            assert!(err.contains("session keys are strings"), "{source}: {err}");
            assert!(err.contains("page.html:2:"), "{source}: {err}");
        }
    }
}

#[test]
fn unknown_methods_and_wrong_argument_counts_fail_the_load_with_the_line() {
    for (source, line, message) in [
        (
            "a\nb\n{{ session().nope() }}",
            3,
            "session() has no method `nope`",
        ),
        (
            "{% if x %}\n{% if session().has() %}{% endif %}{% endif %}",
            2,
            "session().has() takes 1 argument (the key), got 0",
        ),
        (
            "\n\n\n\n{{ session().get('a', 'b', 'c') }}",
            5,
            "session().get() takes 1 or 2 arguments",
        ),
        (
            "{{ session().all('a') }}",
            1,
            "session().all() takes no arguments, got 1",
        ),
    ] {
        let err = tera_with("bad.html", source).expect_err(source).to_string();
        assert!(err.contains("template `bad.html`"), "{err}");
        assert!(
            err.contains(&format!("line {line}, column")),
            "{source}: {err}"
        );
        assert!(err.contains(message), "{source}: {err}");
    }
}

/// Rewritten calls spread over lines keep every later line where it was.
#[test]
fn tera_errors_point_at_the_line_as_written() {
    let before = "{% if session()\n   .has('a') %}\n{{ session().get(\n  'a',\n  'b'\n) }}{% endif %}\n{{ session ( ) . all ( ) | length }}\n";
    assert_eq!(before.lines().count(), 7);

    // A syntax error on line 8.
    let err = tera_with("syntax.html", &format!("{before}{{{{ 1 + }}}}"))
        .expect_err("syntax error")
        .to_string();
    assert!(err.contains("syntax.html:8:"), "{err}");

    // A render error on line 9.
    let tera =
        tera_with("render.html", &format!("{before}ok\n{{{{ nope.field }}}}")).expect("loads");
    let session = futures_free_session();
    let _bound = session_tera::bind(&session);
    let err = tera
        .render("render.html", &tera::Context::new())
        .expect_err("undefined")
        .to_string();
    assert!(err.contains("render.html:9:"), "{err}");
}

fn futures_free_session() -> session_core::Session {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
        .block_on(flashed("a", "x"))
}

#[tokio::test]
async fn the_keyword_form_works_when_written_by_hand() {
    let session = flashed("success", "Saved").await;
    let mut tera = tera::Tera::new();
    session_tera::add_to_tera(&mut tera);
    tera.add_raw_template(
        "kw.html",
        "{% if session(has='success') %}{{ session(get='success') }}|{{ session(get='x', default='d') }}|{{ session(all=true) | length }}{% endif %}",
    )
    .expect("loads without the rewrite");
    let out =
        session_tera::render(&tera, "kw.html", &tera::Context::new(), &session).expect("renders");
    assert_eq!(out, "Saved|d|1");
}

#[tokio::test]
async fn bad_keyword_calls_are_render_errors_with_the_line() {
    let session = flashed("success", "Saved").await;
    for (source, message) in [
        ("\n{{ session() }}", "session() takes has=KEY"),
        ("\n{{ session(nope=1) }}", "unknown argument `nope=`"),
        (
            "\n{{ session(has='a', get='b') }}",
            "session() takes has=KEY",
        ),
        ("\n{{ session(all=false) }}", "session() takes has=KEY"),
        ("\n{{ session(get=1) }}", "session keys are strings"),
    ] {
        let tera = tera_with("kw.html", source).expect("loads");
        let err = session_tera::render(&tera, "kw.html", &tera::Context::new(), &session)
            .expect_err(source)
            .to_string();
        assert!(err.contains(message), "{source}: {err}");
        assert!(err.contains("kw.html:2:"), "{source}: {err}");
    }
}

#[tokio::test]
async fn values_are_autoescaped_in_html_templates_only() {
    let session = flashed("danger", "<script>alert(1)</script>").await;
    let mut tera = tera::Tera::new();
    let source = "{{ session().get('danger') }}";
    session_tera::add_raw_templates(&mut tera, [("a.html", source), ("a.txt", source)])
        .expect("loads");
    let context = tera::Context::new();
    assert_eq!(
        session_tera::render(&tera, "a.html", &context, &session).expect("html"),
        "&lt;script&gt;alert(1)&lt;/script&gt;"
    );
    assert_eq!(
        session_tera::render(&tera, "a.txt", &context, &session).expect("txt"),
        "<script>alert(1)</script>"
    );
}

/// The binding belongs to the thread of the render: renders of one `Tera`
/// on several threads at once each see their own session.
#[tokio::test]
async fn concurrent_renders_see_their_own_session() {
    let tera =
        std::sync::Arc::new(tera_with("m.html", "{{ session().get('who') }}").expect("loads"));
    let mut sessions = Vec::new();
    for i in 0..8 {
        sessions.push((i, flashed("who", &format!("user {i}")).await));
    }
    let handles: Vec<_> = sessions
        .into_iter()
        .map(|(i, session)| {
            let tera = tera.clone();
            std::thread::spawn(move || {
                for _ in 0..200 {
                    let out =
                        session_tera::render(&tera, "m.html", &tera::Context::new(), &session)
                            .expect("renders");
                    assert_eq!(out, format!("user {i}"));
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().expect("no thread saw another's session");
    }
}

#[test]
fn the_loader_reports_a_missing_directory_and_a_bad_template() {
    let err = session_tera::new("/no/such/templates")
        .expect_err("missing")
        .to_string();
    assert!(err.contains("/no/such/templates"), "{err}");

    let dir = std::env::temp_dir().join(format!("session-tera-loader-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("sub")).expect("temp dir");
    std::fs::write(dir.join("ok.html"), "{% include \"sub/inc.html\" %}").expect("write");
    std::fs::write(dir.join("sub/inc.html"), "{{ session().has('a') }}").expect("write");
    let tera = session_tera::new(dir.to_str().expect("utf-8")).expect("loads a directory");
    let mut names: Vec<_> = tera.get_template_names().collect();
    names.sort();
    assert_eq!(names, ["ok.html", "sub/inc.html"]);

    std::fs::write(dir.join("sub/bad.html"), "\n{{ session().has(1, 2) }}").expect("write");
    let err = session_tera::new(&format!("{}/**/*.html", dir.display()))
        .expect_err("bad template")
        .to_string();
    assert!(err.contains("template `sub/bad.html`, line 2"), "{err}");
    std::fs::remove_dir_all(&dir).expect("clean up");
}
