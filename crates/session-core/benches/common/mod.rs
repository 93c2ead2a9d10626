//! Shared by the benches: run a future that never waits (the memory and
//! cookie drivers never do) without an async runtime in the measurement.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// Polls `future` once; it must be ready.
pub(crate) fn ready<F: Future>(future: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(future).poll(&mut cx) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("this driver was expected never to wait"),
    }
}
