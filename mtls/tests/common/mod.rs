//! Shared test helpers: the test PKI, a TLS server that behaves like the gateway's accept loop,
//! a TLS client, a loopback HTTP server for CRLs and OCSP responses, and CRLs signed at test time.
#![allow(clippy::unwrap_used, dead_code, unreachable_pub)]

pub mod crl;
pub mod ocsp;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use mtls::{ClientAuth, Revocation, ServerTls, ServerTlsSettings, TrustAnchors};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub fn pki(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../certs-test/pki")
        .join(path)
}

pub fn read(path: &str) -> Vec<u8> {
    std::fs::read(pki(path)).unwrap()
}

/// Serial of a manifest entry (serials change at each regeneration of the test PKI).
pub fn serial(name: &str) -> String {
    let manifest: serde_json::Value = serde_json::from_slice(&read("manifest.json")).unwrap();
    manifest["certificates"][name]["serial"]
        .as_str()
        .unwrap()
        .to_owned()
}

pub fn anchors() -> TrustAnchors {
    TrustAnchors::from_files(&[pki("ca-bundle.pem")]).unwrap()
}

pub fn chain(client: &str) -> Vec<CertificateDer<'static>> {
    mtls::load_certificates(&pki(&format!("clients/{client}.pem"))).unwrap()
}

pub fn install_provider() {
    mtls::install_default_provider();
}

/// Signs a CRL as the intermediate, listing `serials` (hex), valid from an hour ago for a day.
pub fn intermediate_crl(serials: &[&str], number: u64) -> Vec<u8> {
    sign_crl("intermediate-ca", serials, number, 3600, 86_400)
}

/// Signs a CRL with `ca` (`intermediate-ca` or `root-ca`): thisUpdate `age` seconds ago,
/// nextUpdate `valid` seconds after thisUpdate.
pub fn sign_crl(ca: &str, serials: &[&str], number: u64, age: i64, valid: i64) -> Vec<u8> {
    crl::sign(&pki(""), ca, serials, number, age, valid)
}

// === a loopback HTTP server for CRLs ===

/// Serves one body at `/crl` with an ETag, answers 304 to a matching If-None-Match, and counts.
#[derive(Clone)]
pub struct CrlServer {
    pub addr: SocketAddr,
    body: Arc<Mutex<(Vec<u8>, u64)>>,
    pub requests: Arc<AtomicUsize>,
    pub not_modified: Arc<AtomicUsize>,
}

impl CrlServer {
    pub async fn start(body: Vec<u8>) -> Self {
        let server = Self {
            addr: "127.0.0.1:0".parse().unwrap(),
            body: Arc::new(Mutex::new((body, 1))),
            requests: Arc::default(),
            not_modified: Arc::default(),
        };
        let state = server.clone();
        let app = axum::Router::new().route(
            "/crl",
            axum::routing::get(move |headers: HeaderMap| {
                let state = state.clone();
                async move {
                    state.requests.fetch_add(1, Ordering::SeqCst);
                    let (body, version) = state.body.lock().unwrap().clone();
                    let etag = format!("\"v{version}\"");
                    let matches = headers
                        .get(header::IF_NONE_MATCH)
                        .is_some_and(|v| v.as_bytes() == etag.as_bytes());
                    if matches {
                        state.not_modified.fetch_add(1, Ordering::SeqCst);
                        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)], Vec::new())
                            .into_response();
                    }
                    (StatusCode::OK, [(header::ETAG, etag)], body).into_response()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { addr, ..server }
    }

    pub fn url(&self) -> String {
        format!("http://{}/crl", self.addr)
    }

    /// Publishes a new CRL (new ETag).
    pub fn publish(&self, body: Vec<u8>) {
        let mut guard = self.body.lock().unwrap();
        guard.0 = body;
        guard.1 += 1;
    }
}

// === TLS server and client ===

/// A TLS server that does what the gateway's accept loop does: after each handshake (full or
/// resumed) it re-checks the peer chain with `check_crl`, then writes one line:
/// `<full|resumed>:<verdict label>`.
pub async fn tls_server(revocation: Arc<Revocation>) -> SocketAddr {
    let tls = ServerTls::build(&ServerTlsSettings {
        cert_chain: pki("server.pem"),
        key: pki("server.key"),
        client_auth: ClientAuth::Required(anchors()),
        session_cache_size: 64,
        revocation: Some(Arc::clone(&revocation)),
    })
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(tls.config());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let acceptor = acceptor.clone();
            let revocation = Arc::clone(&revocation);
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let (_, conn) = tls.get_ref();
                let kind = match conn.handshake_kind() {
                    Some(rustls::HandshakeKind::Resumed) => "resumed",
                    _ => "full",
                };
                let peer: Vec<CertificateDer<'static>> =
                    conn.peer_certificates().unwrap_or_default().to_vec();
                let verdict = revocation.check_crl(&peer);
                let line = format!("{kind}:{}\n", verdict.label());
                let _ = tls.write_all(line.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    addr
}

/// A client configuration presenting `clients/<client>`; keep it to resume sessions.
pub fn client_config(client: &str) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in mtls::load_certificates(&pki("ca-bundle.pem")).unwrap() {
        roots.add(cert).unwrap();
    }
    let key = rustls_pki_types::PrivateKeyDer::from_pem_file(pki(&format!("clients/{client}.key")))
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(mtls::crypto_provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(chain(client), key)
        .unwrap();
    Arc::new(config)
}

/// Connects and returns the server's line, or the TLS error (for example
/// `received fatal alert: CertificateRevoked`).
pub async fn handshake(
    addr: SocketAddr,
    config: &Arc<rustls::ClientConfig>,
) -> Result<String, String> {
    let connector = tokio_rustls::TlsConnector::from(Arc::clone(config));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    let work = async {
        let mut tls = connector
            .connect(name, tcp)
            .await
            .map_err(|e| e.to_string())?;
        // TLS 1.3: the server judges the client certificate after the client thinks the
        // handshake is over; the verdict (or the alert) arrives with the first read.
        let mut line = String::new();
        tls.read_to_string(&mut line)
            .await
            .map_err(|e| e.to_string())?;
        Ok(line.trim().to_owned())
    };
    tokio::time::timeout(Duration::from_secs(10), work)
        .await
        .map_err(|_| "client timeout".to_owned())?
}
