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
use sha2::{Digest, Sha256};

/// Where `gateway demo` runs the DMP stand-in.
pub const DEMO_ADDR: &str = "127.0.0.1:18445";

/// Starts the DMP stand-in on `addr` with the test PKI at `pki` (`certs-test/pki`): the
/// server's certificate, and the CPS CA for its clients.
///
/// # Errors
/// Unusable TLS material or an address that cannot be bound.
pub async fn spawn(addr: SocketAddr, pki: &std::path::Path) -> std::io::Result<SocketAddr> {
    let tls = crate::mtls_server::PartnerTls {
        cert: pki.join("server.pem"),
        key: pki.join("server.key"),
        client_anchors: vec![pki.join("cps/cps-ca.pem")],
        // No resumption: each connection is authenticated by the card again, as the DMP does.
        session_cache_size: 0,
    };
    crate::mtls_server::spawn(addr, &tls, |cn| {
        Router::new()
            .fallback(answer)
            .with_state(Arc::new(cn.unwrap_or_default()))
    })
    .await
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
