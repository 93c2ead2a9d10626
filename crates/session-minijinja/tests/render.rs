//! The helper in MiniJinja: binding, methods, errors with their line.

use minijinja::{Environment, context};
use session_core::serde_json::json;
use session_core::{Session, SessionManager, integration::RequestContext};

async fn session() -> Session {
    let manager = SessionManager::builder().build().expect("manager");
    let session = manager
        .request(RequestContext::new())
        .session()
        .await
        .expect("session");
    session.set("user", json!({"name": "Ada"})).expect("set");
    session.set("zero", 0).expect("set");
    session.set("shadowed", "session").expect("set");
    session.flash("shadowed", "flash").expect("flash");
    session
        .flash("danger", "<script>alert('x')</script>")
        .expect("flash");
    session
}

fn env_with(templates: &[(&'static str, &'static str)]) -> Environment<'static> {
    let mut env = Environment::new();
    session_minijinja::add_to_environment(&mut env);
    for (name, source) in templates {
        env.add_template(name, source).expect("template");
    }
    env
}

fn render(
    env: &Environment<'_>,
    name: &str,
    session: &Session,
) -> Result<String, minijinja::Error> {
    session_minijinja::render(
        &env.get_template(name)?,
        context! { page => "home" },
        session,
    )
}

#[tokio::test]
async fn methods_read_the_bound_session() {
    let session = session().await;
    let env = env_with(&[(
        "t.txt",
        "{{ session().has('zero') }} {{ session().has('nope') }} {{ session().get('zero') }} \
         [{{ session().get('nope') }}] {{ session().get('nope', 'd') }} {{ session().get('shadowed') }} \
         {{ session().get('user').name }} {{ session().all() | length }} {{ page }} {{ session() }}",
    )]);
    assert_eq!(
        render(&env, "t.txt", &session).expect("renders"),
        "True False 0 [] d flash Ada 4 home <session>"
    );
}

#[tokio::test]
async fn values_are_autoescaped_in_html_only() {
    let session = session().await;
    let source = "{{ session().get('danger') }}";
    let env = env_with(&[("a.html", source), ("a.txt", source)]);
    assert_eq!(
        render(&env, "a.html", &session).expect("html"),
        "&lt;script&gt;alert(&#x27;x&#x27;)&lt;&#x2f;script&gt;"
    );
    assert_eq!(
        render(&env, "a.txt", &session).expect("txt"),
        "<script>alert('x')</script>"
    );
}

#[tokio::test]
async fn no_session_bound_is_an_error_naming_the_cause() {
    let env = env_with(&[("t.html", "line one\n{{ session().has('x') }}")]);
    let err = env
        .get_template("t.html")
        .expect("template")
        .render(context! {})
        .expect_err("no session");
    assert_eq!(err.kind(), minijinja::ErrorKind::InvalidOperation);
    assert!(
        err.to_string()
            .contains("session() was called but no session is bound to this render"),
        "{err}"
    );
    assert!(
        err.to_string().contains("session_minijinja::render"),
        "{err}"
    );
    assert_eq!(err.line(), Some(2));
}

#[tokio::test]
async fn unknown_methods_and_wrong_arguments_are_errors_with_the_line() {
    let session = session().await;
    for (source, kind, message) in [
        (
            "\n\n{{ session().nope() }}",
            minijinja::ErrorKind::UnknownMethod,
            "session() has no method `nope`",
        ),
        (
            "\n\n{{ session().has() }}",
            minijinja::ErrorKind::MissingArgument,
            "session().has() takes 1 argument (the key), got 0",
        ),
        (
            "\n\n{{ session().has('a', 'b') }}",
            minijinja::ErrorKind::TooManyArguments,
            "got 2",
        ),
        (
            "\n\n{{ session().get('a', 'b', 'c') }}",
            minijinja::ErrorKind::TooManyArguments,
            "takes 1 or 2 arguments",
        ),
        (
            "\n\n{{ session().all(1) }}",
            minijinja::ErrorKind::TooManyArguments,
            "takes no arguments",
        ),
        (
            "\n\n{{ session().get(1) }}",
            minijinja::ErrorKind::InvalidOperation,
            "takes the key as a string",
        ),
        (
            "\n\n{{ session(1) }}",
            minijinja::ErrorKind::TooManyArguments,
            "",
        ),
    ] {
        let mut env = Environment::new();
        session_minijinja::add_to_environment(&mut env);
        env.add_template("bad.html", source).expect("parses");
        let err = render(&env, "bad.html", &session).expect_err(source);
        assert_eq!(err.kind(), kind, "{source}: {err}");
        assert!(err.to_string().contains(message), "{source}: {err}");
        assert_eq!(err.line(), Some(3), "{source}: {err}");
        assert_eq!(err.name(), Some("bad.html"));
    }
}

/// Included templates, macros (imported ones too) and nested renders all see
/// the session of their own render.
#[tokio::test]
async fn includes_and_imported_macros_see_the_session() {
    let session = session().await;
    let env = env_with(&[
        (
            "page.html",
            "{% import 'm.html' as m %}{% include 'inc.html' %}|{{ m.show('shadowed') }}|{% from 'm.html' import show %}{{ show('zero') }}",
        ),
        ("inc.html", "{{ session().get('user').name }}"),
        (
            "m.html",
            "{% macro show(k) %}{{ session().get(k) }}{% endmacro %}",
        ),
    ]);
    assert_eq!(
        render(&env, "page.html", &session).expect("renders"),
        "Ada|flash|0"
    );

    let other = {
        let manager = SessionManager::builder().build().expect("manager");
        let other = manager
            .request(RequestContext::new())
            .session()
            .await
            .expect("session");
        other.set("user", json!({"name": "Bob"})).expect("set");
        other
    };
    let inc = env.get_template("inc.html").expect("template");
    assert_eq!(
        session_minijinja::render(&inc, (), &other).expect("renders"),
        "Bob"
    );
    assert_eq!(
        session_minijinja::render(&inc, (), &session).expect("renders"),
        "Ada"
    );
}

#[tokio::test]
async fn the_context_is_merged_and_cannot_unbind_the_session() {
    let session = session().await;
    let env = env_with(&[("t.txt", "{{ page }} {{ session().get('zero') }}")]);
    let template = env.get_template("t.txt").expect("template");
    // A context key named like the hidden one does not replace the session.
    let ctx = context! { page => "p", __session_views => "not a session" };
    assert_eq!(
        session_minijinja::render(&template, ctx, &session).expect("renders"),
        "p 0"
    );
    // `context` is usable with the other render entry points.
    let mut out = Vec::new();
    template
        .render_captured_to(
            session_minijinja::context(&session, context! { page => "w" }),
            &mut out,
        )
        .expect("renders");
    assert_eq!(out, b"w 0");
}

/// The context's own `session` wins over the helper, as a context variable
/// shadows a global function in MiniJinja; the session stays reachable for
/// `context`'s other forms, and a non-map context is wrapped, not dropped.
#[tokio::test]
async fn a_context_session_variable_is_kept_and_any_context_works() {
    let session = session().await;
    let env = env_with(&[
        ("own.txt", "{{ session }} {{ page }}"),
        ("t.txt", "{{ session().get('zero') }}"),
        ("args.txt", "{{ session(1) }}"),
    ]);
    let own = env.get_template("own.txt").expect("template");
    let ctx = context! { page => "p", session => "mine" };
    assert_eq!(
        session_minijinja::render(&own, ctx, &session).expect("renders"),
        "mine p"
    );

    let t = env.get_template("t.txt").expect("template");
    // No context at all, and a context that is not a map (a sequence).
    for ctx in [
        minijinja::Value::UNDEFINED,
        minijinja::Value::from(()),
        minijinja::Value::from(vec![1, 2]),
    ] {
        assert_eq!(
            session_minijinja::render(&t, ctx.clone(), &session).expect("renders"),
            "0",
            "context {ctx:?}"
        );
    }

    let args = env.get_template("args.txt").expect("template");
    let err = session_minijinja::render(&args, context! {}, &session).expect_err("an error");
    assert_eq!(err.kind(), minijinja::ErrorKind::TooManyArguments);
    assert!(
        err.to_string().contains("session() takes no arguments"),
        "{err}"
    );
}
