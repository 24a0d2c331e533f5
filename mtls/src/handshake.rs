//! Classifying handshake failures for logs and metrics.

use std::io;

use rustls::{CertificateError, Error};

/// Why a TLS handshake failed, as a short stable label (for metrics) and a message (for logs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandshakeFailure {
    /// Stable label: `no_certificate`, `expired`, `not_yet_valid`, `unknown_issuer`, `revoked`,
    /// `crl_expired` (stale CRL, hard policy), `revocation_unknown` (no CRL, hard policy),
    /// `bad_purpose`, `bad_certificate`, `incompatible`, `alert_received`, `protocol`,
    /// `timeout`, `eof`, `io`.
    pub reason: &'static str,
    /// Human-readable detail for the operator.
    pub detail: String,
}

/// Classifies the error a `TlsAcceptor` returned.
#[must_use]
pub fn classify_handshake_error(err: &io::Error) -> HandshakeFailure {
    if let Some(tls) = err.get_ref().and_then(|e| e.downcast_ref::<Error>()) {
        return HandshakeFailure {
            reason: classify_rustls(tls),
            detail: tls.to_string(),
        };
    }
    let reason = match err.kind() {
        io::ErrorKind::TimedOut => "timeout",
        io::ErrorKind::UnexpectedEof
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe => "eof",
        _ => "io",
    };
    HandshakeFailure {
        reason,
        detail: err.to_string(),
    }
}

fn classify_rustls(err: &Error) -> &'static str {
    match err {
        Error::NoCertificatesPresented => "no_certificate",
        Error::InvalidCertificate(cert) => match cert {
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => "expired",
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                "not_yet_valid"
            }
            CertificateError::UnknownIssuer => "unknown_issuer",
            CertificateError::Revoked => "revoked",
            CertificateError::ExpiredRevocationList
            | CertificateError::ExpiredRevocationListContext { .. } => "crl_expired",
            CertificateError::UnknownRevocationStatus => "revocation_unknown",
            CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
                "bad_purpose"
            }
            _ => "bad_certificate",
        },
        Error::PeerIncompatible(_) => "incompatible",
        Error::AlertReceived(_) => "alert_received",
        _ => "protocol",
    }
}
