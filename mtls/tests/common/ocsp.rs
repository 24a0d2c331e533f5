//! OCSP responses built in Rust (x509-ocsp builder, RSA signers from the test PKI) and a
//! loopback responder serving them, for the failure cases `openssl ocsp` will not produce.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use der::asn1::GeneralizedTime;
use der::{Decode, Encode};
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::DecodePrivateKey;
use sha2::Sha256;
use x509_cert::Certificate;
use x509_ocsp::builder::OcspResponseBuilder;
use x509_ocsp::ext::Nonce;
use x509_ocsp::{CertStatus, OcspGeneralizedTime, OcspRequest, OcspResponse, SingleResponse};

use super::read;

/// What the responder answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// Signed by the delegated responder, "good", nonce echoed.
    Good,
    /// Signed by the intermediate itself.
    GoodByIssuer,
    /// "revoked".
    Revoked,
    /// Claims to be `responder` but signed with another key.
    BadSignature,
    /// Signed by `responder-untrusted` (issued by another CA).
    UntrustedResponder,
    /// Signed by `responder-no-eku` (no id-kp-OCSPSigning).
    NoEku,
    /// nextUpdate yesterday.
    Expired,
    /// thisUpdate tomorrow.
    FromTheFuture,
    /// CertID with another serial.
    OtherCertId,
    /// Another nonce than the request's.
    NonceMismatch,
    /// responseStatus tryLater.
    TryLater,
    /// responseStatus unauthorized.
    Unauthorized,
    /// Garbage bytes.
    Garbage,
    /// Sleeps 5 s before answering "good".
    Slow,
}

fn cert(path: &str) -> Certificate {
    let pem = read(path);
    let der = rustls_pki_types::CertificateDer::from_pem_slice(&pem).unwrap();
    Certificate::from_der(der.as_ref()).unwrap()
}

fn signer(path: &str) -> SigningKey<Sha256> {
    let pem = String::from_utf8(read(path)).unwrap();
    SigningKey::<Sha256>::new(rsa::RsaPrivateKey::from_pkcs8_pem(&pem).unwrap())
}

fn gtime(offset_secs: i64) -> OcspGeneralizedTime {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let at = now.checked_add_signed(offset_secs).unwrap();
    OcspGeneralizedTime(GeneralizedTime::from_unix_duration(Duration::from_secs(at)).unwrap())
}

use rustls_pki_types::pem::PemObject;

/// The DER answer to `request` in `scenario`.
pub fn respond(scenario: Scenario, request: &[u8]) -> Vec<u8> {
    match scenario {
        Scenario::TryLater => return OcspResponse::try_later().to_der().unwrap(),
        Scenario::Unauthorized => return OcspResponse::unauthorized().to_der().unwrap(),
        Scenario::Garbage => return b"\x30\x03\x0a\x01".to_vec(),
        _ => {}
    }
    let req = OcspRequest::from_der(request).unwrap();
    let mut cert_id = req.tbs_request.request_list[0].req_cert.clone();
    if scenario == Scenario::OtherCertId {
        cert_id.serial_number = x509_cert::serial_number::SerialNumber::new(&[0x42, 0x42]).unwrap();
    }
    let status = if scenario == Scenario::Revoked {
        CertStatus::revoked(x509_ocsp::RevokedInfo {
            revocation_time: gtime(-86_400),
            revocation_reason: Some(x509_cert::ext::pkix::CrlReason::KeyCompromise),
        })
    } else {
        CertStatus::good()
    };
    let (this_update, next_update) = match scenario {
        Scenario::Expired => (gtime(-3 * 86_400), gtime(-86_400)),
        Scenario::FromTheFuture => (gtime(86_400), gtime(2 * 86_400)),
        _ => (gtime(-60), gtime(3600)),
    };
    let (responder_cert, key) = match scenario {
        Scenario::GoodByIssuer => ("intermediate-ca.pem", "intermediate-ca.key"),
        Scenario::BadSignature => ("ocsp/responder.pem", "ocsp/responder-no-eku.key"),
        Scenario::UntrustedResponder => (
            "ocsp/responder-untrusted.pem",
            "ocsp/responder-untrusted.key",
        ),
        Scenario::NoEku => ("ocsp/responder-no-eku.pem", "ocsp/responder-no-eku.key"),
        _ => ("ocsp/responder.pem", "ocsp/responder.key"),
    };
    let responder = cert(responder_cert);
    let mut builder = OcspResponseBuilder::new(responder.tbs_certificate.subject.clone())
        .with_single_response(
            SingleResponse::new(cert_id, status, this_update).with_next_update(next_update),
        );
    if scenario == Scenario::NonceMismatch {
        builder = builder
            .with_extension(Nonce::new(vec![7u8; 16]).unwrap())
            .unwrap();
    } else if let Some(nonce) = req.nonce() {
        builder = builder.with_extension(nonce).unwrap();
    }
    let certs = (scenario != Scenario::GoodByIssuer).then(|| vec![responder]);
    builder
        .sign(&mut signer(key), certs, gtime(0))
        .unwrap()
        .to_der()
        .unwrap()
}

/// A loopback responder answering every POST per `scenario`, counting requests.
pub struct Responder {
    pub addr: SocketAddr,
    pub requests: Arc<AtomicUsize>,
}

impl Responder {
    pub async fn start(scenario: Scenario) -> Self {
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&requests);
        let app = axum::Router::new().route(
            "/",
            axum::routing::post(move |body: Bytes| {
                let counter = Arc::clone(&counter);
                async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    if scenario == Scenario::Slow {
                        tokio::time::sleep(Duration::from_secs(5)).await;
                    }
                    respond(scenario, &body)
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { addr, requests }
    }

    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }
}
