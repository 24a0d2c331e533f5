//! A request body that streams through and stops at the route's size limit.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

/// The error a [`LimitedBody`] yields when the limit is passed.
#[derive(Debug, thiserror::Error)]
#[error("request body exceeds the limit of {0} bytes")]
pub(crate) struct BodyTooLarge(pub(crate) u64);

pin_project_lite::pin_project! {
    /// Passes frames through, counting bytes; past `limit` it fails and raises `exceeded`, which
    /// the proxy reads to answer 413 rather than 502 when the upstream request aborts.
    pub(crate) struct LimitedBody<B> {
        #[pin]
        inner: B,
        seen: u64,
        limit: u64,
        exceeded: Arc<AtomicBool>,
    }
}

impl<B> LimitedBody<B> {
    pub(crate) fn new(inner: B, limit: u64, exceeded: Arc<AtomicBool>) -> Self {
        Self {
            inner,
            seen: 0,
            limit,
            exceeded,
        }
    }
}

impl<B> Body for LimitedBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.project();
        match this.inner.poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    *this.seen += data.len() as u64;
                    if *this.seen > *this.limit {
                        this.exceeded.store(true, Ordering::Relaxed);
                        return Poll::Ready(Some(Err(Box::new(BodyTooLarge(*this.limit)))));
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            other => other.map(|o| o.map(|r| r.map_err(Into::into))),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Refuses a request whose declared `Content-Length` is over the route's limit, before a byte of
/// the body is read.
pub(crate) fn check_declared_length(
    headers: &http::HeaderMap,
    limit: u64,
) -> Result<(), crate::problem::GatewayError> {
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(crate::problem::GatewayError::PayloadTooLarge { limit });
    }
    Ok(())
}
