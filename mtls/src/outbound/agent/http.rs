//! The CPS agent binding (docs/cps-agent.md): two requests, their statuses, their bodies.

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderValue};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use super::pin::PinnedAgent;
use super::{AgentSettings, AgentTarget, AgentTrust};
use crate::outbound::error::{
    AgentOperation, AgentRefusal, CertificateProblem, IdentityError, find_rustls_error,
};
use crate::provider::crypto_provider;
use crate::{OutboundTlsError, TlsError, TrustAnchors};

/// The header carrying the session credential the agent requires.
pub(super) const SESSION_HEADER: &str = "x-cps-session";
/// The card's authentication certificate.
pub(super) const CERTIFICATE_PATH: &str = "/cps/authenticationCertificate";
/// RSASSA-PKCS1-v1_5 with SHA-256 of the request body, by the card's authentication key.
pub(super) const SIGN_PATH: &str = "/cps/sign/for/authentication/SHA256WithRSA";
/// `GET` answers: one DER certificate, or a PEM chain (leaf first).
const DER_CERT: &str = "application/pkix-cert";
const PEM_CHAIN: &str = "application/pem-certificate-chain";
const OCTETS: &str = "application/octet-stream";
/// A certificate chain larger than this is not a card's.
const MAX_CERTIFICATE_BYTES: usize = 64 * 1024;
/// An RSA signature of 16384 bits is 2048 bytes.
const MAX_SIGNATURE_BYTES: usize = 2048;

/// The HTTP client of one route's agents: agents are trusted by pin or by CA (never the
/// default roots), HTTP/1.1.
pub(super) fn client(settings: &AgentSettings) -> Result<reqwest::Client, IdentityError> {
    let provider = crypto_provider();
    let algorithms = provider.signature_verification_algorithms;
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| OutboundTlsError::Rustls(e.to_string()))?;
    let mut tls = match &settings.trust {
        AgentTrust::Fingerprints(pins) => {
            if pins.is_empty() {
                return Err(OutboundTlsError::NoTrustAnchors.into());
            }
            // A pin instead of a chain (see `PinnedAgent`): the one relaxation here, named.
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(PinnedAgent::new(
                    pins.clone(),
                    algorithms,
                )))
                .with_no_client_auth()
        }
        AgentTrust::CaFiles(paths) => {
            let anchors = TrustAnchors::from_files(paths).map_err(|e| match e {
                TlsError::NoTrustAnchors => OutboundTlsError::NoTrustAnchors,
                e => OutboundTlsError::TrustAnchors(e),
            })?;
            builder
                .with_root_certificates(anchors.root_store())
                .with_no_client_auth()
        }
    };
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .connect_timeout(settings.request_timeout)
        .pool_idle_timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| OutboundTlsError::Rustls(e.to_string()).into())
}

/// `GET /cps/authenticationCertificate`: the card's certificate chain, leaf first.
pub(super) async fn certificate(
    http: &reqwest::Client,
    target: &AgentTarget,
    timeout: Duration,
) -> Result<Vec<CertificateDer<'static>>, IdentityError> {
    let op = AgentOperation::Certificate;
    let request = http
        .get(target.url(CERTIFICATE_PATH))
        .header(ACCEPT, format!("{DER_CERT}, {PEM_CHAIN}"))
        .timeout(timeout);
    let body = send(request, target, op, timeout, MAX_CERTIFICATE_BYTES).await?;
    let wrong = |problem| IdentityError::WrongCertificate {
        signer: target.base_url().to_owned(),
        problem,
    };
    if body.is_empty() {
        return Err(wrong(CertificateProblem::Empty));
    }
    if body.starts_with(b"-----BEGIN ") {
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&body)
            .collect::<Result<_, _>>()
            .map_err(|e| wrong(CertificateProblem::Unparseable(e.to_string())))?;
        if chain.is_empty() {
            return Err(wrong(CertificateProblem::Empty));
        }
        Ok(chain)
    } else {
        Ok(vec![CertificateDer::from(body)])
    }
}

/// `POST /cps/sign/for/authentication/SHA256WithRSA` with the data to sign: the signature.
pub(super) async fn sign(
    http: &reqwest::Client,
    target: &AgentTarget,
    message: Vec<u8>,
    timeout: Duration,
) -> Result<Vec<u8>, IdentityError> {
    let op = AgentOperation::Sign;
    let request = http
        .post(target.url(SIGN_PATH))
        .header(CONTENT_TYPE, OCTETS)
        .header(ACCEPT, OCTETS)
        .body(message)
        .timeout(timeout);
    let signature = send(request, target, op, timeout, MAX_SIGNATURE_BYTES).await?;
    if signature.is_empty() {
        return Err(IdentityError::AgentAnswer {
            agent: target.base_url().to_owned(),
            operation: op,
            reason: "empty signature".into(),
        });
    }
    Ok(signature)
}

/// Sends with the session header, maps the status, reads at most `limit` bytes.
async fn send(
    mut request: reqwest::RequestBuilder,
    target: &AgentTarget,
    op: AgentOperation,
    timeout: Duration,
    limit: usize,
) -> Result<Vec<u8>, IdentityError> {
    if let Some(session) = target.session() {
        let mut value = HeaderValue::from_str(session.expose()).map_err(|_| {
            IdentityError::InvalidAgentTarget {
                url: target.base_url().to_owned(),
                reason: "the session credential is not a valid header value",
            }
        })?;
        value.set_sensitive(true);
        request = request.header(SESSION_HEADER, value);
    }
    let mut response = request
        .send()
        .await
        .map_err(|e| transport(target, op, &e, timeout))?;
    let status = response.status();
    let agent = || target.base_url().to_owned();
    if status.is_client_error() {
        return Err(IdentityError::AgentRefused {
            agent: agent(),
            operation: op,
            status: status.as_u16(),
            refusal: AgentRefusal::from_status(status.as_u16()),
        });
    }
    if status != StatusCode::OK {
        return Err(IdentityError::AgentFailed {
            agent: agent(),
            operation: op,
            status: status.as_u16(),
        });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| transport(target, op, &e, timeout))?
    {
        if body.len() + chunk.len() > limit {
            return Err(IdentityError::AgentAnswer {
                agent: agent(),
                operation: op,
                reason: format!("answer larger than {limit} bytes"),
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A transport failure: timeout, untrusted TLS certificate, or unreachable.
fn transport(
    target: &AgentTarget,
    op: AgentOperation,
    e: &reqwest::Error,
    timeout: Duration,
) -> IdentityError {
    let agent = target.base_url().to_owned();
    if e.is_timeout() {
        return IdentityError::Timeout {
            signer: agent,
            operation: match op {
                AgentOperation::Certificate => "certificate request",
                AgentOperation::Sign => "signature",
            },
            after: timeout,
        };
    }
    if let Some(tls) = find_rustls_error(e)
        && matches!(
            tls,
            rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented
        )
    {
        let reason = match tls {
            rustls::Error::InvalidCertificate(rustls::CertificateError::Other(other)) => {
                format!("invalid peer certificate: {}", other.0)
            }
            other => other.to_string(),
        };
        return IdentityError::AgentUntrusted { agent, reason };
    }
    // The request URL is the agent's base URL plus a fixed path: nothing secret in it, but
    // the chain's messages say enough.
    let mut reason = String::new();
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = current {
        if !reason.is_empty() {
            reason.push_str(": ");
        }
        reason.push_str(&err.to_string());
        current = err.source();
    }
    IdentityError::AgentUnreachable {
        agent,
        operation: op,
        reason,
    }
}
