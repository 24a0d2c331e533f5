//! A rustls `SigningKey` whose private key lives elsewhere (a CPS card behind its agent, a
//! PKCS#11 token): each signature runs on the identity's signing pool, and is checked against
//! the certificate's public key before rustls sends it.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use rustls::sign::{Signer, SigningKey};
use rustls::{SignatureAlgorithm, SignatureScheme};
use rustls_pki_types::CertificateDer;

use super::error::IdentityError;
use super::schemes::verifies;
use super::signing::{Job, SignatureStats, SigningPool};

/// Where signatures are produced.
pub(crate) trait Backend: fmt::Debug + Send + Sync + 'static {
    /// Who signs, for errors and logs (an agent's base URL, a token's label): never a secret.
    fn signer(&self) -> String;

    /// A job that signs `message` with `scheme` (one of the key's schemes). It runs on the
    /// signing pool; the message is the handshake transcript, which is never logged.
    fn sign(&self, scheme: SignatureScheme, message: Vec<u8>) -> Job<Vec<u8>>;

    /// Called after a failed signature (for example to forget a cached certificate: the card
    /// may have been swapped).
    fn failed(&self, _error: &IdentityError) {}
}

/// The signing key of a remote identity.
pub(crate) struct RemoteKey {
    inner: Arc<Inner>,
}

struct Inner {
    backend: Arc<dyn Backend>,
    /// The end-entity certificate: every signature is verified against its key.
    cert: CertificateDer<'static>,
    /// Schemes in preference order.
    schemes: Vec<SignatureScheme>,
    algorithm: SignatureAlgorithm,
    pool: Arc<SigningPool>,
    timeout: Duration,
    stats: Arc<SignatureStats>,
}

/// What a remote key is made of.
pub(crate) struct RemoteKeyParts {
    pub(crate) backend: Arc<dyn Backend>,
    pub(crate) cert: CertificateDer<'static>,
    pub(crate) schemes: Vec<SignatureScheme>,
    pub(crate) algorithm: SignatureAlgorithm,
    pub(crate) pool: Arc<SigningPool>,
    pub(crate) timeout: Duration,
    pub(crate) stats: Arc<SignatureStats>,
}

// === impl RemoteKey ===

impl RemoteKey {
    pub(crate) fn new(parts: RemoteKeyParts) -> Self {
        Self {
            inner: Arc::new(Inner {
                backend: parts.backend,
                cert: parts.cert,
                schemes: parts.schemes,
                algorithm: parts.algorithm,
                pool: parts.pool,
                timeout: parts.timeout,
                stats: parts.stats,
            }),
        }
    }
}

impl fmt::Debug for RemoteKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteKey")
            .field("signer", &self.inner.backend.signer())
            .field("schemes", &self.inner.schemes)
            .finish_non_exhaustive()
    }
}

impl SigningKey for RemoteKey {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn Signer>> {
        // `None` makes rustls send no certificate; the server then refuses the handshake
        // (CertificateRequest without a scheme this key can sign with).
        let scheme = self
            .inner
            .schemes
            .iter()
            .copied()
            .find(|s| offered.contains(s))?;
        Some(Box::new(RemoteSigner {
            inner: self.inner.clone(),
            scheme,
        }))
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        self.inner.algorithm
    }
}

struct RemoteSigner {
    inner: Arc<Inner>,
    scheme: SignatureScheme,
}

impl fmt::Debug for RemoteSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteSigner")
            .field("signer", &self.inner.backend.signer())
            .field("scheme", &self.scheme)
            .finish()
    }
}

impl Signer for RemoteSigner {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, rustls::Error> {
        let inner = &self.inner;
        let started = inner.stats.begin();
        let signer = inner.backend.signer();
        let job = inner.backend.sign(self.scheme, message.to_vec());
        let (timeout, who) = (inner.timeout, signer.clone());
        let result = inner
            .pool
            .sign(job, timeout, move || IdentityError::Timeout {
                signer: who,
                operation: "signature",
                after: timeout,
            })
            .and_then(|signature| {
                if verifies(&inner.cert, self.scheme, message, &signature) {
                    Ok(signature)
                } else {
                    Err(IdentityError::BadSignature {
                        signer: signer.clone(),
                    })
                }
            });
        inner.stats.end(started, &result);
        let elapsed_ms = started.elapsed().as_millis();
        match result {
            Ok(signature) => {
                tracing::debug!(%signer, scheme = ?self.scheme, elapsed_ms, "handshake signed");
                Ok(signature)
            }
            Err(error) => {
                tracing::warn!(%signer, scheme = ?self.scheme, elapsed_ms, %error, "handshake signature failed");
                inner.backend.failed(&error);
                Err(rustls::Error::Other(rustls::OtherError(Arc::new(error))))
            }
        }
    }

    fn scheme(&self) -> SignatureScheme {
        self.scheme
    }
}
