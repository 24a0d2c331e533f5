//! The HTTP client of the internal planning and accounts services, under the deadline budget.
//!
//! SAS drops answers after 7 s, so every internal call runs under one budget (the route's
//! `deadline`, default 3 s): past it the FHIR caller gets a 504 OperationOutcome at once rather
//! than a late answer.

use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::de::DeserializeOwned;

use super::outcome::FhirError;
use crate::InternalService;

/// Characters left as they are in query values (RFC 3986 unreserved).
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes a query value.
pub(crate) fn enc(value: &str) -> String {
    utf8_percent_encode(value, QUERY_VALUE).to_string()
}

/// One internal service and the shared HTTP client.
#[derive(Debug, Clone)]
pub(crate) struct Internal {
    http: reqwest::Client,
    /// Which service this is, for errors ("planning", "accounts").
    pub(crate) label: &'static str,
    base: String,
    deadline: Duration,
}

impl Internal {
    /// A client of `service` under `deadline`.
    pub(crate) fn new(
        http: reqwest::Client,
        label: &'static str,
        service: &InternalService,
        deadline: Duration,
    ) -> Self {
        Self {
            http,
            label,
            base: service.base_url.clone(),
            deadline: deadline.min(service.request_timeout),
        }
    }

    /// `base` + `path_and_query`.
    pub(crate) fn url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.base)
    }

    /// Sends a request and reads the whole answer within the deadline.
    ///
    /// # Errors
    /// [`FhirError::Deadline`] past the budget, [`FhirError::UpstreamDown`] when the service
    /// cannot be reached.
    pub(crate) async fn send(
        &self,
        req: reqwest::RequestBuilder,
        request_id: &str,
    ) -> Result<(StatusCode, Bytes), FhirError> {
        let call = async {
            let resp = req.header("x-request-id", request_id).send().await?;
            let status = resp.status();
            let body = resp.bytes().await?;
            Ok::<_, reqwest::Error>((status, body))
        };
        match tokio::time::timeout(self.deadline, call).await {
            Err(_) => {
                tracing::warn!(service = self.label, budget = ?self.deadline, "internal call past the deadline");
                Err(FhirError::Deadline(self.label))
            }
            Ok(Err(e)) if e.is_timeout() => Err(FhirError::Deadline(self.label)),
            Ok(Err(e)) => {
                tracing::warn!(service = self.label, error = %e, "internal call failed");
                Err(FhirError::UpstreamDown(self.label))
            }
            Ok(Ok(answer)) => Ok(answer),
        }
    }

    /// GET a JSON document; any status but 200 is a service failure.
    ///
    /// # Errors
    /// As [`Self::send`], and [`FhirError::UpstreamInvalid`] for a non-200 or unreadable answer.
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        path_and_query: &str,
        request_id: &str,
    ) -> Result<T, FhirError> {
        let (status, body) = self
            .send(self.http.get(self.url(path_and_query)), request_id)
            .await?;
        if status.is_server_error() {
            tracing::warn!(service = self.label, %status, "internal service error");
            return Err(FhirError::UpstreamDown(self.label));
        }
        if status != StatusCode::OK {
            tracing::warn!(service = self.label, %status, "unexpected internal status");
            return Err(FhirError::UpstreamInvalid(self.label));
        }
        self.decode(&body)
    }

    /// Decodes a JSON answer of this service.
    ///
    /// # Errors
    /// [`FhirError::UpstreamInvalid`].
    pub(crate) fn decode<T: DeserializeOwned>(&self, body: &[u8]) -> Result<T, FhirError> {
        serde_json::from_slice(body).map_err(|e| {
            tracing::warn!(service = self.label, error = %e, "unreadable internal answer");
            FhirError::UpstreamInvalid(self.label)
        })
    }

    /// The shared HTTP client.
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }
}
