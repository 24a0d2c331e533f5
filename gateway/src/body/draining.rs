//! The caller's body as hyper hands it over, drained in the background when a handler drops it
//! unread.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

/// The caller's body as hyper hands it over, drained in the background if it is dropped unread:
/// a refusal answered before the body was read (401, 403, 404, 429…) would otherwise end an
/// HTTP/2 stream with RST_STREAM while the caller is still sending, which some clients (curl)
/// report as an error instead of the answer. At most [`DRAIN_BYTES`] or [`DRAIN_TIME`] are read.
pub(crate) struct Draining {
    inner: Option<hyper::body::Incoming>,
    /// Called once the body has been read to its end (by the handler or the drain): the
    /// connection is then between two messages and may be parked (`watchdog::Activity`).
    on_end: Option<Box<dyn FnOnce() + Send + Sync>>,
}

/// How much of an unread body is read before giving up on it.
const DRAIN_BYTES: u64 = 1024 * 1024;
/// How long an unread body is read before giving up on it.
const DRAIN_TIME: Duration = Duration::from_secs(2);

impl Draining {
    /// `on_end` is called once the body has been read to its end (not when it fails, or when
    /// the drain gives up: hyper then closes the connection).
    pub(crate) fn with_end(
        inner: hyper::body::Incoming,
        on_end: impl FnOnce() + Send + Sync + 'static,
    ) -> Self {
        Self {
            inner: Some(inner),
            on_end: Some(Box::new(on_end)),
        }
    }

    fn ended(&mut self) {
        if let Some(on_end) = self.on_end.take() {
            on_end();
        }
    }
}

impl Body for Draining {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let Some(inner) = self.inner.as_mut() else {
            return Poll::Ready(None);
        };
        let polled = Pin::new(inner).poll_frame(cx);
        let ended = match &polled {
            Poll::Ready(None) => true,
            // Readers that stop at `is_end_stream` (hyper's client) never poll for the `None`.
            Poll::Ready(Some(Ok(_))) => self.inner.as_ref().is_some_and(Body::is_end_stream),
            _ => false,
        };
        if ended {
            self.ended();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.as_ref().map(Body::size_hint).unwrap_or_default()
    }
}

impl Drop for Draining {
    fn drop(&mut self) {
        let Some(mut body) = self.inner.take() else {
            return;
        };
        if body.is_end_stream() {
            self.ended();
            return;
        }
        // Outside a runtime (never in the server) there is nothing to drain with.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let on_end = self.on_end.take();
        runtime.spawn(async move {
            use http_body_util::BodyExt as _;
            let drain = async {
                let mut read = 0u64;
                loop {
                    match body.frame().await {
                        None => return true,
                        Some(Err(_)) => return false,
                        Some(Ok(frame)) => {
                            read += frame.data_ref().map_or(0, |d| d.len() as u64);
                            if read > DRAIN_BYTES {
                                return false;
                            }
                        }
                    }
                }
            };
            if let (Ok(true), Some(on_end)) =
                (tokio::time::timeout(DRAIN_TIME, drain).await, on_end)
            {
                on_end();
            }
        });
    }
}
