//! TLS listeners: our own accept loop (so each request carries the verified identity), caps on
//! connections (in all, per address, without a certificate: [`crate::admission`]), the
//! handshake, header-read and idle timeouts ([`crate::watchdog`]), HTTP/1.1 and HTTP/2, and
//! graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use axum::body::Body;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::admission::Admission;
use crate::config::{ConnectionCaps, ConnectionTimeouts};
use crate::routing::{self, Runtime};
use crate::telemetry;
use crate::watchdog::{Activity, Verdict, WatchedIo};

/// What every request of a connection knows about the connection.
#[derive(Debug, Clone)]
pub struct ConnectionInfo {
    /// The listener's name.
    pub listener: Arc<str>,
    /// The TCP peer.
    pub peer: SocketAddr,
    /// The verified client identity, if a certificate was presented.
    pub identity: Option<Arc<mtls::PeerIdentity>>,
    /// Whether the TLS session was resumed.
    pub resumed: bool,
    /// The revocation state of the client chain, when the listener checks revocation.
    pub(crate) revocation: Option<ConnectionRevocation>,
    /// The identity and forwarding headers proxied requests carry, encoded once per connection.
    pub(crate) connection_headers: Vec<(http::HeaderName, http::HeaderValue)>,
    /// The listener's timeouts when the connection was accepted.
    pub(crate) timeouts: ConnectionTimeouts,
    /// The presented chain as RFC 9440 fields, for routes that forward it.
    pub(crate) client_cert: Option<crate::headers::ClientCertFields>,
}

/// What revocation knows about a connection: the verdict reached after the handshake (CRL and
/// OCSP), and what is needed to re-check the CRL on every request, so that a resumed session or
/// an open connection whose certificate was revoked since is refused at its next request.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionRevocation {
    pub(crate) handle: Arc<mtls::Revocation>,
    /// Digested once here, so that the per-request CRL check is hash lookups only.
    pub(crate) chain: Arc<mtls::PreparedChain>,
    pub(crate) verdict: mtls::Verdict,
}

/// A listener being served.
pub(crate) struct Listener {
    pub(crate) name: Arc<str>,
    pub(crate) tcp: TcpListener,
    pub(crate) tls: Arc<ArcSwap<rustls::ServerConfig>>,
    /// Replaced by reloads; each connection takes the values in force when it is accepted.
    pub(crate) timeouts: Arc<ArcSwap<ConnectionTimeouts>>,
    pub(crate) caps: ConnectionCaps,
    pub(crate) revocation: Option<Arc<mtls::Revocation>>,
}

/// Accepts until `shutdown` fires, then lets open connections finish within `grace`.
pub(crate) async fn serve(
    listener: Listener,
    runtime: Arc<ArcSwap<Runtime>>,
    shutdown: CancellationToken,
    grace: Duration,
) {
    let slots = Arc::new(Semaphore::new(listener.caps.max_connections));
    let admission = Admission::new(&listener.caps);
    let connections = TaskTracker::new();
    loop {
        let permit = tokio::select! {
            p = Arc::clone(&slots).acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = shutdown.cancelled() => break,
        };
        let (stream, peer) = tokio::select! {
            r = listener.tcp.accept() => match r {
                Ok(accepted) => accepted,
                Err(e) => {
                    // EMFILE and friends: log, breathe, keep serving; never take the process down.
                    tracing::warn!(listener = %listener.name, error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = shutdown.cancelled() => break,
        };
        let Some(address_slot) = admission.admit_address(peer.ip()) else {
            telemetry::record_connection_refused(&listener.name, "per_address");
            tracing::info!(listener = %listener.name, peer = %peer.ip(),
                limit = listener.caps.max_connections_per_address,
                "connection refused: too many connections from this address");
            continue;
        };
        let conn = Connection {
            listener: Arc::clone(&listener.name),
            tls: listener.tls.load_full(),
            timeouts: **listener.timeouts.load(),
            runtime: Arc::clone(&runtime),
            revocation: listener.revocation.clone(),
            admission: Arc::clone(&admission),
            shutdown: shutdown.clone(),
        };
        connections.spawn(async move {
            let _held = (permit, address_slot);
            conn.run(stream, peer).await;
        });
    }
    drop(listener.tcp);
    connections.close();
    if tokio::time::timeout(grace, connections.wait())
        .await
        .is_err()
    {
        tracing::warn!(listener = %listener.name, ?grace, "grace period over; closing remaining connections");
    }
}

struct Connection {
    listener: Arc<str>,
    tls: Arc<rustls::ServerConfig>,
    timeouts: ConnectionTimeouts,
    runtime: Arc<ArcSwap<Runtime>>,
    revocation: Option<Arc<mtls::Revocation>>,
    admission: Arc<Admission>,
    shutdown: CancellationToken,
}

impl Connection {
    async fn run(self, stream: TcpStream, peer: SocketAddr) {
        let _ = stream.set_nodelay(true);
        let accept = TlsAcceptor::from(Arc::clone(&self.tls))
            .accept(stream)
            .into_fallible();
        let tls = match tokio::time::timeout(self.timeouts.handshake, accept).await {
            Err(_) => {
                telemetry::record_handshake(&self.listener, "timeout");
                tracing::info!(listener = %self.listener, %peer, reason = "timeout", "TLS handshake failed");
                return;
            }
            Ok(Err((e, tcp))) => {
                let failure = mtls::classify_handshake_error(&e);
                telemetry::record_handshake(&self.listener, failure.reason);
                tracing::info!(listener = %self.listener, %peer, reason = failure.reason,
                    detail = %failure.detail, "TLS handshake failed");
                // The alert is written; let it reach the client before the socket closes.
                crate::linger::close(tcp).await;
                return;
            }
            Ok(Ok(tls)) => tls,
        };
        let (_, session) = tls.get_ref();
        let resumed = matches!(
            session.handshake_kind(),
            Some(rustls::HandshakeKind::Resumed)
        );
        let http1 = session.alpn_protocol() != Some(b"h2".as_slice());
        let identity = session
            .peer_certificates()
            .and_then(|certs| certs.first())
            .and_then(mtls::PeerIdentity::from_leaf)
            .map(Arc::new);
        telemetry::record_handshake(&self.listener, if resumed { "resumed" } else { "full" });
        // Anonymous connections (an `optional` listener's probes) have their own share.
        let _anonymous_slot = match identity {
            Some(_) => None,
            None => match self.admission.admit_anonymous() {
                Some(slot) => Some(slot),
                None => {
                    telemetry::record_connection_refused(&self.listener, "without_certificate");
                    tracing::info!(listener = %self.listener, %peer,
                        "connection refused: too many connections without a certificate");
                    return;
                }
            },
        };
        let chain: Option<Vec<_>> = session
            .peer_certificates()
            .map(|certs| certs.iter().map(|c| c.clone().into_owned()).collect());
        let client_cert = chain
            .as_deref()
            .and_then(crate::headers::client_cert_fields);
        // After the handshake and before the first request: OCSP (cached or asked) and the CRL
        // again, which also covers resumed sessions whose verifier did not run.
        let revocation = match (self.revocation, chain) {
            (Some(handle), Some(chain)) => {
                let chain = handle.prepare(&chain);
                let verdict = handle.check_connection_prepared(&chain, true).await;
                if verdict != mtls::Verdict::Good {
                    tracing::warn!(listener = %self.listener, %peer, %verdict, resumed,
                        "revocation check after the handshake");
                }
                Some(ConnectionRevocation {
                    handle,
                    chain: Arc::new(chain),
                    verdict,
                })
            }
            _ => None,
        };
        let info = Arc::new(ConnectionInfo {
            listener: Arc::clone(&self.listener),
            peer,
            connection_headers: crate::headers::connection_headers(identity.as_deref(), peer),
            identity,
            resumed,
            revocation,
            timeouts: self.timeouts,
            client_cert,
        });
        let activity = Activity::new(http1);
        let runtime = self.runtime;
        let watched = Arc::clone(&activity);
        let service = service_fn(move |req| {
            let guard = watched.request_started();
            let info = Arc::clone(&info);
            let runtime = runtime.load_full();
            async move {
                let req = req.map(crate::body::Draining::new);
                let response = routing::handle(runtime, info, req).await;
                Ok::<_, std::convert::Infallible>(
                    // The request counts as in flight until its response body ends or is dropped.
                    response.map(|body| Body::new(crate::body::Holding::new(body, guard))),
                )
            }
        });
        let mut builder = auto::Builder::new(TokioExecutor::new());
        // The watchdog times HTTP/1.1 heads; hyper's own timer would also cut idle keep-alive.
        builder.http1().header_read_timeout(None);
        builder
            .http2()
            .timer(TokioTimer::new())
            .keep_alive_interval(self.timeouts.http2_keepalive_interval)
            .keep_alive_timeout(self.timeouts.http2_keepalive_timeout);
        let conn =
            builder.serve_connection(TokioIo::new(WatchedIo::new(tls, activity.clone())), service);
        // Drive the connection to its end while enforcing the idle and header-read timeouts
        // and the shutdown signal.
        let (timeouts, listener, shutdown) = (&self.timeouts, &*self.listener, &self.shutdown);
        tokio::pin!(conn);
        // When a graceful close of an idle connection began: the client gets `header_read` to
        // let it finish (an HTTP/2 GOAWAY waits for the client's PING answer, which a client in
        // the middle of a header block never sends), then the connection is dropped.
        let mut closing: Option<std::time::Instant> = None;
        let mut idle_close = false;
        loop {
            let wait = match activity.check(timeouts) {
                Verdict::Wait(d) => d,
                Verdict::Idle => {
                    if closing.is_none() {
                        telemetry::record_connection_closed(listener, "idle");
                        conn.as_mut().graceful_shutdown();
                        closing = Some(std::time::Instant::now());
                        idle_close = true;
                    } else if idle_close
                        && closing.is_some_and(|since| since.elapsed() >= timeouts.header_read)
                    {
                        // Still nothing in flight: the client holds the close open.
                        telemetry::record_connection_closed(listener, "idle_forced");
                        tracing::info!(listener, %peer,
                            "idle connection dropped: it did not let a graceful close finish");
                        return;
                    }
                    timeouts.header_read
                }
                Verdict::HeaderTimeout => {
                    telemetry::record_connection_closed(listener, "header_timeout");
                    tracing::info!(listener, %peer, timeout = ?timeouts.header_read,
                        "connection closed: request headers not received in time");
                    return;
                }
            };
            tokio::select! {
                r = conn.as_mut() => {
                    if let Err(e) = r {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                    return;
                }
                () = shutdown.cancelled(), if closing.is_none() => {
                    conn.as_mut().graceful_shutdown();
                    closing = Some(std::time::Instant::now());
                }
                () = tokio::time::sleep(wait) => {}
            }
        }
    }
}
