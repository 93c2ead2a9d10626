//! `Views` built from a template directory, in both engines: every template
//! compiled at start-up (a syntax error stops the build, naming the template
//! and line; rendering reads no file), and re-read on change only with
//! auto-reload.

use std::path::{Path, PathBuf};

use session_core::{SessionManager, integration::RequestContext};
use session_views::{TemplateLoadError, ViewError, Views};

const ENGINES: [&str; 2] = ["minijinja", "tera"];

/// A fresh template directory holding `files`.
fn template_dir(test: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "session-views-views-dir-{test}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    for (name, text) in files {
        write(&dir, name, text);
    }
    dir
}

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write template");
}

fn build(engine: &str, dir: &Path, auto_reload: bool) -> Result<Views, TemplateLoadError> {
    let builder = Views::builder(dir).auto_reload(auto_reload);
    match engine {
        "minijinja" => builder.minijinja(),
        "tera" => builder.tera(),
        other => panic!("no engine {other}"),
    }
}

/// Renders `name` for a request whose session flashed `success` = "Saved".
async fn render(views: &Views, name: &str) -> Result<String, ViewError> {
    let manager = SessionManager::builder().build().expect("manager");
    let sessions = manager.request(RequestContext::new());
    let session = sessions.session().await.expect("session");
    session.flash("success", "Saved").expect("flash");
    views
        .render(&sessions, name, serde_json::json!({"title": "Home"}))
        .await
}

const PAGE: &str = "<h1>{{ title }}</h1>\n{% include \"helpers/flash.html\" %}";
const FLASH: &str =
    "{% if session().has('success') %}<p>{{ session().get('success') }}</p>{% endif %}\n";

#[tokio::test]
async fn compiled_once_renders_what_was_there_at_start_up() {
    for engine in ENGINES {
        let dir = template_dir(
            &format!("once-{engine}"),
            &[("page.html", PAGE), ("helpers/flash.html", FLASH)],
        );
        let views = build(engine, &dir, false).expect("builds");
        let first = render(&views, "page.html").await.expect("renders");
        assert_eq!(first, "<h1>Home</h1>\n<p>Saved</p>\n", "{engine}");

        // Edited and deleted on disk: the compiled templates do not notice,
        // because rendering never looks at the files.
        write(&dir, "page.html", "changed, and longer than before");
        std::fs::remove_file(dir.join("helpers/flash.html")).expect("remove");
        assert_eq!(
            render(&views, "page.html").await.expect("renders"),
            first,
            "{engine}"
        );
        std::fs::remove_dir_all(&dir).expect("clean up");
    }
}

#[tokio::test]
async fn auto_reload_picks_up_edits_new_files_and_fixed_errors() {
    for engine in ENGINES {
        let dir = template_dir(
            &format!("reload-{engine}"),
            &[("page.html", PAGE), ("helpers/flash.html", FLASH)],
        );
        let views = build(engine, &dir, true).expect("builds");
        assert_eq!(
            render(&views, "page.html").await.expect("renders"),
            "<h1>Home</h1>\n<p>Saved</p>\n",
            "{engine}"
        );

        // An included template edited (with a new size, so that the change
        // shows whatever the file system's time resolution).
        write(
            &dir,
            "helpers/flash.html",
            "<b>{{ session().get('success') }}</b>!\n",
        );
        assert_eq!(
            render(&views, "page.html").await.expect("renders"),
            "<h1>Home</h1>\n<b>Saved</b>!\n",
            "{engine}"
        );

        // A template added after start-up.
        write(&dir, "new.html", "new {{ title }}");
        assert_eq!(
            render(&views, "new.html").await.expect("renders"),
            "new Home",
            "{engine}"
        );

        // Broken while running: the render fails with the engine's message;
        // fixed: it renders again.
        write(&dir, "page.html", "ok\n{% if title %}never closed");
        let err = render(&views, "page.html").await.expect_err("broken");
        assert!(
            matches!(err, ViewError::Template { .. }),
            "{engine}: {err:?}"
        );
        write(&dir, "page.html", "fixed {{ title }}");
        assert_eq!(
            render(&views, "page.html").await.expect("renders"),
            "fixed Home",
            "{engine}"
        );
        std::fs::remove_dir_all(&dir).expect("clean up");
    }
}

#[test]
fn a_syntax_error_stops_the_build_naming_the_template_and_line() {
    for engine in ENGINES {
        for auto_reload in [false, true] {
            let dir = template_dir(
                &format!("syntax-{engine}-{auto_reload}"),
                &[
                    ("fine.html", "fine"),
                    (
                        "pages/broken.html",
                        "line one\nline two\n{% if x %}never closed\n",
                    ),
                ],
            );
            let err = build(engine, &dir, auto_reload).expect_err("a syntax error");
            let message = format!("{err}");
            assert!(
                matches!(err, TemplateLoadError::Compile { .. }),
                "{engine}: {err:?}"
            );
            // Where each engine places the unclosed `if`: MiniJinja at the
            // line of the block, Tera 2 at the end of the input.
            let at = if engine == "minijinja" {
                "pages/broken.html:3"
            } else {
                "pages/broken.html:4:1"
            };
            assert!(message.contains(at), "{engine}: {message}");
            std::fs::remove_dir_all(&dir).expect("clean up");
        }
    }
}

#[test]
fn a_missing_directory_is_an_error_that_names_it() {
    for engine in ENGINES {
        let err = build(engine, Path::new("/nonexistent/templates"), false).expect_err("missing");
        assert!(matches!(err, TemplateLoadError::Io { .. }), "{err:?}");
        assert!(err.to_string().contains("/nonexistent/templates"), "{err}");
    }
}

/// The repository's templates render the same bytes in both engines when
/// loaded from the directory (MiniJinja keeps the final newline, as Tera does).
#[tokio::test]
async fn one_directory_renders_the_same_bytes_in_both_engines() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");
    let minijinja = Views::minijinja_dir(dir).expect("minijinja");
    let tera = Views::tera_dir(dir).expect("tera");
    for page in ["index.html", "demo/home.html"] {
        let a = render(&minijinja, page).await.expect("minijinja renders");
        let b = render(&tera, page).await.expect("tera renders");
        assert!(a.contains("Saved"), "{a}");
        assert!(a.ends_with("</html>\n"), "{a:?}");
        // CSRF tokens are masked anew on every render.
        assert_eq!(without_tokens(&a), without_tokens(&b), "{page}");
    }
}

/// `html` with the value of every `_token` field replaced by `TOKEN`.
fn without_tokens(html: &str) -> String {
    const FIELD: &str = r#"name="_token" value=""#;
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(at) = rest.find(FIELD) {
        let start = at + FIELD.len();
        let len = rest[start..].find('"').expect("the value ends");
        out.push_str(&rest[..start]);
        out.push_str("TOKEN");
        rest = &rest[start + len..];
    }
    out.push_str(rest);
    out
}

/// An environment of one's own keeps its filters and syntax.
#[tokio::test]
async fn minijinja_with_keeps_the_environment_given() {
    let dir = template_dir("with", &[("shout.html", "{{ title | shout }}\n")]);
    let mut env = minijinja::Environment::new();
    env.add_filter("shout", |s: String| s.to_uppercase());
    let views = Views::builder(&dir).minijinja_with(env).expect("builds");
    // The environment's own syntax: MiniJinja's default drops the final newline.
    assert_eq!(render(&views, "shout.html").await.expect("renders"), "HOME");
    std::fs::remove_dir_all(&dir).expect("clean up");
}
