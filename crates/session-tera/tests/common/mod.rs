//! Shared by the integration tests: sessions, engines set up the same way, and
//! the entity normalisation the fixtures document.
#![allow(dead_code)]

use std::path::Path;

use session_core::integration::{RequestContext, RequestSessions};
use session_core::serde_json::{Map, Value, json};
use session_core::{Session, SessionManager};

/// A session holding `data`: `{"session": {...}, "flash": {...}}`.
///
/// Its request is over (nothing holds its `RequestSessions`): `csrf_token()`
/// needs [`request_with`].
pub(crate) async fn session_with(data: &Value) -> Session {
    request_with(data).await.1
}

/// A request whose session holds `data`, as [`session_with`]; the request
/// lasts as long as the returned `RequestSessions`.
pub(crate) async fn request_with(data: &Value) -> (RequestSessions, Session) {
    let manager = SessionManager::builder().build().expect("memory manager");
    let sessions = manager.request(RequestContext::new());
    let session = sessions.session().await.expect("session");
    let empty = Map::new();
    for (key, value) in data["session"].as_object().unwrap_or(&empty) {
        session.set(key, value).expect("set");
    }
    for (key, value) in data["flash"].as_object().unwrap_or(&empty) {
        session.flash(key, value).expect("flash");
    }
    (sessions, session)
}

/// A session with one flash message.
pub(crate) async fn flashed(key: &str, message: &str) -> Session {
    session_with(&json!({"flash": {key: message}})).await
}

/// The templates of the project, `templates/` at the workspace root.
pub(crate) fn project_templates() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../templates"))
}

/// A MiniJinja environment as the project's views set one up: `session()`
/// registered and the trailing newline kept, as Tera keeps it.
pub(crate) fn minijinja_env(dir: &Path) -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    session_minijinja::add_to_environment(&mut env);
    env.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .keep_trailing_newline(true)
            .build()
            .expect("syntax"),
    );
    env.set_loader(minijinja::path_loader(dir));
    env
}

/// Escaped entities spelled one way: `&#39;` for `'`, `/` for `/`; and
/// each CSRF token replaced by [`TOKEN_PLACEHOLDER`] (tokens are random
/// per render).
pub(crate) fn normalise(html: &str) -> String {
    let html = html
        .replace("&#x27;", "&#39;")
        .replace("&#x2f;", "/")
        .replace("&#x2F;", "/");
    let mut out = String::with_capacity(html.len());
    let mut rest = html.as_str();
    for token in csrf_tokens(&html) {
        let at = rest.find(token).expect("the token is in the rest");
        out.push_str(&rest[..at]);
        out.push_str(TOKEN_PLACEHOLDER);
        rest = &rest[at + token.len()..];
    }
    out.push_str(rest);
    out
}

/// What [`normalise`] writes in place of a CSRF token.
pub(crate) const TOKEN_PLACEHOLDER: &str = "{CSRF_TOKEN}";

/// The length of a CSRF token: 64 bytes (mask and masked secret) in
/// URL-safe base64 without padding.
pub(crate) const TOKEN_LEN: usize = 86;

/// The CSRF tokens in `html`, in order: each run of exactly [`TOKEN_LEN`]
/// URL-safe base64 characters.
pub(crate) fn csrf_tokens(html: &str) -> Vec<&str> {
    let is_token_char = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    html.split(|c: char| !is_token_char(c))
        .filter(|run| run.len() == TOKEN_LEN)
        .collect()
}
