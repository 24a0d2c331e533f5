//! Outbound client TLS: the gateway calling a partner (the SAS platform, the DMP) with a client
//! certificate whose key is in a file, on a PKCS#11 token, or on a practitioner's CPS card
//! behind the CPS agent of their workstation.
//!
//! The policy is deliberately narrow: only the configured trust anchors are trusted (never the
//! webpki or system roots, so a public CA cannot impersonate the partner), TLS 1.2 is the
//! minimum, and the server name of the URL is checked against the partner's certificate by the
//! standard webpki verifier. Callers get an `Arc<rustls::ClientConfig>` they hand to their HTTP
//! client (`reqwest::ClientBuilder::tls_backend_preconfigured` or hyper-util) and never see PEM.
//!
//! Keys that are not in memory sign through `remote_key` on a dedicated signing pool
//! (`signing`), so a slow card or token never stalls the async workers.

mod agent;
mod builder;
mod error;
mod pkcs11;
mod remote_key;
mod schemes;
mod secret;
mod signing;

use std::path::PathBuf;
use std::sync::Arc;

pub use agent::{AgentClient, AgentSettings, AgentTarget, AgentTrust, BadFingerprint, Fingerprint};
pub use builder::{OutboundIdentity, OutboundTls, OutboundTlsBuilder};
pub use error::{AgentOperation, AgentRefusal, CertificateProblem, IdentityError, signing_failure};
pub use pkcs11::{Pkcs11Certificate, Pkcs11Identity};
pub use schemes::TlsVersions;
pub use secret::Secret;
pub use signing::SignatureCounts;

use crate::{TlsError, load_certificates, load_private_key};

/// What an outbound identity is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundTlsSettings {
    /// The client certificate chain (leaf first), PEM or DER.
    pub cert_chain: PathBuf,
    /// The client private key.
    pub key: PathBuf,
    /// The CA certificates the partner's server chain must lead to (the only ones trusted).
    pub trust_anchors: Vec<PathBuf>,
    /// ALPN protocols to offer, most preferred first (empty: none offered, HTTP/1.1 is used).
    pub alpn: Vec<Vec<u8>>,
}

/// Why an outbound client configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum OutboundTlsError {
    /// The client certificate chain could not be loaded.
    #[error("client certificate: {0}")]
    Certificate(#[source] TlsError),
    /// The client private key could not be loaded.
    #[error("client key: {0}")]
    Key(#[source] TlsError),
    /// A trust anchor could not be loaded or used.
    #[error("trust anchors: {0}")]
    TrustAnchors(#[source] TlsError),
    /// No trust anchor was configured: refusing to fall back on any default root store.
    #[error("no trust anchor configured: the partner's CA certificates are required")]
    NoTrustAnchors,
    /// The certificate and key do not belong together, or rustls refused them.
    #[error("client certificate {cert} with key {key}: {reason}")]
    CertKeyMismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// What rustls said.
        reason: String,
    },
    /// rustls refused the configuration.
    #[error("TLS configuration refused: {0}")]
    Rustls(String),
}

/// Builds the client configuration of a file identity: TLS 1.2 and 1.3, the given anchors.
///
/// Kept for the callers that predate [`OutboundIdentity`]: it is
/// `OutboundTlsBuilder::from_files(anchors).alpn(alpn).build(&OutboundIdentity::File { .. })`.
///
/// # Errors
/// Unreadable or invalid material, no trust anchor, or a key that does not match the
/// certificate.
pub fn client_config(
    settings: &OutboundTlsSettings,
) -> Result<Arc<rustls::ClientConfig>, OutboundTlsError> {
    // Same order of checks as always: certificate, key, anchors.
    let chain = load_certificates(&settings.cert_chain).map_err(OutboundTlsError::Certificate)?;
    let key = load_private_key(&settings.key).map_err(OutboundTlsError::Key)?;
    let legacy = |e: IdentityError| match e {
        IdentityError::Material(e) => e,
        other => OutboundTlsError::Rustls(other.to_string()),
    };
    let builder = OutboundTlsBuilder::from_files(&settings.trust_anchors)
        .map_err(legacy)?
        .alpn(settings.alpn.clone());
    builder
        .file_config(chain, key, &settings.cert_chain, &settings.key)
        .map(Arc::new)
        .map_err(legacy)
}
