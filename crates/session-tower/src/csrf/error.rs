use http::StatusCode;

/// Why a [`CsrfLayer`](super::CsrfLayer) refused a request. It rides in the
/// refusal's extensions, for logs and for a custom rejection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CsrfError {
    /// `Sec-Fetch-Site: cross-site`: a page of another site sent it.
    #[error("Sec-Fetch-Site says the request came from another site")]
    CrossSite,
    /// `Sec-Fetch-Site: same-site`: a page on a sibling subdomain sent it.
    #[error("Sec-Fetch-Site says the request came from a sibling subdomain")]
    SameSite,
    /// `Origin: null`: a sandboxed frame, a `data:` page, some redirects.
    #[error("the request's Origin is null")]
    NullOrigin,
    /// `Origin` names another host than the request's `Host` (or there
    /// was no `Host`, or more than one `Origin`).
    #[error("the request's Origin is not this site")]
    CrossOrigin,
    /// A browser's request without `_token` in its form or `X-CSRF-Token`.
    #[error("the request carries no CSRF token (form field _token or header X-CSRF-Token)")]
    MissingToken,
    /// A token that is not one of this browser's: forged, from before a
    /// login or logout, or the browser lost its CSRF cookie.
    #[error("the request's CSRF token does not match the browser's CSRF cookie")]
    InvalidToken,
    /// The form body could not be read (the client went away mid-request).
    #[error("the form body could not be read")]
    UnreadableBody,
}

impl CsrfError {
    /// The status of the layer's own refusal: 400 for a body that could not
    /// be read, 403 for everything else.
    pub fn status(&self) -> StatusCode {
        match self {
            CsrfError::UnreadableBody => StatusCode::BAD_REQUEST,
            _ => StatusCode::FORBIDDEN,
        }
    }

    /// What the person in front of the browser can do about it.
    pub(crate) fn advice(&self) -> &'static str {
        match self {
            CsrfError::CrossSite
            | CsrfError::SameSite
            | CsrfError::NullOrigin
            | CsrfError::CrossOrigin => {
                "this request was sent by a page of another site, so it was refused and nothing \
                 changed. If you meant to do this, open this site, go to the form and send it \
                 from there."
            }
            CsrfError::MissingToken | CsrfError::InvalidToken => {
                "this form has expired (it was open for long, or you signed in or out in \
                 another tab), so nothing changed. Go back, reload the page and send the \
                 form again."
            }
            CsrfError::UnreadableBody => "the form could not be read; please send it again.",
        }
    }
}
