//! Renders `templates/index.html` (which includes `helpers/messages.html`)
//! with MiniJinja and with Tera 2 for one session holding a flash message,
//! outside any HTTP server: `cargo run --example render`.

use std::error::Error;

use session_core::{SessionManager, integration::RequestContext};
use session_views::Views;

const TEMPLATES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    // Every template under templates/ is read and compiled here, once: a
    // syntax error stops the program now, with the template's name and line.
    // MiniJinja keeps the final newline, as Tera does; Tera's loader rewrites
    // session().has(x) to session(has=x).
    let minijinja = Views::minijinja_dir(TEMPLATES)?;
    let tera = Views::tera_dir(TEMPLATES)?;

    let manager = SessionManager::builder().build()?;
    let sessions = manager.request(RequestContext::new());
    let session = sessions.session().await?;
    session.set("user", serde_json::json!({"name": "Ada"}))?;
    session.flash("success", "Welcome back, Ada!")?;

    let context = serde_json::json!({"title": "Home"});
    let from_minijinja = minijinja.render(&sessions, "index.html", &context).await?;
    let from_tera = tera.render(&sessions, "index.html", &context).await?;

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
