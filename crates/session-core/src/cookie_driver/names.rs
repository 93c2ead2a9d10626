//! The names of the cookie driver's cookies: `s_<key>` for a session key,
//! `f_<key>` for a flash key, and `s!`/`f!` plus the key in base64url for a
//! key that is not a plain cookie-name token.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::driver::Bucket;

fn is_plain_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// An RFC 6265 cookie-name token: visible ASCII, no separators.
pub(crate) fn is_token(name: &str) -> bool {
    // A match rather than a search of the separator list: every cookie of
    // every request passes here.
    !name.is_empty()
        && name.bytes().all(|b| {
            b.is_ascii_graphic()
                && !matches!(
                    b,
                    b'(' | b')'
                        | b'<'
                        | b'>'
                        | b'@'
                        | b','
                        | b';'
                        | b':'
                        | b'\\'
                        | b'"'
                        | b'/'
                        | b'['
                        | b']'
                        | b'?'
                        | b'='
                        | b'{'
                        | b'}'
                )
        })
}

/// The cookie name for `key`: `s_key`/`f_key`, or `s!`/`f!` plus the key in
/// base64url when the key is not a plain token.
pub fn cookie_name(bucket: Bucket, key: &str) -> String {
    let prefix = match bucket {
        Bucket::Session => 's',
        Bucket::Flash => 'f',
    };
    let mut name = String::with_capacity(2 + key.len() * 4 / 3 + 3);
    name.push(prefix);
    if is_plain_key(key) {
        name.push('_');
        name.push_str(key);
    } else {
        name.push('!');
        URL_SAFE_NO_PAD.encode_string(key, &mut name);
    }
    name
}

/// The bucket and key a cookie name stands for, if it is one of this driver's.
/// `Err(())` for a name with our prefix that does not decode.
pub(super) fn parse_cookie_name(name: &str) -> Option<Result<(Bucket, Cow<'_, str>), ()>> {
    let bucket = match name.as_bytes().first()? {
        b's' => Bucket::Session,
        b'f' => Bucket::Flash,
        _ => return None,
    };
    let rest = &name[1..];
    if let Some(key) = rest.strip_prefix('_') {
        return Some(if is_plain_key(key) {
            Ok((bucket, Cow::Borrowed(key)))
        } else {
            Err(())
        });
    }
    let encoded = rest.strip_prefix('!')?;
    let key = URL_SAFE_NO_PAD
        .decode(encoded)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .filter(|key| !is_plain_key(key));
    Some(key.map(|key| (bucket, Cow::Owned(key))).ok_or(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_encode_keys_that_are_not_tokens() {
        for key in [
            "user",
            "a.b-c_d",
            "with space",
            "semi;colon",
            "eq=",
            "ünï",
            "",
            "s_x",
        ] {
            for bucket in [Bucket::Session, Bucket::Flash] {
                let name = cookie_name(bucket, key);
                assert!(
                    name.bytes()
                        .all(|b| b.is_ascii_graphic() && !b";,=\"\\".contains(&b)),
                    "{name:?} is not a cookie token"
                );
                assert_eq!(
                    parse_cookie_name(&name),
                    Some(Ok((bucket, Cow::Borrowed(key))))
                );
            }
        }
        assert_eq!(parse_cookie_name("session_id"), None);
        assert_eq!(parse_cookie_name("other"), None);
        assert_eq!(parse_cookie_name("s_bad%"), Some(Err(())));
        assert_eq!(parse_cookie_name("f!!!"), Some(Err(())));
        // a plain key smuggled through the encoded form is not a second name for it
        let smuggled = format!("s!{}", URL_SAFE_NO_PAD.encode("user"));
        assert_eq!(parse_cookie_name(&smuggled), Some(Err(())));
    }
}
