//! Everything that can go wrong on the internal appointments endpoints, and the one place
//! where it becomes `application/problem+json` (RFC 9457) for the internal caller.
//!
//! SAS's own refusals (400 malformed, 422 business rule) keep their status and carry SAS's
//! OperationOutcome issues as a list the caller can act on (`issues[].diagnostics`,
//! `issues[].expression`).

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use serde::Serialize;
use serde_json::json;

/// One problem of the internal request body.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(crate) struct Invalid {
    pub(crate) field: String,
    pub(crate) reason: String,
}

/// One issue of SAS's OperationOutcome, flattened.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(crate) struct SasIssue {
    pub(crate) severity: String,
    pub(crate) code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) diagnostics: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) expression: Vec<String>,
}

/// Why an appointment could not be delivered to SAS.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AppointmentError {
    /// The internal request is malformed.
    #[error("the appointment is invalid")]
    Invalid(Vec<Invalid>),
    /// No such endpoint.
    #[error("no such endpoint: use POST /appointments or PUT /appointments/{{id}}")]
    NotFound,
    /// Wrong method on an endpoint.
    #[error("method not allowed here")]
    MethodNotAllowed,
    /// SAS refused the appointment (400 or 422) with these issues.
    #[error("SAS refused the appointment ({status})")]
    Refused {
        status: StatusCode,
        issues: Vec<SasIssue>,
    },
    /// SAS answered with a status this flow does not expect.
    #[error("SAS answered an unexpected status {status}")]
    Unexpected {
        status: StatusCode,
        issues: Vec<SasIssue>,
    },
    /// SAS's TLS identity was refused: untrusted chain or wrong server name.
    #[error("the SAS server's certificate was refused (untrusted chain or wrong server name)")]
    ServerRefused,
    /// SAS could not be reached.
    #[error("SAS is unreachable")]
    Unreachable,
    /// SAS did not answer in time.
    #[error("SAS did not answer in time")]
    Timeout,
}

impl AppointmentError {
    /// The error as the internal caller sees it.
    pub(crate) fn into_response(self, attempts: u32) -> Response<Bytes> {
        let title = self.to_string();
        let (status, kind, extra) = match self {
            Self::Invalid(errors) => (
                StatusCode::BAD_REQUEST,
                "invalid-appointment",
                json!({ "errors": errors }),
            ),
            Self::NotFound => (StatusCode::NOT_FOUND, "not-found", json!({})),
            Self::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                json!({}),
            ),
            Self::Refused { status, issues } => (
                status,
                "sas-refused",
                json!({ "sas_status": status.as_u16(), "issues": issues }),
            ),
            Self::Unexpected { status, issues } => (
                StatusCode::BAD_GATEWAY,
                "sas-unexpected",
                json!({ "sas_status": status.as_u16(), "issues": issues }),
            ),
            Self::ServerRefused => (StatusCode::BAD_GATEWAY, "sas-tls-refused", json!({})),
            Self::Unreachable => (StatusCode::BAD_GATEWAY, "sas-unreachable", json!({})),
            Self::Timeout => (StatusCode::GATEWAY_TIMEOUT, "sas-timeout", json!({})),
        };
        let mut body = json!({
            "type": format!("urn:gateway:sas-appointments:{kind}"),
            "title": title,
            "status": status.as_u16(),
            "attempts": attempts,
        });
        if let (Some(b), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(extra.clone());
        }
        let mut response =
            Response::new(Bytes::from(serde_json::to_vec(&body).unwrap_or_default()));
        *response.status_mut() = status;
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}

/// Reads the issues of an OperationOutcome body (empty when it is not one).
pub(crate) fn issues(body: &[u8]) -> Vec<SasIssue> {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Vec::new();
    };
    if v["resourceType"] != "OperationOutcome" {
        return Vec::new();
    }
    let text = |x: &serde_json::Value| x.as_str().map(|s| s.chars().take(2000).collect::<String>());
    v["issue"]
        .as_array()
        .map(|list| {
            list.iter()
                .take(50)
                .map(|i| SasIssue {
                    severity: text(&i["severity"]).unwrap_or_default(),
                    code: text(&i["code"]).unwrap_or_default(),
                    diagnostics: text(&i["diagnostics"]).or_else(|| text(&i["details"]["text"])),
                    expression: i["expression"]
                        .as_array()
                        .map(|e| e.iter().filter_map(text).collect())
                        .unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default()
}
