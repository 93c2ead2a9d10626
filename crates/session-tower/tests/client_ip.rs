//! The peer address the layer hands the drivers (for the memory driver's
//! opt-in client-IP keying): a `SocketAddr` extension, as a hyper server
//! inserts it, or axum's `ConnectInfo<SocketAddr>` (feature `axum`).

use std::net::SocketAddr;

use http::{Request, Response, StatusCode};
use session_core::{MemoryDriver, SessionError, SessionManager};
use session_tower::{SessionLayer, sessions};
use tower::{ServiceBuilder, ServiceExt, service_fn};

/// Counts the visits of whoever the driver says the request is.
async fn visits(req: Request<String>) -> Result<Response<String>, SessionError> {
    let session = sessions(&req).session().await?;
    let visits = session.get_as::<u64>("visits")?.unwrap_or(0) + 1;
    session.set("visits", visits)?;
    Ok(Response::new(visits.to_string()))
}

/// Sends one request per address to one IP-keyed app, each request carrying
/// its address as `extension` makes it, and returns the answers.
async fn visit_from(
    addresses: &[&str],
    extension: impl Fn(&mut http::Extensions, SocketAddr),
) -> Vec<(StatusCode, String)> {
    let manager = SessionManager::builder()
        .driver(
            "memory",
            MemoryDriver::builder().key_by_client_ip(Vec::new()).build(),
        )
        .build()
        .expect("manager");
    let app = ServiceBuilder::new()
        .layer(SessionLayer::new(manager))
        .service(service_fn(visits));
    let mut answers = Vec::new();
    for address in addresses {
        let mut req = Request::get("/").body(String::new()).expect("request");
        extension(req.extensions_mut(), address.parse().expect("address"));
        // The handler's error is what axum's `SessionRejection` answers 503.
        answers.push(match app.clone().oneshot(req).await {
            Ok(res) => (res.status(), res.into_body()),
            Err(err) => (StatusCode::SERVICE_UNAVAILABLE, err.to_string()),
        });
    }
    answers
}

fn ok(body: &str) -> (StatusCode, String) {
    (StatusCode::OK, body.to_owned())
}

const ADDRESSES: [&str; 4] = [
    "203.0.113.7:50000",
    "203.0.113.7:50001",
    "198.51.100.2:40000",
    "203.0.113.7:50002",
];

#[tokio::test]
async fn a_bare_socket_addr_keys_the_session() {
    let answers = visit_from(&ADDRESSES, |ext, addr| {
        ext.insert(addr);
    })
    .await;
    assert_eq!(answers, [ok("1"), ok("2"), ok("1"), ok("3")]);
}

#[cfg(feature = "axum")]
#[tokio::test]
async fn axums_connect_info_keys_the_session() {
    let answers = visit_from(&ADDRESSES, |ext, addr| {
        ext.insert(axum::extract::ConnectInfo(addr));
    })
    .await;
    assert_eq!(answers, [ok("1"), ok("2"), ok("1"), ok("3")]);
}
