//! Outbound client TLS: the gateway calling a partner (the SAS platform) with the vendor's own
//! client certificate.
//!
//! The policy is deliberately narrow: only the configured trust anchors are trusted (never the
//! webpki or system roots, so a public CA cannot impersonate the partner), TLS 1.2 is the
//! minimum, and the server name of the URL is checked against the partner's certificate by the
//! standard webpki verifier. Adapters get an `Arc<rustls::ClientConfig>` they hand to their HTTP
//! client (`reqwest::ClientBuilder::use_preconfigured_tls` or hyper-util) and never see PEM.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::provider::{PROTOCOL_VERSIONS, crypto_provider};
use crate::{TlsError, TrustAnchors, load_certificates, load_private_key};

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

/// Builds the client configuration of an outbound identity.
///
/// # Errors
/// Unreadable or invalid material, no trust anchor, or a key that does not match the
/// certificate.
pub fn client_config(
    settings: &OutboundTlsSettings,
) -> Result<Arc<rustls::ClientConfig>, OutboundTlsError> {
    let chain = load_certificates(&settings.cert_chain).map_err(OutboundTlsError::Certificate)?;
    let key = load_private_key(&settings.key).map_err(OutboundTlsError::Key)?;
    let roots = root_store(&settings.trust_anchors)?;
    build(roots, chain, key, settings)
}

/// The partner's anchors, loaded as a listener loads its own ([`TrustAnchors::from_files`]).
fn root_store(paths: &[PathBuf]) -> Result<Arc<RootCertStore>, OutboundTlsError> {
    match TrustAnchors::from_files(paths) {
        Ok(anchors) => Ok(anchors.root_store()),
        Err(TlsError::NoTrustAnchors) => Err(OutboundTlsError::NoTrustAnchors),
        Err(e) => Err(OutboundTlsError::TrustAnchors(e)),
    }
}

fn build(
    roots: Arc<RootCertStore>,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    settings: &OutboundTlsSettings,
) -> Result<Arc<rustls::ClientConfig>, OutboundTlsError> {
    // The default verifier checks the chain against `roots` only and the server name against
    // the certificate's subjectAltName; nothing here relaxes either check.
    let mut config = rustls::ClientConfig::builder_with_provider(crypto_provider())
        .with_protocol_versions(PROTOCOL_VERSIONS)
        .map_err(|e| OutboundTlsError::Rustls(e.to_string()))?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .map_err(|e| OutboundTlsError::CertKeyMismatch {
            cert: settings.cert_chain.clone(),
            key: settings.key.clone(),
            reason: e.to_string(),
        })?;
    config.alpn_protocols.clone_from(&settings.alpn);
    Ok(Arc::new(config))
}
