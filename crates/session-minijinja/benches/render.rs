//! The project page rendered with the `session()` helper vs. the same page
//! rendered from the same data passed as plain context variables.
// `criterion_group!` generates a function without docs.
#![allow(missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use minijinja::{Environment, context};
use session_core::serde_json::{Value, json};
use session_core::{Session, SessionManager, integration::RequestContext};

const MESSAGES: &str = include_str!("../../../templates/helpers/messages.html");
const INDEX: &str = include_str!("../../../templates/index.html");

/// The helper templates with each `session().has/get('k')` replaced by `k`.
fn plain(source: &str) -> String {
    let mut out = source.to_owned();
    for key in ["success", "warning", "danger", "user"] {
        out = out
            .replace(&format!("session().has('{key}')"), key)
            .replace(&format!("session().get('{key}')"), key);
    }
    assert!(!out.contains("session()"), "{out}");
    out
}

fn session() -> Session {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let manager = SessionManager::builder().build().expect("manager");
        let session = manager
            .request(RequestContext::new())
            .session()
            .await
            .expect("session");
        session.set("user", json!({"name": "Ada"})).expect("set");
        session.flash("success", "Saved!").expect("flash");
        session
    })
}

fn bench(c: &mut Criterion) {
    let session = session();
    let mut helper = Environment::new();
    session_minijinja::add_to_environment(&mut helper);
    helper
        .add_template("helpers/messages.html", MESSAGES)
        .expect("template");
    helper.add_template("index.html", INDEX).expect("template");

    let mut plain_env = Environment::new();
    plain_env
        .add_template_owned("helpers/messages.html", plain(MESSAGES))
        .expect("template");
    plain_env
        .add_template_owned("index.html", plain(INDEX))
        .expect("template");

    // The plain render gets the session's values as variables, converted per
    // render as a handler would.
    let user: Value = session.get("user").expect("user");
    let success: Value = session.get("success").expect("success");
    let template = helper.get_template("index.html").expect("template");
    let plain_template = plain_env.get_template("index.html").expect("template");
    let with_helper = session_minijinja::render(&template, context! { title => "Home" }, &session)
        .expect("renders");
    let without = plain_template
        .render(context! { title => "Home", user => minijinja::value::Serde(&user), success => minijinja::value::Serde(&success) })
        .expect("renders");
    assert_eq!(with_helper, without, "both pages are the same");

    let mut group = c.benchmark_group("minijinja_page");
    group.bench_function("helper", |b| {
        b.iter(|| session_minijinja::render(&template, context! { title => "Home" }, &session))
    });
    group.bench_function("plain", |b| {
        b.iter(|| {
            let user = session.get("user");
            let success = session.get("success");
            plain_template.render(context! {
                title => "Home",
                user => minijinja::value::Serde(&user),
                success => minijinja::value::Serde(&success),
            })
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
