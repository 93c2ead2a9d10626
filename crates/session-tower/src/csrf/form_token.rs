//! Finding the `_token` field in the first bytes of a form body, for both
//! encodings a `<form>` can send. Only as much of the body is read as it
//! takes to reach the field (`csrf_field()` is usually the form's first),
//! so a large upload is not held in memory to find it.

use http::HeaderMap;
use http::header::CONTENT_TYPE;
use session_core::csrf::FIELD;

/// How the body is encoded, from its `Content-Type`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum FormKind {
    UrlEncoded,
    /// `multipart/form-data`, with the delimiter line `--boundary`.
    Multipart {
        delimiter: Vec<u8>,
    },
}

impl FormKind {
    /// The encoding of a form body, or `None` for anything a `<form>` does
    /// not send (JSON, say: scripts send the token in `X-CSRF-Token`).
    pub(crate) fn of(headers: &HeaderMap) -> Option<Self> {
        let content_type = headers.get(CONTENT_TYPE)?.to_str().ok()?;
        let mut params = content_type.split(';');
        let essence = params.next()?.trim();
        if essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Some(FormKind::UrlEncoded);
        }
        if !essence.eq_ignore_ascii_case("multipart/form-data") {
            return None;
        }
        let boundary = params.find_map(|param| {
            let (name, value) = param.split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("boundary")
                .then(|| value.trim().trim_matches('"'))
        })?;
        // RFC 2046: 1 to 70 characters.
        if boundary.is_empty() || boundary.len() > 70 {
            return None;
        }
        let mut delimiter = b"--".to_vec();
        delimiter.extend_from_slice(boundary.as_bytes());
        Some(FormKind::Multipart { delimiter })
    }
}

/// The search for `_token` in a body that arrives in pieces: each call looks
/// at what came since the last one, so a body sent a byte at a time costs no
/// more to search than one sent at once.
#[derive(Debug)]
pub(crate) struct TokenScan {
    kind: FormKind,
    /// How much of the body earlier calls saw.
    seen: usize,
    /// Where the first pair (url-encoded) or part (multipart) not yet
    /// looked at starts; for multipart, `None` until the first delimiter.
    next: Option<usize>,
}

impl TokenScan {
    pub(crate) fn new(kind: FormKind) -> Self {
        let next = match kind {
            FormKind::UrlEncoded => Some(0),
            FormKind::Multipart { .. } => None,
        };
        TokenScan {
            kind,
            seen: 0,
            next,
        }
    }

    /// The token, once `prefix` (all of the body so far) holds the whole
    /// field; `ended` says the prefix is the whole body. `Some(None)` means
    /// the field is known to be absent (the body ended without it).
    pub(crate) fn scan(&mut self, prefix: &[u8], ended: bool) -> Option<Option<String>> {
        let TokenScan { kind, seen, next } = self;
        let found = match kind {
            FormKind::UrlEncoded => url_encoded(next, *seen, prefix, ended),
            FormKind::Multipart { delimiter } => multipart(next, *seen, prefix, delimiter),
        };
        *seen = prefix.len();
        match found {
            Some(token) => Some(Some(token)),
            None if ended => Some(None),
            None => None,
        }
    }
}

/// The first `_token` among the url-encoded pairs completed since the last
/// call: followed by `&`, or the last one of a body that ended.
fn url_encoded(
    next: &mut Option<usize>,
    seen: usize,
    prefix: &[u8],
    ended: bool,
) -> Option<String> {
    let start = next.unwrap_or(0).min(prefix.len());
    let end = if ended {
        prefix.len()
    } else {
        // Only the new bytes can hold a new `&`.
        let from = seen.max(start);
        from + prefix[from..].iter().rposition(|&b| b == b'&')?
    };
    *next = Some((end + 1).min(prefix.len()));
    form_urlencoded::parse(&prefix[start..end])
        .find(|(name, _)| name == FIELD)
        .map(|(_, value)| value.into_owned())
}

/// The value of the first part named `_token` among the multipart parts
/// closed since the last call (their closing delimiter arrived).
fn multipart(
    next: &mut Option<usize>,
    seen: usize,
    prefix: &[u8],
    delimiter: &[u8],
) -> Option<String> {
    // A delimiter may straddle the previous call's end.
    let mut from = seen.saturating_sub(delimiter.len() - 1);
    if let Some(next) = *next {
        from = from.max(next);
    }
    while let Some(at) = find(&prefix[from..], delimiter) {
        let at = from + at;
        if let Some(start) = *next {
            if let Some(token) = token_part(&prefix[start..at]) {
                return Some(token);
            }
        }
        from = at + delimiter.len();
        *next = Some(from);
    }
    None
}

/// The value of a multipart part, if the part is the `_token` field.
fn token_part(part: &[u8]) -> Option<String> {
    let part = part.strip_prefix(b"\r\n")?;
    let end_of_headers = find(part, b"\r\n\r\n")?;
    let (headers, body) = (&part[..end_of_headers], &part[end_of_headers + 4..]);
    if !names_token(headers) {
        return None;
    }
    let value = body.strip_suffix(b"\r\n").unwrap_or(body);
    std::str::from_utf8(value).ok().map(str::to_owned)
}

/// Whether a part's headers hold `Content-Disposition: form-data; name="_token"`.
fn names_token(headers: &[u8]) -> bool {
    let Ok(headers) = std::str::from_utf8(headers) else {
        return false;
    };
    headers.split("\r\n").any(|line| {
        let Some((name, value)) = line.split_once(':') else {
            return false;
        };
        name.trim().eq_ignore_ascii_case("content-disposition")
            && value.split(';').skip(1).any(|param| {
                param.split_once('=').is_some_and(|(key, v)| {
                    key.trim().eq_ignore_ascii_case("name") && v.trim().trim_matches('"') == FIELD
                })
            })
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn kind(content_type: &str) -> Option<FormKind> {
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_str(content_type).expect("value"),
        );
        FormKind::of(&headers)
    }

    #[test]
    fn content_types() {
        assert_eq!(
            kind("application/x-www-form-urlencoded; charset=UTF-8"),
            Some(FormKind::UrlEncoded)
        );
        assert_eq!(
            kind("multipart/form-data; boundary=\"abc\""),
            Some(FormKind::Multipart {
                delimiter: b"--abc".to_vec()
            })
        );
        assert_eq!(kind("multipart/form-data"), None);
        assert_eq!(kind("application/json"), None);
        assert_eq!(kind("text/plain"), None);
    }

    /// Feeds `body` in pieces of `size` bytes; the answer once known.
    fn feed(kind: &FormKind, body: &[u8], size: usize) -> (Option<Option<String>>, usize) {
        let mut scan = TokenScan::new(kind.clone());
        let mut fed = 0;
        while fed < body.len() {
            fed = (fed + size).min(body.len());
            let ended = fed == body.len();
            if let Some(found) = scan.scan(&body[..fed], ended) {
                return (Some(found), fed);
            }
        }
        (None, fed)
    }

    #[test]
    fn url_encoded_needs_the_whole_pair() {
        let form = FormKind::UrlEncoded;
        let mut scan = TokenScan::new(form.clone());
        assert_eq!(scan.scan(b"_token=abc", false), None, "more may follow");
        assert_eq!(scan.scan(b"_token=abc", true), Some(Some("abc".into())));
        for size in [1, 2, 3, 7, 100] {
            let found = |body: &[u8]| feed(&form, body, size).0;
            assert_eq!(
                found(b"_token=abc&name=x"),
                Some(Some("abc".into())),
                "{size}"
            );
            assert_eq!(
                found(b"name=a%26b&%5Ftoken=t-1_"),
                Some(Some("t-1_".into()))
            );
            assert_eq!(found(b"name=x&note=_token%3Dforged"), Some(None));
            assert_eq!(
                found(b"a=1&_token=first&_token=second"),
                Some(Some("first".into()))
            );
        }
        // Found as soon as its pair closes, not at the end of the body.
        let (_, read) = feed(&form, b"_token=abc&rest=0123456789", 1);
        assert_eq!(read, 11);
    }

    #[test]
    fn multipart_finds_the_token_part() {
        let form = kind("multipart/form-data; boundary=XyZ").expect("multipart");
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"_token\"\r\n\r\ntok\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nname=\"_token\"\r\n--XyZ--\r\n";
        let closed = find(body, b"tok\r\n--XyZ").expect("in the body") + 10;
        for size in [1, 2, 5, 64, body.len()] {
            let (found, read) = feed(&form, body, size);
            assert_eq!(found, Some(Some("tok".into())), "{size}");
            assert!(
                read >= closed && read < closed + size,
                "{size}: read {read}"
            );
        }
        let without = b"--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nname=\"_token\"\r\n--XyZ--\r\n";
        for size in [1, 3, without.len()] {
            assert_eq!(feed(&form, without, size).0, Some(None), "{size}");
        }
    }

    /// A body trickled in one byte at a time is searched in linear time: a
    /// search that started over on every piece would take minutes here.
    #[test]
    fn a_trickled_body_is_searched_once() {
        let body = vec![b'x'; 1 << 20];
        for form in [
            FormKind::UrlEncoded,
            kind("multipart/form-data; boundary=b").expect("multipart"),
        ] {
            let started = std::time::Instant::now();
            let (found, _) = feed(&form, &body, 1);
            assert_eq!(found, Some(None));
            assert!(
                started.elapsed() < std::time::Duration::from_secs(20),
                "{form:?}"
            );
        }
    }
}
