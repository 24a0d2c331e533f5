//! The outbound client configuration against real TLS servers on loopback: the partner sees the
//! vendor's certificate; a server with the wrong name or a chain from an unconfigured CA is
//! refused; bad material gives a typed error.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::sync::Arc;

use common::{anchors, pki};
use mtls::{
    ClientAuth, OutboundTlsError, OutboundTlsSettings, PeerIdentity, ServerTls, ServerTlsSettings,
};
use rustls_pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn vendor(anchors: &[&str]) -> OutboundTlsSettings {
    OutboundTlsSettings {
        cert_chain: pki("clients/vendor.pem"),
        key: pki("clients/vendor.key"),
        trust_anchors: anchors.iter().map(|a| pki(a)).collect(),
        alpn: vec![b"http/1.1".to_vec()],
    }
}

/// A server demanding a client certificate from the test CA; it answers with the CN it saw.
async fn server(cert: &str) -> std::net::SocketAddr {
    let tls = ServerTls::build(&ServerTlsSettings {
        cert_chain: pki(&format!("{cert}.pem")),
        key: pki(&format!("{cert}.key")),
        client_auth: ClientAuth::Required(anchors()),
        session_cache_size: 0,
        revocation: None,
    })
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(tls.config());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let cn = tls
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|c| c.first())
                    .and_then(PeerIdentity::from_leaf)
                    .map(|id| format!("{id:?}"))
                    .unwrap_or_default();
                let _ = tls.write_all(cn.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    addr
}

async fn call(
    config: Arc<rustls::ClientConfig>,
    addr: std::net::SocketAddr,
) -> std::io::Result<String> {
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::try_from("localhost").unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await?;
    let mut seen = String::new();
    tls.read_to_string(&mut seen).await?;
    Ok(seen)
}

#[tokio::test]
async fn the_partner_sees_the_vendor_certificate() {
    let addr = server("server").await;
    let config = mtls::client_config(&vendor(&["root-ca.pem", "intermediate-ca.pem"])).unwrap();
    let seen = call(config, addr).await.unwrap();
    assert!(seen.contains("vendor-gateway.test"), "server saw {seen:?}");
    assert!(seen.contains("VENDOR-TEST"), "server saw {seen:?}");
}

#[tokio::test]
async fn a_server_with_another_name_is_refused() {
    let addr = server("wrong-name-server").await;
    let config = mtls::client_config(&vendor(&["ca-bundle.pem"])).unwrap();
    let err = call(config, addr).await.unwrap_err();
    assert!(
        err.to_string().contains("not valid for name"),
        "unexpected error: {err}"
    );
}

#[tokio::test]
async fn a_chain_from_an_unconfigured_ca_is_refused() {
    let addr = server("server").await;
    // Trusting only another root: the real server chain must not be accepted, and no default
    // root store is consulted.
    let config = mtls::client_config(&vendor(&["untrusted-ca.pem"])).unwrap();
    let err = call(config, addr).await.unwrap_err();
    assert!(
        err.to_string().contains("UnknownIssuer"),
        "unexpected error: {err}"
    );
}

#[tokio::test]
async fn tls_1_2_is_the_minimum_and_alpn_is_as_configured() {
    let config = mtls::client_config(&vendor(&["ca-bundle.pem"])).unwrap();
    assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
    let versions: Vec<_> = config
        .crypto_provider()
        .cipher_suites
        .iter()
        .map(|s| s.version().version)
        .collect();
    assert!(versions.iter().all(|v| matches!(
        v,
        rustls::ProtocolVersion::TLSv1_2 | rustls::ProtocolVersion::TLSv1_3
    )));
}

#[test]
fn bad_material_is_a_typed_error() {
    let no_anchor = mtls::client_config(&vendor(&[])).unwrap_err();
    assert!(matches!(no_anchor, OutboundTlsError::NoTrustAnchors));

    let mut missing = vendor(&["ca-bundle.pem"]);
    missing.cert_chain = pki("clients/does-not-exist.pem");
    assert!(matches!(
        mtls::client_config(&missing).unwrap_err(),
        OutboundTlsError::Certificate(_)
    ));

    let mut mismatch = vendor(&["ca-bundle.pem"]);
    mismatch.key = pki("clients/internal-app.key");
    let err = mtls::client_config(&mismatch).unwrap_err();
    assert!(
        matches!(err, OutboundTlsError::CertKeyMismatch { .. }),
        "{err}"
    );

    let mut key_as_anchor = vendor(&["clients/vendor.key"]);
    key_as_anchor.alpn.clear();
    assert!(matches!(
        mtls::client_config(&key_as_anchor).unwrap_err(),
        OutboundTlsError::TrustAnchors(_)
    ));
}
