//! `csrf_token()` and `csrf_field()`, for both Tera versions: the token of
//! the bound session's request, and the hidden input that carries it.

use session_core::Session;
use session_core::csrf::FIELD;

use crate::binding;
use crate::call::no_session;

/// A fresh token for the request of the bound session (see
/// [`Session::csrf_token`]), or the message of why there is none.
pub(crate) fn token(function: &str, hint: &str) -> Result<String, String> {
    binding::with_bound(Session::csrf_token)
        .ok_or_else(|| no_session(function, hint))?
        .ok_or_else(|| {
            format!(
                "{function}() was called after the request of the bound session ended: a CSRF \
                 token is made from its request's secret, so render while the request is \
                 handled (its RequestSessions still alive)"
            )
        })
}

/// `<input type="hidden" name="_token" value="TOKEN">`, the token escaped
/// like any attribute value (a token is URL-safe base64, so that changes
/// nothing today, but the markup does not depend on it).
pub(crate) fn field(token: &str) -> String {
    const OPEN: &str = "<input type=\"hidden\" name=\"";
    const VALUE: &str = "\" value=\"";
    const CLOSE: &str = "\">";
    let mut html =
        Vec::with_capacity(OPEN.len() + FIELD.len() + VALUE.len() + token.len() + CLOSE.len());
    html.extend_from_slice(OPEN.as_bytes());
    html.extend_from_slice(FIELD.as_bytes());
    html.extend_from_slice(VALUE.as_bytes());
    tera::escape_html(token, &mut html).expect("writing to a Vec cannot fail");
    html.extend_from_slice(CLOSE.as_bytes());
    String::from_utf8(html).expect("escaped UTF-8 is UTF-8")
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_field_escapes_its_value() {
        assert_eq!(
            super::field("a\"b<"),
            "<input type=\"hidden\" name=\"_token\" value=\"a&quot;b&lt;\">"
        );
    }
}
