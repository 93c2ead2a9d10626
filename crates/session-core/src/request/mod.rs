use std::net::IpAddr;

use cookie::Cookie;
use http::header::{COOKIE, HeaderName, SET_COOKIE};
use http::{HeaderMap, HeaderValue};

mod cookie_header;

use cookie_header::{Seen, is_named, split_cookies, text};

/// A constant name: looking up by `&str` would parse the name on every request.
static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// What a driver may read of an incoming request: its cookies and, for the
/// memory driver's opt-in IP keying, the client address.
///
/// This is the HTTP-free side of session-views: any framework that can hand
/// over a `Cookie` header (or an [`http::HeaderMap`]) can use the drivers.
///
/// Building one is cheap: the `Cookie` headers are kept as they arrived
/// (an [`HeaderValue`] clone shares the server's buffer) and a cookie is
/// found when a driver asks for it, so a request whose handler never uses a
/// session parses nothing.
///
/// # How a `Cookie` header is read
///
/// The same way [`Cookie::split_parse`] reads it, with
/// [`name_value`](Cookie::name_value):
///
/// - the header is split at every `;`; each piece is trimmed of whitespace;
/// - a piece is a cookie when it holds a `=` and a name before it: the name
///   is the text up to the first `=`, the value all that follows (it may
///   hold more `=`), both trimmed; other pieces (empty, `junk`, `=1`) are
///   skipped;
/// - values are taken as sent: no percent-decoding, and double quotes
///   around a value are kept (`a="1"` has the value `"1"`);
/// - of two cookies of one name the first wins, across several `Cookie`
///   headers in their order (browsers send the most specific path first);
/// - the header is read as bytes, not as text: a piece that is not UTF-8
///   (a Latin-1 `é`, stray bytes) is skipped on its own, and a piece that is
///   UTF-8 but not ASCII (`lang=français`) is read like any other. An
///   unrelated cookie, whatever its bytes, never hides the session's.
///
/// ```
/// use session_core::integration::RequestContext;
///
/// let ctx = RequestContext::from_cookie_header("a=1; b = 2 ;; junk; c=x=y; a=again");
/// assert_eq!(ctx.cookie("a"), Some("1"));
/// assert_eq!(ctx.cookie("b"), Some("2"));
/// assert_eq!(ctx.cookie("c"), Some("x=y"));
/// assert_eq!(ctx.cookie("junk"), None);
/// let all: Vec<_> = ctx.cookies().collect();
/// assert_eq!(all, [("a", "1"), ("b", "2"), ("c", "x=y")]);
/// ```
#[derive(Clone, Debug, Default)]
pub struct RequestContext {
    /// The first `Cookie` header (nearly every request has at most one) and
    /// any others, unparsed.
    cookie_header: Option<Raw>,
    more_cookie_headers: Vec<HeaderValue>,
    peer_ip: Option<IpAddr>,
    forwarded_for: Option<Raw>,
}

/// A header value as it arrived, or as text the integration handed over.
#[derive(Clone, Debug)]
enum Raw {
    Header(HeaderValue),
    Text(String),
}

impl Raw {
    /// The text, or `None` for a header value that is not visible ASCII.
    fn text(&self) -> Option<&str> {
        match self {
            Raw::Header(value) => value.to_str().ok(),
            Raw::Text(text) => Some(text),
        }
    }

    /// The bytes as they arrived.
    fn bytes(&self) -> &[u8] {
        match self {
            Raw::Header(value) => value.as_bytes(),
            Raw::Text(text) => text.as_bytes(),
        }
    }
}

impl RequestContext {
    /// No cookies, no address.
    pub fn new() -> Self {
        Self::default()
    }

    /// A request whose one `Cookie` header is `header` (read as described
    /// [above](Self#how-a-cookie-header-is-read)).
    pub fn from_cookie_header(header: &str) -> Self {
        RequestContext {
            cookie_header: Some(Raw::Text(header.to_owned())),
            ..Self::default()
        }
    }

    /// A request with every `Cookie` header of `headers`, in order, and its
    /// `X-Forwarded-For`. The values are kept, not parsed: they are read, as
    /// bytes, when a cookie is asked for.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let mut cookie_headers = headers.get_all(COOKIE).iter();
        let cookie_header = cookie_headers.next().cloned().map(Raw::Header);
        let more_cookie_headers = match cookie_headers.next() {
            Some(second) => std::iter::once(second)
                .chain(cookie_headers)
                .cloned()
                .collect(),
            None => Vec::new(),
        };
        RequestContext {
            cookie_header,
            more_cookie_headers,
            peer_ip: None,
            forwarded_for: headers.get(&X_FORWARDED_FOR).cloned().map(Raw::Header),
        }
    }

    /// Sets the address of the peer that connected (the TCP peer).
    pub fn with_peer_ip(mut self, ip: IpAddr) -> Self {
        self.peer_ip = Some(ip);
        self
    }

    /// Sets the `X-Forwarded-For` value, as sent.
    pub fn with_forwarded_for(mut self, value: impl Into<String>) -> Self {
        self.forwarded_for = Some(Raw::Text(value.into()));
        self
    }

    /// The value of the first cookie called `name`, found by reading the
    /// `Cookie` headers up to it. Only the names are looked at on the way:
    /// the one value returned is the only one checked to be text.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.pieces()
            .filter(|(raw_name, _)| is_named(raw_name, name))
            .find_map(|(_, raw_value)| text(raw_value))
    }

    /// The value of the cookie called `name` when the request carries
    /// exactly one: two of one name mean one was planted (by a sibling
    /// subdomain, say, with a longer `Path` so that it comes first), and a
    /// secret that must be the server's own trusts neither.
    pub fn sole_cookie(&self, name: &str) -> Option<&str> {
        let mut named = self
            .pieces()
            .filter(|(raw_name, _)| is_named(raw_name, name));
        let (_, value) = named.next()?;
        if named.next().is_some() {
            return None;
        }
        text(value)
    }

    /// Every cookie, as `(name, value)`, in the order sent; of two cookies
    /// of one name only the first.
    pub fn cookies(&self) -> impl Iterator<Item = (&str, &str)> {
        let mut seen = Seen::default();
        self.all_cookies().filter(move |(name, _)| seen.first(name))
    }

    /// Every cookie of every `Cookie` header, duplicates included.
    fn all_cookies(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pieces().filter_map(|(raw_name, raw_value)| {
            let name = text(raw_name).filter(|name| !name.is_empty())?;
            Some((name, text(raw_value)?))
        })
    }

    /// The raw `name=value` pieces of every `Cookie` header, in order.
    fn pieces(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        let more = self.more_cookie_headers.iter().map(HeaderValue::as_bytes);
        self.cookie_header
            .iter()
            .map(Raw::bytes)
            .chain(more)
            .flat_map(split_cookies)
    }

    /// The TCP peer's address, if the integration supplied it.
    pub fn peer_ip(&self) -> Option<IpAddr> {
        self.peer_ip
    }

    /// The client's address: the peer, or — only when the peer is one of
    /// `trusted_proxies` — the right-most address in `X-Forwarded-For` that
    /// is not itself a trusted proxy. A client can write anything into
    /// `X-Forwarded-For`, so only the entries added by proxies you run count.
    pub fn client_ip(&self, trusted_proxies: &[IpAddr]) -> Option<IpAddr> {
        let peer = self.peer_ip?;
        if !trusted_proxies.contains(&peer) {
            return Some(peer);
        }
        let mut client = peer;
        if let Some(header) = self.forwarded_for.as_ref().and_then(Raw::text) {
            for hop in header.rsplit(',') {
                match hop.trim().parse::<IpAddr>() {
                    Ok(ip) => {
                        client = ip;
                        if !trusted_proxies.contains(&ip) {
                            break;
                        }
                    }
                    Err(_) => break,
                }
            }
        }
        Some(client)
    }
}

/// Appends each cookie as a `Set-Cookie` header, keeping the headers already there.
pub fn append_set_cookies<'a>(
    headers: &mut HeaderMap,
    cookies: impl IntoIterator<Item = &'a Cookie<'static>>,
) {
    for cookie in cookies {
        // Names and values that drivers emit are cookie-safe tokens; a value
        // that is not a valid header is skipped rather than sent broken.
        if let Ok(value) =
            http::HeaderValue::try_from(crate::cookie_settings::set_cookie_string(cookie))
        {
            headers.append(SET_COOKIE, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ip_trusts_forwarded_for_only_from_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.1".parse().expect("ip");
        let client: IpAddr = "203.0.113.7".parse().expect("ip");
        let spoofed = "1.2.3.4, 203.0.113.7";
        let direct = RequestContext::new()
            .with_peer_ip(client)
            .with_forwarded_for("9.9.9.9");
        assert_eq!(direct.client_ip(&[proxy]), Some(client));
        let proxied = RequestContext::new()
            .with_peer_ip(proxy)
            .with_forwarded_for(spoofed);
        assert_eq!(proxied.client_ip(&[proxy]), Some(client));
        assert_eq!(proxied.client_ip(&[]), Some(proxy));
        assert_eq!(RequestContext::new().client_ip(&[]), None);

        let mut headers = HeaderMap::new();
        headers.insert(&X_FORWARDED_FOR, HeaderValue::from_static(spoofed));
        let from_headers = RequestContext::from_headers(&headers).with_peer_ip(proxy);
        assert_eq!(from_headers.client_ip(&[proxy]), Some(client));
        headers.insert(
            &X_FORWARDED_FOR,
            HeaderValue::from_bytes(b"203.0.113.7, \xff").expect("opaque bytes"),
        );
        let not_text = RequestContext::from_headers(&headers).with_peer_ip(proxy);
        assert_eq!(not_text.client_ip(&[proxy]), Some(proxy));
    }
}
