//! Connection lifetimes after the handshake: a connection that is idle for too long, or that
//! takes too long to send a request's headers, is closed so that it cannot hold a slot that
//! another client needs.
//!
//! hyper's own `header_read_timeout` starts when hyper waits for a request head, which includes
//! the idle time between keep-alive requests: it cannot tell a slow request from an idle
//! connection. The watchdog keeps the two apart. [`WatchedIo`] notes when the first byte of a
//! request arrives on an HTTP/1.1 connection, [`RequestGuard`] when a request starts and when its
//! response ends (the server keeps it alive with the response body, `body::Holding`), and
//! [`Activity::check`] turns that into a verdict; the connection task sleeps
//! until the next deadline and acts on it (see `server.rs`).
//!
//! It also tells when an idle HTTP/1.1 connection may be parked ([`Activity::parkable_in`]):
//! hyper's state (its 8 KiB read and write buffers among others) dropped and only the TLS stream
//! kept, so that an idle keep-alive connection costs a few KiB rather than tens.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::config::ConnectionTimeouts;

/// What the watchdog decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Nothing due; check again after this long.
    Wait(Duration),
    /// No request in flight for `idle`: close gracefully (HTTP/2: GOAWAY).
    Idle,
    /// An HTTP/1.1 request's headers did not arrive within `header_read`: drop the connection.
    HeaderTimeout,
}

/// What a connection is doing, shared by its I/O, its requests and its watchdog. Times are
/// milliseconds since the connection was accepted, so that they fit in atomics.
#[derive(Debug)]
pub(crate) struct Activity {
    origin: Instant,
    /// Whether HTTP/1.1 head timing applies (HTTP/2 reads control frames while idle).
    http1: bool,
    in_flight: AtomicU32,
    /// When the last request started or ended.
    last_change: AtomicU64,
    /// 1 + when the first byte of a request head arrived; 0 while none is awaited.
    head_started: AtomicU64,
    /// The number of the last request if it came with a body not read to its end yet (0
    /// otherwise; `body::Draining` clears it then): hyper may still be reading it, so the
    /// connection is not between two messages and must not be parked. A number, not a flag:
    /// a drain that ends late must not clear the mark of the next request.
    pending_body: AtomicU64,
    /// Requests started on this connection.
    requests: AtomicU64,
    /// The last write or flush could not complete (hyper may hold unwritten bytes), or hyper
    /// began closing the stream.
    writing: AtomicBool,
}

// === impl Activity ===

impl Activity {
    /// A connection whose handshake just ended. On HTTP/1.1 the first request's header clock
    /// starts now: a connection that never sends a byte must not wait for the idle timeout.
    pub(crate) fn new(http1: bool) -> Arc<Self> {
        Arc::new(Self {
            origin: Instant::now(),
            http1,
            in_flight: AtomicU32::new(0),
            last_change: AtomicU64::new(0),
            head_started: AtomicU64::new(u64::from(http1)),
            pending_body: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            writing: AtomicBool::new(false),
        })
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Bytes were read from the caller.
    fn on_read(&self) {
        if self.http1
            && self.in_flight.load(Ordering::Relaxed) == 0
            && self.head_started.load(Ordering::Relaxed) == 0
        {
            self.head_started
                .store(self.now_ms().saturating_add(1), Ordering::Relaxed);
        }
    }

    /// A request's head was parsed: its response is in flight until the guard drops.
    pub(crate) fn request_started(self: &Arc<Self>) -> RequestGuard {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.head_started.store(0, Ordering::Relaxed);
        self.last_change.store(self.now_ms(), Ordering::Relaxed);
        RequestGuard(Arc::clone(self))
    }

    /// Whether the request just started carries a body (see `pending_body`); the number to give
    /// [`Activity::body_ended`] once it is read.
    pub(crate) fn note_body(&self, with_body: bool) -> u64 {
        let number = self.requests.fetch_add(1, Ordering::Relaxed) + 1;
        self.pending_body
            .store(if with_body { number } else { 0 }, Ordering::Relaxed);
        number
    }

    /// The body of request `number` was read to its end.
    pub(crate) fn body_ended(&self, number: u64) {
        let _ = self
            .pending_body
            .compare_exchange(number, 0, Ordering::Relaxed, Ordering::Relaxed);
    }

    /// When an HTTP/1.1 connection may be parked: `Some(ZERO)` now, `Some(d)` in `d` if nothing
    /// happens meanwhile, `None` while it may not. It may once its last request (its body, if
    /// any, read to its end) has been answered and written out for `after`, and no byte of
    /// another has arrived.
    /// Before its first request it may not: the header clock runs.
    pub(crate) fn parkable_in(&self, after: Duration) -> Option<Duration> {
        let busy = !self.http1
            || self.in_flight.load(Ordering::Relaxed) > 0
            || self.head_started.load(Ordering::Relaxed) > 0
            || self.pending_body.load(Ordering::Relaxed) != 0
            || self.writing.load(Ordering::Relaxed);
        if busy {
            return None;
        }
        let ms = u64::try_from(after.as_millis()).unwrap_or(u64::MAX);
        let due = self.last_change.load(Ordering::Relaxed).saturating_add(ms);
        Some(Duration::from_millis(due.saturating_sub(self.now_ms())))
    }

    /// The verdict now.
    pub(crate) fn check(&self, timeouts: &ConnectionTimeouts) -> Verdict {
        self.verdict_at(self.now_ms(), timeouts)
    }

    fn verdict_at(&self, now: u64, t: &ConnectionTimeouts) -> Verdict {
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        if self.in_flight.load(Ordering::Relaxed) > 0 {
            // A request's own timeouts (body, upstream) bound it; look again after `idle`.
            return Verdict::Wait(t.idle);
        }
        let idle_deadline = self
            .last_change
            .load(Ordering::Relaxed)
            .saturating_add(ms(t.idle));
        let head = self.head_started.load(Ordering::Relaxed);
        let head_deadline = (head > 0).then(|| (head - 1).saturating_add(ms(t.header_read)));
        if head_deadline.is_some_and(|d| now >= d) {
            return Verdict::HeaderTimeout;
        }
        if now >= idle_deadline {
            return Verdict::Idle;
        }
        let next = head_deadline.map_or(idle_deadline, |d| d.min(idle_deadline));
        // +1 ms: wake just past the deadline, not just before it.
        Verdict::Wait(Duration::from_millis(next - now + 1))
    }
}

/// Held while a request is in flight (until its response body ends or is dropped).
#[derive(Debug)]
pub(crate) struct RequestGuard(Arc<Activity>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        let a = &self.0;
        a.last_change.store(a.now_ms(), Ordering::Relaxed);
        a.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

pin_project_lite::pin_project! {
    /// The caller's (decrypted) stream, noting reads for the watchdog.
    pub(crate) struct WatchedIo<T> {
        #[pin]
        inner: T,
        activity: Arc<Activity>,
        // Bytes read before the connection was parked and not parsed yet: read first.
        prefix: Bytes,
    }
}

impl<T> WatchedIo<T> {
    pub(crate) fn new(inner: T, activity: Arc<Activity>) -> Self {
        Self {
            inner,
            activity,
            prefix: Bytes::new(),
        }
    }

    pub(crate) fn get_ref(&self) -> &T {
        &self.inner
    }

    /// Bytes to read before the stream's own (what hyper had read when it was taken apart).
    pub(crate) fn set_prefix(&mut self, prefix: Bytes) {
        self.prefix = prefix;
    }
}

fn note_write<R>(activity: &Activity, polled: &Poll<R>) {
    activity
        .writing
        .store(polled.is_pending(), Ordering::Relaxed);
}

impl<T: AsyncRead> AsyncRead for WatchedIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.project();
        if !this.prefix.is_empty() {
            let n = this.prefix.len().min(buf.remaining());
            buf.put_slice(&this.prefix[..n]);
            this.prefix.advance(n);
            this.activity.on_read();
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        let polled = this.inner.poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.activity.on_read();
        }
        polled
    }
}

impl<T: AsyncWrite> AsyncWrite for WatchedIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        let polled = this.inner.poll_write(cx, buf);
        note_write(this.activity, &polled);
        polled
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.project();
        let polled = this.inner.poll_flush(cx);
        note_write(this.activity, &polled);
        polled
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.project();
        // Closing: never parked again.
        this.activity.writing.store(true, Ordering::Relaxed);
        this.inner.poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        let polled = this.inner.poll_write_vectored(cx, bufs);
        note_write(this.activity, &polled);
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn timeouts() -> ConnectionTimeouts {
        ConnectionTimeouts {
            handshake: Duration::from_secs(10),
            header_read: Duration::from_secs(10),
            idle: Duration::from_secs(60),
            request_body: Duration::from_secs(30),
            request: Duration::from_secs(600),
            http2_keepalive_interval: None,
            http2_keepalive_timeout: Duration::from_secs(20),
        }
    }

    #[test]
    fn a_silent_http1_connection_gets_the_header_timeout_not_the_idle_one() {
        let a = Activity::new(true);
        let t = timeouts();
        assert_eq!(
            a.verdict_at(0, &t),
            Verdict::Wait(Duration::from_millis(10_001))
        );
        assert_eq!(a.verdict_at(10_000, &t), Verdict::HeaderTimeout);
    }

    #[test]
    fn a_silent_http2_connection_gets_the_idle_timeout() {
        let a = Activity::new(false);
        let t = timeouts();
        assert_eq!(
            a.verdict_at(59_999, &t),
            Verdict::Wait(Duration::from_millis(2))
        );
        assert_eq!(a.verdict_at(60_000, &t), Verdict::Idle);
        // HTTP/2 reads (PING, SETTINGS) never start a header clock.
        a.on_read();
        assert_eq!(a.head_started.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn keep_alive_is_idle_until_the_next_request_starts_arriving() {
        let a = Activity::new(true);
        let t = timeouts();
        let guard = a.request_started();
        assert_eq!(a.verdict_at(500_000, &t), Verdict::Wait(t.idle));
        drop(guard);
        let ended = a.last_change.load(Ordering::Relaxed);
        // No byte since the response: idle, not a header timeout.
        assert!(matches!(a.verdict_at(ended + 30_000, &t), Verdict::Wait(_)));
        assert_eq!(a.verdict_at(ended + 60_000, &t), Verdict::Idle);
        // A byte arrives: the header clock runs from then.
        a.on_read();
        let started = a.head_started.load(Ordering::Relaxed) - 1;
        assert_eq!(a.verdict_at(started + 10_000, &t), Verdict::HeaderTimeout);
    }

    #[test]
    fn only_an_idle_http1_connection_between_whole_requests_is_parked() {
        let after = Duration::from_secs(1);
        assert_eq!(Activity::new(false).parkable_in(after), None, "HTTP/2");
        let a = Activity::new(true);
        assert_eq!(a.parkable_in(after), None, "before its first request");
        let guard = a.request_started();
        assert_eq!(a.parkable_in(after), None, "a request in flight");
        drop(guard);
        assert!(a.parkable_in(after).is_some_and(|d| d <= after));
        a.on_read();
        assert_eq!(a.parkable_in(after), None, "the next request arrives");
        let guard = a.request_started();
        let first = a.note_body(true);
        drop(guard);
        assert_eq!(a.parkable_in(after), None, "its body may still be read");
        a.body_ended(first);
        assert!(a.parkable_in(after).is_some(), "its body was read");
        let _ = a.request_started();
        let second = a.note_body(true);
        a.body_ended(first);
        assert_eq!(a.parkable_in(after), None, "a late end of the first body");
        a.body_ended(second);
        assert!(a.parkable_in(after).is_some());
        a.writing.store(true, Ordering::Relaxed);
        a.note_body(false);
        assert_eq!(a.parkable_in(after), None, "bytes not written yet");
    }

    #[test]
    fn body_bytes_of_a_request_in_flight_start_no_header_clock() {
        let a = Activity::new(true);
        let _guard = a.request_started();
        a.on_read();
        assert_eq!(a.head_started.load(Ordering::Relaxed), 0);
    }
}
