//! Turning one request's changes into the cookie driver's `Set-Cookie`s.

use std::collections::BTreeMap;

use cookie::Cookie;

use super::sealing::started_at;
use super::{CookieDriver, CookieState, cookie_name, is_token, parse_cookie_name};
use crate::SessionError;
use crate::driver::{Bucket, SaveRequest};
use crate::integration::RequestContext;

impl CookieDriver {
    /// The `Set-Cookie`s for `save`: removals of rejected cookies and of
    /// cleared ones, refreshed cookies, and the keys the request changed.
    pub(super) fn save_cookies(
        &self,
        save: &SaveRequest<'_>,
        state: Option<&CookieState>,
        now: u64,
    ) -> Result<Vec<Cookie<'static>>, SessionError> {
        let changes = save.changes;
        // One Set-Cookie per name; later entries win (a write over a clear).
        let mut out: BTreeMap<String, Cookie<'static>> = BTreeMap::new();
        for name in state.iter().flat_map(|s| &s.rejected) {
            out.insert(name.clone(), self.cookies.removal(name.clone()));
        }
        for bucket in [Bucket::Session, Bucket::Flash] {
            if changes.clears(bucket) {
                self.remove_bucket(bucket, save.request, state, &mut out);
            }
        }
        if changes.regenerate {
            // A new session: every key is sealed again with a new start, so
            // the absolute lifetime counts from here.
            for bucket in [Bucket::Session, Bucket::Flash] {
                for (key, value) in save.data.bucket(bucket).iter() {
                    let name = cookie_name(bucket, key);
                    let cookie = self.sealed_cookie(bucket, name.clone(), value, now, now)?;
                    out.insert(name, cookie);
                }
            }
        } else {
            for (bucket, key, started) in state.iter().flat_map(|s| &s.stale) {
                if let Some(value) = save.data.bucket(*bucket).get(key) {
                    let name = cookie_name(*bucket, key);
                    let cookie = self.sealed_cookie(*bucket, name.clone(), value, now, *started)?;
                    out.insert(name, cookie);
                }
            }
        }
        let mut started = None;
        for bucket in [Bucket::Session, Bucket::Flash] {
            for (key, op) in changes.bucket(bucket) {
                let name = cookie_name(bucket, key);
                match op {
                    // Sealed above with the rest of the session.
                    Some(_) if changes.regenerate => {}
                    Some(value) => {
                        let started =
                            *started.get_or_insert_with(|| session_start(save, state, now));
                        let cookie =
                            self.sealed_cookie(bucket, name.clone(), value, now, started)?;
                        out.insert(name, cookie);
                    }
                    None if save.request.cookie(&name).is_some() => {
                        out.insert(name.clone(), self.cookies.removal(name));
                    }
                    None => {
                        out.remove(&name);
                    }
                }
            }
        }
        Ok(out.into_values().collect())
    }

    /// Removes every cookie of `bucket` that the request carried and that
    /// opened (rejected ones are removed apart, up to the cap).
    fn remove_bucket(
        &self,
        bucket: Bucket,
        request: &RequestContext,
        state: Option<&CookieState>,
        out: &mut BTreeMap<String, Cookie<'static>>,
    ) {
        match state {
            Some(state) => {
                for key in state.loaded.bucket(bucket).keys() {
                    let name = cookie_name(bucket, key);
                    out.insert(name.clone(), self.cookies.removal(name));
                }
            }
            // Without state nothing was rejected: each cookie of ours opened.
            // They are read again from the request rather than listed at
            // load: most requests never clear.
            None => {
                for (name, _) in request.cookies() {
                    if is_token(name)
                        && matches!(parse_cookie_name(name), Some(Ok((b, _))) if b == bucket)
                    {
                        out.insert(name.to_owned(), self.cookies.removal(name.to_owned()));
                    }
                }
            }
        }
    }
}

/// The start a key written by this request is sealed with: the session's,
/// the earliest among the cookies that opened, so that writing a key never
/// stretches the absolute lifetime; now for a new or cleared session.
fn session_start(save: &SaveRequest<'_>, state: Option<&CookieState>, now: u64) -> u64 {
    if save.changes.clears(Bucket::Session) {
        return now;
    }
    let started = match state {
        Some(state) => state.started,
        // Without state each cookie of ours opened at load, so the start it
        // shows in the clear was authenticated then.
        None => save
            .request
            .cookies()
            .filter(|(name, _)| is_token(name) && matches!(parse_cookie_name(name), Some(Ok(_))))
            .filter_map(|(_, sealed)| started_at(sealed))
            .min(),
    };
    started.unwrap_or(now)
}
