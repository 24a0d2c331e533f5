//! RFC 3161 timestamps of the upstream's answers (a sealed PDF): the gateway hashes the answer,
//! asks the route's TSA for a token over that digest with a fresh random nonce, verifies the
//! reply (`tsp::verify_response`: status granted, imprint and nonce equal, signed by a
//! certificate with the critical timeStamping EKU chaining to the configured anchors) and hands
//! the token to the caller in `Timestamp-Token: :BASE64(DER TimeStampToken):` (a Structured
//! Field byte sequence).
//!
//! The answer is held (up to `max_response_size`) until its token is obtained, so that with
//! `mode: required` a caller whose document could not be timestamped gets a clean 502/504 and no
//! document, rather than a document cut short. Sealed documents are small; a route serving large
//! ones does not need this policy. With `mode: best_effort` the caller gets the document and
//! `Timestamp-Status: unavailable; reason="…"`.

use axum::body::Body;
use bytes::Bytes;
use http::{HeaderValue, Request, Response};
use http_body_util::{BodyExt, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::config::{TimestampMode, TimestampSettings};
use crate::problem::GatewayError;

/// Largest TSA reply read (a token with its certificate chain is a few KiB).
const MAX_REPLY: usize = 256 * 1024;

/// One route's timestamping.
pub(crate) struct Timestamper {
    settings: TimestampSettings,
    client: Client<HttpConnector, Body>,
}

/// Why no token could be had.
#[derive(Debug)]
struct Failure {
    timed_out: bool,
    class: &'static str,
    reason: String,
}

impl Timestamper {
    pub(crate) fn new(settings: TimestampSettings) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(settings.timeout));
        Self {
            settings,
            client: Client::builder(TokioExecutor::new()).build(connector),
        }
    }

    /// The answer with its token, or (by the route's mode) without one.
    ///
    /// # Errors
    /// With `mode: required`: 502 when the TSA failed or its token did not verify, 504 when it
    /// was too slow; 502 when the upstream's answer is larger than `max_response_size`.
    pub(crate) async fn stamp(
        &self,
        response: Response<Body>,
        witness: &mut super::Witness,
        slot: Option<super::queue::Slot>,
    ) -> Result<Response<Body>, GatewayError> {
        if !response.status().is_success() {
            return Ok(match slot {
                Some(slot) => response.map(|b| Body::new(crate::body::Holding::new(b, slot))),
                None => response,
            });
        }
        let (mut parts, body) = response.into_parts();
        let max = usize::try_from(self.settings.max_response_size).unwrap_or(usize::MAX);
        let document: Bytes = Limited::new(body, max)
            .collect()
            .await
            .map_err(|e| GatewayError::UpstreamUnavailable {
                upstream: "(timestamped answer)".into(),
                reason: format!("the answer could not be held for timestamping: {e}"),
            })?
            .to_bytes();
        // The upstream is done: free its slot before waiting for the TSA.
        drop(slot);
        let stamped = tokio::time::timeout(self.settings.timeout, self.token_for(&document)).await;
        let outcome = match stamped {
            Ok(Ok(token)) => Ok(token),
            Ok(Err(failure)) => Err(failure),
            Err(_) => Err(Failure {
                timed_out: true,
                class: "tsa-timeout",
                reason: format!("no answer within {:?}", self.settings.timeout),
            }),
        };
        let headers = &mut parts.headers;
        match outcome {
            Ok(token) => {
                use base64::Engine as _;
                let value = format!(
                    ":{}:",
                    base64::engine::general_purpose::STANDARD.encode(&token.der)
                );
                if let Ok(v) = HeaderValue::from_str(&value) {
                    headers.insert("timestamp-token", v);
                }
                headers.insert("timestamp-status", HeaderValue::from_static("granted"));
                witness.flag("timestamped");
                metrics::counter!("gateway_timestamps_total", "outcome" => "granted").increment(1);
            }
            Err(failure) => {
                metrics::counter!("gateway_timestamps_total", "outcome" => failure.class)
                    .increment(1);
                tracing::warn!(class = failure.class, reason = %failure.reason, "no RFC 3161 timestamp for the answer");
                witness.flag("timestamp_unavailable");
                if self.settings.mode == TimestampMode::Required {
                    return Err(GatewayError::Timestamp {
                        timed_out: failure.timed_out,
                        reason: format!("{}: {}", failure.class, failure.reason),
                    });
                }
                let status = format!("unavailable; reason=\"{}\"", failure.class);
                if let Ok(v) = HeaderValue::from_str(&status) {
                    headers.insert("timestamp-status", v);
                }
            }
        }
        headers.remove(http::header::CONTENT_LENGTH);
        headers.remove(http::header::TRANSFER_ENCODING);
        Ok(Response::from_parts(parts, Body::from(document)))
    }

    async fn token_for(&self, document: &[u8]) -> Result<tsp::Token, Failure> {
        let s = &self.settings;
        let digest = s.hash.digest(document);
        let nonce: u64 = rand::random();
        let query =
            tsp::request(&digest, s.hash, nonce, s.policy.as_ref(), true).map_err(|e| Failure {
                timed_out: false,
                class: "tsa-request",
                reason: e.to_string(),
            })?;
        let reply = self.exchange(query).await?;
        let expected = tsp::Expected {
            digest: &digest,
            alg: s.hash,
            nonce,
            policy: s.policy.as_ref(),
        };
        tsp::verify_response(
            &reply,
            &expected,
            &s.anchors,
            rustls_pki_types::UnixTime::now(),
        )
        .map_err(|e| Failure {
            timed_out: false,
            class: "tsa-token-refused",
            reason: e.to_string(),
        })
    }

    async fn exchange(&self, query: Vec<u8>) -> Result<Vec<u8>, Failure> {
        let unavailable = |reason: String| Failure {
            timed_out: false,
            class: "tsa-unavailable",
            reason,
        };
        let req = Request::post(self.settings.tsa.clone())
            .header(http::header::CONTENT_TYPE, tsp::REQUEST_CONTENT_TYPE)
            .body(Body::from(query))
            .map_err(|e| unavailable(e.to_string()))?;
        let response = self
            .client
            .request(req)
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        if !response.status().is_success() {
            return Err(unavailable(format!(
                "the TSA answered {}",
                response.status()
            )));
        }
        let body = Limited::new(response.into_body(), MAX_REPLY)
            .collect()
            .await
            .map_err(|e| unavailable(format!("reading the reply: {e}")))?;
        Ok(body.to_bytes().to_vec())
    }
}
