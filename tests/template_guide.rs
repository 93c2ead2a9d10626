//! Every template example in `docs/templates.md`, rendered in MiniJinja and
//! Tera 2 through `Views` with the session the guide gives, checked against
//! the output the guide shows. The conventions are in the HTML comment at
//! the top of the guide.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value};
use session_core::{ERRORS_KEY, ErrorBag, OLD_INPUT_KEY, csrf};
use session_views::integration::RequestContext;
use session_views::{SessionManager, ViewError, Views};

const GUIDE: &str = "docs/templates.md";
const ENGINES: [&str; 2] = ["minijinja", "tera"];
/// What the guide writes in place of a CSRF token, which differs per render.
const TOKEN_PLACEHOLDER: &str = "{CSRF_TOKEN}";
/// A CSRF token: 64 bytes (mask, masked secret) in URL-safe base64 without padding.
const TOKEN_LEN: usize = 86;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn guide() -> String {
    std::fs::read_to_string(root().join(GUIDE)).expect("docs/templates.md")
}

/// A fenced block of the guide: its info string, text and first line.
#[derive(Debug)]
struct Block {
    info: String,
    text: String,
    line: usize,
}

fn blocks(markdown: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for (number, line) in markdown.lines().enumerate() {
        match open.as_mut() {
            None => {
                if let Some(info) = line.strip_prefix("```") {
                    open = Some(Block {
                        info: info.trim().to_owned(),
                        text: String::new(),
                        line: number + 1,
                    });
                }
            }
            Some(block) => {
                if line.trim_end() == "```" {
                    blocks.extend(open.take());
                } else {
                    block.text.push_str(line);
                    block.text.push('\n');
                }
            }
        }
    }
    assert!(open.is_none(), "{GUIDE}: a fenced block is not closed");
    blocks
}

/// One template example and what it must render.
#[derive(Debug)]
struct Example {
    line: usize,
    template: String,
    /// The `json session` block in force.
    data: SessionBlock,
    /// Rendered in this engine only (a feature the other one lacks).
    only: Option<String>,
    /// The template's text is this file under `templates/`.
    file: Option<String>,
    /// (engine or `None` for both, expected output).
    expected: Vec<(Option<String>, String)>,
}

fn examples(markdown: &str) -> Vec<Example> {
    let mut examples: Vec<Example> = Vec::new();
    let mut data = SessionBlock::default();
    // Whether the last example still takes output blocks.
    let mut taking_output = false;
    for block in blocks(markdown) {
        let mut words = block.info.split_whitespace();
        let lang = words.next().unwrap_or_default();
        let attrs: Vec<&str> = words.collect();
        let at = format!("{GUIDE}:{}", block.line);
        match lang {
            "json" if attrs == ["session"] => {
                data = serde_json::from_str(&block.text)
                    .unwrap_or_else(|e| panic!("{at}: the session block is not JSON: {e}"));
                taking_output = false;
            }
            "jinja" => {
                let mut only = None;
                let mut file = None;
                for attr in attrs {
                    match attr.split_once('=') {
                        None if ENGINES.contains(&attr) => only = Some(attr.to_owned()),
                        Some(("file", path)) => file = Some(path.to_owned()),
                        _ => panic!("{at}: unknown attribute `{attr}` on a jinja block"),
                    }
                }
                if let Some(last) = examples.last() {
                    assert!(
                        !last.expected.is_empty(),
                        "{GUIDE}:{}: a jinja block without an html block of output after it",
                        last.line
                    );
                }
                examples.push(Example {
                    line: block.line,
                    template: block.text,
                    data: data.clone(),
                    only,
                    file,
                    expected: Vec::new(),
                });
                taking_output = true;
            }
            "html" => {
                assert!(
                    taking_output,
                    "{at}: an html block must follow a jinja block (it is that block's output)"
                );
                let engine = match attrs.as_slice() {
                    [] => None,
                    [engine] if ENGINES.contains(engine) => Some((*engine).to_owned()),
                    _ => panic!("{at}: an html block takes `minijinja`, `tera` or nothing"),
                };
                let example = examples.last_mut().expect("taking output");
                example.expected.push((engine, block.text));
            }
            _ => taking_output = false,
        }
    }
    if let Some(last) = examples.last() {
        assert!(
            !last.expected.is_empty(),
            "{GUIDE}:{}: a jinja block without an html block of output after it",
            last.line
        );
    }
    examples
}

/// A fresh template directory: the project's `templates/helpers/` and `files`.
fn template_dir(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "session-views-template-guide-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let helpers = dir.join("helpers");
    std::fs::create_dir_all(&helpers).expect("mkdir");
    for entry in std::fs::read_dir(root().join("templates/helpers")).expect("templates/helpers") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), helpers.join(entry.file_name())).expect("copy a helper");
    }
    for (file, text) in files {
        std::fs::write(dir.join(file), text).expect("write a template");
    }
    dir
}

fn views(engine: &str, dir: &Path) -> Result<Views, session_views::TemplateLoadError> {
    match engine {
        "minijinja" => Views::minijinja_dir(dir),
        "tera" => Views::tera_dir(dir),
        other => panic!("no engine {other}"),
    }
}

/// A `json session` block of the guide.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionBlock {
    #[serde(default)]
    session: Map<String, Value>,
    #[serde(default)]
    flash: Map<String, Value>,
    /// What `Redirect::with_input` flashes.
    #[serde(default)]
    old_input: Option<Map<String, Value>>,
    /// What `Redirect::with_errors` flashes; an `ErrorBag` keeps the order
    /// the fields are written in, as it keeps the order they were added.
    #[serde(default)]
    errors: Option<ErrorBag>,
    #[serde(default)]
    context: Map<String, Value>,
}

/// Renders `example.html` with a session holding `data`; CSRF tokens are
/// checked against the request's secret and replaced by the placeholder.
async fn render(views: &Views, data: &SessionBlock) -> Result<String, ViewError> {
    let manager = SessionManager::builder().build().expect("manager");
    let sessions = manager.request(RequestContext::new());
    let session = sessions.session().await.expect("session");
    for (key, value) in &data.session {
        session.set(key, value).expect("set");
    }
    for (key, value) in &data.flash {
        session.flash(key, value).expect("flash");
    }
    if let Some(input) = &data.old_input {
        session
            .flash(OLD_INPUT_KEY, input)
            .expect("flash the old input");
    }
    if let Some(errors) = &data.errors {
        session.flash(ERRORS_KEY, errors).expect("flash the errors");
    }
    let html = views
        .render(&sessions, "example.html", &data.context)
        .await?;
    let secret = sessions.issued_csrf_cookie();
    Ok(replace_tokens(&html, |token| {
        assert!(
            csrf::verify(secret.as_ref().map(|c| c.value()), token),
            "a token in the output is not one of this request: {token}"
        );
    }))
}

/// `html` with each run of exactly [`TOKEN_LEN`] URL-safe base64 characters
/// (a CSRF token) passed to `check` and replaced by [`TOKEN_PLACEHOLDER`].
fn replace_tokens(html: &str, check: impl Fn(&str)) -> String {
    let is_token_char = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let mut out = String::with_capacity(html.len());
    let mut run_start = None;
    for (at, c) in html.char_indices().chain([(html.len(), ' ')]) {
        match (is_token_char(c), run_start) {
            (true, None) => run_start = Some(at),
            (true, Some(_)) => {}
            (false, start) => {
                if let Some(start) = start {
                    let run = &html[start..at];
                    if run.len() == TOKEN_LEN {
                        check(run);
                        out.push_str(TOKEN_PLACEHOLDER);
                    } else {
                        out.push_str(run);
                    }
                    run_start = None;
                }
                if at < html.len() {
                    out.push(c);
                }
            }
        }
    }
    out
}

#[tokio::test]
async fn every_template_example_renders_as_the_guide_shows() {
    let examples = examples(&guide());
    assert!(
        examples.len() >= 10,
        "found only {} examples",
        examples.len()
    );
    let mut failures = Vec::new();
    let mut rendered = 0;
    for engine in ENGINES {
        for example in &examples {
            let at = format!("{GUIDE}:{} ({engine})", example.line);
            if example.only.as_deref().is_some_and(|only| only != engine) {
                continue;
            }
            let dir = template_dir(
                &format!("{engine}-{}", example.line),
                &[("example.html", &example.template)],
            );
            let html = match views(engine, &dir) {
                Ok(views) => render(&views, &example.data)
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            std::fs::remove_dir_all(&dir).expect("clean up");
            let expected = example
                .expected
                .iter()
                .find(|(only, _)| only.as_deref() == Some(engine))
                .or_else(|| example.expected.iter().find(|(only, _)| only.is_none()))
                .map(|(_, text)| text);
            match (html, expected) {
                (Ok(html), Some(expected)) if html == *expected => rendered += 1,
                (Ok(html), Some(expected)) => failures.push(format!(
                    "{at}: rendered\n{html}\n--- but the guide shows\n{expected}"
                )),
                (Ok(html), None) => failures.push(format!(
                    "{at}: no output shown for {engine}; it renders\n{html}"
                )),
                (Err(e), _) => failures.push(format!("{at}: failed: {e}")),
            }
        }
    }
    println!("rendered {rendered} examples");
    assert!(failures.is_empty(), "\n\n{}", failures.join("\n\n"));
}

#[test]
fn blocks_that_show_a_file_show_it_as_it_is() {
    let mut shown = 0;
    for example in examples(&guide()) {
        if let Some(file) = &example.file {
            let path = root().join("templates").join(file);
            let text = std::fs::read_to_string(&path).expect("the file a block shows");
            assert_eq!(
                example.template, text,
                "{GUIDE}:{}: templates/{file}",
                example.line
            );
            shown += 1;
        }
    }
    assert!(shown >= 1);
}

// The guide's "Testing a template" example, shown there exactly as it is
// here (checked below).
// guide:start
#[tokio::test]
async fn the_dashboard_shows_the_welcome_message() {
    use session_views::{SessionManager, Views, integration::RequestContext};

    for views in [
        Views::minijinja_dir("templates").expect("templates compile"),
        Views::tera_dir("templates").expect("templates compile"),
    ] {
        let manager = SessionManager::builder().build().expect("manager");
        let sessions = manager.request(RequestContext::new());
        let session = sessions.session().await.expect("session");
        session
            .flash("success", "Welcome back, Ada!")
            .expect("flash");

        let context = serde_json::json!({"title": "Dashboard", "name": "Ada"});
        let html = views
            .render(&sessions, "demo/dashboard.html", context)
            .await
            .expect("renders");
        assert!(
            html.contains(
                r#"<div class="alert alert-success" role="alert">Welcome back, Ada!</div>"#
            ),
            "{}: {html}",
            views.engine_name()
        );
    }
}
// guide:end

#[test]
fn the_guide_shows_the_test_example_as_it_is_here() {
    let source = include_str!("template_guide.rs");
    let start = source.find("// guide:start\n").expect("start marker") + "// guide:start\n".len();
    let end = source.find("// guide:end").expect("end marker");
    let code = &source[start..end];
    let guide = guide();
    let shown: Vec<_> = blocks(&guide)
        .into_iter()
        .filter(|b| b.info == "rust")
        .map(|b| b.text)
        .collect();
    assert!(
        shown.iter().any(|text| text == code),
        "{GUIDE} has no rust block equal to the test between the guide markers in \
         tests/template_guide.rs:\n{code}"
    );
}
