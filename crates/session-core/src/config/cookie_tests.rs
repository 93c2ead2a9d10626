//! The settings the cookie driver reads (flash and absolute lifetimes, the
//! secret) and the checks across settings, read from the environment.

use std::time::Duration;

use cookie::SameSite;

use crate::{ConfigError, SessionConfig};

fn lookup<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
    move |var| {
        vars.iter()
            .find(|(k, _)| *k == var)
            .map(|(_, v)| v.to_string())
    }
}

#[test]
fn flash_and_absolute_lifetimes_default_and_are_read() {
    let default = SessionConfig::default();
    assert_eq!(default.flash_lifetime(), Duration::from_secs(300));
    assert_eq!(default.absolute_lifetime(), Duration::from_secs(12 * 3600));
    let config = SessionConfig::from_lookup(lookup(&[
        ("SESSION_FLASH_LIFETIME", "30s"),
        ("SESSION_ABSOLUTE_LIFETIME", "7d"),
    ]))
    .expect("valid");
    assert_eq!(config.flash_lifetime(), Duration::from_secs(30));
    assert_eq!(config.absolute_lifetime(), Duration::from_secs(7 * 86400));
    for var in ["SESSION_FLASH_LIFETIME", "SESSION_ABSOLUTE_LIFETIME"] {
        let err = SessionConfig::from_lookup(lookup(&[(var, "0")])).expect_err(var);
        assert!(err.to_string().starts_with(var), "{err}");
    }
}

#[test]
fn same_site_none_without_secure_stops_start_up_saying_what_to_change() {
    let err = SessionConfig::from_lookup(lookup(&[
        ("SESSION_SAME_SITE", "none"),
        ("SESSION_COOKIE_SECURE", "false"),
    ]))
    .expect_err("browsers reject SameSite=None without Secure");
    assert!(matches!(err, ConfigError::SameSiteNoneWithoutSecure));
    let message = err.to_string();
    assert!(
        message.contains("SESSION_COOKIE_SECURE=true") && message.contains("SESSION_SAME_SITE=lax"),
        "{message}"
    );
    let secure_none = SessionConfig::from_lookup(lookup(&[("SESSION_SAME_SITE", "none")]));
    assert_eq!(
        secure_none.expect("Secure is on").same_site(),
        SameSite::None
    );
    let insecure_lax = SessionConfig::from_lookup(lookup(&[("SESSION_COOKIE_SECURE", "false")]));
    assert!(insecure_lax.is_ok(), "plain-http development keeps working");
}

#[test]
fn weak_secrets_stop_start_up_from_the_environment_too() {
    let weak = "A".repeat(32);
    let err =
        SessionConfig::from_lookup(lookup(&[("SESSION_SECRET", &weak)])).expect_err("one letter");
    assert!(matches!(err, ConfigError::WeakSecret { .. }), "{err}");
    let list = format!("an older secret also of 32 bytes or more,{weak}");
    let err = SessionConfig::from_lookup(lookup(&[("SESSION_PREVIOUS_SECRETS", &list)]))
        .expect_err("a weak previous secret");
    assert!(
        err.to_string()
            .starts_with("entry 2 of SESSION_PREVIOUS_SECRETS"),
        "{err}"
    );
    assert!(SessionConfig::default().with_secret(&weak).is_err());
    assert!(
        SessionConfig::default()
            .with_previous_secret(&weak)
            .is_err()
    );
}
