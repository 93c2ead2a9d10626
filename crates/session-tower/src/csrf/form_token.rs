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

    /// The token, once `prefix` holds the whole field; `ended` says the
    /// prefix is the whole body. `Some(None)` means the field is known to be
    /// absent (the body ended without it).
    pub(crate) fn find(&self, prefix: &[u8], ended: bool) -> Option<Option<String>> {
        let found = match self {
            FormKind::UrlEncoded => url_encoded(prefix, ended),
            FormKind::Multipart { delimiter } => multipart(prefix, delimiter),
        };
        match found {
            Some(token) => Some(Some(token)),
            None if ended => Some(None),
            None => None,
        }
    }
}

/// The first `_token` among the pairs that are complete: followed by `&`,
/// or the last one of a body that ended.
fn url_encoded(prefix: &[u8], ended: bool) -> Option<String> {
    let complete = if ended {
        prefix
    } else {
        let last_amp = prefix.iter().rposition(|&b| b == b'&')?;
        &prefix[..last_amp]
    };
    form_urlencoded::parse(complete)
        .find(|(name, _)| name == FIELD)
        .map(|(_, value)| value.into_owned())
}

/// The value of the first part named `_token` that is complete (its closing
/// delimiter is in the prefix).
fn multipart(prefix: &[u8], delimiter: &[u8]) -> Option<String> {
    let mut parts = split(prefix, delimiter);
    // Whatever comes before the first delimiter is a preamble.
    parts.next()?;
    let mut parts = parts.peekable();
    while let Some(part) = parts.next() {
        // The last piece has no closing delimiter yet (or is the epilogue).
        parts.peek()?;
        let part = part.strip_prefix(b"\r\n")?;
        let Some(end_of_headers) = find(part, b"\r\n\r\n") else {
            continue;
        };
        let (headers, body) = (&part[..end_of_headers], &part[end_of_headers + 4..]);
        if names_token(headers) {
            let value = body.strip_suffix(b"\r\n").unwrap_or(body);
            return std::str::from_utf8(value).ok().map(str::to_owned);
        }
    }
    None
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

/// `haystack` cut at each occurrence of `delimiter` (the delimiters dropped).
fn split<'a>(haystack: &'a [u8], delimiter: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
    let mut rest = Some(haystack);
    std::iter::from_fn(move || {
        let current = rest?;
        match find(current, delimiter) {
            Some(at) => {
                rest = Some(&current[at + delimiter.len()..]);
                Some(&current[..at])
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
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

    #[test]
    fn url_encoded_needs_the_whole_pair() {
        let form = FormKind::UrlEncoded;
        assert_eq!(form.find(b"_token=abc", false), None, "more may follow");
        assert_eq!(form.find(b"_token=abc", true), Some(Some("abc".into())));
        assert_eq!(
            form.find(b"_token=abc&name=x", false),
            Some(Some("abc".into()))
        );
        assert_eq!(
            form.find(b"name=a%26b&%5Ftoken=t-1_", true),
            Some(Some("t-1_".into()))
        );
        assert_eq!(form.find(b"name=x&note=_token%3Dforged", true), Some(None));
        assert_eq!(form.find(b"name=x&", false), None);
    }

    #[test]
    fn multipart_finds_the_token_part() {
        let form = kind("multipart/form-data; boundary=XyZ").expect("multipart");
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"_token\"\r\n\r\ntok\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nname=\"_token\"\r\n--XyZ--\r\n";
        assert_eq!(form.find(body, true), Some(Some("tok".into())));
        // Found as soon as the part is closed, before the rest arrives.
        let closed = find(body, b"tok\r\n--XyZ").expect("in the body") + 10;
        let head = &body[..closed];
        assert_eq!(form.find(head, false), Some(Some("tok".into())));
        assert_eq!(form.find(&body[..40], false), None);
        let without = b"--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nname=\"_token\"\r\n--XyZ--\r\n";
        assert_eq!(form.find(without, true), Some(None));
    }
}
