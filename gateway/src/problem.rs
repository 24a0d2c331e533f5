//! The gateway's own errors and their one mapping to the wire for REST callers:
//! `application/problem+json` (RFC 9457) with a status that says who is at fault.

use std::time::Duration;

use axum::body::Body;
use http::{HeaderValue, Response, StatusCode, header};

/// Who caused a failure: decides the status class, the metric label and whether a retry helps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The caller (4xx).
    Downstream,
    /// The upstream service (502/504).
    Upstream,
    /// The gateway itself (500).
    Internal,
}

/// Why the gateway answered a request itself instead of the upstream.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// No route of this listener matches the path.
    #[error("no route matches this path")]
    RouteNotFound,
    /// The route exists but not for this method.
    #[error("method not allowed on this route")]
    MethodNotAllowed {
        /// The methods the route accepts.
        allowed: Vec<http::Method>,
    },
    /// The client presented no certificate on a route that needs one.
    #[error("{0}")]
    Unauthenticated(mtls::PinRefusal),
    /// The client's certificate is not allowed on the route.
    #[error("{0}")]
    Forbidden(mtls::PinRefusal),
    /// The client's certificate is revoked, or its status could not be established under a
    /// hard policy.
    #[error("client certificate refused by revocation: {verdict}")]
    Revoked {
        /// The verdict, for the log.
        verdict: String,
    },
    /// The body is larger than the route allows.
    #[error("request body larger than {limit} bytes")]
    PayloadTooLarge {
        /// The route's limit.
        limit: u64,
    },
    /// The request body could not be read (the client went away or sent broken framing).
    #[error("request body could not be read: {0}")]
    BodyUnreadable(String),
    /// The caller did not send its request (body) in time.
    #[error("the request was not received within {after:?}")]
    RequestTimeout {
        /// The budget that ran out.
        after: Duration,
    },
    /// An upload's body does not match its digest.
    #[error("the body does not match its {algorithm} digest")]
    DigestMismatch {
        /// The algorithm whose digest differed (never the value).
        algorithm: integrity::Algorithm,
    },
    /// The route requires a digest and the request carries none, or an unusable one.
    #[error("{0}")]
    DigestField(String),
    /// The client's daily volume is used up.
    #[error("the daily volume of this client on this route is used up")]
    QuotaExceeded {
        /// Until the window ends.
        retry_after: Duration,
    },
    /// A dependency the route's policy needs (the state store, the trail) is unavailable.
    #[error("{what} is unavailable: {reason}")]
    PolicyUnavailable {
        /// What (for the caller).
        what: &'static str,
        /// Why (for the log only).
        reason: String,
    },
    /// The antivirus found a signature in the upload.
    #[error("the antivirus found {signature}; the document is refused")]
    Infected {
        /// The signature clamd named.
        signature: String,
    },
    /// The upload is larger than the antivirus accepts (clamd's `StreamMaxLength`).
    #[error("the document is larger than the antivirus accepts")]
    ScanTooLarge,
    /// The antivirus could not be reached or gave no verdict.
    #[error("the antivirus gave no verdict: {reason}")]
    ScanUnavailable {
        /// Why (for the log only).
        reason: String,
    },
    /// The body is not of a media type the route accepts.
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    /// The body fails the route's content checks.
    #[error("{0}")]
    ContentRefused(String),
    /// The upstream's queue is full or the wait for a slot too long.
    #[error("the service behind the gateway is busy: {why}")]
    UpstreamBusy {
        /// Which (for the caller).
        why: &'static str,
        /// When a retry would likely get a slot.
        retry_after: Duration,
    },
    /// The upstream's health check says it is down: refused without trying.
    #[error("the service behind the gateway is down (health check)")]
    UpstreamDown,
    /// The route requires a signed request (RFC 9421) and this one's signature is refused.
    #[error("signature refused ({class}): {detail}")]
    SignatureRefused {
        /// The class (`missing`, `unknown_key`, `expired`, `replay`, `bad_signature`,
        /// `digest_mismatch`, …).
        class: &'static str,
        /// What was wrong (never a key or an expected value).
        detail: String,
    },
    /// No RFC 3161 timestamp could be obtained for the answer, on a route that requires one.
    #[error("no timestamp: {reason}")]
    Timestamp {
        /// Whether the TSA was too slow (504) rather than failing (502).
        timed_out: bool,
        /// Why (for the log).
        reason: String,
    },
    /// An outbound call's identity failed (CPS agent, PKCS#11 token) or its agent is refused.
    #[error("{slug}: {reason}")]
    Outbound {
        /// 400 for the caller's naming of an agent, 502/504 for the identity's failures.
        status: StatusCode,
        /// The class.
        slug: &'static str,
        /// What happened (for the log; carries no PIN, session or signed data).
        reason: String,
    },
    /// A transfer coding other than `chunked`.
    #[error("only the chunked transfer coding is supported")]
    TransferCoding,
    /// The request path cannot be routed safely (dot-segments leaving the root, encoded
    /// separators, backslashes).
    #[error("{0}")]
    BadPath(&'static str),
    /// The upstream could not be reached or failed before answering.
    #[error("upstream `{upstream}` failed: {reason}")]
    UpstreamUnavailable {
        /// The upstream's name.
        upstream: String,
        /// What happened (for the log only).
        reason: String,
    },
    /// The upstream did not answer in time.
    #[error("upstream `{upstream}` did not answer within {after:?}")]
    UpstreamTimeout {
        /// The upstream's name.
        upstream: String,
        /// The budget that ran out.
        after: Duration,
    },
    /// A bug or resource problem in the gateway.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The problem type of each signature refusal class (`urn:gateway:problem:signature-…`).
fn signature_slug(class: &str) -> &'static str {
    match class {
        "missing" => "signature-missing",
        "malformed" | "missing_parameter" => "signature-malformed",
        "unknown_key" => "signature-unknown-key",
        "unsupported_algorithm" | "unsupported_component" => "signature-unsupported",
        "not_covered" | "component_absent" | "wrong_tag" => "signature-not-covering",
        "expired" | "not_yet_valid" | "too_old" => "signature-expired",
        "replay" => "signature-replay",
        "digest_mismatch" => "signature-digest-mismatch",
        "bad_signature" => "signature-bad",
        _ => "signature-invalid",
    }
}

// === impl GatewayError ===

impl GatewayError {
    /// Who is at fault.
    #[must_use]
    pub fn fault(&self) -> Fault {
        match self {
            Self::UpstreamUnavailable { .. } | Self::UpstreamTimeout { .. } => Fault::Upstream,
            Self::Internal(_) | Self::PolicyUnavailable { .. } => Fault::Internal,
            Self::ScanUnavailable { .. } => Fault::Internal,
            _ => Fault::Downstream,
        }
    }

    /// The HTTP status.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Self::RouteNotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::Unauthenticated(_) | Self::SignatureRefused { .. } => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) | Self::Revoked { .. } => StatusCode::FORBIDDEN,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BodyUnreadable(_)
            | Self::BadPath(_)
            | Self::DigestMismatch { .. }
            | Self::DigestField(_)
            | Self::ContentRefused(_) => StatusCode::BAD_REQUEST,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TransferCoding => StatusCode::NOT_IMPLEMENTED,
            Self::Outbound { status, .. } => *status,
            Self::UpstreamBusy { .. } | Self::UpstreamDown => StatusCode::SERVICE_UNAVAILABLE,
            Self::QuotaExceeded { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::PolicyUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Infected { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::ScanTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::ScanUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::RequestTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            Self::UpstreamUnavailable { .. } => StatusCode::BAD_GATEWAY,
            Self::UpstreamTimeout { .. }
            | Self::Timestamp {
                timed_out: true, ..
            } => StatusCode::GATEWAY_TIMEOUT,
            Self::Timestamp { .. } => StatusCode::BAD_GATEWAY,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub(crate) fn slug(&self) -> &'static str {
        match self {
            Self::RouteNotFound => "route-not-found",
            Self::MethodNotAllowed { .. } => "method-not-allowed",
            Self::Unauthenticated(_) => "client-certificate-required",
            Self::Forbidden(_) => "client-not-allowed",
            Self::Revoked { .. } => "client-certificate-revoked",
            Self::PayloadTooLarge { .. } => "payload-too-large",
            Self::BodyUnreadable(_) => "body-unreadable",
            Self::RequestTimeout { .. } => "request-timeout",
            Self::BadPath(_) => "bad-path",
            Self::DigestMismatch { .. } => "digest-mismatch",
            Self::DigestField(_) => "digest-field",
            Self::UnsupportedMediaType(_) => "unsupported-media-type",
            Self::TransferCoding => "transfer-coding",
            Self::Outbound { slug, .. } => slug,
            Self::Timestamp { .. } => "timestamp-unavailable",
            Self::SignatureRefused { class, .. } => signature_slug(class),
            Self::ContentRefused(_) => "content-refused",
            Self::UpstreamBusy { .. } => "upstream-busy",
            Self::UpstreamDown => "upstream-down",
            Self::QuotaExceeded { .. } => "quota-exceeded",
            Self::PolicyUnavailable { .. } => "policy-unavailable",
            Self::Infected { .. } => "infected",
            Self::ScanTooLarge => "too-large-to-scan",
            Self::ScanUnavailable { .. } => "scan-unavailable",
            Self::UpstreamUnavailable { .. } => "upstream-unavailable",
            Self::UpstreamTimeout { .. } => "upstream-timeout",
            Self::Internal(_) => "internal-error",
        }
    }

    /// What the caller is told: enough to act on, nothing internal (no upstream address, no
    /// expected CN, no stack).
    pub(crate) fn public_detail(&self) -> String {
        match self {
            Self::UpstreamUnavailable { .. } | Self::UpstreamDown => {
                "the service behind the gateway is unavailable".into()
            }
            Self::UpstreamTimeout { .. } => {
                "the service behind the gateway did not answer in time".into()
            }
            Self::Internal(_) => "the gateway failed to handle the request".into(),
            Self::Timestamp { .. } => {
                "no RFC 3161 timestamp could be obtained for the answer".into()
            }
            Self::Outbound { status, slug, .. } if status.is_server_error() => {
                format!("the call's client identity failed ({slug})")
            }
            Self::PolicyUnavailable { what, .. } => format!("{what} is unavailable; retry later"),
            Self::ScanUnavailable { .. } => "the antivirus is unavailable; retry later".into(),
            Self::Revoked { .. } => {
                "the client certificate is revoked or its revocation status is unknown".into()
            }
            other => other.to_string(),
        }
    }

    /// The problem+json response.
    #[must_use]
    pub fn to_response(&self, request_id: &str) -> Response<Body> {
        let status = self.status();
        let body = serde_json::json!({
            "type": format!("urn:gateway:problem:{}", self.slug()),
            "title": status.canonical_reason().unwrap_or("Error"),
            "status": status.as_u16(),
            "detail": self.public_detail(),
            "request_id": request_id,
        });
        let mut response = Response::new(Body::from(body.to_string()));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Self::MethodNotAllowed { allowed } = self {
            let list = allowed
                .iter()
                .map(http::Method::as_str)
                .collect::<Vec<_>>()
                .join(", ");
            if let Ok(v) = HeaderValue::from_str(&list) {
                headers.insert(header::ALLOW, v);
            }
        }
        if let Self::QuotaExceeded { retry_after } | Self::UpstreamBusy { retry_after, .. } = self {
            headers.insert(
                header::RETRY_AFTER,
                HeaderValue::from(retry_after.as_secs().max(1)),
            );
        }
        if let Self::SignatureRefused { .. } = self {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Signature"),
            );
        }
        if let Self::Unauthenticated(_) = self {
            // No HTTP auth scheme fits a TLS client certificate; say so plainly.
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("TLS-client-certificate"),
            );
        }
        response
    }
}
