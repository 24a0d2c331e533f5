//! The DMP stand-in of `gateway demo` (seed 003): an HTTPS endpoint demanding a client
//! certificate from the CPS test CA (a practitioner's card) and answering each SOAP call with
//! a SOAP 1.2 envelope naming the card's CN and the SHA-256 of the request body it received,
//! so the tour shows which card signed and that the body arrived unchanged.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;

/// Where `gateway demo` runs the DMP stand-in.
pub const DEMO_ADDR: &str = "127.0.0.1:18445";

/// Starts the DMP stand-in on `addr` with the test PKI at `pki` (`certs-test/pki`): the
/// server's certificate, and the CPS CA for its clients.
///
/// # Errors
/// Unusable TLS material or an address that cannot be bound.
pub async fn spawn(addr: SocketAddr, pki: &std::path::Path) -> std::io::Result<SocketAddr> {
    let anchors = mtls::TrustAnchors::from_files(&[pki.join("cps/cps-ca.pem")])
        .map_err(std::io::Error::other)?;
    let tls = mtls::ServerTls::build(&mtls::ServerTlsSettings {
        cert_chain: pki.join("server.pem"),
        key: pki.join("server.key"),
        client_auth: mtls::ClientAuth::Required(anchors),
        // No resumption: each connection is authenticated by the card again, as the DMP does.
        session_cache_size: 0,
        revocation: None,
    })
    .map_err(std::io::Error::other)?;
    let mut config = (*tls.config()).clone();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let acceptor = acceptor.clone();
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
                    .and_then(|id| id.cn)
                    .unwrap_or_default();
                let app = Router::new().fallback(answer).with_state(Arc::new(cn));
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), TowerToHyperService::new(app))
                    .await;
            });
        }
    });
    Ok(addr)
}

async fn answer(State(cn): State<Arc<String>>, body: Bytes) -> impl IntoResponse {
    let digest = hex::encode(Sha256::digest(&body));
    let envelope = format!(
        "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Body>\
         <dmpAnswer card=\"{}\" received-sha256=\"{digest}\"/></s:Body></s:Envelope>",
        cn.replace('&', "&amp;")
            .replace('"', "&quot;")
            .replace('<', "&lt;")
    );
    (
        [(header::CONTENT_TYPE, "application/soap+xml; charset=utf-8")],
        envelope,
    )
}
