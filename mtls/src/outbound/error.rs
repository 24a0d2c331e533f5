//! The typed error of outbound identities: building them, and signing with them during a
//! handshake.
//!
//! No variant ever carries a PIN, a session credential or the data being signed: errors name
//! the signer (the agent's base URL, the token's label) and what went wrong.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::OutboundTlsError;

/// Why an outbound identity could not be built, or could not sign during a handshake.
///
/// When a signature fails during a handshake, rustls aborts the handshake with
/// `rustls::Error::Other` wrapping this error: [`signing_failure`] finds it again in the
/// `io::Error` (or HTTP client error) the caller gets.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// Files of a file identity, or the trust anchors (the same errors [`crate::client_config`]
    /// has always returned).
    #[error(transparent)]
    Material(#[from] OutboundTlsError),
    /// The route allows neither TLS 1.2 nor TLS 1.3.
    #[error("no TLS version allowed: enable TLS 1.2, TLS 1.3 or both")]
    NoProtocolVersion,
    /// The route allows TLS 1.3 only, and the identity cannot produce a TLS 1.3
    /// CertificateVerify (TLS 1.3 forbids RSA PKCS#1 v1.5 there; a CPS card signs nothing else).
    #[error(
        "this identity cannot sign for TLS 1.3: it signs with {schemes} only, which TLS 1.3 \
         forbids in CertificateVerify; allow TLS 1.2 on this route"
    )]
    CannotSignForTls13 {
        /// The schemes the identity can sign with.
        schemes: String,
    },
    /// An agent URL that is not `https://host[:port][/path]`, or a session credential that
    /// cannot be sent as a header value.
    #[error("CPS agent {url:?}: {reason}")]
    InvalidAgentTarget {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The identity is a CPS card and the call named no agent.
    #[error("this route's identity is a CPS card: the call must name the practitioner's CPS agent")]
    NoAgentTarget,
    /// The agent could not be reached (connection refused, DNS, reset).
    #[error("CPS agent {agent}: unreachable during {operation}: {reason}")]
    AgentUnreachable {
        /// The agent's base URL.
        agent: String,
        /// What was being asked.
        operation: AgentOperation,
        /// What the HTTP client said.
        reason: String,
    },
    /// The agent's TLS certificate is not the pinned one (or not from the configured CA).
    #[error("CPS agent {agent}: its TLS certificate is not trusted: {reason}")]
    AgentUntrusted {
        /// The agent's base URL.
        agent: String,
        /// What the TLS layer said.
        reason: String,
    },
    /// The agent answered 4xx.
    #[error("CPS agent {agent} refused {operation}: HTTP {status} ({refusal})")]
    AgentRefused {
        /// The agent's base URL.
        agent: String,
        /// What was being asked.
        operation: AgentOperation,
        /// The HTTP status.
        status: u16,
        /// What the status means in the agent binding (docs/cps-agent.md).
        refusal: AgentRefusal,
    },
    /// The agent answered 5xx (or another unexpected status).
    #[error("CPS agent {agent} failed {operation}: HTTP {status}")]
    AgentFailed {
        /// The agent's base URL.
        agent: String,
        /// What was being asked.
        operation: AgentOperation,
        /// The HTTP status.
        status: u16,
    },
    /// The agent answered 200 with a body that is not what the binding says.
    #[error("CPS agent {agent}: malformed answer to {operation}: {reason}")]
    AgentAnswer {
        /// The agent's base URL.
        agent: String,
        /// What was being asked.
        operation: AgentOperation,
        /// What is wrong with it.
        reason: String,
    },
    /// The signer did not answer in time (the signature or certificate timeout).
    #[error("{signer}: {operation} took longer than {after:?}")]
    Timeout {
        /// The agent's base URL or the token.
        signer: String,
        /// What was being done.
        operation: &'static str,
        /// The timeout.
        after: Duration,
    },
    /// The certificate the signer presents cannot authenticate a TLS client.
    #[error("{signer}: unusable certificate: {problem}")]
    WrongCertificate {
        /// The agent's base URL or the token.
        signer: String,
        /// Why.
        problem: CertificateProblem,
    },
    /// The signature returned does not verify with the certificate's public key. It was not
    /// sent to the server.
    #[error("{signer}: the signature does not verify with the certificate's public key (not sent)")]
    BadSignature {
        /// The agent's base URL or the token.
        signer: String,
    },
    /// `C_Login` said CKR_PIN_INCORRECT.
    #[error("PKCS#11 token {token:?}: the PIN is incorrect")]
    PinIncorrect {
        /// The token label.
        token: String,
    },
    /// `C_Login` said CKR_PIN_LOCKED.
    #[error("PKCS#11 token {token:?}: the PIN is locked")]
    PinLocked {
        /// The token label.
        token: String,
    },
    /// No token with that label is present, or it was removed.
    #[error("PKCS#11 token {token:?} is not present (module {})", module.display())]
    TokenAbsent {
        /// The token label.
        token: String,
        /// The PKCS#11 module.
        module: PathBuf,
    },
    /// The token has no such key or certificate.
    #[error("PKCS#11 token {token:?}: no {what} labelled {label:?}")]
    ObjectNotFound {
        /// The token label.
        token: String,
        /// `private key` or `certificate`.
        what: &'static str,
        /// The label looked for.
        label: String,
    },
    /// Any other PKCS#11 failure (module not loadable, mechanism refused, …).
    #[error("PKCS#11 module {}: {operation}: {reason}", module.display())]
    Pkcs11 {
        /// The PKCS#11 module.
        module: PathBuf,
        /// The call that failed.
        operation: &'static str,
        /// The PKCS#11 return value or loader error.
        reason: String,
    },
    /// A signature was needed on a current-thread tokio runtime, where waiting would stall every
    /// task of the runtime (and `block_in_place` panics): remote signing is refused there.
    #[error(
        "remote signing needs a multi-thread tokio runtime: on a current-thread runtime the \
         wait for the signature would stall every task"
    )]
    CurrentThreadRuntime,
    /// The signing pool's thread could not be started.
    #[error("cannot start the signing thread: {0}")]
    SigningPool(String),
    /// The signing pool's thread is gone (it only stops when its identity is dropped).
    #[error("the signing pool has stopped")]
    SigningPoolStopped,
}

/// What was asked of a CPS agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentOperation {
    /// `GET /cps/authenticationCertificate`.
    Certificate,
    /// `POST /cps/sign/for/authentication/SHA256WithRSA`.
    Sign,
}

impl fmt::Display for AgentOperation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Certificate => "the certificate request",
            Self::Sign => "the signature request",
        })
    }
}

/// What a 4xx answer of a CPS agent means (docs/cps-agent.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentRefusal {
    /// 401 or 403: the session credential is missing, wrong or expired.
    Unauthorized,
    /// 409: no card in the reader.
    CardAbsent,
    /// 423: the card is locked (PIN blocked, or not yet unlocked by the practitioner).
    CardLocked,
    /// Any other 4xx.
    Other,
}

impl AgentRefusal {
    pub(crate) fn from_status(status: u16) -> Self {
        match status {
            401 | 403 => Self::Unauthorized,
            409 => Self::CardAbsent,
            423 => Self::CardLocked,
            _ => Self::Other,
        }
    }
}

impl fmt::Display for AgentRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Unauthorized => "session credential refused",
            Self::CardAbsent => "no card in the reader",
            Self::CardLocked => "card locked",
            Self::Other => "request refused",
        })
    }
}

/// Why a signer's certificate cannot authenticate a TLS client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateProblem {
    /// No certificate at all.
    #[error("no certificate")]
    Empty,
    /// Not X.509 DER (or PEM).
    #[error("does not parse as X.509: {0}")]
    Unparseable(String),
    /// An extendedKeyUsage without clientAuth, or a keyUsage without digitalSignature.
    #[error("not for TLS client authentication ({0})")]
    NotForClientAuth(&'static str),
    /// A key this signer cannot sign with (for a CPS card: anything but RSA of 2048 bits or more).
    #[error("unsupported key: {0}")]
    KeyTypeUnsupported(String),
    /// Expired or not yet valid.
    #[error("outside its validity period")]
    OutOfValidity,
}

/// The [`IdentityError`] behind a failed handshake or request, when an outbound identity's
/// signature caused it.
///
/// Walks the error's source chain, looking inside `io::Error`s (tokio-rustls, hyper) and
/// `rustls::Error::Other` (how a signer's failure reaches the caller).
#[must_use]
pub fn signing_failure<'e>(
    err: &'e (dyn std::error::Error + 'static),
) -> Option<&'e IdentityError> {
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<IdentityError>() {
            return Some(found);
        }
        if let Some(rustls::Error::Other(other)) = e.downcast_ref::<rustls::Error>()
            && let Some(found) = other.0.downcast_ref::<IdentityError>()
        {
            return Some(found);
        }
        // `io::Error::source` skips the wrapped error itself: look at it explicitly.
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            let inner: &(dyn std::error::Error + 'static) = inner;
            if let Some(found) = signing_failure(inner) {
                return Some(found);
            }
        }
        current = e.source();
    }
    None
}

/// The first `rustls::Error` in an error's source chain (looking inside `io::Error`s too).
pub(crate) fn find_rustls_error<'e>(
    err: &'e (dyn std::error::Error + 'static),
) -> Option<&'e rustls::Error> {
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<rustls::Error>() {
            return Some(found);
        }
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            let inner: &(dyn std::error::Error + 'static) = inner;
            if let Some(found) = find_rustls_error(inner) {
                return Some(found);
            }
        }
        current = e.source();
    }
    None
}
