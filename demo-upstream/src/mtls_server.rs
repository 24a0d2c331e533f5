//! The mutual-TLS serving loop the demo's partners share (the fake SAS, the DMP stand-in): a
//! server certificate, client certificates verified against given CAs, HTTP/1.1 and HTTP/2, and
//! per connection an axum app built from the client's verified CN.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

/// The TLS side of a partner.
#[derive(Debug, Clone)]
pub(crate) struct PartnerTls {
    /// Its server certificate chain (leaf first).
    pub(crate) cert: PathBuf,
    /// Its key.
    pub(crate) key: PathBuf,
    /// CAs the client certificate must lead to.
    pub(crate) client_anchors: Vec<PathBuf>,
    /// TLS sessions kept for resumption (0: every connection authenticated again).
    pub(crate) session_cache_size: usize,
}

/// Binds `addr` and serves, for each connection, the app `app(cn)` made from the client's CN.
///
/// # Errors
/// Unusable TLS material or an address that cannot be bound.
pub(crate) async fn spawn(
    addr: SocketAddr,
    tls: &PartnerTls,
    app: impl Fn(Option<String>) -> Router + Send + Sync + 'static,
) -> std::io::Result<SocketAddr> {
    let anchors =
        mtls::TrustAnchors::from_files(&tls.client_anchors).map_err(std::io::Error::other)?;
    let built = mtls::ServerTls::build(&mtls::ServerTlsSettings {
        cert_chain: tls.cert.clone(),
        key: tls.key.clone(),
        client_auth: mtls::ClientAuth::Required(anchors),
        session_cache_size: tls.session_cache_size,
        revocation: None,
    })
    .map_err(std::io::Error::other)?;
    let mut config = (*built.config()).clone();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let app = Arc::new(app);
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let (acceptor, app) = (acceptor.clone(), Arc::clone(&app));
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let cn = tls
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|c| c.first())
                    .and_then(mtls::PeerIdentity::from_leaf)
                    .and_then(|id| id.cn);
                let service = TowerToHyperService::new(app(cn));
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    Ok(addr)
}
