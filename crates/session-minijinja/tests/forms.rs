//! The form helpers in MiniJinja: `csrf_token()`, `csrf_field()`, `old()`
//! and `errors()`, what they render and how they fail.

use minijinja::{Environment, ErrorKind, context};
use session_core::csrf;
use session_core::integration::{RequestContext, RequestSessions};
use session_core::serde_json::json;
use session_core::{Session, SessionManager};

/// A request whose session came back from a form with errors.
async fn request() -> (RequestSessions, Session) {
    let manager = SessionManager::builder().build().expect("manager");
    let sessions = manager.request(RequestContext::new());
    let session = sessions.session().await.expect("session");
    session
        .flash(
            "_old_input",
            json!({"name": "\"><script>", "age": 42, "empty": ""}),
        )
        .expect("flash");
    session
        .flash(
            "_errors",
            json!({"name": ["Enter a name.", "Too <short>."], "email": ["Taken."]}),
        )
        .expect("flash");
    (sessions, session)
}

fn render(source: &str, session: &Session) -> Result<String, minijinja::Error> {
    let mut env = Environment::new();
    session_minijinja::add_to_environment(&mut env);
    env.add_template("t.html", source)?;
    session_minijinja::render(&env.get_template("t.html")?, context! {}, session)
}

#[tokio::test]
async fn csrf_field_is_markup_with_a_token_that_verifies() {
    let (request, session) = request().await;
    let out = render("{{ csrf_field() }} {{ csrf_token() }}", &session).expect("renders");
    let (field, token) = out.rsplit_once(' ').expect("two parts");
    let field_token = field
        .strip_prefix("<input type=\"hidden\" name=\"_token\" value=\"")
        .and_then(|rest| rest.strip_suffix("\">"))
        .expect("the field, not escaped");
    assert_eq!(field_token.len(), 86);
    assert_ne!(field_token, token, "masked afresh on every call");
    let cookie = request.issued_csrf_cookie().expect("a new secret");
    assert!(csrf::verify(Some(cookie.value()), field_token));
    assert!(csrf::verify(Some(cookie.value()), token));
}

#[tokio::test]
async fn old_gives_the_input_else_the_default_else_nothing() {
    let (_request, session) = request().await;
    assert_eq!(
        render(
            "{{ old('name') }}|{{ old('age') }}|{{ old('empty', 'd') }}|{{ old('x') }}|\
             {{ old('x', 'd') }}|{{ old('x', 3) + 1 }}",
            &session
        )
        .expect("renders"),
        "&quot;&gt;&lt;script&gt;|42|||d|4"
    );
}

#[tokio::test]
async fn errors_has_five_methods() {
    let (_request, session) = request().await;
    let out = render(
        "{{ errors().any() }} {{ errors().has('name') }} {{ errors().has('x') }} \
         [{{ errors().first('name') }}] [{{ errors().first('x') }}] \
         {% for m in errors().get('name') %}({{ m }}){% endfor %} {{ errors().get('x') | length }} \
         {{ errors().all() | join(', ') }} {{ errors() }}",
        &session,
    )
    .expect("renders");
    assert_eq!(
        out,
        "True True False [Enter a name.] [] (Enter a name.)(Too &lt;short&gt;.) 0 \
         Taken., Enter a name., Too &lt;short&gt;. &lt;errors&gt;"
    );
    // No errors flashed: an empty bag.
    let manager = SessionManager::builder().build().expect("manager");
    let sessions = manager.request(RequestContext::new());
    let empty = sessions.session().await.expect("session");
    assert_eq!(
        render(
            "{{ errors().any() }} {{ errors().all() | length }} [{{ errors().first('a') }}]",
            &empty
        )
        .expect("renders"),
        "False 0 []"
    );
}

#[tokio::test]
async fn wrong_calls_are_errors_with_the_line() {
    let (_request, session) = request().await;
    for (source, kind, message) in [
        (
            "\n{{ errors().nope() }}",
            ErrorKind::UnknownMethod,
            "errors() has no method `nope`; it has any(), has(field), first(field), get(field) and all()",
        ),
        (
            "\n{{ errors().has() }}",
            ErrorKind::MissingArgument,
            "errors().has() takes 1 argument (the field), got 0",
        ),
        (
            "\n{{ errors().any(1) }}",
            ErrorKind::TooManyArguments,
            "errors().any() takes no arguments, got 1",
        ),
        (
            "\n{{ errors().first(1) }}",
            ErrorKind::InvalidOperation,
            "errors().first() takes the field name as a string",
        ),
        (
            "\n{{ old() }}",
            ErrorKind::MissingArgument,
            "old() takes 1 or 2 arguments (the field, then a default), got 0",
        ),
        (
            "\n{{ old('a', 'b', 'c') }}",
            ErrorKind::TooManyArguments,
            "got 3",
        ),
        ("\n{{ csrf_token(1) }}", ErrorKind::TooManyArguments, ""),
        ("\n{{ errors(1) }}", ErrorKind::TooManyArguments, ""),
    ] {
        let err = render(source, &session).expect_err(source);
        assert_eq!(err.kind(), kind, "{source}: {err}");
        assert!(err.to_string().contains(message), "{source}: {err}");
        assert_eq!(err.line(), Some(2), "{source}");
    }
}

#[tokio::test]
async fn without_a_session_or_a_request_the_error_says_which() {
    let mut env = Environment::new();
    session_minijinja::add_to_environment(&mut env);
    for function in ["csrf_token()", "csrf_field()", "old('a')", "errors()"] {
        env.add_template_owned("t.html", format!("{{{{ {function} }}}}"))
            .expect("template");
        let err = env
            .get_template("t.html")
            .expect("template")
            .render(context! {})
            .expect_err(function);
        let name = &function[..function.find('(').expect("a call")];
        assert!(
            err.to_string().contains(&format!(
                "{name}() was called but no session is bound to this render; render through session_minijinja::render"
            )),
            "{err}"
        );
    }

    // The request is over: nothing to make a token from.
    let manager = SessionManager::builder().build().expect("manager");
    let session = manager
        .request(RequestContext::new())
        .session()
        .await
        .expect("session");
    let err = render("{{ csrf_field() }}", &session).expect_err("request over");
    assert!(
        err.to_string()
            .contains("csrf_field() was called after the request of the bound session ended"),
        "{err}"
    );
}
