//! Renders `templates/index.html` (which includes `helpers/messages.html`)
//! with MiniJinja and with Tera 2 for one session holding a flash message,
//! outside any HTTP server: `cargo run --example render`.

use std::error::Error;

use session_core::{SessionManager, integration::RequestContext};

const TEMPLATES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    let manager = SessionManager::builder().build()?;
    let sessions = manager.request(RequestContext::new());
    let session = sessions.session().await?;
    session.set("user", serde_json::json!({"name": "Ada"}))?;
    session.flash("success", "Welcome back, Ada!")?;

    // MiniJinja: register session(), keep the trailing newline as Tera does.
    let mut env = minijinja::Environment::new();
    session_minijinja::add_to_environment(&mut env);
    env.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .keep_trailing_newline(true)
            .build()?,
    );
    env.set_loader(minijinja::path_loader(TEMPLATES));
    let from_minijinja = session_minijinja::render(
        &env.get_template("index.html")?,
        minijinja::context! { title => "Home" },
        &session,
    )?;

    // Tera 2: the loader rewrites session().has(x) to session(has=x).
    let tera = session_tera::new(TEMPLATES)?;
    let mut context = tera::Context::new();
    context.insert("title", "Home");
    let from_tera = session_tera::render(&tera, "index.html", &context, &session)?;

    println!("--- MiniJinja\n{from_minijinja}--- Tera 2\n{from_tera}---");
    println!(
        "byte-identical: {}",
        if from_minijinja == from_tera {
            "yes"
        } else {
            "no"
        }
    );
    Ok(())
}
