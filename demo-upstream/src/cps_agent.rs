//! A fake CPS agent (seed 003, the daemon on a practitioner's workstation that lets a backend
//! sign a TLS handshake with the practitioner's CPS card), for the tests and the demo.
//!
//! It serves the binding of docs/cps-agent.md over HTTPS on loopback, with a self-signed
//! certificate made at start (trust it by its SHA-256 [`FakeAgent::fingerprint`]):
//!
//! - `GET /cps/authenticationCertificate` → 200 `application/pkix-cert`, the card's
//!   certificate in DER (or, with [`AgentOptions::pem_chain`], 200
//!   `application/pem-certificate-chain`, the chain in PEM, leaf first);
//! - `POST /cps/sign/for/authentication/SHA256WithRSA`, body = the data to sign →
//!   200 `application/octet-stream`, the RSASSA-PKCS1-v1_5 SHA-256 signature by the card's key
//!   (aws-lc-rs through rustls' provider; it signs nothing else, like a card);
//! - `X-CPS-Session` must equal [`AgentOptions::session`] when one is set, else 401;
//! - failure modes ([`AgentFailure`]: down, wrong certificate, bad signature, 401, 409 card
//!   absent, 423 card locked, 500) and a per-signature delay, changeable while it runs.
//!
//! Every request is logged (`tracing`, target `demo_upstream::cps_agent`) and counted
//! ([`AgentStats`]), never with the data it signs.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::{HeaderMap, StatusCode, header};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use rustls::SignatureScheme;
use rustls::sign::SigningKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;

/// How the fake agent misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentFailure {
    /// Nothing listens at its address ([`spawn`] binds a port and releases it).
    Down,
    /// The certificate request answers 200 with bytes that are not a certificate.
    WrongCertificate,
    /// Signatures come back with one bit flipped.
    BadSignature,
    /// Every request answers 401 (session refused).
    Unauthorized,
    /// Every request answers 409 (no card in the reader).
    CardAbsent,
    /// Every request answers 423 (card locked).
    CardLocked,
    /// Every request answers 500.
    ServerError,
}

/// What the fake agent holds and how it behaves.
#[derive(Debug)]
pub struct AgentOptions {
    /// The card's authentication certificate chain (leaf first).
    pub card_chain: Vec<CertificateDer<'static>>,
    /// The card's private key (RSA).
    pub card_key: PrivateKeyDer<'static>,
    /// The `X-CPS-Session` value required (`None`: not checked).
    pub session: Option<String>,
    /// How long each signature takes.
    pub sign_delay: Duration,
    /// A failure mode from the start.
    pub failure: Option<AgentFailure>,
    /// Serve the chain as PEM (`application/pem-certificate-chain`) instead of the DER leaf.
    pub pem_chain: bool,
    /// Where to listen (`None`: an ephemeral loopback port).
    pub bind: Option<std::net::SocketAddr>,
    /// The agent's own TLS certificate chain and key (`None`: a self-signed one made at start,
    /// pinned by its fingerprint); `gateway demo` gives it the test PKI's server certificate so
    /// that its configuration can trust the agent by CA.
    pub tls_identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
}

impl AgentOptions {
    /// A well-behaved agent for this card: no session, no delay.
    #[must_use]
    pub fn new(card_chain: Vec<CertificateDer<'static>>, card_key: PrivateKeyDer<'static>) -> Self {
        Self {
            card_chain,
            card_key,
            session: None,
            sign_delay: Duration::ZERO,
            failure: None,
            pem_chain: false,
            bind: None,
            tls_identity: None,
        }
    }

    /// Reads the card from PEM files (e.g. `certs-test/pki/cps/cards/medecin.{pem,key}`).
    ///
    /// # Errors
    /// Unreadable or unparseable files.
    pub fn from_files(chain: &Path, key: &Path) -> std::io::Result<Self> {
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(chain)
            .map_err(std::io::Error::other)?
            .collect::<Result<_, _>>()
            .map_err(std::io::Error::other)?;
        let key = PrivateKeyDer::from_pem_file(key).map_err(std::io::Error::other)?;
        Ok(Self::new(chain, key))
    }
}

/// What the fake agent was asked.
#[derive(Debug, Default)]
pub struct AgentStats {
    certificate_requests: AtomicUsize,
    sign_requests: AtomicUsize,
    signatures: AtomicUsize,
    refused: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

impl AgentStats {
    /// `GET /cps/authenticationCertificate` requests received.
    #[must_use]
    pub fn certificate_requests(&self) -> usize {
        self.certificate_requests.load(Ordering::SeqCst)
    }

    /// Sign requests received.
    #[must_use]
    pub fn sign_requests(&self) -> usize {
        self.sign_requests.load(Ordering::SeqCst)
    }

    /// Signatures returned (bad ones included).
    #[must_use]
    pub fn signatures(&self) -> usize {
        self.signatures.load(Ordering::SeqCst)
    }

    /// Requests answered with an error status.
    #[must_use]
    pub fn refused(&self) -> usize {
        self.refused.load(Ordering::SeqCst)
    }

    /// The most signatures in progress at once.
    #[must_use]
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }
}

/// A running fake agent.
#[derive(Debug, Clone)]
pub struct FakeAgent {
    /// Where it listens (or listened, for [`AgentFailure::Down`]).
    pub addr: SocketAddr,
    /// SHA-256 of its self-signed TLS certificate's DER.
    pub fingerprint: [u8; 32],
    /// Its counters.
    pub stats: Arc<AgentStats>,
    control: Arc<Control>,
}

impl FakeAgent {
    /// `https://127.0.0.1:<port>`.
    #[must_use]
    pub fn base_url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// Changes the failure mode (`None`: behave).
    pub fn set_failure(&self, failure: Option<AgentFailure>) {
        *lock(&self.control.failure) = failure;
    }

    /// Changes the per-signature delay.
    pub fn set_sign_delay(&self, delay: Duration) {
        *lock(&self.control.delay) = delay;
    }
}

#[derive(Debug)]
struct Control {
    failure: Mutex<Option<AgentFailure>>,
    delay: Mutex<Duration>,
}

struct Agent {
    chain: Vec<CertificateDer<'static>>,
    key: Arc<dyn SigningKey>,
    session: Option<String>,
    pem_chain: bool,
    control: Arc<Control>,
    stats: Arc<AgentStats>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Starts a fake agent on an ephemeral loopback port.
///
/// # Errors
/// A card key rustls cannot load, a certificate that cannot be made, or no port to bind.
pub async fn spawn(options: AgentOptions) -> std::io::Result<FakeAgent> {
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    let key = provider
        .key_provider
        .load_private_key(options.card_key)
        .map_err(std::io::Error::other)?;
    let (chain, tls_key) = match options.tls_identity {
        Some(identity) => identity,
        None => {
            let self_signed = rcgen::generate_simple_self_signed(vec![
                "localhost".to_owned(),
                "127.0.0.1".to_owned(),
            ])
            .map_err(std::io::Error::other)?;
            let cert = CertificateDer::from(self_signed.cert.der().to_vec());
            let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
                self_signed.signing_key.serialize_der(),
            ));
            (vec![cert], key)
        }
    };
    let fingerprint: [u8; 32] = chain
        .first()
        .map(|c| Sha256::digest(c).into())
        .unwrap_or_default();
    let mut tls = rustls::ServerConfig::builder_with_provider(Arc::new(provider))
        .with_safe_default_protocol_versions()
        .map_err(std::io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(chain, tls_key)
        .map_err(std::io::Error::other)?;
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];

    let bind = options.bind.unwrap_or_else(|| ([127, 0, 0, 1], 0).into());
    let listener = TcpListener::bind(bind).await?;
    let addr = listener.local_addr()?;
    let control = Arc::new(Control {
        failure: Mutex::new(options.failure),
        delay: Mutex::new(options.sign_delay),
    });
    let stats = Arc::new(AgentStats::default());
    let agent = FakeAgent {
        addr,
        fingerprint,
        stats: stats.clone(),
        control: control.clone(),
    };
    if options.failure == Some(AgentFailure::Down) {
        drop(listener);
        return Ok(agent);
    }
    let state = Arc::new(Agent {
        chain: options.card_chain,
        key,
        session: options.session,
        pem_chain: options.pem_chain,
        control,
        stats,
    });
    let app = Router::new()
        .route("/cps/authenticationCertificate", get(certificate))
        .route("/cps/sign/for/authentication/SHA256WithRSA", post(sign))
        .layer(DefaultBodyLimit::max(256 * 1024))
        .with_state(state);
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let (acceptor, app) = (acceptor.clone(), app.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), TowerToHyperService::new(app))
                    .await;
            });
        }
    });
    Ok(agent)
}

/// The session check and the failure modes common to both endpoints.
fn refusal(agent: &Agent, headers: &HeaderMap) -> Option<StatusCode> {
    let failure = *lock(&agent.control.failure);
    let status = match failure {
        Some(AgentFailure::Unauthorized) => Some(StatusCode::UNAUTHORIZED),
        Some(AgentFailure::CardAbsent) => Some(StatusCode::CONFLICT),
        Some(AgentFailure::CardLocked) => Some(StatusCode::LOCKED),
        Some(AgentFailure::ServerError) => Some(StatusCode::INTERNAL_SERVER_ERROR),
        _ => None,
    };
    let session_ok = agent.session.as_ref().is_none_or(|expected| {
        headers
            .get("x-cps-session")
            .is_some_and(|v| v.as_bytes() == expected.as_bytes())
    });
    let status = status.or((!session_ok).then_some(StatusCode::UNAUTHORIZED));
    if status.is_some() {
        agent.stats.refused.fetch_add(1, Ordering::SeqCst);
    }
    status
}

async fn certificate(State(agent): State<Arc<Agent>>, headers: HeaderMap) -> Response {
    agent
        .stats
        .certificate_requests
        .fetch_add(1, Ordering::SeqCst);
    if let Some(status) = refusal(&agent, &headers) {
        tracing::info!(%status, "fake CPS agent: certificate request refused");
        return status.into_response();
    }
    let wrong = *lock(&agent.control.failure) == Some(AgentFailure::WrongCertificate);
    tracing::info!(wrong, "fake CPS agent: certificate request");
    if wrong {
        return typed("application/pkix-cert", b"not a certificate".to_vec());
    }
    if agent.pem_chain {
        let mut pem = String::new();
        for cert in &agent.chain {
            pem.push_str(&pem_block(cert));
        }
        return typed("application/pem-certificate-chain", pem.into_bytes());
    }
    match agent.chain.first() {
        Some(leaf) => typed("application/pkix-cert", leaf.to_vec()),
        None => StatusCode::CONFLICT.into_response(),
    }
}

async fn sign(State(agent): State<Arc<Agent>>, headers: HeaderMap, body: Bytes) -> Response {
    agent.stats.sign_requests.fetch_add(1, Ordering::SeqCst);
    if let Some(status) = refusal(&agent, &headers) {
        tracing::info!(%status, "fake CPS agent: signature refused");
        return status.into_response();
    }
    let started = Instant::now();
    let now = agent.stats.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    agent.stats.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let delay = *lock(&agent.control.delay);
    tokio::time::sleep(delay).await;
    let signed = agent
        .key
        .choose_scheme(&[SignatureScheme::RSA_PKCS1_SHA256])
        .map(|signer| signer.sign(&body));
    agent.stats.in_flight.fetch_sub(1, Ordering::SeqCst);
    let Some(Ok(mut signature)) = signed else {
        tracing::warn!("fake CPS agent: the card key cannot sign SHA256WithRSA");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let bad = *lock(&agent.control.failure) == Some(AgentFailure::BadSignature);
    if bad && let Some(last) = signature.last_mut() {
        *last ^= 0x01;
    }
    agent.stats.signatures.fetch_add(1, Ordering::SeqCst);
    tracing::info!(
        bytes = body.len(),
        elapsed_ms = started.elapsed().as_millis(),
        bad,
        "fake CPS agent: signed"
    );
    typed("application/octet-stream", signature)
}

fn typed(content_type: &'static str, body: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

fn pem_block(cert: &CertificateDer<'_>) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(cert.as_ref());
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn card() -> AgentOptions {
        let pki = Path::new(env!("CARGO_MANIFEST_DIR")).join("../certs-test/pki/cps/cards");
        AgentOptions::from_files(&pki.join("medecin.pem"), &pki.join("medecin.key")).unwrap()
    }

    #[tokio::test]
    async fn listens_unless_down() {
        let up = spawn(card()).await.unwrap();
        assert!(tokio::net::TcpStream::connect(up.addr).await.is_ok());
        assert!(up.base_url().starts_with("https://127.0.0.1:"));
        assert_eq!(up.stats.certificate_requests(), 0);

        let mut options = card();
        options.failure = Some(AgentFailure::Down);
        let down = spawn(options).await.unwrap();
        assert_ne!(down.fingerprint, up.fingerprint);
        assert!(tokio::net::TcpStream::connect(down.addr).await.is_err());
    }

    #[test]
    fn pem_blocks_are_64_columns() {
        let pem = pem_block(&CertificateDer::from(vec![0u8; 100]));
        assert!(pem.lines().all(|l| l.len() <= 64));
        assert_eq!(
            CertificateDer::pem_slice_iter(pem.as_bytes())
                .next()
                .unwrap()
                .unwrap()
                .as_ref(),
            &[0u8; 100]
        );
    }
}
