//! The first line: what the browser says about where a request comes from.
//!
//! `Sec-Fetch-Site` first (every current browser sends it), then `Origin`
//! against the request's own host, the order Go's `CrossOriginProtection`
//! uses. A request with neither header is not from a browser (curl, another
//! server): no browser leaves both out of a cross-site form post.

use http::header::{HOST, ORIGIN};
use http::{HeaderMap, HeaderName, Uri};

use super::CsrfError;

static SEC_FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");

/// Which cross-origin requests a deployment accepts.
#[derive(Clone, Debug, Default)]
pub(crate) struct OriginPolicy {
    /// Origins (`https://admin.example.com`), lower-case, without a trailing `/`.
    pub(crate) trusted: Vec<String>,
    /// Whether `Sec-Fetch-Site: same-site` (a sibling subdomain) passes.
    pub(crate) allow_same_site: bool,
}

/// What the headers say about a request with an unsafe method.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// A browser, on a page of this site (or of a trusted origin).
    Browser,
    /// No browser headers at all: curl, a server, a very old browser.
    NotBrowser,
    /// A browser, on a page of another site.
    Refused(CsrfError),
}

impl OriginPolicy {
    pub(crate) fn judge(&self, headers: &HeaderMap, uri: &Uri) -> Verdict {
        let mut origins = headers.get_all(ORIGIN).iter();
        let origin = origins.next();
        if origins.next().is_some() {
            return Verdict::Refused(CsrfError::CrossOrigin);
        }
        if let Some(origin) = origin {
            if self.trusts(origin.as_bytes()) {
                return Verdict::Browser;
            }
        }
        if let Some(site) = headers.get(&SEC_FETCH_SITE) {
            return match site.as_bytes() {
                b"same-origin" | b"none" => Verdict::Browser,
                b"same-site" if self.allow_same_site => Verdict::Browser,
                b"same-site" => Verdict::Refused(CsrfError::SameSite),
                // `cross-site`, and any value a future browser might send.
                _ => Verdict::Refused(CsrfError::CrossSite),
            };
        }
        let Some(origin) = origin else {
            return Verdict::NotBrowser;
        };
        if origin.as_bytes() == b"null" {
            return Verdict::Refused(CsrfError::NullOrigin);
        }
        match (origin_host(origin.as_bytes()), own_host(headers, uri)) {
            (Some(from), Some(own)) if from.eq_ignore_ascii_case(own) => Verdict::Browser,
            _ => Verdict::Refused(CsrfError::CrossOrigin),
        }
    }

    fn trusts(&self, origin: &[u8]) -> bool {
        self.trusted
            .iter()
            .any(|trusted| trusted.as_bytes().eq_ignore_ascii_case(origin))
    }
}

/// `host[:port]` of an `Origin` value (`scheme://host[:port]`), if it is one.
fn origin_host(origin: &[u8]) -> Option<&[u8]> {
    let text = std::str::from_utf8(origin).ok()?;
    let (scheme, host) = text.split_once("://")?;
    let valid = !scheme.is_empty() && !host.is_empty() && !host.contains(['/', '?', '#', '@', ' ']);
    valid.then_some(host.as_bytes())
}

/// The host the request was sent to: `Host`, or the URI's authority (HTTP/2).
fn own_host<'a>(headers: &'a HeaderMap, uri: &'a Uri) -> Option<&'a [u8]> {
    match headers.get(HOST) {
        Some(host) => Some(host.as_bytes()),
        None => uri.authority().map(|a| a.as_str().as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn judge(policy: &OriginPolicy, pairs: &[(&str, &str)]) -> Verdict {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(
                HeaderName::from_bytes(name.as_bytes()).expect("name"),
                HeaderValue::from_str(value).expect("value"),
            );
        }
        policy.judge(&headers, &Uri::from_static("/login"))
    }

    #[test]
    fn fetch_metadata_decides_first() {
        let policy = OriginPolicy::default();
        let host = ("host", "app.example");
        for site in ["same-origin", "none"] {
            assert_eq!(
                judge(&policy, &[host, ("sec-fetch-site", site)]),
                Verdict::Browser
            );
        }
        let cross = [
            host,
            ("sec-fetch-site", "cross-site"),
            ("origin", "http://app.example"),
        ];
        assert_eq!(
            judge(&policy, &cross),
            Verdict::Refused(CsrfError::CrossSite)
        );
        let sibling = [host, ("sec-fetch-site", "same-site")];
        assert_eq!(
            judge(&policy, &sibling),
            Verdict::Refused(CsrfError::SameSite)
        );
        let lenient = OriginPolicy {
            allow_same_site: true,
            ..OriginPolicy::default()
        };
        assert_eq!(judge(&lenient, &sibling), Verdict::Browser);
        let odd = [host, ("sec-fetch-site", "whatever")];
        assert_eq!(judge(&policy, &odd), Verdict::Refused(CsrfError::CrossSite));
    }

    #[test]
    fn origin_decides_when_fetch_metadata_is_missing() {
        let policy = OriginPolicy::default();
        let host = ("host", "app.example:8080");
        assert_eq!(judge(&policy, &[host]), Verdict::NotBrowser);
        assert_eq!(judge(&policy, &[]), Verdict::NotBrowser);
        assert_eq!(
            judge(&policy, &[host, ("origin", "http://APP.example:8080")]),
            Verdict::Browser
        );
        for bad in [
            "http://evil.example",
            "http://app.example",
            "http://app.example:8080.evil.example",
            "app.example:8080",
            "http://user@app.example:8080",
        ] {
            assert_eq!(
                judge(&policy, &[host, ("origin", bad)]),
                Verdict::Refused(CsrfError::CrossOrigin),
                "{bad}"
            );
        }
        assert_eq!(
            judge(&policy, &[host, ("origin", "null")]),
            Verdict::Refused(CsrfError::NullOrigin)
        );
        let twice = [
            host,
            ("origin", "http://app.example:8080"),
            ("origin", "http://evil.example"),
        ];
        assert_eq!(
            judge(&policy, &twice),
            Verdict::Refused(CsrfError::CrossOrigin)
        );
        // No Host to compare with: refused, not guessed.
        assert_eq!(
            judge(&policy, &[("origin", "http://app.example:8080")]),
            Verdict::Refused(CsrfError::CrossOrigin)
        );
    }

    #[test]
    fn trusted_origins_pass_even_cross_site() {
        let policy = OriginPolicy {
            trusted: vec!["https://admin.example".to_owned()],
            ..OriginPolicy::default()
        };
        let from_admin = [
            ("host", "app.example"),
            ("sec-fetch-site", "cross-site"),
            ("origin", "https://Admin.example"),
        ];
        assert_eq!(judge(&policy, &from_admin), Verdict::Browser);
        let from_http = [
            ("host", "app.example"),
            ("sec-fetch-site", "cross-site"),
            ("origin", "http://admin.example"),
        ];
        assert_eq!(
            judge(&policy, &from_http),
            Verdict::Refused(CsrfError::CrossSite)
        );
    }
}
