//! The rustls client verifier that adds the CRL check to chain verification.

use std::sync::Arc;

use jiff::Timestamp;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, Error, SignatureScheme};
use rustls_pki_types::{CertificateDer, UnixTime};

use super::{Revocation, Verdict};

/// Delegates everything to the wrapped verifier, then refuses revoked certificates and (in hard
/// mode) certificates whose CRL is stale or missing.
#[derive(Debug)]
pub(crate) struct RevocationVerifier {
    inner: Arc<dyn ClientCertVerifier>,
    revocation: Arc<Revocation>,
}

// === impl RevocationVerifier ===

impl RevocationVerifier {
    pub(crate) fn new(inner: Arc<dyn ClientCertVerifier>, revocation: Arc<Revocation>) -> Self {
        Self { inner, revocation }
    }
}

impl ClientCertVerifier for RevocationVerifier {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        // The chain first: revocation of an unverified chain means nothing.
        let verified = self
            .inner
            .verify_client_cert(end_entity, intermediates, now)?;
        let mut chain = Vec::with_capacity(1 + intermediates.len());
        chain.push(end_entity.clone());
        chain.extend(intermediates.iter().cloned());
        let now = i64::try_from(now.as_secs())
            .ok()
            .and_then(|s| Timestamp::from_second(s).ok())
            .unwrap_or_else(Timestamp::now);
        let inner = &self.revocation.inner;
        let checked = inner.crl(&inner.prepare(&chain), now);
        self.revocation.record(&checked, "handshake");
        match checked.verdict {
            Verdict::Revoked { .. } => Err(Error::InvalidCertificate(CertificateError::Revoked)),
            Verdict::Unknown { hard: true, .. } => {
                // Distinct alerts, so that logs (classify_handshake_error) tell a stale CRL
                // from a missing one and from a revoked certificate.
                let err = if checked.label == "crl_expired" {
                    CertificateError::ExpiredRevocationList
                } else {
                    CertificateError::UnknownRevocationStatus
                };
                Err(Error::InvalidCertificate(err))
            }
            Verdict::Good | Verdict::Unknown { hard: false, .. } => Ok(verified),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }

    fn requires_raw_public_keys(&self) -> bool {
        self.inner.requires_raw_public_keys()
    }
}
