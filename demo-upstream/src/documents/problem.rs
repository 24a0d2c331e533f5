//! The document API's errors, as RFC 9457 problem details (`application/problem+json`).
//!
//! The `type` of a problem the gateway may have to tell apart is a stable URN listed in
//! `docs/openapi/documents.yaml`; the others are `about:blank`, whose `title` is the status
//! phrase (RFC 9457 §4.2.1).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Prefix of the problem types specific to the document API.
const TYPE_PREFIX: &str = "urn:secure-echange:problem:";

/// One error answer: the status, a type slug (`None` for `about:blank`) and a detail for humans.
#[derive(Debug)]
pub(crate) struct Problem {
    status: StatusCode,
    kind: Option<&'static str>,
    title: &'static str,
    detail: String,
    /// The 413 answer tells the limit, so a client can tell "too large" from "try again".
    max_size: Option<u64>,
}

impl Problem {
    fn new(
        status: StatusCode,
        kind: Option<&'static str>,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            status,
            kind,
            title,
            detail: detail.into(),
            max_size: None,
        }
    }

    /// 400: an exchange or document id that is not `[A-Za-z0-9_-]{1,64}`.
    pub(crate) fn bad_id(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            Some("bad-id"),
            "Malformed identifier",
            detail,
        )
    }

    /// 400: a `Content-Digest` field that cannot be parsed, or a digest of the wrong length.
    pub(crate) fn bad_digest_field(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            Some("bad-digest-field"),
            "Malformed Content-Digest",
            detail,
        )
    }

    /// 400: the received bytes do not have the digest the request declared.
    pub(crate) fn digest_mismatch(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            Some("digest-mismatch"),
            "Content-Digest mismatch",
            detail,
        )
    }

    /// 400: the body ended early (short of its `Content-Length`, or without its last chunk).
    pub(crate) fn incomplete_body(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            Some("incomplete-body"),
            "Incomplete body",
            detail,
        )
    }

    /// 400: a `Content-Type` that is not visible ASCII.
    pub(crate) fn bad_content_type() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            Some("bad-content-type"),
            "Malformed Content-Type",
            "Content-Type must be visible ASCII",
        )
    }

    /// 413: the document is larger than the configured maximum.
    pub(crate) fn too_large(max_size: u64) -> Self {
        Self {
            max_size: Some(max_size),
            ..Self::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                Some("too-large"),
                "Document too large",
                format!("documents are at most {max_size} bytes"),
            )
        }
    }

    /// 404: no such document in this exchange.
    pub(crate) fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            None,
            "Not Found",
            "no such document in this exchange",
        )
    }

    /// 500: the store failed (disk error); nothing was stored.
    pub(crate) fn internal(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            None,
            "Internal Server Error",
            detail,
        )
    }

    /// The HTTP status of the answer.
    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let kind = match self.kind {
            Some(slug) => format!("{TYPE_PREFIX}{slug}"),
            None => "about:blank".to_owned(),
        };
        let mut body = json!({
            "type": kind,
            "title": self.title,
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        if let (Some(max), Some(obj)) = (self.max_size, body.as_object_mut()) {
            obj.insert("max_size".to_owned(), max.into());
        }
        let mut response = (self.status, body.to_string()).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}
