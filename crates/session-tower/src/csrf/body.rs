//! The request body after the CSRF check: the bytes read to find the form's
//! token, then the rest as it arrives.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

pin_project! {
    /// The body the services inside a [`CsrfLayer`](super::CsrfLayer) get:
    /// the original body, with the frames the layer read to find a form's
    /// `_token` (if it had to) given back first. Nothing is lost or copied
    /// twice; a request the layer did not read passes through untouched.
    ///
    /// Read it like any body (`http_body_util::BodyExt::collect`, axum's
    /// extractors).
    #[derive(Debug)]
    pub struct CsrfBody<B> {
        read: VecDeque<Frame<Bytes>>,
        #[pin]
        rest: B,
        rest_ended: bool,
    }
}

impl<B> CsrfBody<B> {
    /// `body`, none of it read.
    pub fn new(body: B) -> Self {
        CsrfBody {
            read: VecDeque::new(),
            rest: body,
            rest_ended: false,
        }
    }

    pub(crate) fn with_read(read: VecDeque<Frame<Bytes>>, rest: B, rest_ended: bool) -> Self {
        CsrfBody {
            read,
            rest,
            rest_ended,
        }
    }

    /// The original body, and whatever of it was read.
    pub fn into_parts(self) -> (Vec<Frame<Bytes>>, B) {
        (self.read.into(), self.rest)
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
        if let Some(frame) = this.read.pop_front() {
            return Poll::Ready(Some(Ok(frame)));
        }
        if *this.rest_ended {
            return Poll::Ready(None);
        }
        this.rest.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.read.is_empty() && (self.rest_ended || self.rest.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        let read: u64 = self
            .read
            .iter()
            .filter_map(|frame| frame.data_ref().map(|data| data.len() as u64))
            .sum();
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
