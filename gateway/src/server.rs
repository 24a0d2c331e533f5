//! TLS listeners: our own accept loop (so each request carries the verified identity), a cap on
//! concurrent connections, a handshake timeout, HTTP/1.1 and HTTP/2, and graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use crate::routing::{self, Runtime};
use crate::telemetry;

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
    pub(crate) handshake_timeout: Duration,
    pub(crate) max_connections: usize,
    pub(crate) revocation: Option<Arc<mtls::Revocation>>,
}

/// Accepts until `shutdown` fires, then lets open connections finish within `grace`.
pub(crate) async fn serve(
    listener: Listener,
    runtime: Arc<ArcSwap<Runtime>>,
    shutdown: CancellationToken,
    grace: Duration,
) {
    let slots = Arc::new(Semaphore::new(listener.max_connections));
    let graceful = GracefulShutdown::new();
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
        let watcher = graceful.watcher();
        let conn = Connection {
            listener: Arc::clone(&listener.name),
            tls: listener.tls.load_full(),
            handshake_timeout: listener.handshake_timeout,
            runtime: Arc::clone(&runtime),
            revocation: listener.revocation.clone(),
        };
        tokio::spawn(async move {
            let _permit = permit;
            conn.run(stream, peer, watcher).await;
        });
    }
    drop(listener.tcp);
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(listener = %listener.name, ?grace, "grace period over; closing remaining connections");
    }
}

struct Connection {
    listener: Arc<str>,
    tls: Arc<rustls::ServerConfig>,
    handshake_timeout: Duration,
    runtime: Arc<ArcSwap<Runtime>>,
    revocation: Option<Arc<mtls::Revocation>>,
}

impl Connection {
    async fn run(
        self,
        stream: TcpStream,
        peer: SocketAddr,
        watcher: hyper_util::server::graceful::Watcher,
    ) {
        let _ = stream.set_nodelay(true);
        let accept = TlsAcceptor::from(self.tls).accept(stream);
        let tls = match tokio::time::timeout(self.handshake_timeout, accept).await {
            Err(_) => {
                telemetry::record_handshake(&self.listener, "timeout");
                tracing::info!(listener = %self.listener, %peer, reason = "timeout", "TLS handshake failed");
                return;
            }
            Ok(Err(e)) => {
                let failure = mtls::classify_handshake_error(&e);
                telemetry::record_handshake(&self.listener, failure.reason);
                tracing::info!(listener = %self.listener, %peer, reason = failure.reason,
                    detail = %failure.detail, "TLS handshake failed");
                return;
            }
            Ok(Ok(tls)) => tls,
        };
        let (_, session) = tls.get_ref();
        let resumed = matches!(
            session.handshake_kind(),
            Some(rustls::HandshakeKind::Resumed)
        );
        let identity = session
            .peer_certificates()
            .and_then(|certs| certs.first())
            .and_then(mtls::PeerIdentity::from_leaf)
            .map(Arc::new);
        telemetry::record_handshake(&self.listener, if resumed { "resumed" } else { "full" });
        let chain: Option<Vec<_>> = session
            .peer_certificates()
            .map(|certs| certs.iter().map(|c| c.clone().into_owned()).collect());
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
            listener: self.listener,
            peer,
            connection_headers: crate::headers::connection_headers(identity.as_deref(), peer),
            identity,
            resumed,
            revocation,
        });
        let runtime = self.runtime;
        let service = service_fn(move |req| {
            let info = Arc::clone(&info);
            let runtime = runtime.load_full();
            async move { Ok::<_, std::convert::Infallible>(routing::handle(runtime, info, req).await) }
        });
        let builder = auto::Builder::new(TokioExecutor::new());
        let conn = builder.serve_connection(TokioIo::new(tls), service);
        if let Err(e) = watcher.watch(conn.into_owned()).await {
            tracing::debug!(%peer, error = %e, "connection ended with an error");
        }
    }
}
