//! The session-views demo server: `cargo run --example app`, then open
//! <http://127.0.0.1:8000>.
//!
//! Environment: `PORT` (8000), `SESSION_DRIVER` (memory | cookie | redis |
//! postgres), `TEMPLATE_ENGINE` (minijinja | tera), `SESSION_SECRET` (cookie
//! driver; a development default is used, with a warning, when unset),
//! `REDIS_URL`, `DATABASE_URL` (postgres),
//! `TEMPLATES_AUTO_RELOAD` (`1` re-reads templates when they change; by
//! default they are compiled once at start-up).

pub mod demo;

use std::sync::Arc;

use tokio::net::TcpListener;

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let (config, default_secret) = demo::config_from_env()?;
    if default_secret {
        eprintln!(
            "warning: SESSION_SECRET is not set; the cookie driver uses the demo's development secret. \
             Never deploy this: set SESSION_SECRET to the output of `openssl rand -base64 48`."
        );
    }
    let engine = std::env::var("TEMPLATE_ENGINE").unwrap_or_else(|_| "minijinja".to_owned());
    let views = demo::views(&engine)?;
    let manager = demo::manager(&config).await?;
    let port: u16 = match std::env::var("PORT") {
        Ok(port) => port
            .parse()
            .map_err(|_| format!("PORT={port:?} is not a port number"))?,
        Err(_) => 8000,
    };
    let listener = TcpListener::bind(("127.0.0.1", port)).await.map_err(|e| {
        format!("cannot listen on 127.0.0.1:{port}: {e} (set PORT to use another port)")
    })?;
    println!(
        "session-views demo on http://127.0.0.1:{port} (driver: {}, engine: {engine}); Ctrl-C stops it",
        config.driver()
    );
    let demo = Arc::new(demo::Demo { manager, views });
    demo::serve(listener, demo, async {
        let _ = tokio::signal::ctrl_c().await;
        println!("shutting down");
    })
    .await;
    Ok(())
}
