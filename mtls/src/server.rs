//! Server-side TLS: trust anchors, client certificate verification, and the rustls
//! `ServerConfig` of a listener.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::ClientCertVerifier;
use rustls_pki_types::CertificateDer;

use crate::provider::{PROTOCOL_VERSIONS, crypto_provider};
use crate::{Revocation, TlsError, load_certificates, load_private_key};

/// The CA certificates a listener trusts for client chains: the environment's IGC Santé root and
/// intermediate (never mixed across environments).
#[derive(Debug, Clone)]
pub struct TrustAnchors {
    store: Arc<RootCertStore>,
    certificates: Vec<CertificateDer<'static>>,
}

// === impl TrustAnchors ===

impl TrustAnchors {
    /// Loads every certificate of the given files (PEM or DER) as a trust anchor.
    ///
    /// # Errors
    /// A file that cannot be read or parsed, a certificate rustls refuses as an anchor, or no
    /// anchor at all ([`TlsError::NoTrustAnchors`]).
    pub fn from_files<P: AsRef<Path>>(paths: &[P]) -> Result<Self, TlsError> {
        let mut store = RootCertStore::empty();
        let mut certificates = Vec::new();
        for path in paths {
            let path = path.as_ref();
            for cert in load_certificates(path)? {
                store
                    .add(cert.clone())
                    .map_err(|e| TlsError::BadTrustAnchor {
                        path: path.to_owned(),
                        reason: e.to_string(),
                    })?;
                certificates.push(cert);
            }
        }
        if store.is_empty() {
            return Err(TlsError::NoTrustAnchors);
        }
        Ok(Self {
            store: Arc::new(store),
            certificates,
        })
    }

    /// The anchors as loaded, in file order (revocation uses them to find CRL issuers).
    #[must_use]
    pub fn certificates(&self) -> &[CertificateDer<'static>] {
        &self.certificates
    }

    /// The rustls root store.
    #[must_use]
    pub fn root_store(&self) -> Arc<RootCertStore> {
        Arc::clone(&self.store)
    }
}

/// Whether a listener asks for a client certificate.
#[derive(Debug, Clone)]
pub enum ClientAuth {
    /// No client certificate is requested (an internal listener behind another control).
    None,
    /// A verified client certificate is required at the handshake; a client without one gets a
    /// `certificate_required` alert.
    Required(TrustAnchors),
    /// A certificate is requested and verified whenever presented, but a client may connect
    /// without one; routes then refuse it with a 401. The ANS conformance tools probe TLS versions
    /// without a certificate and expect an HTTP answer, hence this mode.
    Optional(TrustAnchors),
}

/// What a listener's TLS is built from.
#[derive(Debug, Clone)]
pub struct ServerTlsSettings {
    /// The server certificate chain (leaf first), PEM or DER.
    pub cert_chain: PathBuf,
    /// The server private key.
    pub key: PathBuf,
    /// Client certificate policy.
    pub client_auth: ClientAuth,
    /// Number of TLS sessions kept for resumption (0 disables stateful resumption).
    pub session_cache_size: usize,
    /// Revocation checking of client certificates: the CRL check then runs inside the
    /// handshake (see [`Revocation::wrap_verifier`]). `None`: no revocation check.
    pub revocation: Option<Arc<Revocation>>,
}

/// A built server TLS configuration.
#[derive(Debug, Clone)]
pub struct ServerTls {
    config: Arc<rustls::ServerConfig>,
}

// === impl ServerTls ===

impl ServerTls {
    /// Loads the material and builds the rustls configuration: TLS 1.2 minimum, ALPN `h2` then
    /// `http/1.1`, the client verifier of `settings.client_auth`.
    ///
    /// Resumption stays safe because the session cache belongs to this configuration: a reload
    /// builds a new one, so sessions made under old anchors cannot resume; and resumed
    /// connections carry the original peer certificates, which the gateway re-checks after
    /// every handshake (full or resumed) before serving any request.
    ///
    /// # Errors
    /// Unreadable or invalid material, or a configuration rustls refuses.
    pub fn build(settings: &ServerTlsSettings) -> Result<Self, TlsError> {
        let provider = crypto_provider();
        let chain = load_certificates(&settings.cert_chain)?;
        let key = load_private_key(&settings.key)?;
        let verifier = client_verifier(&settings.client_auth, &provider)?;
        let verifier = match (&settings.revocation, verifier) {
            (Some(revocation), Some(v)) => Some(revocation.wrap_verifier(v)),
            (_, v) => v,
        };
        let builder = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(PROTOCOL_VERSIONS)
            .map_err(|e| TlsError::Rustls(e.to_string()))?;
        let builder = match verifier {
            Some(v) => builder.with_client_cert_verifier(v),
            None => builder.with_no_client_auth(),
        };
        let mut config =
            builder
                .with_single_cert(chain, key)
                .map_err(|e| TlsError::CertKeyMismatch {
                    cert: settings.cert_chain.clone(),
                    key: settings.key.clone(),
                    reason: e.to_string(),
                })?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        // Our suite order, not the client's (see `crypto_provider`: AES-128-GCM first).
        config.ignore_client_order = true;
        config.session_storage = if settings.session_cache_size == 0 {
            Arc::new(rustls::server::NoServerSessionStorage {})
        } else {
            rustls::server::ServerSessionMemoryCache::new(settings.session_cache_size)
        };
        // Tickets would be encrypted under a key we would have to rotate and share; the
        // stateful cache above is enough for one instance and is dropped on reload.
        config.send_tls13_tickets = if settings.session_cache_size == 0 {
            0
        } else {
            1
        };
        Ok(Self {
            config: Arc::new(config),
        })
    }

    /// The rustls configuration, for a `TlsAcceptor`.
    #[must_use]
    pub fn config(&self) -> Arc<rustls::ServerConfig> {
        Arc::clone(&self.config)
    }
}

fn client_verifier(
    auth: &ClientAuth,
    provider: &Arc<rustls::crypto::CryptoProvider>,
) -> Result<Option<Arc<dyn ClientCertVerifier>>, TlsError> {
    let (anchors, optional) = match auth {
        ClientAuth::None => return Ok(None),
        ClientAuth::Required(a) => (a, false),
        ClientAuth::Optional(a) => (a, true),
    };
    let builder =
        WebPkiClientVerifier::builder_with_provider(anchors.root_store(), Arc::clone(provider));
    let builder = if optional {
        builder.allow_unauthenticated()
    } else {
        builder
    };
    builder
        .build()
        .map(Some)
        .map_err(|e| TlsError::Rustls(e.to_string()))
}
