//! Outbound identities and the builder of their client configurations.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::client::Resumption;
use rustls::sign::{CertifiedKey, SigningKey, SingleCertAndKey};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::agent::{AgentClient, AgentSettings, AgentTarget};
use super::error::IdentityError;
use super::pkcs11::{self, Pkcs11Identity};
use super::schemes::TlsVersions;
use super::signing::{SignatureCounts, SignatureStats};
use crate::provider::crypto_provider;
use crate::{OutboundTlsError, TlsError, TrustAnchors, load_certificates, load_private_key};

/// Who the gateway is towards a partner: where the client certificate and its private key are.
#[derive(Debug, Clone)]
pub enum OutboundIdentity {
    /// A certificate chain (leaf first) and its private key, in files (PEM or DER).
    File {
        /// The client certificate chain.
        cert_chain: PathBuf,
        /// The private key.
        key: PathBuf,
    },
    /// A private key on a PKCS#11 token (HSM, smart card): it signs on the token.
    Pkcs11(Pkcs11Identity),
    /// A practitioner's CPS card behind the CPS agent of their workstation, chosen per call
    /// ([`AgentTarget`]); the card signs each handshake through the agent.
    CpsAgent(AgentSettings),
}

/// Builds the client configurations of outbound identities: the trust anchors of the partner
/// (the only ones trusted; the server name is checked by the standard verifier), the TLS
/// versions of the route, and the ALPN protocols.
#[derive(Debug, Clone)]
pub struct OutboundTlsBuilder {
    roots: Arc<RootCertStore>,
    versions: TlsVersions,
    alpn: Vec<Vec<u8>>,
}

// === impl OutboundTlsBuilder ===

impl OutboundTlsBuilder {
    /// Trusts exactly `anchors`; TLS 1.2 and 1.3; no ALPN.
    #[must_use]
    pub fn new(anchors: &TrustAnchors) -> Self {
        Self {
            roots: anchors.root_store(),
            versions: TlsVersions::ALL,
            alpn: Vec::new(),
        }
    }

    /// Loads the partner's CA certificates (PEM or DER files).
    ///
    /// # Errors
    /// [`IdentityError::Material`] with [`OutboundTlsError::NoTrustAnchors`] or
    /// [`OutboundTlsError::TrustAnchors`].
    pub fn from_files<P: AsRef<Path>>(paths: &[P]) -> Result<Self, IdentityError> {
        match TrustAnchors::from_files(paths) {
            Ok(anchors) => Ok(Self::new(&anchors)),
            Err(TlsError::NoTrustAnchors) => Err(OutboundTlsError::NoTrustAnchors.into()),
            Err(e) => Err(OutboundTlsError::TrustAnchors(e).into()),
        }
    }

    /// The TLS versions the route allows (the identity may narrow them: see [`TlsVersions`]).
    #[must_use]
    pub fn versions(mut self, versions: TlsVersions) -> Self {
        self.versions = versions;
        self
    }

    /// ALPN protocols to offer, most preferred first.
    #[must_use]
    pub fn alpn(mut self, alpn: Vec<Vec<u8>>) -> Self {
        self.alpn = alpn;
        self
    }

    /// Builds the outbound TLS of a route for `identity`.
    ///
    /// A file or PKCS#11 identity yields one configuration for every call; a CPS agent
    /// identity yields an [`AgentClient`] that builds one per practitioner's agent. A PKCS#11
    /// identity logs in to its token here (blocking: call this at configuration load, or from
    /// `spawn_blocking`).
    ///
    /// # Errors
    /// Unusable material, a token that is absent or refuses the PIN, or versions the identity
    /// cannot sign for ([`IdentityError::CannotSignForTls13`]).
    pub fn build(&self, identity: &OutboundIdentity) -> Result<OutboundTls, IdentityError> {
        let kind = match identity {
            OutboundIdentity::File { cert_chain, key } => {
                let chain = load_certificates(cert_chain).map_err(OutboundTlsError::Certificate)?;
                let key_der = load_private_key(key).map_err(OutboundTlsError::Key)?;
                let config = self.file_config(chain, key_der, cert_chain, key)?;
                Kind::Fixed {
                    config: Arc::new(config),
                    versions: self.versions.for_schemes(None)?,
                    stats: None,
                }
            }
            OutboundIdentity::Pkcs11(token) => {
                let (config, versions, stats) = pkcs11::build(self, token)?;
                Kind::Fixed {
                    config: Arc::new(config),
                    versions,
                    stats: Some(stats),
                }
            }
            OutboundIdentity::CpsAgent(settings) => Kind::Agent(self.agent_client(settings)?),
        };
        Ok(OutboundTls { kind })
    }

    /// The client of CPS agents for this route (what [`Self::build`] returns for
    /// [`OutboundIdentity::CpsAgent`]).
    ///
    /// # Errors
    /// Unusable agent trust material, or a route that allows TLS 1.3 only.
    pub fn agent_client(&self, settings: &AgentSettings) -> Result<AgentClient, IdentityError> {
        AgentClient::new(self.clone(), settings)
    }

    /// A configuration with a key in memory (from a file).
    pub(crate) fn file_config(
        &self,
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
        cert_path: &Path,
        key_path: &Path,
    ) -> Result<rustls::ClientConfig, IdentityError> {
        let versions = self.versions.for_schemes(None)?;
        let mut config = self
            .base(versions)?
            .with_client_auth_cert(chain, key)
            .map_err(|e| OutboundTlsError::CertKeyMismatch {
                cert: cert_path.to_owned(),
                key: key_path.to_owned(),
                reason: e.to_string(),
            })?;
        config.alpn_protocols.clone_from(&self.alpn);
        Ok(config)
    }

    /// A configuration whose key signs elsewhere. `versions` are already narrowed to what the
    /// key can sign for.
    pub(crate) fn remote_config(
        &self,
        chain: Vec<CertificateDer<'static>>,
        key: Arc<dyn SigningKey>,
        versions: TlsVersions,
        resumption: bool,
    ) -> Result<rustls::ClientConfig, IdentityError> {
        let resolver = SingleCertAndKey::from(CertifiedKey::new(chain, key));
        let mut config = self
            .base(versions)?
            .with_client_cert_resolver(Arc::new(resolver));
        config.alpn_protocols.clone_from(&self.alpn);
        if !resumption {
            config.resumption = Resumption::disabled();
        }
        Ok(config)
    }

    pub(crate) fn route_versions(&self) -> TlsVersions {
        self.versions
    }

    fn base(
        &self,
        versions: TlsVersions,
    ) -> Result<
        rustls::ConfigBuilder<rustls::ClientConfig, rustls::client::WantsClientCert>,
        IdentityError,
    > {
        // The default verifier checks the chain against `roots` only and the server name
        // against the certificate's subjectAltName; nothing here relaxes either check.
        Ok(
            rustls::ClientConfig::builder_with_provider(crypto_provider())
                .with_protocol_versions(&versions.rustls())
                .map_err(|e| OutboundTlsError::Rustls(e.to_string()))?
                .with_root_certificates(self.roots.clone()),
        )
    }
}

/// The outbound TLS of a route: one configuration for every call (file, PKCS#11), or one per
/// practitioner's CPS agent.
#[derive(Debug, Clone)]
pub struct OutboundTls {
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    Fixed {
        config: Arc<rustls::ClientConfig>,
        versions: TlsVersions,
        stats: Option<Arc<SignatureStats>>,
    },
    Agent(AgentClient),
}

// === impl OutboundTls ===

impl OutboundTls {
    /// The configuration for one call. `agent` names the practitioner's CPS agent; it is
    /// required for a CPS agent identity and ignored otherwise.
    ///
    /// # Errors
    /// [`IdentityError::NoAgentTarget`], or what [`AgentClient::identity`] returns.
    pub async fn config(
        &self,
        agent: Option<&AgentTarget>,
    ) -> Result<Arc<rustls::ClientConfig>, IdentityError> {
        match (&self.kind, agent) {
            (Kind::Fixed { config, .. }, _) => Ok(config.clone()),
            (Kind::Agent(client), Some(target)) => client.identity(target).await,
            (Kind::Agent(_), None) => Err(IdentityError::NoAgentTarget),
        }
    }

    /// The configuration of a file or PKCS#11 identity (`None` for a CPS agent identity).
    #[must_use]
    pub fn fixed(&self) -> Option<&Arc<rustls::ClientConfig>> {
        match &self.kind {
            Kind::Fixed { config, .. } => Some(config),
            Kind::Agent(_) => None,
        }
    }

    /// The agent client of a CPS agent identity.
    #[must_use]
    pub fn agent(&self) -> Option<&AgentClient> {
        match &self.kind {
            Kind::Agent(client) => Some(client),
            Kind::Fixed { .. } => None,
        }
    }

    /// The TLS versions actually offered: the route's, narrowed by the identity.
    #[must_use]
    pub fn versions(&self) -> TlsVersions {
        match &self.kind {
            Kind::Fixed { versions, .. } => *versions,
            Kind::Agent(client) => client.versions(),
        }
    }

    /// The identity's signature counters (all zero for a file identity, which signs in
    /// process without the signing pool).
    #[must_use]
    pub fn signatures(&self) -> SignatureCounts {
        match &self.kind {
            Kind::Fixed { stats, .. } => stats.as_ref().map(|s| s.snapshot()).unwrap_or_default(),
            Kind::Agent(client) => client.signatures(),
        }
    }
}
