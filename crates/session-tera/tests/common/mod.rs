//! Shared by the integration tests: sessions, engines set up the same way, and
//! the entity normalisation the fixtures document.
#![allow(dead_code)]

use std::path::Path;

use session_core::serde_json::{Map, Value, json};
use session_core::{Session, SessionManager, integration::RequestContext};

/// A session holding `data`: `{"session": {...}, "flash": {...}}`.
pub(crate) async fn session_with(data: &Value) -> Session {
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
    session
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

/// Escaped entities spelled one way: `&#39;` for `'`, `/` for `/`.
pub(crate) fn normalise(html: &str) -> String {
    html.replace("&#x27;", "&#39;")
        .replace("&#x2f;", "/")
        .replace("&#x2F;", "/")
}
