//! Reading certificates and keys from files, PEM or DER, with errors that name the file.

use std::path::Path;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::TlsError;

/// Reads every certificate of a file: PEM (any number of `CERTIFICATE` blocks) or a single DER
/// certificate (the `.cer` files IGC Santé publishes). Each one must parse as X.509.
///
/// # Errors
/// [`TlsError::Read`], [`TlsError::NoCertificate`] or [`TlsError::BadCertificate`].
pub fn load_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })?;
    let certs: Vec<CertificateDer<'static>> = if looks_like_pem(&bytes) {
        CertificateDer::pem_slice_iter(&bytes)
            .collect::<Result<_, _>>()
            .map_err(|e| TlsError::BadCertificate {
                path: path.to_owned(),
                index: 0,
                reason: e.to_string(),
            })?
    } else {
        vec![CertificateDer::from(bytes)]
    };
    if certs.is_empty() {
        return Err(TlsError::NoCertificate {
            path: path.to_owned(),
        });
    }
    for (index, cert) in certs.iter().enumerate() {
        if let Err(e) = x509_parser::parse_x509_certificate(cert.as_ref()) {
            return Err(TlsError::BadCertificate {
                path: path.to_owned(),
                index,
                reason: e.to_string(),
            });
        }
    }
    Ok(certs)
}

/// Reads a private key: PEM (PKCS#8, PKCS#1 or SEC1) or DER PKCS#8.
///
/// # Errors
/// [`TlsError::Read`] or [`TlsError::NoPrivateKey`].
pub fn load_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })?;
    if looks_like_pem(&bytes) {
        PrivateKeyDer::from_pem_slice(&bytes).map_err(|_| TlsError::NoPrivateKey {
            path: path.to_owned(),
        })
    } else if bytes.is_empty() {
        Err(TlsError::NoPrivateKey {
            path: path.to_owned(),
        })
    } else {
        Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(bytes)))
    }
}

fn looks_like_pem(bytes: &[u8]) -> bool {
    bytes.windows(11).any(|w| w == b"-----BEGIN ")
}
