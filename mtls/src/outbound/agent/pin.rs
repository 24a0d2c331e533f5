//! Trusting a CPS agent's self-signed TLS certificate by its SHA-256 fingerprint.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use sha2::{Digest, Sha256};

/// The SHA-256 fingerprint of a certificate's DER (what `openssl x509 -fingerprint -sha256`
/// prints). Parses from hex, with or without `:` separators.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 32]);

// === impl Fingerprint ===

impl Fingerprint {
    /// The fingerprint of a DER certificate.
    #[must_use]
    pub fn of(cert_der: &[u8]) -> Self {
        Self(Sha256::digest(cert_der).into())
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// A fingerprint that is not 64 hexadecimal digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a SHA-256 fingerprint (64 hexadecimal digits, `:` separators allowed)")]
pub struct BadFingerprint;

impl FromStr for Fingerprint {
    type Err = BadFingerprint;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits: String = s.chars().filter(|c| *c != ':').collect();
        let bytes = hex::decode(digits).map_err(|_| BadFingerprint)?;
        bytes.try_into().map(Self).map_err(|_| BadFingerprint)
    }
}

/// Accepts a server whose end-entity certificate has one of the pinned fingerprints.
///
/// The pin replaces chain building and name checks (a workstation agent's certificate is
/// self-signed, for `localhost` or whatever name the workstation has); the handshake
/// signatures are still verified with the pinned certificate's key, so only the holder of
/// that key gets through.
#[derive(Debug)]
pub(super) struct PinnedAgent {
    pins: Vec<Fingerprint>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl PinnedAgent {
    pub(super) fn new(pins: Vec<Fingerprint>, algorithms: WebPkiSupportedAlgorithms) -> Self {
        Self { pins, algorithms }
    }
}

/// The certificate an agent presented is not pinned.
#[derive(Debug, thiserror::Error)]
#[error("certificate fingerprint {0} is not pinned")]
struct NotPinned(Fingerprint);

impl ServerCertVerifier for PinnedAgent {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let seen = Fingerprint::of(end_entity.as_ref());
        if self.pins.contains(&seen) {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(CertificateError::Other(
                rustls::OtherError(Arc::new(NotPinned(seen))),
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::Fingerprint;

    #[test]
    fn parses_with_or_without_colons() {
        let hex = "ab".repeat(32);
        let colons = vec!["AB"; 32].join(":");
        let a: Fingerprint = hex.parse().ok().unwrap_or(Fingerprint([0; 32]));
        let b: Fingerprint = colons.parse().ok().unwrap_or(Fingerprint([1; 32]));
        assert_eq!(a, b);
        assert_eq!(a.to_string(), hex);
        assert!("abcd".parse::<Fingerprint>().is_err());
        assert!("zz".repeat(32).parse::<Fingerprint>().is_err());
    }
}
