//! The DMP stand-in of the outbound tests: a small rustls + hyper server written here (no code
//! shared with the client path): the given TLS versions, a client certificate from the CPS
//! test CA or the test PKI required, answering with the certificate's CN, its connection
//! number, the SHA-256 of the body it received, and any internal header that leaked.
#![allow(dead_code, clippy::unwrap_used, missing_docs, unreachable_pub)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use sha2::Digest as _;

use crate::common::pki;

pub fn cps(rel: &str) -> std::path::PathBuf {
    pki(&format!("cps/{rel}"))
}

/// The DMP stand-in: speaks `versions`, requires a client certificate from the CPS CA or the
/// test PKI.
pub async fn dmp(versions: &[&'static rustls::SupportedProtocolVersion]) -> SocketAddr {
    let mut roots = rustls::RootCertStore::empty();
    for file in [cps("cps-ca.pem"), pki("root-ca.pem")] {
        for cert in CertificateDer::pem_file_iter(&file).unwrap() {
            roots.add(cert.unwrap()).unwrap();
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        Arc::clone(&provider),
    )
    .build()
    .unwrap();
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(pki("server.pem"))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let key = PrivateKeyDer::from_pem_file(pki("server.key")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let number = connections.fetch_add(1, Ordering::SeqCst) + 1;
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let cn = tls
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|c| c.first().cloned())
                    .and_then(|leaf| mtls::PeerIdentity::from_leaf(&leaf))
                    .and_then(|id| id.cn)
                    .unwrap_or_default();
                let service = hyper::service::service_fn(
                    move |req: Request<hyper::body::Incoming>| {
                        let cn = cn.clone();
                        async move {
                            let content_type = req.headers().get("content-type").cloned();
                            let leaked: Vec<String> = req
                                .headers()
                                .keys()
                                .filter(|k| {
                                    k.as_str().starts_with("x-cps")
                                        || k.as_str().starts_with("x-client")
                                        || k.as_str().starts_with("x-gateway")
                                })
                                .map(ToString::to_string)
                                .collect();
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            let answer = serde_json::json!({
                                "cn": cn,
                                "connection": number,
                                "body_sha256": hex::encode(sha2::Sha256::digest(&body)),
                                "content_type": content_type.map(|v| v.to_str().unwrap_or_default().to_owned()),
                                "leaked": leaked,
                            });
                            Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(
                                Bytes::from(answer.to_string()),
                            )))
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    addr
}
