use std::net::IpAddr;
use std::ops::Range;

use cookie::Cookie;
use http::HeaderMap;
use http::header::{COOKIE, HeaderName, SET_COOKIE};

/// A constant name: looking up by `&str` would parse the name on every request.
static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// What a driver may read of an incoming request: its cookies and, for the
/// memory driver's opt-in IP keying, the client address.
///
/// This is the HTTP-free side of session-views: any framework that can hand
/// over a `Cookie` header (or an [`http::HeaderMap`]) can use the drivers.
///
/// ```
/// use session_core::RequestContext;
///
/// let ctx = RequestContext::from_cookie_header("a=1; b=2");
/// assert_eq!(ctx.cookie("b"), Some("2"));
/// ```
#[derive(Clone, Debug, Default)]
pub struct RequestContext {
    /// The cookie headers' text, and where each cookie's name and value sit
    /// in it: one allocation for all cookies instead of two per cookie.
    text: String,
    cookies: Vec<(Range<usize>, Range<usize>)>,
    peer_ip: Option<IpAddr>,
    forwarded_for: Option<String>,
}

impl RequestContext {
    /// No cookies, no address.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses one `Cookie` header value. Every cookie in it is kept; pieces
    /// that are not cookies are skipped. The first of two cookies of one name
    /// wins (browsers send the most specific path first).
    pub fn from_cookie_header(header: &str) -> Self {
        let mut ctx = Self::default();
        ctx.add_cookie_header(header);
        ctx
    }

    /// Parses every `Cookie` header of a request, and its `X-Forwarded-For`.
    /// A header that is not valid UTF-8 is skipped.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let mut ctx = Self::default();
        for value in headers.get_all(COOKIE) {
            if let Ok(text) = value.to_str() {
                ctx.add_cookie_header(text);
            }
        }
        ctx.forwarded_for = headers
            .get(&X_FORWARDED_FOR)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        ctx
    }

    fn add_cookie_header(&mut self, header: &str) {
        let base = self.text.len();
        // One allocation for the header and its separator.
        self.text.reserve(header.len() + 1);
        self.text.push_str(header);
        self.text.push(';');
        let text = &self.text[base..base + header.len()];
        for cookie in Cookie::split_parse(text).flatten() {
            let (name, value) = cookie.name_value();
            // Parsing borrows from `text`, so the pieces are sub-slices of it.
            let (Some(name_at), Some(value_at)) = (offset_in(text, name), offset_in(text, value))
            else {
                continue;
            };
            let name_range = base + name_at..base + name_at + name.len();
            let value_range = base + value_at..base + value_at + value.len();
            if self.cookie(name).is_none() {
                self.cookies.push((name_range, value_range));
            }
        }
    }

    /// Sets the address of the peer that connected (the TCP peer).
    pub fn with_peer_ip(mut self, ip: IpAddr) -> Self {
        self.peer_ip = Some(ip);
        self
    }

    /// Sets the `X-Forwarded-For` value, as sent.
    pub fn with_forwarded_for(mut self, value: impl Into<String>) -> Self {
        self.forwarded_for = Some(value.into());
        self
    }

    /// The value of the cookie `name`.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// Every cookie, as `(name, value)`.
    pub fn cookies(&self) -> impl Iterator<Item = (&str, &str)> {
        self.cookies
            .iter()
            .map(|(n, v)| (&self.text[n.clone()], &self.text[v.clone()]))
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
        if let Some(header) = &self.forwarded_for {
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

/// Where `part` (a sub-slice of `whole`) starts in `whole`.
fn offset_in(whole: &str, part: &str) -> Option<usize> {
    let offset = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    (offset + part.len() <= whole.len()).then_some(offset)
}

/// Appends each cookie as a `Set-Cookie` header, keeping the headers already there.
pub fn append_set_cookies<'a>(
    headers: &mut HeaderMap,
    cookies: impl IntoIterator<Item = &'a Cookie<'static>>,
) {
    for cookie in cookies {
        // Names and values that drivers emit are cookie-safe tokens; a value
        // that is not a valid header is skipped rather than sent broken.
        if let Ok(value) = http::HeaderValue::try_from(cookie.to_string()) {
            headers.append(SET_COOKIE, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn parses_every_cookie_of_every_header() {
        let mut headers = HeaderMap::new();
        headers.append(COOKIE, HeaderValue::from_static("a=1; b=2;; junk; c="));
        headers.append(COOKIE, HeaderValue::from_static("d=4; a=ignored"));
        headers.append(
            COOKIE,
            HeaderValue::from_bytes(b"e=\xff").expect("opaque bytes"),
        );
        let ctx = RequestContext::from_headers(&headers);
        let names: Vec<_> = ctx.cookies().map(|(n, v)| format!("{n}={v}")).collect();
        assert_eq!(names, ["a=1", "b=2", "c=", "d=4"]);
    }

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
    }
}
