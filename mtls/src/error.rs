//! The typed error of TLS material and configuration.

use std::path::PathBuf;

/// Why TLS material or a TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file holds no certificate, in PEM or DER.
    #[error(
        "{path}: no certificate found (expected PEM `CERTIFICATE` blocks or one DER certificate)"
    )]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// A file holds a certificate that does not parse as X.509.
    #[error("{path}: certificate #{index} is not valid X.509: {reason}")]
    BadCertificate {
        /// The file.
        path: PathBuf,
        /// Position of the certificate in the file, from 0.
        index: usize,
        /// What the parser said.
        reason: String,
    },
    /// A file holds no usable private key.
    #[error(
        "{path}: no private key found (expected a PEM PKCS#8, PKCS#1 or SEC1 key, or a DER PKCS#8 key)"
    )]
    NoPrivateKey {
        /// The file.
        path: PathBuf,
    },
    /// A trust store was configured with no anchor at all.
    #[error("the trust store has no anchor: at least one CA certificate is required")]
    NoTrustAnchors,
    /// A CA certificate was refused as a trust anchor.
    #[error("{path}: not usable as a trust anchor: {reason}")]
    BadTrustAnchor {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The certificate and key do not match, or rustls refused them.
    #[error("server certificate {cert} with key {key}: {reason}")]
    CertKeyMismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// What rustls said.
        reason: String,
    },
    /// rustls refused to build the configuration.
    #[error("TLS configuration refused: {0}")]
    Rustls(String),
}
