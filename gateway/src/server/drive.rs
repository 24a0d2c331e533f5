//! Driving a served connection: the watchdog's timeouts, shutdown, and parking idle HTTP/1.1
//! connections (see `serve_http1!` in `server.rs`).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use crate::config::ConnectionTimeouts;
use crate::telemetry;
use crate::watchdog::{Activity, Verdict, WatchedIo};

/// How long an HTTP/1.1 connection stays idle before it is parked. Parking and waking again
/// cost a few allocations, so a client that sends requests back to back is never parked.
pub(super) const PARK_AFTER: Duration = Duration::from_secs(1);

/// What watching a connection needs.
pub(super) struct Watch<'a> {
    pub(super) listener: &'a str,
    pub(super) peer: SocketAddr,
    pub(super) timeouts: &'a ConnectionTimeouts,
    pub(super) shutdown: &'a CancellationToken,
    pub(super) activity: &'a Activity,
}

impl Watch<'_> {
    /// Drives a connection to its end while enforcing the idle and header-read timeouts and the
    /// shutdown signal. With `park`, stops (true) once the connection may be parked.
    pub(super) async fn drive<C, E>(
        &self,
        mut conn: Pin<&mut C>,
        graceful: impl Fn(Pin<&mut C>),
        park: Option<Duration>,
    ) -> bool
    where
        C: Future<Output = Result<(), E>>,
        E: std::fmt::Display,
    {
        let (timeouts, listener, peer) = (self.timeouts, self.listener, self.peer);
        // When a graceful close of an idle connection began: the client gets `header_read` to
        // let it finish (an HTTP/2 GOAWAY waits for the client's PING answer, which a client in
        // the middle of a header block never sends), then the connection is dropped.
        let mut closing: Option<std::time::Instant> = None;
        let mut idle_close = false;
        // Parked only once hyper has run: a woken connection's bytes wait in the socket until
        // hyper reads them (which marks a head as started).
        let mut polled = false;
        loop {
            let mut wait = match self.activity.check(timeouts) {
                Verdict::Wait(d) => d,
                Verdict::Idle => {
                    if closing.is_none() {
                        telemetry::record_connection_closed(listener, "idle");
                        graceful(conn.as_mut());
                        closing = Some(std::time::Instant::now());
                        idle_close = true;
                    } else if idle_close
                        && closing.is_some_and(|since| since.elapsed() >= timeouts.header_read)
                    {
                        // Still nothing in flight: the client holds the close open.
                        telemetry::record_connection_closed(listener, "idle_forced");
                        tracing::info!(listener, %peer,
                            "idle connection dropped: it did not let a graceful close finish");
                        return false;
                    }
                    timeouts.header_read
                }
                Verdict::HeaderTimeout => {
                    telemetry::record_connection_closed(listener, "header_timeout");
                    tracing::info!(listener, %peer, timeout = ?timeouts.header_read,
                        "connection closed: request headers not received in time");
                    return false;
                }
            };
            if let (None, Some(after)) = (closing, park) {
                match self.activity.parkable_in(after) {
                    Some(Duration::ZERO) if polled => {
                        tracing::debug!(listener, %peer, "idle connection parked");
                        return true;
                    }
                    Some(d) => wait = wait.min(d.max(Duration::from_millis(1))),
                    // Look again then: a request in flight may have ended meanwhile.
                    None => wait = wait.min(after),
                }
            }
            tokio::select! {
                biased;
                r = conn.as_mut() => {
                    if let Err(e) = r {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                    return false;
                }
                () = self.shutdown.cancelled(), if closing.is_none() => {
                    graceful(conn.as_mut());
                    closing = Some(std::time::Instant::now());
                }
                () = tokio::time::sleep(wait) => {}
            }
            polled = true;
        }
    }

    /// Holds a parked connection until its client sends again (true), or it is closed: idle
    /// timeout or shutdown (what hyper's graceful close of an idle connection does).
    pub(super) async fn park(
        &self,
        io: &mut WatchedIo<Box<tokio_rustls::server::TlsStream<TcpStream>>>,
    ) -> bool {
        loop {
            let wait = match self.activity.check(self.timeouts) {
                Verdict::Wait(d) => d,
                Verdict::Idle => {
                    telemetry::record_connection_closed(self.listener, "idle");
                    break;
                }
                // No head is awaited while parked; were one, the connection would be dropped.
                Verdict::HeaderTimeout => return false,
            };
            let tcp = io.get_ref().get_ref().0;
            tokio::select! {
                r = tcp.readable() => return r.is_ok(),
                () = self.shutdown.cancelled() => break,
                () = tokio::time::sleep(wait) => {}
            }
        }
        // TLS close_notify and FIN, bounded like a graceful close.
        let _ = tokio::time::timeout(self.timeouts.header_read, io.shutdown()).await;
        false
    }
}
