use http::StatusCode;

/// The flash-clearing rule, the one every integration applies to the final
/// response status.
///
/// A response of **200 OK** clears all flash data, including flash set while
/// handling that request, because that page has shown it. Any other status
/// keeps the flash: a redirect (302, 303, ...) so that the page the browser
/// lands on shows it exactly once, a 404 or a 204 because no page showed it.
/// [`Session::keep`](crate::Session::keep) skips one clearing.
///
/// ```
/// use http::StatusCode;
/// use session_core::integration::clears_flash;
///
/// assert!(clears_flash(StatusCode::OK));
/// assert!(!clears_flash(StatusCode::SEE_OTHER));
/// assert!(!clears_flash(StatusCode::NOT_FOUND));
/// ```
pub fn clears_flash(status: StatusCode) -> bool {
    status == StatusCode::OK
}

/// Whether a request's session changes are saved at all.
///
/// A server error (5xx, including a handler that panicked) saves nothing: the
/// request failed part-way, and half of its writes would leave the session in
/// a state no successful request produces.
///
/// ```
/// use http::StatusCode;
/// use session_core::integration::saves_changes;
///
/// assert!(saves_changes(StatusCode::SEE_OTHER));
/// assert!(saves_changes(StatusCode::NOT_FOUND));
/// assert!(!saves_changes(StatusCode::INTERNAL_SERVER_ERROR));
/// ```
pub fn saves_changes(status: StatusCode) -> bool {
    !status.is_server_error()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_200_clears_and_only_5xx_discards() {
        for code in 100..600u16 {
            let status = StatusCode::from_u16(code).expect("valid code");
            assert_eq!(clears_flash(status), code == 200, "{code}");
            assert_eq!(saves_changes(status), code < 500, "{code}");
        }
    }
}
