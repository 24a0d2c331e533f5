//! Everything that can go wrong on the inbound FHIR side, and the one place where it becomes a
//! FHIR `OperationOutcome` on the wire.
//!
//! Diagnostics name what the caller sent or what it can do about it; they never carry internal
//! addresses, upstream bodies or Rust error text (those go to the logs only).

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use serde_json::json;

/// The media type of every FHIR answer (the kit warns on anything not starting with it).
pub(crate) const FHIR_JSON: &str = "application/fhir+json; charset=utf-8";

/// Why an inbound FHIR interaction could not be answered normally.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FhirError {
    /// The query cannot run (missing, repeated or malformed parameter).
    #[error("{0}")]
    BadQuery(String),
    /// More identifiers than a search may carry.
    #[error("{count} identifiers in one search; at most {max} are allowed")]
    TooManyIdentifiers {
        /// How many were sent.
        count: usize,
        /// The bound.
        max: usize,
    },
    /// The body is not a usable resource of the expected kind.
    #[error("{0}")]
    BadBody(String),
    /// The body is declared in a format this base does not read (FHIR XML).
    #[error("{0}")]
    UnsupportedFormat(String),
    /// The body is well formed but a business rule refuses it.
    #[error("{0}")]
    BusinessRule(String),
    /// The resource already exists (second identical create).
    #[error("{0}")]
    Duplicate(String),
    /// No such interaction on this base.
    #[error("{0}")]
    NotFound(String),
    /// The resource exists but not with this method.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// The internal service could not be reached or failed.
    #[error("the {0} service is unavailable")]
    UpstreamDown(&'static str),
    /// The internal service answered something this adapter cannot use.
    #[error("the {0} service gave an unusable answer")]
    UpstreamInvalid(&'static str),
    /// The internal service did not answer within the deadline budget.
    #[error("the {0} service did not answer within the time allowed")]
    Deadline(&'static str),
}

impl FhirError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::BadQuery(_) => (StatusCode::BAD_REQUEST, "invalid"),
            Self::TooManyIdentifiers { .. } => (StatusCode::BAD_REQUEST, "too-costly"),
            Self::BadBody(_) => (StatusCode::BAD_REQUEST, "structure"),
            Self::UnsupportedFormat(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "not-supported"),
            Self::BusinessRule(_) => (StatusCode::UNPROCESSABLE_ENTITY, "business-rule"),
            Self::Duplicate(_) => (StatusCode::UNPROCESSABLE_ENTITY, "duplicate"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not-supported"),
            Self::MethodNotAllowed(_) => (StatusCode::METHOD_NOT_ALLOWED, "not-supported"),
            Self::UpstreamDown(_) => (StatusCode::BAD_GATEWAY, "transient"),
            Self::UpstreamInvalid(_) => (StatusCode::BAD_GATEWAY, "exception"),
            Self::Deadline(_) => (StatusCode::GATEWAY_TIMEOUT, "timeout"),
        }
    }

    /// The error as the FHIR caller sees it: status and OperationOutcome.
    pub(crate) fn into_response(self) -> Response<Bytes> {
        let (status, code) = self.status_and_code();
        let body = json!({
            "resourceType": "OperationOutcome",
            "issue": [{
                "severity": "error",
                "code": code,
                "diagnostics": self.to_string(),
            }]
        });
        fhir_response(status, &body)
    }
}

/// A refusal the gateway made before the adapter ran (certificate, pinning, revocation, method,
/// size), as an OperationOutcome with the gateway's status: SAS and the ANS kit read FHIR.
pub(crate) fn refusal(refusal: &crate::Refusal<'_>) -> Response<Bytes> {
    let code = match refusal.status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => "security",
        StatusCode::METHOD_NOT_ALLOWED | StatusCode::NOT_FOUND => "not-supported",
        StatusCode::PAYLOAD_TOO_LARGE => "too-long",
        _ => "processing",
    };
    let body = json!({
        "resourceType": "OperationOutcome",
        "issue": [{
            "severity": "error",
            "code": code,
            "diagnostics": refusal.detail,
        }]
    });
    fhir_response(refusal.status, &body)
}

/// A FHIR JSON answer.
pub(crate) fn fhir_response(status: StatusCode, body: &serde_json::Value) -> Response<Bytes> {
    // Serialising a Value cannot fail (string keys only); the fallback keeps the rule "never
    // panic" without an unwrap.
    fhir_bytes(
        status,
        Bytes::from(serde_json::to_vec(body).unwrap_or_default()),
    )
}

/// A FHIR JSON answer already serialised.
pub(crate) fn fhir_bytes(status: StatusCode, body: Bytes) -> Response<Bytes> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
    response
}
