//! Keeping responses that depend on a session out of shared caches.
//!
//! A page that shows the user's name or a flash, or a response that sets the
//! session cookie, must not be stored by a proxy or CDN and handed to the
//! next visitor. The layer marks the response of every request that loaded a
//! session (and only those: a stylesheet stays cacheable), as Rails and
//! Symfony do.

use http::header::{CACHE_CONTROL, Entry, VARY};
use http::{HeaderMap, HeaderValue};

/// Shared caches must not store it; the browser may, but asks the server
/// again before each use (the page changes when the session does).
const PRIVATE: HeaderValue = HeaderValue::from_static("private, no-cache");

/// The response depends on the request's cookies.
const COOKIE: HeaderValue = HeaderValue::from_static("Cookie");

/// Marks a response whose request used a session: `Cache-Control: private,
/// no-cache` unless the handler chose its own `Cache-Control` (kept as it
/// is), and `Cookie` added to `Vary` unless `Vary` already names it or is
/// `*` (the handler's `Vary` values are kept). Both values are static: no
/// allocation beyond the header map's own.
///
/// A response that carries a CSRF token or secret (`with_csrf_token`) is
/// private whatever the handler chose: a shared cache that kept it would
/// hand one browser's secret to every visitor. Only a `Cache-Control` that
/// already says `private` or `no-store` is kept then.
pub(crate) fn mark_private(headers: &mut HeaderMap, with_csrf_token: bool) {
    match headers.entry(CACHE_CONTROL) {
        Entry::Vacant(entry) => {
            entry.insert(PRIVATE);
        }
        Entry::Occupied(mut entry) => {
            if with_csrf_token && !entry.iter().any(keeps_out_of_shared_caches) {
                entry.insert(PRIVATE);
            }
        }
    }
    match headers.entry(VARY) {
        Entry::Vacant(entry) => {
            entry.insert(COOKIE);
        }
        Entry::Occupied(mut entry) => {
            if !entry.iter().any(varies_by_cookie) {
                entry.append(COOKIE);
            }
        }
    }
}

/// Whether one `Cache-Control` value keeps the response out of shared caches.
fn keeps_out_of_shared_caches(value: &HeaderValue) -> bool {
    value.as_bytes().split(|&b| b == b',').any(|directive| {
        let directive = directive.trim_ascii();
        directive.eq_ignore_ascii_case(b"private") || directive.eq_ignore_ascii_case(b"no-store")
    })
}

/// Whether one `Vary` value already covers the cookies: it lists `Cookie`
/// (field names are case-insensitive) or is `*`.
fn varies_by_cookie(value: &HeaderValue) -> bool {
    value.as_bytes().split(|&b| b == b',').any(|name| {
        let name = name.trim_ascii();
        name == b"*" || name.eq_ignore_ascii_case(b"cookie")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marked(
        cache_control: Option<&'static str>,
        vary: &[&'static str],
    ) -> (Vec<String>, Vec<String>) {
        marked_with(cache_control, vary, false)
    }

    fn marked_with(
        cache_control: Option<&'static str>,
        vary: &[&'static str],
        with_csrf_token: bool,
    ) -> (Vec<String>, Vec<String>) {
        let mut headers = HeaderMap::new();
        if let Some(value) = cache_control {
            headers.insert(CACHE_CONTROL, HeaderValue::from_static(value));
        }
        for value in vary {
            headers.append(VARY, HeaderValue::from_static(value));
        }
        mark_private(&mut headers, with_csrf_token);
        let all = |name| {
            headers
                .get_all(name)
                .iter()
                .map(|v| v.to_str().expect("ascii").to_owned())
                .collect()
        };
        (all(CACHE_CONTROL), all(VARY))
    }

    #[test]
    fn marks_private_and_adds_cookie_to_vary_once() {
        assert_eq!(
            marked(None, &[]),
            (vec!["private, no-cache".into()], vec!["Cookie".into()])
        );
        assert_eq!(
            marked(Some("no-store"), &["Accept-Encoding"]),
            (
                vec!["no-store".into()],
                vec!["Accept-Encoding".into(), "Cookie".into()]
            )
        );
        for covered in ["cookie", "Accept-Language ,COOKIE ", "*", "a, *"] {
            assert_eq!(marked(None, &["Origin", covered]).1.len(), 2, "{covered}");
        }
        for not_covered in ["Cookies", "Set-Cookie", "x-cookie"] {
            assert_eq!(marked(None, &[not_covered]).1.len(), 2, "{not_covered}");
        }
    }

    #[test]
    fn a_page_with_a_csrf_token_is_private_whatever_the_handler_said() {
        let cache_control = |value, token| marked_with(Some(value), &[], token).0;
        assert_eq!(
            cache_control("public, max-age=600", false),
            ["public, max-age=600"]
        );
        assert_eq!(
            cache_control("public, max-age=600", true),
            ["private, no-cache"]
        );
        assert_eq!(cache_control("max-age=60", true), ["private, no-cache"]);
        assert_eq!(
            cache_control("private, max-age=60", true),
            ["private, max-age=60"]
        );
        assert_eq!(cache_control("No-Store", true), ["No-Store"]);
    }
}
