//! Is a secret fit to derive the cookie driver's key from?
//!
//! Its length is checked, and then whether it is plainly not random. Entropy
//! cannot be measured from one sample, so the checks look only for what a
//! person types instead of generating a secret: few different bytes, one
//! byte many times in a row, a short pattern repeated. Each of them is
//! astronomically unlikely in the output of a random generator, even a
//! hexadecimal one (16 symbols), so real secrets pass.

use super::MIN_SECRET_BYTES;
use crate::ConfigError;

/// Fewer different bytes than this is a typed secret ("passwordpassword…"):
/// 32 random hexadecimal digits show fewer about once in 28 million, 64 of
/// them or any base64 or raw secret practically never.
const MIN_DISTINCT_BYTES: usize = 8;

/// One byte this many times in a row ("secret!!!!!!!!…", padding) is typed:
/// 64 random hexadecimal digits hold such a run about once in five million.
const MAX_RUN: usize = 8;

/// Checks `secret` (named `which` in the error): at least
/// [`MIN_SECRET_BYTES`] long and not plainly made up by hand.
pub(super) fn check_secret(which: &str, secret: &[u8]) -> Result<(), ConfigError> {
    if secret.len() < MIN_SECRET_BYTES {
        return Err(ConfigError::SecretTooShort {
            which: which.to_owned(),
            len: secret.len(),
        });
    }
    match weakness(secret) {
        Some(reason) => Err(ConfigError::WeakSecret {
            which: which.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

/// What gives a secret away as not random, if anything. The reason names
/// counts and lengths, never the secret's bytes.
fn weakness(secret: &[u8]) -> Option<String> {
    let mut seen = [false; 256];
    for &b in secret {
        seen[usize::from(b)] = true;
    }
    let distinct = seen.iter().filter(|s| **s).count();
    if distinct < MIN_DISTINCT_BYTES {
        return Some(format!(
            "uses only {distinct} different byte{}",
            if distinct == 1 { "" } else { "s" }
        ));
    }
    let run = longest_run(secret);
    if run >= MAX_RUN {
        return Some(format!("repeats one character {run} times in a row"));
    }
    let period = smallest_period(secret);
    if period <= secret.len() / 2 {
        return Some(format!("repeats a pattern of {period} bytes"));
    }
    None
}

fn longest_run(bytes: &[u8]) -> usize {
    bytes
        .chunk_by(|a, b| a == b)
        .map(<[u8]>::len)
        .max()
        .unwrap_or(0)
}

/// The smallest `p` with `bytes[i] == bytes[i + p]` throughout (the length
/// for a text with no repetition), from the KMP prefix function: linear, so
/// a secret read from a large file costs no more than reading it.
fn smallest_period(bytes: &[u8]) -> usize {
    let mut border = vec![0usize; bytes.len()];
    for i in 1..bytes.len() {
        let mut k = border[i - 1];
        while k > 0 && bytes[i] != bytes[k] {
            k = border[k - 1];
        }
        if bytes[i] == bytes[k] {
            k += 1;
        }
        border[i] = k;
    }
    bytes.len() - border.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(secret: &str) -> Option<String> {
        match check_secret("SESSION_SECRET", secret.as_bytes()) {
            Err(ConfigError::WeakSecret { reason, .. }) => Some(reason),
            Err(other) => panic!("{other}"),
            Ok(()) => None,
        }
    }

    #[test]
    fn plainly_typed_secrets_are_refused_saying_why_and_how_to_make_one() {
        for (secret, why) in [
            ("A".repeat(32), "uses only 1 different byte"),
            ("passwordpasswordpasswordpassword".into(), "uses only 7"),
            (
                "0123456789abcdef0123456789abcdef".into(),
                "pattern of 16 bytes",
            ),
            (
                "12345678901234567890123456789012".into(),
                "pattern of 10 bytes",
            ),
            (
                "my app secret!!!!!!!!!!!!!!!!!!!".into(),
                "19 times in a row",
            ),
            (
                "changeme-changeme-changeme-changeme".into(),
                "pattern of 9 bytes",
            ),
            ("abcdefghij".repeat(4), "pattern of 10 bytes"),
        ] {
            let reason = reason(&secret).unwrap_or_else(|| panic!("{secret:?} passed"));
            assert!(reason.contains(why), "{secret:?}: {reason}");
        }
        let err = check_secret("SESSION_SECRET", "A".repeat(32).as_bytes())
            .expect_err("weak")
            .to_string();
        assert!(
            err.starts_with("SESSION_SECRET does not look random")
                && err.contains("openssl rand -base64 48")
                && !err.contains("AAAA"),
            "{err}"
        );
    }

    #[test]
    fn generated_and_written_secrets_pass() {
        for secret in [
            // `openssl rand -base64 48`, `openssl rand -hex 32`, `-hex 16`
            "q3Vb0c5Xv0m3l7mJ6qRZ8k1yH9wqB8xq0Jr6Zx0iV2Wq7d8mGk3oTfXh5sYpLr+N",
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "3b5d3c7d207e37dceeedd301e35e2e58",
            // the demo's development secret and the tests' sentences
            "session-views demo secret: NEVER use this outside local development",
            "first secret, at least thirty-two bytes long",
            "A secret of thirty-two bytes....",
        ] {
            assert_eq!(reason(secret), None, "{secret}");
        }
    }

    #[test]
    fn random_secrets_pass() {
        use rand::RngCore;
        let mut rng = rand::thread_rng();
        for _ in 0..2000 {
            let mut raw = [0u8; 48];
            rng.fill_bytes(&mut raw);
            assert_eq!(weakness(&raw), None, "{raw:?}");
            let hex: String = raw[..16].iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(weakness(hex.as_bytes()), None, "{hex}");
        }
    }

    #[test]
    fn periods() {
        assert_eq!(smallest_period(b"abcabcab"), 3);
        assert_eq!(smallest_period(b"abcd"), 4);
        assert_eq!(smallest_period(b"aaaa"), 1);
        assert_eq!(smallest_period(b""), 0);
        assert_eq!(longest_run(b"abbbcc"), 3);
    }
}
