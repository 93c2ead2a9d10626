//! Reading a `Cookie` header as the cookie crate's `Cookie::split_parse`
//! does, without allocating and as bytes: pieces are cut at `=` and `;`
//! found eight bytes at a time, and a piece that is not UTF-8 is skipped on
//! its own, so that an unrelated cookie, whatever its bytes, never hides
//! the others.

use std::collections::HashSet;

/// The raw `(name, value)` pieces of one `Cookie` header, untrimmed, in
/// order and with duplicates: every `;`-separated piece that holds a `=`.
/// [`text`] reads each half as the cookie crate would.
#[inline]
pub(super) fn split_cookies(header: &[u8]) -> Pieces<'_> {
    Pieces { rest: header }
}

/// The iterator of [`split_cookies`]: each piece is read once, to its first
/// `=` and then to its `;`. Both are ASCII, so in UTF-8 text every cut falls
/// on a character boundary, and a piece is UTF-8 exactly when its name and
/// value are.
pub(super) struct Pieces<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Pieces<'a> {
    type Item = (&'a [u8], &'a [u8]);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        while !self.rest.is_empty() {
            let bytes = self.rest;
            let (end, eq) = match find(bytes, b'=', b';') {
                Some(eq) if bytes[eq] == b'=' => {
                    let value = &bytes[eq + 1..];
                    let value_len = find(value, b';', b';').unwrap_or(value.len());
                    (eq + 1 + value_len, Some(eq))
                }
                Some(semicolon) => (semicolon, None),
                None => (bytes.len(), None),
            };
            let (piece, rest) = bytes.split_at(end);
            self.rest = rest.get(1..).unwrap_or_default();
            if let Some(eq) = eq {
                return Some((&piece[..eq], &piece[eq + 1..]));
            }
        }
        None
    }
}

/// A name or value as the cookie crate reads it: the text, trimmed; `None`
/// when the bytes are not UTF-8 (the piece is skipped).
#[inline]
pub(super) fn text(bytes: &[u8]) -> Option<&str> {
    std::str::from_utf8(bytes).ok().map(trim)
}

/// Whether the raw name of a piece reads as `name` (no cookie's name is
/// empty). A name with plain ASCII ends needs no trimming, so it is compared
/// as bytes without checking that it is UTF-8 (equal to a `&str`, it is);
/// only other names are decoded.
#[inline]
pub(super) fn is_named(raw: &[u8], name: &str) -> bool {
    if name.is_empty() {
        return false;
    }
    match (raw.first(), raw.last()) {
        (Some(&first), Some(&last)) if is_plain(first) && is_plain(last) => raw == name.as_bytes(),
        _ => text(raw) == Some(name),
    }
}

/// A byte that [`str::trim`] never trims from an end: visible ASCII.
#[inline]
fn is_plain(byte: u8) -> bool {
    (b'!'..0x80).contains(&byte)
}

/// Where the first `a` or `b` is in `bytes`, testing eight bytes at a time:
/// a cookie value is tens to hundreds of bytes, and every lookup of a cookie
/// walks the values before it.
#[inline]
fn find(bytes: &[u8], a: u8, b: u8) -> Option<usize> {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const HIGH: u64 = u64::from_le_bytes([0x80; 8]);
    /// High bit set in each byte of `word` that is zero; exact for the
    /// lowest zero byte, which is the one used.
    fn zero_bytes(word: u64) -> u64 {
        word.wrapping_sub(ONES) & !word & HIGH
    }
    let (a_word, b_word) = (ONES * u64::from(a), ONES * u64::from(b));
    let mut chunks = bytes.chunks_exact(8);
    for (n, chunk) in (&mut chunks).enumerate() {
        let word = u64::from_le_bytes(chunk.try_into().expect("chunks of eight bytes"));
        let hits = zero_bytes(word ^ a_word) | zero_bytes(word ^ b_word);
        if hits != 0 {
            return Some(n * 8 + hits.trailing_zeros() as usize / 8);
        }
    }
    let done = bytes.len() - chunks.remainder().len();
    chunks
        .remainder()
        .iter()
        .position(|&c| c == a || c == b)
        .map(|i| done + i)
}

/// [`str::trim`], which the cookie crate uses, without decoding characters
/// when the ends are plain ASCII (every ASCII whitespace is at most `' '`).
#[inline]
fn trim(s: &str) -> &str {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(&first), Some(&last)) if is_plain(first) && is_plain(last) => s,
        _ => s.trim(),
    }
}

/// The names [`RequestContext::cookies`] has listed: a list while there are
/// few (no hashing, one small allocation), a set beyond that, so that a
/// header of thousands of cookies costs linear time, not quadratic.
#[derive(Default)]
pub(super) struct Seen<'a> {
    few: Vec<&'a str>,
    many: Option<HashSet<&'a str>>,
}

impl<'a> Seen<'a> {
    const FEW: usize = 16;

    /// True the first time `name` is seen.
    pub(super) fn first(&mut self, name: &'a str) -> bool {
        if self.few.len() < Self::FEW {
            if self.few.contains(&name) {
                return false;
            }
            self.few.push(name);
            return true;
        }
        !self.few.contains(&name) && self.many.get_or_insert_with(HashSet::new).insert(name)
    }
}

#[cfg(test)]
mod tests {
    use cookie::Cookie;
    use http::header::COOKIE;
    use http::{HeaderMap, HeaderValue};
    use proptest::prelude::*;

    use super::*;
    use crate::integration::RequestContext;

    /// The reference reading: of every `Cookie` header, the `;`-separated
    /// pieces that are UTF-8, parsed up front by the cookie crate, the first
    /// cookie of a name kept. (A header that is UTF-8 as a whole is given to
    /// the cookie crate exactly as it came.)
    fn eager(headers: &[HeaderValue]) -> Vec<(String, String)> {
        let mut cookies: Vec<(String, String)> = Vec::new();
        for header in headers {
            let text: Vec<&str> = header
                .as_bytes()
                .split(|&b| b == b';')
                .filter_map(|piece| std::str::from_utf8(piece).ok())
                .collect();
            for cookie in Cookie::split_parse(text.join(";")).flatten() {
                let (name, value) = cookie.name_value();
                if !cookies.iter().any(|(seen, _)| seen == name) {
                    cookies.push((name.to_owned(), value.to_owned()));
                }
            }
        }
        cookies
    }

    /// Checks `ctx` against [`eager`]: `cookies()` lists the same pairs in
    /// the same order, and `cookie(name)` finds each of them, for every name
    /// that any piece of the headers might suggest.
    fn assert_reads_like_eager(ctx: &RequestContext, expected: &[(String, String)], raw: &[&str]) {
        let listed: Vec<(String, String)> = ctx
            .cookies()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect();
        assert_eq!(listed, expected, "cookies() of {raw:?}");
        for (name, value) in expected {
            assert_eq!(
                ctx.cookie(name),
                Some(value.as_str()),
                "{name:?} in {raw:?}"
            );
        }
        let candidates = raw
            .iter()
            .flat_map(|h| h.split([';', '=']))
            .flat_map(|piece| [piece, piece.trim()]);
        for name in candidates.chain(["", "absent"]) {
            let expected = expected
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str());
            assert_eq!(ctx.cookie(name), expected, "{name:?} in {raw:?}");
        }
    }

    fn check_headers(raw: &[&[u8]]) {
        let values: Vec<HeaderValue> = raw
            .iter()
            .filter_map(|b| HeaderValue::from_bytes(b).ok())
            .collect();
        let mut headers = HeaderMap::new();
        for value in &values {
            headers.append(COOKIE, value.clone());
        }
        let text: Vec<String> = raw
            .iter()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect();
        let text: Vec<&str> = text.iter().map(String::as_str).collect();
        assert_reads_like_eager(
            &RequestContext::from_headers(&headers),
            &eager(&values),
            &text,
        );
    }

    fn check_text(header: &str) {
        let expected: Vec<(String, String)> = {
            let mut cookies: Vec<(String, String)> = Vec::new();
            for cookie in Cookie::split_parse(header).flatten() {
                let (name, value) = cookie.name_value();
                if !cookies.iter().any(|(seen, _)| seen == name) {
                    cookies.push((name.to_owned(), value.to_owned()));
                }
            }
            cookies
        };
        let ctx = RequestContext::from_cookie_header(header);
        assert_reads_like_eager(&ctx, &expected, &[header]);
    }

    #[test]
    fn reads_tricky_headers_as_the_cookie_crate_does() {
        let headers: &[&[&[u8]]] = &[
            &[],
            &[b""],
            &[b";;"],
            &[b" ; \t ;"],
            &[b"a=1"],
            &[b"  a=1  "],
            &[b"a = 1 ; b= 2;c =3"],
            &[b"a=\"1\"; b=\"; c=\"\"; d=\" x \" ; e=\"\"\""],
            &[b"a=b=c; ==; =x; x=; y"],
            &[b"a=1;;b=2;  ;c=3; "],
            &[b";a=1 ;  ; b= "],
            &[b"junk; a=1; junk2=; =; ==; \t =a"],
            &[b"a=1; b=2", b"a=3; c=4", b"b=5; d=6"],
            &[b"a=1", b"", b"b=2"],
            &[b"\ta=1\t;\tb\t=\t2"],
            &[b"a=\xff; b=1", b"b=2; c=3"],
            &[b"c=0", b"a=\xe9t\xe9", b"a=1"],
            &[b"session_id=abc; lang=fran\xc3\xa7ais"],
            &[b"lang=fran\xc3\xa7ais; session_id=abc"],
            &[b"session_id=abc; theme=caf\xe9; x=\x80"],
            &[b"\xff\xfe=1; a=\xc3; \xc3\xa9=\xc3\xa9; session_id=abc"],
            &[b"\xc2\xa0a\xc2\xa0=\xe3\x80\x80x; b=1"],
            &[b"a=1%20x; b=%ZZ"],
            &[b"session_id=0123456789abcdef0123456789abcdef; s_user=eyJh; f_success=AAAA"],
        ];
        for raw in headers {
            check_headers(raw);
        }
        for text in [
            "",
            "a=1; b=2; a=3",
            "\u{a0}a=1\u{a0}; \u{3000}b = 2\u{2003}",
            "caf\u{e9}=cr\u{e8}me; \u{1f36a}=yes",
            "a=\"quoted value\"; b=\"",
            "\u{a0};\u{a0}=\u{a0};x",
        ] {
            check_text(text);
        }
    }

    #[test]
    fn many_cookies_of_one_name_are_listed_once() {
        let header: String = (0..2000).map(|i| format!("c{}={i}; ", i % 40)).collect();
        let ctx = RequestContext::from_cookie_header(&header);
        let listed: Vec<_> = ctx.cookies().collect();
        assert_eq!(listed.len(), 40);
        assert_eq!(listed[0], ("c0", "0"));
        assert_eq!(listed[39], ("c39", "39"));
        assert_eq!(ctx.cookie("c17"), Some("17"));
        check_text(&header);
    }

    #[test]
    fn a_clone_reads_the_same() {
        let mut headers = HeaderMap::new();
        headers.append(COOKIE, HeaderValue::from_static("a=1"));
        headers.append(COOKIE, HeaderValue::from_static("b=2; a=3"));
        let ctx = RequestContext::from_headers(&headers).clone();
        assert_eq!(ctx.cookies().collect::<Vec<_>>(), [("a", "1"), ("b", "2")]);
        assert_eq!(RequestContext::default().cookies().count(), 0);
        assert_eq!(RequestContext::new().cookie("a"), None);
    }

    /// Bytes that make cookie headers interesting: separators, quotes,
    /// whitespace (Unicode's too), UTF-8 that is not ASCII, and bytes that
    /// are not UTF-8 at all.
    fn header_bytes() -> impl Strategy<Value = Vec<u8>> {
        let chunk = prop_oneof![
            4 => prop::sample::select(b"ab=; \t\"".to_vec()).prop_map(|b| vec![b]),
            1 => prop::sample::select(b"c%,\x7f\x01".to_vec()).prop_map(|b| vec![b]),
            2 => prop::sample::select(vec!["\u{e7}", "\u{e9}", "\u{a0}", "\u{3000}", "\u{1f36a}"])
                .prop_map(|c| c.as_bytes().to_vec()),
            1 => (0x80u8..=0xff).prop_map(|b| vec![b]),
        ];
        prop::collection::vec(chunk, 0..40).prop_map(|chunks| chunks.concat())
    }

    proptest! {
        #[test]
        fn lazy_reading_agrees_with_the_cookie_crate(
            raw in prop::collection::vec(header_bytes(), 0..4),
        ) {
            let raw: Vec<&[u8]> = raw.iter().map(Vec::as_slice).collect();
            check_headers(&raw);
        }

        #[test]
        fn find_agrees_with_a_byte_loop(
            bytes in prop::collection::vec(prop::sample::select(b"ab=;\x80\xff".to_vec()), 0..40),
            skip in 0usize..8,
        ) {
            let bytes = &bytes[skip.min(bytes.len())..];
            let expected = bytes.iter().position(|&c| c == b'=' || c == b';');
            prop_assert_eq!(find(bytes, b'=', b';'), expected);
            prop_assert_eq!(find(bytes, b';', b';'), bytes.iter().position(|&c| c == b';'));
        }

        #[test]
        fn lazy_reading_of_text_agrees_with_the_cookie_crate(
            header in "[ab=; \t\"\u{a0}\u{3000}\u{e9}]{0,48}",
        ) {
            check_text(&header);
        }
    }

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
}
