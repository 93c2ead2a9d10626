//! Another site for the browser tests: a page on a second loopback address
//! (127.0.0.2, a different site from 127.0.0.1 to a browser) whose form
//! posts itself to the demo as soon as it loads, the classic cross-site
//! request forgery.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The attacker's server; it serves until the runtime stops.
#[derive(Debug)]
pub struct Attacker {
    addr: SocketAddr,
}

impl Attacker {
    /// Serves pages that post to `target` (the demo's `http://host:port`).
    pub async fn start(target: &str) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.2:0").await?;
        let addr = listener.local_addr()?;
        let target = target.to_owned();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let target = target.clone();
                tokio::spawn(async move {
                    let mut request = vec![0; 4096];
                    let Ok(n) = stream.read(&mut request).await else {
                        return;
                    };
                    let head = String::from_utf8_lossy(&request[..n]);
                    // `GET /post/login HTTP/1.1` posts to the demo's `/login`.
                    let path = head
                        .split_whitespace()
                        .nth(1)
                        .and_then(|p| p.strip_prefix("/post"))
                        .unwrap_or("/");
                    let page = auto_submitting_form(&format!("{target}{path}"));
                    let response = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\
                         Content-Length: {}\r\nConnection: close\r\n\r\n{page}",
                        page.len()
                    );
                    let _ = stream.write_all(response.as_bytes()).await;
                });
            }
        });
        Ok(Attacker { addr })
    }

    /// The page that posts to the demo's `path` when it loads.
    pub fn page_posting_to(&self, path: &str) -> String {
        format!("http://{}/post{path}", self.addr)
    }
}

/// Every field the demo's forms read, with the attacker's values.
fn auto_submitting_form(action: &str) -> String {
    format!(
        r#"<!doctype html><title>Win a prize</title>
<form id="f" method="post" action="{action}">
<input name="name" value="Mallory"><input name="level" value="danger">
<input name="message" value="Mallory was here: visit evil.example">
</form>
<script>document.getElementById("f").submit()</script>"#
    )
}
