//! What an identity can sign with, and what that allows: which TLS versions, whether a
//! certificate can authenticate a client, whether a returned signature is genuine.

use rustls::{SignatureScheme, SupportedProtocolVersion};
use rustls_pki_types::CertificateDer;
use x509_parser::oid_registry::{OID_EC_P256, OID_NIST_EC_P384};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;

use super::error::{CertificateProblem, IdentityError};
use crate::provider::crypto_provider;

/// The TLS versions a route allows towards its partner.
///
/// The identity may narrow them further: a key that can only sign RSA PKCS#1 v1.5 (a CPS card)
/// cannot authenticate over TLS 1.3, so such an identity speaks TLS 1.2 only, and a route
/// that allows TLS 1.3 only is refused with [`IdentityError::CannotSignForTls13`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TlsVersions {
    /// Offer TLS 1.2.
    pub tls12: bool,
    /// Offer TLS 1.3.
    pub tls13: bool,
}

// === impl TlsVersions ===

impl TlsVersions {
    /// TLS 1.2 and TLS 1.3 (the default; TLS 1.3 preferred).
    pub const ALL: Self = Self {
        tls12: true,
        tls13: true,
    };
    /// TLS 1.2 only.
    pub const TLS12_ONLY: Self = Self {
        tls12: true,
        tls13: false,
    };
    /// TLS 1.3 only.
    pub const TLS13_ONLY: Self = Self {
        tls12: false,
        tls13: true,
    };

    /// The versions allowed by the route that an identity signing with `schemes` can use
    /// (`None`: a local key, which can sign with every scheme its type has).
    ///
    /// # Errors
    /// [`IdentityError::NoProtocolVersion`], or [`IdentityError::CannotSignForTls13`] when the
    /// route allows TLS 1.3 only and no scheme of the identity is allowed in TLS 1.3.
    pub(crate) fn for_schemes(
        self,
        schemes: Option<&[SignatureScheme]>,
    ) -> Result<Self, IdentityError> {
        if !self.tls12 && !self.tls13 {
            return Err(IdentityError::NoProtocolVersion);
        }
        let tls13_capable = schemes.is_none_or(|s| s.iter().copied().any(allowed_in_tls13));
        match (self.tls12, self.tls13 && tls13_capable) {
            (_, true) => Ok(self),
            (true, false) => {
                if self.tls13 {
                    tracing::debug!(
                        schemes = %names(schemes.unwrap_or_default()),
                        "outbound identity cannot sign for TLS 1.3: speaking TLS 1.2 only"
                    );
                }
                Ok(Self::TLS12_ONLY)
            }
            (false, false) => Err(IdentityError::CannotSignForTls13 {
                schemes: names(schemes.unwrap_or_default()),
            }),
        }
    }

    /// The rustls versions, TLS 1.3 first.
    pub(crate) fn rustls(self) -> Vec<&'static SupportedProtocolVersion> {
        let mut v = Vec::with_capacity(2);
        if self.tls13 {
            v.push(&rustls::version::TLS13);
        }
        if self.tls12 {
            v.push(&rustls::version::TLS12);
        }
        v
    }
}

impl Default for TlsVersions {
    fn default() -> Self {
        Self::ALL
    }
}

/// TLS 1.3 signs CertificateVerify with RSA-PSS, ECDSA or EdDSA; never PKCS#1 v1.5
/// (RFC 8446 §4.4.3).
fn allowed_in_tls13(scheme: SignatureScheme) -> bool {
    matches!(
        scheme,
        SignatureScheme::RSA_PSS_SHA256
            | SignatureScheme::RSA_PSS_SHA384
            | SignatureScheme::RSA_PSS_SHA512
            | SignatureScheme::ECDSA_NISTP256_SHA256
            | SignatureScheme::ECDSA_NISTP384_SHA384
            | SignatureScheme::ECDSA_NISTP521_SHA512
            | SignatureScheme::ED25519
            | SignatureScheme::ED448
    )
}

pub(crate) fn names(schemes: &[SignatureScheme]) -> String {
    let names: Vec<String> = schemes.iter().map(|s| format!("{s:?}")).collect();
    names.join(", ")
}

/// The key of a client certificate, as far as signing is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyKind {
    /// RSA, with the modulus size in bits.
    Rsa { bits: usize },
    /// ECDSA on P-256.
    EcP256,
    /// ECDSA on P-384.
    EcP384,
}

/// Checks that `cert` can authenticate a TLS client (it parses, is within its validity, does
/// not exclude clientAuth or digitalSignature) and returns its key type. Keys other than RSA
/// (2048 bits or more) and ECDSA P-256/P-384 are refused.
pub(crate) fn client_certificate(cert: &CertificateDer<'_>) -> Result<KeyKind, CertificateProblem> {
    let (_, x509) = X509Certificate::from_der(cert.as_ref())
        .map_err(|e| CertificateProblem::Unparseable(e.to_string()))?;
    if !x509.validity().is_valid() {
        return Err(CertificateProblem::OutOfValidity);
    }
    // Absent extensions restrict nothing (RFC 5280 §4.2.1.3, §4.2.1.12).
    if let Ok(Some(eku)) = x509.extended_key_usage()
        && !eku.value.client_auth
        && !eku.value.any
    {
        return Err(CertificateProblem::NotForClientAuth(
            "extendedKeyUsage without clientAuth",
        ));
    }
    if let Ok(Some(ku)) = x509.key_usage()
        && !ku.value.digital_signature()
    {
        return Err(CertificateProblem::NotForClientAuth(
            "keyUsage without digitalSignature",
        ));
    }
    let spki = x509.public_key();
    match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) if rsa.key_size() >= 2048 => Ok(KeyKind::Rsa {
            bits: rsa.key_size(),
        }),
        Ok(PublicKey::RSA(rsa)) => Err(CertificateProblem::KeyTypeUnsupported(format!(
            "RSA {} bits (2048 at least)",
            rsa.key_size()
        ))),
        Ok(PublicKey::EC(_)) => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok());
            match curve {
                Some(oid) if oid == OID_EC_P256 => Ok(KeyKind::EcP256),
                Some(oid) if oid == OID_NIST_EC_P384 => Ok(KeyKind::EcP384),
                other => Err(CertificateProblem::KeyTypeUnsupported(format!(
                    "EC curve {}",
                    other.map_or_else(|| "unknown".to_owned(), |o| o.to_id_string())
                ))),
            }
        }
        Ok(_) | Err(_) => Err(CertificateProblem::KeyTypeUnsupported(format!(
            "public key algorithm {}",
            spki.algorithm.algorithm.to_id_string()
        ))),
    }
}

/// Whether `signature` is a valid `scheme` signature of `message` by `cert`'s key, with the
/// same verification algorithms the gateway's provider uses for peers.
pub(crate) fn verifies(
    cert: &CertificateDer<'_>,
    scheme: SignatureScheme,
    message: &[u8],
    signature: &[u8],
) -> bool {
    let Ok(ee) = webpki::EndEntityCert::try_from(cert) else {
        return false;
    };
    let provider = crypto_provider();
    provider
        .signature_verification_algorithms
        .mapping
        .iter()
        .filter(|(s, _)| *s == scheme)
        .flat_map(|(_, algs)| algs.iter())
        .any(|alg| ee.verify_signature(*alg, message, signature).is_ok())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_pkcs1_only_identity_speaks_tls12_only() {
        let card = Some(&[SignatureScheme::RSA_PKCS1_SHA256][..]);
        assert_eq!(
            TlsVersions::ALL.for_schemes(card).ok(),
            Some(TlsVersions::TLS12_ONLY)
        );
        let err = TlsVersions::TLS13_ONLY.for_schemes(card).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("this identity cannot sign for TLS 1.3"),
            "{err}"
        );
        assert!(matches!(
            TlsVersions {
                tls12: false,
                tls13: false
            }
            .for_schemes(None),
            Err(IdentityError::NoProtocolVersion)
        ));
        let pss = Some(&[SignatureScheme::RSA_PSS_SHA256][..]);
        assert_eq!(
            TlsVersions::TLS13_ONLY.for_schemes(pss).ok(),
            Some(TlsVersions::TLS13_ONLY)
        );
        assert_eq!(
            TlsVersions::ALL.for_schemes(None).ok(),
            Some(TlsVersions::ALL)
        );
    }
}
