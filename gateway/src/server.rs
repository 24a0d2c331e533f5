//! TLS listeners: our own accept loop (so each request carries the verified identity), caps on
//! connections (in all, per address, without a certificate: [`crate::admission`]), the
//! handshake, header-read and idle timeouts ([`crate::watchdog`]), HTTP/1.1 and HTTP/2, and
//! graceful shutdown.
//!
//! Memory per idle keep-alive connection is kept low (thousands of them are held open): the task
//! holds boxes rather than the handshake's and hyper's whole state inline; an idle HTTP/1.1
//! connection is parked (hyper's buffers dropped, only the TLS stream kept: `serve_http1!`);
//! and what is kept per connection is what requests need (the chain for RFC 9440, encoded only
//! when a route forwards it: [`ClientCert`]).

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use arc_swap::ArcSwap;
use axum::body::Body;
use http_body::Body as _;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use rustls::pki_types::CertificateDer;
use std::future::Future;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::error::Elapsed;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::admission::Admission;
use crate::config::{ConnectionCaps, ConnectionTimeouts};
use crate::routing::{self, Runtime};
use crate::telemetry;
use crate::watchdog::{Activity, WatchedIo};

mod drive;
use drive::Watch;

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
    /// The presented chain, for routes that forward it as RFC 9440 fields.
    pub(crate) client_cert: Option<ClientCert>,
}

/// The chain a client presented, leaf first. It derefs to its RFC 9440 fields, encoded on first
/// use: most connections never take a route that forwards them, and the encoded fields are
/// larger than the DER (which is kept because a reload may add such a route).
#[derive(Debug, Clone)]
pub(crate) struct ClientCert {
    der: Box<[CertificateDer<'static>]>,
    fields: OnceLock<crate::headers::ClientCertFields>,
}

impl ClientCert {
    fn new(chain: &[CertificateDer<'static>]) -> Option<Self> {
        (!chain.is_empty()).then(|| Self {
            der: chain.into(),
            fields: OnceLock::new(),
        })
    }
}

impl std::ops::Deref for ClientCert {
    type Target = crate::headers::ClientCertFields;

    fn deref(&self) -> &Self::Target {
        self.fields.get_or_init(|| {
            // Only an empty chain has no fields, and `new` refuses those.
            crate::headers::client_cert_fields(&self.der).unwrap_or_else(|| {
                crate::headers::ClientCertFields {
                    leaf: http::HeaderValue::from_static("::"),
                    chain: None,
                }
            })
        })
    }
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
            _held: (permit, address_slot),
        };
        // Spawned as is, not wrapped in an async block: a wrapper would hold this future and
        // then a second copy of it while awaiting it, doubling every connection's task.
        connections.spawn(conn.run(stream, peer));
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

/// Serves an HTTP/1.1 connection, parked whenever it is idle between requests: hyper's state
/// (read and write buffers, parser, cached header map: most of an idle connection's memory)
/// is dropped, and only the TLS stream is kept until the client sends again, or the idle
/// timeout or shutdown closes it. A macro, not a function: the service's type is a closure's.
macro_rules! serve_http1 {
    ($watch:expr, $io:expr, $service:expr) => {{
        let watch = $watch;
        let (mut io, mut service) = ($io, $service);
        let mut builder = http1::Builder::new();
        // The watchdog times heads; hyper's own timer would also cut idle keep-alive.
        builder.header_read_timeout(None);
        loop {
            let mut conn = Box::new(builder.serve_connection(TokioIo::new(io), service));
            let parked = watch
                .drive(
                    Pin::new(&mut *conn),
                    |c| c.graceful_shutdown(),
                    Some(drive::PARK_AFTER),
                )
                .await;
            if !parked {
                break;
            }
            // Idle between two messages with everything written (`Activity::parkable_in`):
            // nothing of hyper's is lost but bytes it read ahead, which are read again first.
            let parts = conn.into_parts();
            (io, service) = (parts.io.into_inner(), parts.service);
            if parts.read_buf.is_empty() {
                telemetry::record_connection_parked(watch.listener);
                if !watch.park(&mut io).await {
                    break;
                }
            }
            io.set_prefix(parts.read_buf);
        }
    }};
}

struct Connection {
    listener: Arc<str>,
    tls: Arc<rustls::ServerConfig>,
    timeouts: ConnectionTimeouts,
    runtime: Arc<ArcSwap<Runtime>>,
    revocation: Option<Arc<mtls::Revocation>>,
    admission: Arc<Admission>,
    shutdown: CancellationToken,
    /// The listener's connection slot and the address's: given back when the connection ends.
    _held: (
        tokio::sync::OwnedSemaphorePermit,
        crate::admission::AddressSlot,
    ),
}

/// How a handshake ended: the established stream (boxed, see [`Connection::handshake`]), a
/// failure (with the socket, to close it gently), or the timeout.
type Handshake = Result<Result<Box<TlsStream<TcpStream>>, (std::io::Error, TcpStream)>, Elapsed>;

impl Connection {
    /// The TLS handshake, bounded by its timeout. A connection's task is as large as the
    /// largest state of `run` for the connection's whole life, and a rustls connection is over
    /// 1 KiB: so the handshake is built and boxed here, outside `run` (values built in an async
    /// fn keep their slot in its state even once moved into a box), and the established stream
    /// comes out boxed (the result of an `.await` keeps a slot too). Together with the stream's
    /// own moves (into the watchdog's wrapper, into hyper), the task went from 9.1 to 2.3 KiB.
    fn handshake(&self, stream: TcpStream) -> Pin<Box<impl Future<Output = Handshake> + use<>>> {
        let accept = TlsAcceptor::from(Arc::clone(&self.tls))
            .accept(stream)
            .into_fallible();
        let timeout = tokio::time::timeout(self.timeouts.handshake, accept);
        Box::pin(async move { timeout.await.map(|r| r.map(Box::new)) })
    }

    async fn run(self, stream: TcpStream, peer: SocketAddr) {
        let _ = stream.set_nodelay(true);
        let tls = match self.handshake(stream).await {
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
        let alpn = session.alpn_protocol();
        let http1 = alpn != Some(b"h2".as_slice());
        // Without ALPN the client may still speak HTTP/2 (prior knowledge): let hyper sniff.
        let sniff = alpn.is_none();
        // Borrowed from the session: rustls keeps the chain for the connection's life.
        let certs = session.peer_certificates().unwrap_or_default();
        let identity = certs
            .first()
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
        let client_cert = ClientCert::new(certs);
        let prepared = match &self.revocation {
            Some(handle) if !certs.is_empty() => Some(handle.prepare(certs)),
            _ => None,
        };
        // After the handshake and before the first request: OCSP (cached or asked) and the CRL
        // again, which also covers resumed sessions whose verifier did not run.
        let revocation = match (self.revocation, prepared) {
            (Some(handle), Some(chain)) => {
                let verdict = Box::pin(handle.check_connection_prepared(&chain, true)).await;
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
        let service = service_fn(move |req: http::Request<hyper::body::Incoming>| {
            let guard = watched.request_started();
            let number = watched.note_body(!req.body().is_end_stream());
            let info = Arc::clone(&info);
            let runtime = runtime.load_full();
            let activity = Arc::clone(&watched);
            let http2 = req.version() == http::Version::HTTP_2;
            async move {
                let req = req.map(|body| {
                    crate::body::Draining::with_end(body, move || activity.body_ended(number))
                });
                // Boxed: hyper keeps room for this future for the connection's life (HTTP/1.1),
                // and the handler's state is kilobytes; a box per request is cheaper.
                let mut response = Box::pin(routing::handle(runtime, info, req)).await;
                if http2 {
                    // An HTTP/2 connection keeps what it sends in its HPACK table, for its life:
                    // values of an upstream's response must not pin that upstream's read buffer
                    // (whatever the handler: proxy, outbound, adapters).
                    crate::headers::unshare_values(response.headers_mut());
                }
                Ok::<_, std::convert::Infallible>(
                    // The request counts as in flight until its response body ends or is dropped.
                    response.map(|body| Body::new(crate::body::Holding::new(body, guard))),
                )
            }
        });
        let io = WatchedIo::new(tls, Arc::clone(&activity));
        let watch = Watch {
            listener: &self.listener,
            peer,
            timeouts: &self.timeouts,
            shutdown: &self.shutdown,
            activity: &activity,
        };
        if http1 && !sniff {
            return serve_http1!(watch, io, service);
        }
        // HTTP/2 by ALPN, or no ALPN: hyper tells HTTP/1.1 from HTTP/2 by the first bytes. Not
        // parked either way.
        let mut builder = auto::Builder::new(TokioExecutor::new());
        // The watchdog times HTTP/1.1 heads; hyper's own timer would also cut idle keep-alive.
        builder.http1().header_read_timeout(None);
        builder
            .http2()
            .timer(TokioTimer::new())
            .keep_alive_interval(self.timeouts.http2_keepalive_interval)
            .keep_alive_timeout(self.timeouts.http2_keepalive_timeout);
        if !http1 {
            builder = builder.http2_only();
        }
        let mut conn = Box::pin(builder.serve_connection(TokioIo::new(io), service));
        watch
            .drive(conn.as_mut(), |c| c.graceful_shutdown(), None)
            .await;
    }
}
