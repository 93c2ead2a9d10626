//! The request body after the CSRF check: the bytes read to find the form's
//! token, then the rest as it arrives.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

pin_project! {
    /// The body the services inside a [`CsrfLayer`](super::CsrfLayer) get:
    /// the original body, with what the layer read to find a form's
    /// `_token` (if it had to) given back first, as one piece. Nothing is
    /// lost; a request the layer did not read passes through untouched.
    ///
    /// Read it like any body (`http_body_util::BodyExt::collect`, axum's
    /// extractors).
    #[derive(Debug)]
    pub struct CsrfBody<B> {
        read: Option<Bytes>,
        trailers: Option<Frame<Bytes>>,
        #[pin]
        rest: B,
        rest_ended: bool,
    }
}

impl<B> CsrfBody<B> {
    /// `body`, none of it read.
    pub fn new(body: B) -> Self {
        CsrfBody {
            read: None,
            trailers: None,
            rest: body,
            rest_ended: false,
        }
    }

    /// `read` (and the `trailers`, if the body ended with some) given back
    /// before the `rest` of the body, which `rest_ended` says is over.
    pub(crate) fn with_read(
        read: Bytes,
        trailers: Option<Frame<Bytes>>,
        rest: B,
        rest_ended: bool,
    ) -> Self {
        CsrfBody {
            read: (!read.is_empty()).then_some(read),
            trailers,
            rest,
            rest_ended,
        }
    }
}

impl<B: Body<Data = Bytes>> Body for CsrfBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = self.project();
        if let Some(read) = this.read.take() {
            return Poll::Ready(Some(Ok(Frame::data(read))));
        }
        if *this.rest_ended {
            return Poll::Ready(this.trailers.take().map(Ok));
        }
        this.rest.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.read.is_none()
            && self.trailers.is_none()
            && (self.rest_ended || self.rest.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        let read = self.read.as_ref().map_or(0, |read| read.len() as u64);
        if self.rest_ended {
            return SizeHint::with_exact(read);
        }
        let rest = self.rest.size_hint();
        let mut hint = SizeHint::new();
        hint.set_lower(rest.lower().saturating_add(read));
        if let Some(upper) = rest.upper() {
            hint.set_upper(upper.saturating_add(read));
        }
        hint
    }
}
