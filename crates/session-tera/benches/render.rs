//! The project page rendered with the `session()` helper vs. the same page
//! rendered from the same data passed as plain context variables, in Tera 2
//! (and Tera 1 with the `tera1` feature); and the rewrite's load-time cost.
// `criterion_group!` generates a function without docs.
#![allow(missing_docs)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use session_core::serde_json::json;
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
    let session = empty_session();
    session.set("user", json!({"name": "Ada"})).expect("set");
    session.flash("success", "Saved!").expect("flash");
    session
}

fn empty_session() -> Session {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let manager = SessionManager::builder().build().expect("manager");
        manager
            .request(RequestContext::new())
            .session()
            .await
            .expect("session")
    })
}

fn tera2(c: &mut Criterion) {
    let session = session();
    let mut helper = tera::Tera::new();
    session_tera::add_raw_templates(
        &mut helper,
        [("helpers/messages.html", MESSAGES), ("index.html", INDEX)],
    )
    .expect("templates");
    let mut plain_tera = tera::Tera::new();
    plain_tera
        .add_raw_templates([
            ("helpers/messages.html", plain(MESSAGES)),
            ("index.html", plain(INDEX)),
        ])
        .expect("templates");

    let plain_context = |session: &Session| {
        let mut context = tera::Context::new();
        context.insert("title", "Home");
        context.insert("user", &session.get("user"));
        context.insert("success", &session.get("success"));
        context
    };
    let mut base = tera::Context::new();
    base.insert("title", "Home");
    assert_eq!(
        session_tera::render(&helper, "index.html", &base, &session).expect("renders"),
        plain_tera
            .render("index.html", &plain_context(&session))
            .expect("renders"),
        "both pages are the same"
    );

    let mut group = c.benchmark_group("tera2_page");
    group.bench_function("helper", |b| {
        b.iter(|| {
            let mut context = tera::Context::new();
            context.insert("title", "Home");
            let _bound = session_tera::bind(&session);
            helper.render("index.html", &context)
        })
    });
    group.bench_function("helper_via_render", |b| {
        b.iter(|| session_tera::render(&helper, "index.html", &base, &session))
    });
    group.bench_function("plain", |b| {
        b.iter(|| plain_tera.render("index.html", &plain_context(&session)))
    });
    // No data at all: every `has` misses and takes the second branch.
    let empty = empty_session();
    assert_eq!(
        session_tera::render(&helper, "index.html", &base, &empty).expect("renders"),
        plain_tera
            .render("index.html", &plain_context(&empty))
            .expect("renders"),
    );
    group.bench_function("helper_empty_session", |b| {
        b.iter(|| session_tera::render(&helper, "index.html", &base, &empty))
    });
    group.bench_function("plain_empty_session", |b| {
        b.iter(|| plain_tera.render("index.html", &plain_context(&empty)))
    });
    group.finish();
}

#[cfg(feature = "tera1")]
fn tera1(c: &mut Criterion) {
    use session_tera::tera1::{self, Context, Tera};
    let session = session();
    let mut helper = Tera::default();
    tera1::add_raw_templates(
        &mut helper,
        [("helpers/messages.html", MESSAGES), ("index.html", INDEX)],
    )
    .expect("templates");
    let mut plain_tera = Tera::default();
    plain_tera
        .add_raw_templates([
            ("helpers/messages.html", plain(MESSAGES)),
            ("index.html", plain(INDEX)),
        ])
        .expect("templates");
    let plain_context = |session: &Session| {
        let mut context = Context::new();
        context.insert("title", "Home");
        context.insert("user", &session.get("user"));
        context.insert("success", &session.get("success"));
        context
    };
    let mut base = Context::new();
    base.insert("title", "Home");

    let mut group = c.benchmark_group("tera1_page");
    group.bench_function("helper", |b| {
        b.iter(|| {
            let mut context = Context::new();
            context.insert("title", "Home");
            tera1::render(&helper, "index.html", &context, &session)
        })
    });
    group.bench_function("plain", |b| {
        b.iter(|| plain_tera.render("index.html", &plain_context(&session)))
    });
    group.finish();
}

#[cfg(not(feature = "tera1"))]
fn tera1(_: &mut Criterion) {}

/// The rewrites on their own, per byte of template: a template full of helper
/// calls, and the same size of template with none (the common case).
fn rewrite(c: &mut Criterion) {
    let with_calls = MESSAGES.repeat(16 * 1024 / MESSAGES.len() + 1);
    let without = plain(MESSAGES).repeat(16 * 1024 / MESSAGES.len() + 1);
    // No `session` word at all: the scan is skipped.
    let mut group = c.benchmark_group("rewrite");
    group.throughput(Throughput::Bytes(with_calls.len() as u64));
    group.bench_function("with_calls_16k", |b| {
        b.iter(|| session_tera::rewrite(&with_calls).expect("rewrites").len())
    });
    group.bench_function("tera2_with_calls_16k", |b| {
        b.iter(|| {
            session_tera::rewrite_tera2(&with_calls)
                .expect("rewrites")
                .len()
        })
    });
    group.throughput(Throughput::Bytes(without.len() as u64));
    group.bench_function("no_calls_16k", |b| {
        b.iter(|| session_tera::rewrite(&without).expect("rewrites").len())
    });
    // What a load costs next to Tera's own parse of the same source.
    group.throughput(Throughput::Bytes(with_calls.len() as u64));
    group.bench_function("tera2_parse_16k", |b| {
        let rewritten = session_tera::rewrite_tera2(&with_calls)
            .expect("rewrites")
            .into_owned();
        b.iter(|| {
            let mut tera = tera::Tera::new();
            session_tera::add_to_tera(&mut tera);
            tera.add_raw_template("big.html", &rewritten)
        })
    });
    group.finish();
}

criterion_group!(benches, tera2, tera1, rewrite);
criterion_main!(benches);
