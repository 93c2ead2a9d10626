//! Tera 1 (the `tera1` feature): the thread-local binding and its errors.
#![cfg(feature = "tera1")]

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};

use common::flashed;
use session_tera::tera1::{self, Context, Tera};

fn tera_with(name: &str, source: &str) -> tera1::Result<Tera> {
    let mut tera = Tera::default();
    tera1::add_raw_template(&mut tera, name, source)?;
    Ok(tera)
}

/// Tera 1 wraps a function's error; the cause is in the source chain.
fn chain(err: &tera1::Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(err) = source {
        text.push_str(" / ");
        text.push_str(&err.to_string());
        source = err.source();
    }
    text
}

#[test]
fn a_render_without_a_session_says_so() {
    let tera = tera_with("page.html", "{{ session().has('x') }}").expect("loads");
    assert!(!tera1::is_bound());
    let err = tera
        .render("page.html", &Context::new())
        .expect_err("no session");
    let text = chain(&err);
    assert!(
        text.contains("session() was called but no session is bound to this render"),
        "{text}"
    );
    assert!(text.contains("session_tera::tera1::render"), "{text}");
}

#[tokio::test]
async fn the_binding_ends_with_the_render() {
    let session = flashed("success", "Saved").await;
    let tera = tera_with("page.html", "{{ session().get('success') }}").expect("loads");
    assert_eq!(
        tera1::render(&tera, "page.html", &Context::new(), &session).expect("renders"),
        "Saved"
    );
    assert!(!tera1::is_bound());
    assert!(
        tera.render("page.html", &Context::new()).is_err(),
        "no stale session"
    );
}

#[tokio::test]
async fn the_binding_is_restored_after_a_panic_in_a_render() {
    let outer = flashed("who", "outer").await;
    let inner = flashed("who", "inner").await;
    let mut tera = tera_with("page.html", "{{ session().get('who') }}{{ boom() }}").expect("loads");
    tera.register_function(
        "boom",
        |_: &std::collections::HashMap<String, tera1::Value>| -> tera1::Result<tera1::Value> {
            panic!("a function panicked mid-render")
        },
    );
    tera1::add_raw_template(&mut tera, "who.html", "{{ session().get('who') }}").expect("loads");

    let _outer = tera1::bind(&outer);
    let panicked = catch_unwind(AssertUnwindSafe(|| {
        tera1::render(&tera, "page.html", &Context::new(), &inner)
    }));
    assert!(panicked.is_err(), "the render panicked");
    // The outer binding is back, not the inner one and not nothing.
    assert_eq!(
        tera.render("who.html", &Context::new()).expect("renders"),
        "outer"
    );
    drop(_outer);
    assert!(!tera1::is_bound());

    // With nothing bound before, nothing is bound after.
    let panicked = catch_unwind(AssertUnwindSafe(|| {
        tera1::render(&tera, "page.html", &Context::new(), &inner)
    }));
    assert!(panicked.is_err());
    assert!(!tera1::is_bound());
}

#[tokio::test]
async fn nested_bindings_restore_in_order() {
    let a = flashed("who", "a").await;
    let b = flashed("who", "b").await;
    let tera = tera_with("who.html", "{{ session().get('who') }}").expect("loads");
    let render = || tera.render("who.html", &Context::new()).expect("renders");
    let guard_a = tera1::bind(&a);
    assert_eq!(render(), "a");
    {
        let _guard_b = tera1::bind(&b);
        assert_eq!(render(), "b");
        assert_eq!(
            tera1::render(&tera, "who.html", &Context::new(), &a).expect("renders"),
            "a"
        );
        assert_eq!(render(), "b");
    }
    assert_eq!(render(), "a");
    drop(guard_a);
    assert!(!tera1::is_bound());
}

#[tokio::test]
async fn other_threads_never_see_the_binding() {
    let session = flashed("who", "here").await;
    let tera =
        std::sync::Arc::new(tera_with("who.html", "{{ session().get('who') }}").expect("loads"));
    let _bound = tera1::bind(&session);
    let other = {
        let tera = tera.clone();
        std::thread::spawn(move || tera.render("who.html", &Context::new()).is_err())
    };
    assert!(
        other.join().expect("thread"),
        "the other thread had no session"
    );
    assert_eq!(
        tera.render("who.html", &Context::new()).expect("renders"),
        "here"
    );
}

#[test]
fn unknown_methods_fail_the_load_with_the_line() {
    let err = tera_with("bad.html", "a\n\n{{ session().nope() }}").expect_err("unknown method");
    let text = chain(&err);
    assert!(text.contains("template `bad.html`, line 3"), "{text}");
    assert!(text.contains("no method `nope`"), "{text}");
}

#[tokio::test]
async fn values_are_autoescaped_in_html_templates() {
    let session = flashed("danger", "<script>x</script>").await;
    let mut tera = Tera::default();
    tera1::add_raw_templates(
        &mut tera,
        [
            ("a.html", "{{ session().get('danger') }}"),
            ("a.txt", "{{ session().get('danger') }}"),
        ],
    )
    .expect("loads");
    assert_eq!(
        tera1::render(&tera, "a.html", &Context::new(), &session).expect("html"),
        "&lt;script&gt;x&lt;&#x2F;script&gt;"
    );
    assert_eq!(
        tera1::render(&tera, "a.txt", &Context::new(), &session).expect("txt"),
        "<script>x</script>"
    );
}
