//! The caller's request body as every handler reads it: streamed through, stopped at the route's
//! size limit, at the listener's body inactivity timeout and at its whole-request timeout.
//!
//! When the body fails, the reason is recorded in a [`BodyFaultCell`] the handler keeps: the
//! upstream request then fails too, and without the cell that failure would look like the
//! upstream's (a 502 blamed on the service behind the gateway). With it, the handler answers
//! for the caller's fault: 413, 408 or 400.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

use crate::problem::GatewayError;

mod draining;

pub(crate) use draining::Draining;

/// Why the caller's body could not be read. Always the caller's fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum BodyFault {
    /// More bytes than the route allows.
    #[error("request body exceeds the limit of {0} bytes")]
    TooLarge(u64),
    /// The caller stopped sending.
    #[error("no request body data for {0:?}")]
    Stalled(Duration),
    /// The caller kept sending, too slowly to finish in time.
    #[error("request body not complete within {0:?}")]
    TooSlow(Duration),
    /// Broken framing (a bad chunk size, a short body) or a connection that went away.
    #[error("request body could not be read: {0}")]
    Broken(String),
    /// The body is not the one its `Content-Digest` describes (the upstream request was
    /// aborted before its end).
    #[error("the body does not match its {0} digest")]
    DigestMismatch(integrity::Algorithm),
    /// The antivirus refused the body, or gave no verdict (the upstream request was aborted
    /// before its end).
    #[error("{0}")]
    Scan(crate::policy::scan::ScanFault),
}

impl From<BodyFault> for GatewayError {
    fn from(fault: BodyFault) -> Self {
        match fault {
            BodyFault::TooLarge(limit) => GatewayError::PayloadTooLarge { limit },
            BodyFault::Stalled(after) | BodyFault::TooSlow(after) => {
                GatewayError::RequestTimeout { after }
            }
            BodyFault::Broken(reason) => GatewayError::BodyUnreadable(reason),
            BodyFault::DigestMismatch(algorithm) => GatewayError::DigestMismatch { algorithm },
            BodyFault::Scan(fault) => fault.into(),
        }
    }
}

/// What a [`CallerBody`] saw: why it failed (the handler reads it after the failure) and how
/// many bytes passed.
#[derive(Debug, Default)]
pub(crate) struct BodyTally {
    fault: OnceLock<BodyFault>,
    seen: AtomicU64,
}

impl BodyTally {
    /// Why the body failed, if it did.
    pub(crate) fn fault(&self) -> Option<&BodyFault> {
        self.fault.get()
    }

    /// Records why the body failed (the first reason wins).
    pub(crate) fn set_fault(&self, fault: BodyFault) {
        let _ = self.fault.set(fault);
    }

    /// Bytes passed so far.
    pub(crate) fn seen(&self) -> u64 {
        self.seen.load(Ordering::Relaxed)
    }

    /// The caller's answer when reading the body failed with `e`: the recorded fault (413,
    /// 408, a digest or antivirus refusal…) when there is one, else 400.
    pub(crate) fn error(&self, e: &dyn std::fmt::Display) -> GatewayError {
        self.fault()
            .cloned()
            .map_or_else(|| GatewayError::BodyUnreadable(e.to_string()), Into::into)
    }
}

/// Reads a (bounded) body whole, for what must see all of it before going on (adapters parse
/// documents; a queued upstream gets a slot only for a complete request).
///
/// # Errors
/// As [`BodyTally::error`].
pub(crate) async fn read_whole(
    body: axum::body::Body,
    tally: &BodyTally,
) -> Result<Bytes, GatewayError> {
    use http_body_util::BodyExt as _;
    body.collect()
        .await
        .map(http_body_util::Collected::to_bytes)
        .map_err(|e| tally.error(&e))
}

/// Shared between a [`CallerBody`] and its handler.
pub(crate) type BodyFaultCell = Arc<BodyTally>;

/// The limits a caller's body is read under.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyLimits {
    /// Most bytes.
    pub(crate) max_size: u64,
    /// Longest silence between two pieces.
    pub(crate) inactivity: Duration,
    /// Longest time from the request's headers to the end of its body.
    pub(crate) total: Duration,
}

pin_project_lite::pin_project! {
    /// Passes frames through, counting bytes and watching the clock.
    pub(crate) struct CallerBody<B> {
        #[pin]
        inner: B,
        seen: u64,
        limits: BodyLimits,
        started: Instant,
        // Created on the first wait only: a body that arrives in one piece costs no timer.
        stall: Option<Pin<Box<Sleep>>>,
        deadline: Option<Pin<Box<Sleep>>>,
        fault: BodyFaultCell,
    }
}

impl<B> CallerBody<B> {
    pub(crate) fn new(inner: B, limits: BodyLimits, fault: BodyFaultCell) -> Self {
        Self {
            inner,
            seen: 0,
            limits,
            started: Instant::now(),
            stall: None,
            deadline: None,
            fault,
        }
    }
}

fn fail<T>(
    cell: &BodyFaultCell,
    fault: BodyFault,
) -> Poll<Option<Result<T, Box<dyn std::error::Error + Send + Sync>>>> {
    cell.set_fault(fault.clone());
    Poll::Ready(Some(Err(Box::new(fault))))
}

impl<B> Body for CallerBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: std::fmt::Display,
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
                    this.fault.seen.store(*this.seen, Ordering::Relaxed);
                    if *this.seen > this.limits.max_size {
                        return fail(this.fault, BodyFault::TooLarge(this.limits.max_size));
                    }
                }
                if let Some(stall) = this.stall.as_mut() {
                    stall
                        .as_mut()
                        .reset(Instant::now() + this.limits.inactivity);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => fail(this.fault, BodyFault::Broken(e.to_string())),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                let inactivity = this.limits.inactivity;
                let stall = this
                    .stall
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(inactivity)));
                if stall.as_mut().poll(cx).is_ready() {
                    return fail(this.fault, BodyFault::Stalled(inactivity));
                }
                let at = *this.started + this.limits.total;
                let deadline = this
                    .deadline
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
                if deadline.as_mut().poll(cx).is_ready() {
                    return fail(this.fault, BodyFault::TooSlow(this.limits.total));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

pin_project_lite::pin_project! {
    /// A body that keeps something alive until it has been sent or dropped: an upstream slot,
    /// or the watchdog's count of the request in flight.
    pub(crate) struct Holding<B, T> {
        #[pin]
        inner: B,
        held: T,
    }
}

impl<B, T> Holding<B, T> {
    pub(crate) fn new(inner: B, held: T) -> Self {
        Self { inner, held }
    }
}

impl<B: Body, T> Body for Holding<B, T> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        self.project().inner.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The request's `Content-Length`, if it declares one.
pub(crate) fn declared_length(headers: &http::HeaderMap) -> Option<u64> {
    headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn limits(max_size: u64) -> BodyLimits {
        BodyLimits {
            max_size,
            inactivity: Duration::from_millis(100),
            total: Duration::from_millis(300),
        }
    }

    /// A body whose pieces arrive after the given delays, then ends (or fails, for `Err`).
    struct Paced {
        parts: std::collections::VecDeque<(u64, Result<&'static str, &'static str>)>,
        sleep: Option<Pin<Box<Sleep>>>,
    }

    fn paced(parts: Vec<(u64, Result<&'static str, &'static str>)>) -> Paced {
        Paced {
            parts: parts.into(),
            sleep: None,
        }
    }

    impl Body for Paced {
        type Data = Bytes;
        type Error = String;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, String>>> {
            let Some(&(delay, part)) = self.parts.front() else {
                return Poll::Ready(None);
            };
            let sleep = self
                .sleep
                .get_or_insert_with(|| Box::pin(tokio::time::sleep(Duration::from_millis(delay))));
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.sleep = None;
            self.parts.pop_front();
            Poll::Ready(Some(
                part.map(|p| Frame::data(Bytes::from_static(p.as_bytes())))
                    .map_err(str::to_owned),
            ))
        }
    }

    async fn read(inner: Paced, limits: BodyLimits) -> (Result<Bytes, String>, Option<BodyFault>) {
        let cell = BodyFaultCell::default();
        let body = CallerBody::new(inner, limits, Arc::clone(&cell));
        let got = body
            .collect()
            .await
            .map(http_body_util::Collected::to_bytes)
            .map_err(|e| e.to_string());
        (got, cell.fault().cloned())
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_within_every_limit_passes_whole() {
        let (got, fault) = read(paced(vec![(0, Ok("ab")), (50, Ok("cd"))]), limits(10)).await;
        assert_eq!(got.as_deref(), Ok(&b"abcd"[..]));
        assert_eq!(fault, None);
    }

    #[tokio::test(start_paused = true)]
    async fn too_many_bytes_are_the_callers_413() {
        let (got, fault) = read(paced(vec![(0, Ok("abc")), (0, Ok("def"))]), limits(4)).await;
        assert!(got.is_err());
        assert_eq!(fault, Some(BodyFault::TooLarge(4)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_caller_is_stopped_after_the_inactivity_timeout() {
        let (_, fault) = read(paced(vec![(0, Ok("a")), (150, Ok("b"))]), limits(10)).await;
        assert_eq!(fault, Some(BodyFault::Stalled(Duration::from_millis(100))));
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_trickle_is_stopped_by_the_whole_request_timeout() {
        // Every piece within the inactivity timeout, the whole beyond 300 ms.
        let parts = (0..8).map(|_| (80, Ok("x"))).collect();
        let (_, fault) = read(paced(parts), limits(100)).await;
        assert_eq!(fault, Some(BodyFault::TooSlow(Duration::from_millis(300))));
    }

    #[tokio::test(start_paused = true)]
    async fn broken_framing_is_the_callers_400() {
        let (_, fault) = read(
            paced(vec![(0, Ok("a")), (0, Err("invalid chunk size"))]),
            limits(10),
        )
        .await;
        assert_eq!(fault, Some(BodyFault::Broken("invalid chunk size".into())));
        let e: GatewayError = BodyFault::Broken("x".into()).into();
        assert_eq!(e.status(), http::StatusCode::BAD_REQUEST);
        let e: GatewayError = BodyFault::Stalled(Duration::from_secs(1)).into();
        assert_eq!(e.status(), http::StatusCode::REQUEST_TIMEOUT);
    }
}
