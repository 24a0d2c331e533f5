//! Failures that end a call with a SOAP fault, and the one place they are mapped to the wire.
//!
//! Business and validation errors are not here: they are answered in band
//! (`responseType` ERROR, see `response.rs`), as ASPOne's services do. What is here are the
//! failures ASPOne answers with faults: a message that is not a usable SOAP request, a
//! partner or user that is not authenticated, and an internal service that cannot answer.

use bytes::Bytes;
use http::{Response, StatusCode, header};
use soap::{EnvelopeError, Fault, FaultCode, NotUnderstood, SoapVersion, WsSecurityError};

use crate::alert::upstream::UpstreamError;

/// Why a call ends with a fault.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AlertError {
    /// Not a SOAP envelope, or one the parser refused.
    #[error("unusable envelope: {0}")]
    Envelope(#[from] EnvelopeError),
    /// A mandatory header block the service does not process.
    #[error(transparent)]
    NotUnderstood(#[from] NotUnderstood),
    /// The body is not one of the three operations in the service namespace.
    #[error("unknown operation {0:?}")]
    UnknownOperation(String),
    /// The partner's `wsse:Security` header was refused.
    #[error("partner authentication: {0}")]
    Partner(#[from] WsSecurityError),
    /// The partner's nonce was already used within the freshness window.
    #[error("replayed nonce for partner {0:?}")]
    Replay(String),
    /// No `context/user/login` and `password` headers.
    #[error("no user credentials in the context header")]
    MissingUser,
    /// Wrong password, bad SSO token, SSO for an administrator, or still in backoff. The
    /// reason is for the log only: the caller always gets the same answer.
    #[error("user authentication refused: {0}")]
    User(&'static str),
    /// The shared state store (nonces, backoff counters) cannot answer.
    #[error("state store unavailable: {0}")]
    State(#[from] state::StateError),
    /// The internal alert service did not give a usable answer.
    #[error(transparent)]
    Upstream(UpstreamError),
    /// Anything but POST (and GET for the WSDL).
    #[error("method not allowed")]
    Method,
}

impl AlertError {
    /// The fault and HTTP status. Sender faults say as little as the WS-Security profile does;
    /// internal details stay in the log.
    pub(crate) fn to_response(&self, ns: &str, version: SoapVersion) -> Response<Bytes> {
        let (status, fault) = match self {
            Self::Envelope(e) => (StatusCode::BAD_REQUEST, e.to_fault()),
            Self::NotUnderstood(e) => (StatusCode::BAD_REQUEST, e.to_fault()),
            Self::UnknownOperation(_) => (
                StatusCode::BAD_REQUEST,
                Fault::new(
                    FaultCode::Sender,
                    "The body is not setAlertActive, updateAlertConfig or getAlertConfig in the service namespace",
                ),
            ),
            Self::Partner(e) => (StatusCode::UNAUTHORIZED, e.to_fault()),
            Self::Replay(_) => (
                StatusCode::UNAUTHORIZED,
                soap::SecurityFault::InvalidSecurity.to_fault(),
            ),
            Self::MissingUser => (
                StatusCode::BAD_REQUEST,
                Fault::new(
                    FaultCode::Sender,
                    "The context header must hold user/login and user/password",
                ),
            ),
            Self::User(_) => {
                (
                    StatusCode::UNAUTHORIZED,
                    Fault::new(FaultCode::Sender, "The user could not be authenticated")
                        .with_subcode(ns, "tns", "UserAuthenticationFailed"),
                )
            }
            Self::State(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                Fault::new(
                    FaultCode::Receiver,
                    "The service is temporarily unavailable",
                ),
            ),
            Self::Upstream(UpstreamError::Timeout(_)) => (
                StatusCode::GATEWAY_TIMEOUT,
                Fault::new(
                    FaultCode::Receiver,
                    "The alert service did not answer in time; nothing was changed",
                ),
            ),
            Self::Upstream(UpstreamError::BadAnswer(_)) => (
                StatusCode::BAD_GATEWAY,
                Fault::new(FaultCode::Receiver, "The alert service answered badly"),
            ),
            // Unavailable, and the answers that should have been handled in band by the caller
            // (Unauthorized/NotFound/Rejected reaching here are a bug: say unavailable).
            Self::Upstream(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                Fault::new(
                    FaultCode::Receiver,
                    "The alert service is unavailable; nothing was changed",
                ),
            ),
            Self::Method => {
                let mut r =
                    Response::new(Bytes::from_static(b"POST a SOAP request, or GET ?wsdl\n"));
                *r.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
                r.headers_mut()
                    .insert(header::ALLOW, http::HeaderValue::from_static("GET, POST"));
                return r;
            }
        };
        soap_response(status, version, fault.to_xml(version))
    }
}

/// The gateway's own refusals (no or unaccepted client certificate, wrong method, body too
/// large) as a SOAP 1.1 fault with the gateway's status, so that a SOAP client gets a fault it
/// can read rather than problem+json. Only the gateway's caller-safe detail is said.
pub(crate) fn refusal_response(refusal: &crate::Refusal<'_>) -> Response<Bytes> {
    let code = if refusal.status.is_server_error() {
        FaultCode::Receiver
    } else {
        FaultCode::Sender
    };
    let fault = Fault::new(code, refusal.detail);
    soap_response(
        refusal.status,
        SoapVersion::V11,
        fault.to_xml(SoapVersion::V11),
    )
}

/// A SOAP message with the version's content type.
pub(crate) fn soap_response(
    status: StatusCode,
    version: SoapVersion,
    xml: String,
) -> Response<Bytes> {
    let mut r = Response::new(Bytes::from(xml));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static(version.content_type()),
    );
    r
}
