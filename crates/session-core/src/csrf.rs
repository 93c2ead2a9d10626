//! Cross-site request forgery tokens: the synchronizer token that forms
//! carry as `_token` and scripts send as `X-CSRF-Token`.
//!
//! A browser gets one random secret of [`SECRET_BYTES`] bytes in a cookie
//! of its own ([`SessionManager::csrf_cookie_name`](crate::SessionManager::csrf_cookie_name),
//! `HttpOnly`, with the session cookie's `Secure`, `SameSite` and `Path`).
//! Keeping the secret out of the session means an anonymous page (the login
//! form) gets a token with every driver without a server-side session being
//! stored for each visitor. The secret is replaced when the request's session
//! is regenerated or invalidated (log in, log out), so a token from before
//! a login does not work after it.
//!
//! Pages never show the secret itself: each [`csrf_token`](crate::integration::RequestSessions::csrf_token)
//! is the secret XOR a fresh random mask, with the mask in front, so the
//! token differs on every render and a compression side channel (BREACH)
//! has no repeated secret to find. [`verify`] removes the mask and compares
//! in constant time.
//!
//! ```
//! use session_core::{SessionManager, csrf, integration::RequestContext};
//!
//! let manager = SessionManager::builder().build()?;
//! let sessions = manager.request(RequestContext::new());
//! let token = sessions.csrf_token();
//! assert_ne!(token, sessions.csrf_token(), "masked anew on every call");
//!
//! // The response carries the new secret in its cookie...
//! let secret = sessions.issued_csrf_cookie().expect("a new secret");
//! // ...which the browser sends back with the form.
//! assert!(csrf::verify(Some(secret.value()), &token));
//! assert!(!csrf::verify(None, &token));
//! assert!(!csrf::verify(Some(secret.value()), "forged"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use subtle::ConstantTimeEq;

/// The form field a token travels in (`csrf_field()` renders it).
pub const FIELD: &str = "_token";

/// The request header a token travels in, for scripts (`fetch`, htmx).
pub const HEADER: &str = "x-csrf-token";

/// The length of the secret in bytes (256 bits).
pub const SECRET_BYTES: usize = 32;

/// The cookie's name when it is `Secure` with `Path=/`: the `__Host-`
/// prefix makes browsers refuse the cookie from a sibling subdomain or a
/// plain-http page, which is how an attacker would plant a secret they know.
pub const HOST_COOKIE_NAME: &str = "__Host-csrf";

/// The cookie's name otherwise (plain-http development, another path).
pub const COOKIE_NAME: &str = "csrf";

/// One browser's secret.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret([u8; SECRET_BYTES]);

impl Secret {
    pub(crate) fn generate() -> Self {
        let mut bytes = [0; SECRET_BYTES];
        // The thread's CSPRNG (ChaCha, seeded and reseeded from the OS):
        // a page with a form makes a token per render, without a system
        // call each time.
        rand::thread_rng().fill_bytes(&mut bytes);
        Secret(bytes)
    }

    /// The secret in a cookie's value; `None` for anything that is not one.
    pub(crate) fn from_cookie(value: &str) -> Option<Self> {
        // Checked before decoding, so a huge cookie costs nothing.
        if value.len() != encoded_len(SECRET_BYTES) {
            return None;
        }
        let mut bytes = [0; SECRET_BYTES];
        let n = URL_SAFE_NO_PAD.decode_slice(value, &mut bytes).ok()?;
        (n == SECRET_BYTES).then_some(Secret(bytes))
    }

    pub(crate) fn cookie_value(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// A token for this secret, under a fresh mask.
    pub(crate) fn masked(&self) -> String {
        let mut token = [0; 2 * SECRET_BYTES];
        let (mask, masked) = token.split_at_mut(SECRET_BYTES);
        rand::thread_rng().fill_bytes(mask);
        for ((out, m), s) in masked.iter_mut().zip(mask.iter()).zip(self.0) {
            *out = m ^ s;
        }
        URL_SAFE_NO_PAD.encode(token)
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

const fn encoded_len(bytes: usize) -> usize {
    (bytes * 4).div_ceil(3)
}

/// Whether `token` (from a form's `_token` or an `X-CSRF-Token` header) was
/// made from the secret in `cookie` (the value of the browser's CSRF cookie,
/// `None` when it sent none). A missing cookie, a malformed cookie or token,
/// and a token of another secret all fail; the comparison of the secrets
/// takes the same time wherever they differ.
pub fn verify(cookie: Option<&str>, token: &str) -> bool {
    let Some(secret) = cookie.and_then(Secret::from_cookie) else {
        return false;
    };
    let token = token.trim();
    if token.len() != encoded_len(2 * SECRET_BYTES) {
        return false;
    }
    let mut bytes = [0; 2 * SECRET_BYTES];
    match URL_SAFE_NO_PAD.decode_slice(token, &mut bytes) {
        Ok(n) if n == bytes.len() => {}
        _ => return false,
    }
    let (mask, masked) = bytes.split_at(SECRET_BYTES);
    let mut unmasked = [0; SECRET_BYTES];
    for ((out, m), x) in unmasked.iter_mut().zip(mask).zip(masked) {
        *out = m ^ x;
    }
    bool::from(unmasked.ct_eq(&secret.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_verifies_against_its_own_secret_only() {
        let secret = Secret::generate();
        let cookie = secret.cookie_value();
        let token = secret.masked();
        assert_eq!(cookie.len(), 43);
        assert_eq!(token.len(), 86);
        assert!(verify(Some(&cookie), &token));
        assert!(verify(Some(&cookie), &format!(" {token}\n")));
        let other = Secret::generate().cookie_value();
        assert!(!verify(Some(&other), &token));
        assert!(!verify(None, &token));
    }

    #[test]
    fn masks_differ_per_token_and_never_show_the_secret() {
        let secret = Secret::generate();
        let cookie = secret.cookie_value();
        let (a, b) = (secret.masked(), secret.masked());
        assert_ne!(a, b);
        assert!(!a.contains(&cookie) && !b.contains(&cookie));
    }

    #[test]
    fn the_unmasked_secret_is_not_a_token() {
        let secret = Secret::generate();
        let cookie = secret.cookie_value();
        // A token of all-zero mask is the secret in the clear: still valid
        // (it is a correct masking), but the secret alone is not.
        assert!(!verify(Some(&cookie), &cookie));
        let mut zero_mask = vec![0u8; SECRET_BYTES];
        zero_mask.extend_from_slice(&secret.0);
        assert!(verify(Some(&cookie), &URL_SAFE_NO_PAD.encode(&zero_mask)));
    }

    #[test]
    fn malformed_cookies_and_tokens_fail_without_panicking() {
        let cookie = Secret::generate().cookie_value();
        for token in [
            "",
            "x",
            &"A".repeat(86),
            &"*".repeat(86),
            &"A".repeat(10_000),
        ] {
            let expect_valid = false;
            assert_eq!(verify(Some(&cookie), token), expect_valid, "{token:.20}");
        }
        for bad_cookie in ["", "short", &"*".repeat(43), &"A".repeat(44)] {
            let token = Secret::generate().masked();
            assert!(!verify(Some(bad_cookie), &token));
            assert!(Secret::from_cookie(bad_cookie).is_none());
        }
    }
}
