//! Shared caches and sessions: a response whose request read or wrote a
//! session is marked private and varies by `Cookie`; any other response is
//! left as the handler made it.

use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use session_core::{SessionError, SessionManager};
use session_tower::{Redirect, SessionLayer, sessions};
use tower::{ServiceBuilder, ServiceExt, service_fn};

async fn app(req: Request<String>) -> Result<Response<String>, SessionError> {
    let mut res = Response::new(String::new());
    match req.uri().path() {
        "/asset.css" => {
            res.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000"),
            );
            res.headers_mut()
                .insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
        }
        "/plain" => {}
        "/read" => {
            let user = sessions(&req).session().await?.get("user");
            *res.body_mut() = format!("{user:?}");
        }
        "/write" => sessions(&req).session().await?.set("user", "ada")?,
        "/flash" => {
            return Ok(Redirect::see_other("/")
                .flash("success", "Saved!")
                .into_response());
        }
        "/own-cache-control" => {
            sessions(&req).session().await?.get("user");
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        "/vary" => {
            sessions(&req).session().await?.get("user");
            res.headers_mut()
                .insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
        }
        "/vary-cookie" => {
            sessions(&req).session().await?.get("user");
            res.headers_mut().insert(
                header::VARY,
                HeaderValue::from_static("accept-language, COOKIE"),
            );
        }
        "/vary-star" => {
            sessions(&req).session().await?.get("user");
            res.headers_mut()
                .insert(header::VARY, HeaderValue::from_static("*"));
        }
        "/missing" => {
            sessions(&req).session().await?.get("user");
            *res.status_mut() = StatusCode::NOT_FOUND;
        }
        _ => *res.status_mut() = StatusCode::NOT_FOUND,
    }
    Ok(res)
}

async fn send(method: Method, path: &str) -> Response<String> {
    let manager = SessionManager::builder().build().expect("manager");
    ServiceBuilder::new()
        .layer(SessionLayer::new(manager))
        .service(service_fn(app))
        .oneshot(
            Request::builder()
                .method(method)
                .uri(path)
                .body(String::new())
                .expect("request"),
        )
        .await
        .expect("response")
}

fn all(res: &Response<String>, name: header::HeaderName) -> Vec<&str> {
    res.headers()
        .get_all(name)
        .iter()
        .map(|v| v.to_str().expect("ascii"))
        .collect()
}

#[tokio::test]
async fn a_response_that_used_a_session_is_private_and_varies_by_cookie() {
    for (method, path, status) in [
        (Method::GET, "/read", StatusCode::OK),
        (Method::HEAD, "/read", StatusCode::OK),
        (Method::POST, "/write", StatusCode::OK),
        (Method::POST, "/flash", StatusCode::SEE_OTHER),
        (Method::GET, "/missing", StatusCode::NOT_FOUND),
    ] {
        let res = send(method.clone(), path).await;
        assert_eq!(res.status(), status, "{method} {path}");
        assert_eq!(
            all(&res, header::CACHE_CONTROL),
            ["private, no-cache"],
            "{method} {path}"
        );
        assert_eq!(all(&res, header::VARY), ["Cookie"], "{method} {path}");
    }
}

#[tokio::test]
async fn the_handlers_own_cache_control_and_vary_are_kept() {
    let res = send(Method::GET, "/own-cache-control").await;
    assert_eq!(all(&res, header::CACHE_CONTROL), ["no-store"]);
    assert_eq!(all(&res, header::VARY), ["Cookie"]);

    let res = send(Method::GET, "/vary").await;
    assert_eq!(all(&res, header::CACHE_CONTROL), ["private, no-cache"]);
    assert_eq!(
        all(&res, header::VARY),
        ["Accept-Encoding", "Cookie"],
        "appended, not replaced"
    );

    for path in ["/vary-cookie", "/vary-star"] {
        let res = send(Method::GET, path).await;
        assert_eq!(all(&res, header::VARY).len(), 1, "{path}: already covered");
    }
}

#[tokio::test]
async fn a_response_that_never_used_a_session_is_untouched() {
    let res = send(Method::GET, "/asset.css").await;
    assert_eq!(
        all(&res, header::CACHE_CONTROL),
        ["public, max-age=31536000"]
    );
    assert_eq!(all(&res, header::VARY), ["Accept-Encoding"]);
    for path in ["/plain", "/nowhere"] {
        let res = send(Method::GET, path).await;
        assert!(res.headers().get(header::CACHE_CONTROL).is_none(), "{path}");
        assert!(res.headers().get(header::VARY).is_none(), "{path}");
    }
}
