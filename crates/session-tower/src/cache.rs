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
pub(crate) fn mark_private(headers: &mut HeaderMap) {
    if let Entry::Vacant(entry) = headers.entry(CACHE_CONTROL) {
        entry.insert(PRIVATE);
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
        let mut headers = HeaderMap::new();
        if let Some(value) = cache_control {
            headers.insert(CACHE_CONTROL, HeaderValue::from_static(value));
        }
        for value in vary {
            headers.append(VARY, HeaderValue::from_static(value));
        }
        mark_private(&mut headers);
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
}
