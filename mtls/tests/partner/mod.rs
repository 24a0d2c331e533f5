//! A partner server for outbound-identity tests (the DMP's role in seed 003): a small rustls
//! server written here, sharing no code with the client path under test. It requires a client
//! certificate from the given CA, speaks the given TLS versions, and answers each connection
//! with the CN of the client certificate it verified.
#![allow(clippy::unwrap_used, dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, SupportedProtocolVersion};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use x509_parser::prelude::{FromDer, X509Certificate};

pub fn pki(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../certs-test/pki")
        .join(path)
}

pub const TLS12: &[&SupportedProtocolVersion] = &[&rustls::version::TLS12];
pub const TLS13: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13];

/// A running partner, and what it saw: the client CN of each handshake, or its error.
pub struct Partner {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Result<String, String>>>>,
}

impl Partner {
    pub fn seen(&self) -> Vec<Result<String, String>> {
        self.seen.lock().unwrap().clone()
    }

    /// Handshakes that completed with a client certificate.
    pub fn authenticated(&self) -> Vec<String> {
        self.seen().into_iter().filter_map(Result::ok).collect()
    }
}

fn certs(path: &Path) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_file_iter(path)
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Starts a partner on loopback with the test PKI's `server` certificate (CN localhost).
pub async fn partner(versions: &[&'static SupportedProtocolVersion], client_ca: &Path) -> Partner {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = RootCertStore::empty();
    for cert in certs(client_ca) {
        roots.add(cert).unwrap();
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(pki("server.key")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs(&pki("server.pem")), key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, record) = (acceptor.clone(), record.clone());
            tokio::spawn(async move {
                match acceptor.accept(tcp).await {
                    Ok(mut tls) => {
                        let cn = tls
                            .get_ref()
                            .1
                            .peer_certificates()
                            .and_then(|c| c.first())
                            .map(|leaf| cn_of(leaf))
                            .unwrap_or_default();
                        record.lock().unwrap().push(Ok(cn.clone()));
                        let _ = tls.write_all(cn.as_bytes()).await;
                        let _ = tls.shutdown().await;
                    }
                    Err(e) => record.lock().unwrap().push(Err(e.to_string())),
                }
            });
        }
    });
    Partner { addr, seen }
}

fn cn_of(leaf: &CertificateDer<'_>) -> String {
    let (_, cert) = X509Certificate::from_der(leaf.as_ref()).unwrap();
    cert.subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// Connects to the partner as `localhost` and reads what it answers (the CN it saw).
pub async fn call(config: Arc<rustls::ClientConfig>, addr: SocketAddr) -> std::io::Result<String> {
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::try_from("localhost").unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await?;
    let mut seen = String::new();
    tls.read_to_string(&mut seen).await?;
    Ok(seen)
}
