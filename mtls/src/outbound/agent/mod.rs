//! CPS card identities: the practitioner's card signs the handshake through the CPS agent of
//! their workstation (seed 003, "Authentification Directe via le CPS Agent"; the binding is in
//! docs/cps-agent.md).
//!
//! Per call, the gateway names the agent ([`AgentTarget`]: its base URL and the session
//! credential the agent requires). [`AgentClient::identity`] fetches the card's certificate
//! (cached per agent and session for a short TTL, never shared across agents) and returns a
//! configuration whose key asks that agent, and only that agent, for the CertificateVerify
//! signature during the handshake.
//!
//! A card signs `SHA256WithRSA` (RSASSA-PKCS1-v1_5) only, which TLS 1.3 forbids in
//! CertificateVerify: card configurations speak TLS 1.2 only, and a route that allows TLS 1.3
//! only is refused when the client is built ([`IdentityError::CannotSignForTls13`]). TLS
//! session resumption is off for card configurations: every new connection is signed by the
//! card, so a removed card stops authenticating new connections at once (the gateway amortises
//! the cost by keeping connections alive per agent target).

mod http;
mod pin;

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use rustls::{SignatureAlgorithm, SignatureScheme};

pub use pin::{BadFingerprint, Fingerprint};

use super::builder::OutboundTlsBuilder;
use super::error::{CertificateProblem, IdentityError};
use super::remote_key::{Backend, RemoteKey, RemoteKeyParts};
use super::schemes::{KeyKind, TlsVersions, client_certificate};
use super::secret::Secret;
use super::signing::{Job, SignatureCounts, SignatureStats, SigningPool};

/// What a card signs with through its agent.
const CARD_SCHEMES: &[SignatureScheme] = &[SignatureScheme::RSA_PKCS1_SHA256];

/// How the agents' TLS certificates are trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentTrust {
    /// The SHA-256 fingerprints of the agents' self-signed certificates (any of them is
    /// accepted; the server name is not checked, the pin is the trust).
    Fingerprints(Vec<Fingerprint>),
    /// CA certificates that issue the agents' certificates (PEM or DER files); the agent URL's
    /// host is checked against the certificate.
    CaFiles(Vec<PathBuf>),
}

/// The CPS agent settings of a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentSettings {
    /// How the agents' TLS certificates are trusted.
    pub trust: AgentTrust,
    /// Timeout of the certificate request (connection included).
    pub request_timeout: Duration,
    /// Timeout of one signature (waiting for a free signature slot included).
    pub sign_timeout: Duration,
    /// How long a card's certificate is reused for the same agent and session.
    pub certificate_ttl: Duration,
    /// Signatures in progress at once for the route, across agents.
    pub max_concurrent_signatures: usize,
}

impl AgentSettings {
    /// Defaults: 5 s to fetch the certificate, 10 s per signature (a card takes about a
    /// second; the agent may have to prompt), certificates reused for 60 s, 16 concurrent
    /// signatures.
    #[must_use]
    pub fn new(trust: AgentTrust) -> Self {
        Self {
            trust,
            request_timeout: Duration::from_secs(5),
            sign_timeout: Duration::from_secs(10),
            certificate_ttl: Duration::from_secs(60),
            max_concurrent_signatures: 16,
        }
    }
}

/// One practitioner's CPS agent, as a call names it: validated once by the caller, then used
/// as the key of the certificate cache and of the caller's connection pool.
#[derive(Clone)]
pub struct AgentTarget {
    base: String,
    session: Option<Secret>,
    /// SHA-256 of the session: equality and hashing without the secret.
    session_digest: Option<[u8; 32]>,
}

// === impl AgentTarget ===

impl AgentTarget {
    /// `base_url`: `https://host[:port][/prefix]`, without credentials, query or fragment.
    /// `session`: the credential the agent requires (sent as `X-CPS-Session`).
    ///
    /// # Errors
    /// [`IdentityError::InvalidAgentTarget`].
    pub fn new(base_url: &str, session: Option<Secret>) -> Result<Self, IdentityError> {
        let invalid = |reason| IdentityError::InvalidAgentTarget {
            url: base_url.to_owned(),
            reason,
        };
        let url = reqwest::Url::parse(base_url).map_err(|_| invalid("not a URL"))?;
        if url.scheme() != "https" {
            return Err(invalid("must be https"));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(invalid("has no host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("must not carry credentials (use the session)"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(invalid("must not have a query or a fragment"));
        }
        if let Some(s) = &session
            && (s.expose().is_empty()
                || reqwest::header::HeaderValue::from_str(s.expose()).is_err())
        {
            return Err(invalid(
                "the session credential is not a valid header value",
            ));
        }
        Ok(Self {
            base: url.as_str().trim_end_matches('/').to_owned(),
            session_digest: session.as_ref().map(Secret::digest),
            session,
        })
    }

    /// The base URL (normalised, without a trailing `/`): what errors and logs name.
    #[must_use]
    pub fn base_url(&self) -> &str {
        &self.base
    }

    pub(crate) fn session(&self) -> Option<&Secret> {
        self.session.as_ref()
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl std::fmt::Debug for AgentTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentTarget")
            .field("base_url", &self.base)
            .field("session", &self.session)
            .finish()
    }
}

impl PartialEq for AgentTarget {
    fn eq(&self, other: &Self) -> bool {
        self.base == other.base && self.session_digest == other.session_digest
    }
}

impl Eq for AgentTarget {}

impl Hash for AgentTarget {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.base.hash(state);
        self.session_digest.hash(state);
    }
}

/// The client of one route's CPS agents. Cheap to clone (shared state).
#[derive(Debug, Clone)]
pub struct AgentClient {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    builder: OutboundTlsBuilder,
    versions: TlsVersions,
    settings: AgentSettings,
    http: reqwest::Client,
    pool: Arc<SigningPool>,
    stats: Arc<SignatureStats>,
    cache: Arc<Mutex<Cache>>,
}

type Cache = HashMap<AgentTarget, Cached>;

#[derive(Debug)]
struct Cached {
    at: Instant,
    config: Arc<rustls::ClientConfig>,
}

// === impl AgentClient ===

impl AgentClient {
    /// A client for the route of `builder` (trust anchors of the partner, TLS versions, ALPN).
    /// Starts the route's signing thread.
    ///
    /// # Errors
    /// [`IdentityError::CannotSignForTls13`] when the route allows TLS 1.3 only; unusable
    /// agent trust material.
    pub fn new(
        builder: OutboundTlsBuilder,
        settings: &AgentSettings,
    ) -> Result<Self, IdentityError> {
        let versions = builder.route_versions().for_schemes(Some(CARD_SCHEMES))?;
        let http = http::client(settings)?;
        let pool = SigningPool::start("cps-agent-signer", settings.max_concurrent_signatures)?;
        Ok(Self {
            shared: Arc::new(Shared {
                builder,
                versions,
                settings: settings.clone(),
                http,
                pool: Arc::new(pool),
                stats: Arc::default(),
                cache: Arc::default(),
            }),
        })
    }

    /// The client configuration for one call through `target`: the card's certificate, and a
    /// key that has the card sign through that agent during the handshake.
    ///
    /// The configuration is cached with the certificate for `certificate_ttl`, per agent and
    /// session. The caller pools connections per [`AgentTarget`], never across targets.
    ///
    /// # Errors
    /// The agent unreachable, untrusted, refusing (401, 409, 423, other 4xx), failing (5xx) or
    /// slow; a certificate that cannot authenticate a TLS client with a card key.
    pub async fn identity(
        &self,
        target: &AgentTarget,
    ) -> Result<Arc<rustls::ClientConfig>, IdentityError> {
        let shared = &self.shared;
        let ttl = shared.settings.certificate_ttl;
        if let Some(config) = lock(&shared.cache)
            .get(target)
            .filter(|c| c.at.elapsed() < ttl)
            .map(|c| c.config.clone())
        {
            return Ok(config);
        }
        let timeout = shared.settings.request_timeout;
        let (http, t) = (shared.http.clone(), target.clone());
        let job: Job<_> = Box::pin(async move { http::certificate(&http, &t, timeout).await });
        let signer = target.base_url().to_owned();
        let on_timeout = move || IdentityError::Timeout {
            signer,
            operation: "certificate request",
            after: timeout,
        };
        let chain = shared.pool.run(job, timeout, on_timeout).await?;
        let wrong = |problem| IdentityError::WrongCertificate {
            signer: target.base_url().to_owned(),
            problem,
        };
        let leaf = chain
            .first()
            .cloned()
            .ok_or_else(|| wrong(CertificateProblem::Empty))?;
        match client_certificate(&leaf).map_err(wrong)? {
            KeyKind::Rsa { .. } => {}
            KeyKind::EcP256 | KeyKind::EcP384 => {
                return Err(wrong(CertificateProblem::KeyTypeUnsupported(
                    "an EC key: a CPS card signs SHA256WithRSA".into(),
                )));
            }
        }
        let card = Card {
            http: shared.http.clone(),
            target: target.clone(),
            timeout: shared.settings.sign_timeout,
            cache: Arc::downgrade(&shared.cache),
        };
        let key = RemoteKey::new(RemoteKeyParts {
            backend: Arc::new(card),
            cert: leaf,
            schemes: CARD_SCHEMES.to_vec(),
            algorithm: SignatureAlgorithm::RSA,
            pool: shared.pool.clone(),
            timeout: shared.settings.sign_timeout,
            stats: shared.stats.clone(),
        });
        let config = Arc::new(shared.builder.remote_config(
            chain,
            Arc::new(key),
            shared.versions,
            false,
        )?);
        if !ttl.is_zero() {
            let mut cache = lock(&shared.cache);
            cache.retain(|_, c| c.at.elapsed() < ttl);
            cache.insert(
                target.clone(),
                Cached {
                    at: Instant::now(),
                    config: config.clone(),
                },
            );
        }
        Ok(config)
    }

    /// Forgets the cached certificate of `target` (the practitioner logged out, or changed
    /// card). A failed signature does it too.
    pub fn forget(&self, target: &AgentTarget) {
        lock(&self.shared.cache).remove(target);
    }

    /// The TLS versions card configurations offer (TLS 1.2 only).
    #[must_use]
    pub fn versions(&self) -> TlsVersions {
        self.shared.versions
    }

    /// The route's signature counters, across agents.
    #[must_use]
    pub fn signatures(&self) -> SignatureCounts {
        self.shared.stats.snapshot()
    }
}

fn lock(cache: &Mutex<Cache>) -> std::sync::MutexGuard<'_, Cache> {
    // A panic while holding the lock cannot leave the map half-updated: keep using it.
    cache
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One agent's card, as the signing key's backend.
#[derive(Debug)]
struct Card {
    http: reqwest::Client,
    target: AgentTarget,
    timeout: Duration,
    cache: Weak<Mutex<Cache>>,
}

impl Backend for Card {
    fn signer(&self) -> String {
        self.target.base_url().to_owned()
    }

    fn sign(&self, _scheme: SignatureScheme, message: Vec<u8>) -> Job<Vec<u8>> {
        // The only scheme is RSA_PKCS1_SHA256: the agent hashes and pads.
        let (http, target, timeout) = (self.http.clone(), self.target.clone(), self.timeout);
        Box::pin(async move { http::sign(&http, &target, message, timeout).await })
    }

    fn failed(&self, _error: &IdentityError) {
        // The card may have been removed or swapped: fetch its certificate again next time.
        if let Some(cache) = self.cache.upgrade() {
            lock(&cache).remove(&self.target);
        }
    }
}
