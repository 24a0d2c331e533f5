//! Integrity (RFC 9530): an upload's bytes are hashed as they stream to the upstream and checked
//! against its `Content-Digest`; a download's bytes are checked against the upstream's.
//!
//! The last piece of a body is held back until the whole body is checked: on a mismatch the
//! body fails instead of ending, so the upstream (for an upload) or the caller (for a download)
//! sees an incomplete message (short of its `Content-Length`, without its last chunk, or reset)
//! and never a complete one with the wrong bytes. Holding one piece costs one frame of memory.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};
use integrity::{Algorithm, Digest, Mismatch, StreamDigest};

use crate::body::{BodyFault, BodyFaultCell};
use crate::problem::GatewayError;

/// What checking a body found, read by the trail once the body has ended.
#[derive(Debug, Default)]
pub(crate) struct DigestOutcome(Mutex<Option<Result<Vec<Digest>, Mismatch>>>);

impl DigestOutcome {
    fn set(&self, value: Result<Vec<Digest>, Mismatch>) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(value);
    }

    /// The digests computed, once the body ended and matched (or had nothing to match).
    pub(crate) fn digests(&self) -> Option<Vec<Digest>> {
        match &*self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
        {
            Some(Ok(d)) => Some(d.clone()),
            _ => None,
        }
    }

    /// Whether the body ended with a mismatch.
    pub(crate) fn mismatched(&self) -> bool {
        matches!(
            &*self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
            Some(Err(_))
        )
    }
}

/// The digests a message's headers announce: `Content-Digest`, else `Repr-Digest` (the same
/// bytes when no `Content-Encoding` applies). `Ok(None)` when it announces none.
///
/// # Errors
/// A malformed field, one with no supported algorithm, or a `Repr-Digest` that cannot be
/// checked against encoded bytes.
pub(crate) fn announced(headers: &HeaderMap) -> Result<Option<Vec<Digest>>, GatewayError> {
    let field = |name: &'static str| headers.get(name).map(|v| (name, v.as_bytes()));
    let encoded = headers.contains_key(http::header::CONTENT_ENCODING);
    let chosen = match (
        field(integrity::CONTENT_DIGEST),
        field(integrity::REPR_DIGEST),
    ) {
        (Some(c), _) => c,
        (None, Some(_)) if encoded => {
            return Err(GatewayError::DigestField(
                "Repr-Digest cannot be checked on a content-encoded body; send Content-Digest"
                    .into(),
            ));
        }
        (None, Some(r)) => r,
        (None, None) => return Ok(None),
    };
    integrity::parse_digest_field(chosen.1)
        .map(Some)
        .map_err(|e| GatewayError::DigestField(format!("{}: {e}", chosen.0)))
}

/// The upload's body, checked against the digest it announces (required when the route says
/// so), and hashed with sha-256 for the trail when it announces none.
///
/// # Errors
/// 400 when a digest is required and missing, or announced and unusable.
pub(crate) fn request<B>(
    headers: &HeaderMap,
    body: B,
    tally: &BodyFaultCell,
    settings: &crate::config::DigestSettings,
) -> Result<(axum::body::Body, Option<Arc<DigestOutcome>>), GatewayError>
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let expected = announced(headers)?;
    let has_body = crate::body::declared_length(headers).is_some_and(|n| n > 0)
        || headers.contains_key(http::header::TRANSFER_ENCODING);
    if expected.is_none() && settings.require && has_body {
        return Err(GatewayError::DigestField(
            "this route requires Content-Digest (sha-256 or sha-512) on uploads".into(),
        ));
    }
    if let Some(d) = &expected {
        for digest in d {
            metrics::counter!("gateway_digests_announced_total", "direction" => "request", "algorithm" => digest.algorithm().name()).increment(1);
        }
    }
    let outcome = Arc::new(DigestOutcome::default());
    let body = VerifiedBody::new(
        body,
        expected.unwrap_or_default(),
        &[Algorithm::Sha256],
        Arc::clone(&outcome),
        Some(Arc::clone(tally)),
    );
    Ok((axum::body::Body::new(body), Some(outcome)))
}

/// The download's body, checked against the upstream's `Content-Digest` (when the route says
/// so and the upstream gave one); what was found goes to the trail through `witness`.
pub(crate) fn response(
    response: http::Response<axum::body::Body>,
    settings: &crate::config::DigestSettings,
    witness: &mut crate::policy::Witness,
) -> http::Response<axum::body::Body> {
    if settings.responses == crate::config::ResponseDigest::Off {
        return response;
    }
    let expected = match announced(response.headers()) {
        Ok(Some(d)) => d,
        Ok(None) => return response,
        Err(e) => {
            // An upstream's malformed field is its fault; the bytes pass unchecked and the
            // trail says so.
            tracing::warn!(error = %e, "the upstream's Content-Digest cannot be checked");
            witness.flag("response_digest_unusable");
            return response;
        }
    };
    witness.response_digest = Some(
        expected
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    );
    let outcome = Arc::new(DigestOutcome::default());
    witness.download = Some(Arc::clone(&outcome));
    response
        .map(|body| axum::body::Body::new(VerifiedBody::new(body, expected, &[], outcome, None)))
}

pin_project_lite::pin_project! {
    /// Hashes a body as it passes and checks it at its end (see the module docs).
    pub(crate) struct VerifiedBody<B> {
        #[pin]
        inner: B,
        hasher: Option<StreamDigest>,
        expected: Vec<Digest>,
        held: Option<Frame<Bytes>>,
        ended: bool,
        outcome: Arc<DigestOutcome>,
        // Request side: where the caller's fault is recorded for the handler.
        tally: Option<BodyFaultCell>,
    }
}

impl<B> VerifiedBody<B> {
    /// Checks against `expected`, or (when it is empty) only computes `compute` for the trail.
    pub(crate) fn new(
        inner: B,
        expected: Vec<Digest>,
        compute: &[Algorithm],
        outcome: Arc<DigestOutcome>,
        tally: Option<BodyFaultCell>,
    ) -> Self {
        let hasher = if expected.is_empty() {
            StreamDigest::new(compute.iter().copied())
        } else {
            StreamDigest::for_expected(&expected)
        };
        Self {
            inner,
            hasher: Some(hasher),
            expected,
            held: None,
            ended: false,
            outcome,
            tally,
        }
    }
}

/// Why a checked body failed (what hyper logs; the caller's answer comes from the tally).
#[derive(Debug, thiserror::Error)]
#[error("the body does not match its {0} digest")]
pub(crate) struct DigestMismatch(pub(crate) Algorithm);

impl<B> Body for VerifiedBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let mut this = self.project();
        loop {
            if *this.ended {
                return Poll::Ready(this.held.take().map(Ok));
            }
            match this.inner.as_mut().poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e.into()))),
                Poll::Ready(Some(Ok(frame))) => {
                    if let (Some(data), Some(hasher)) = (frame.data_ref(), this.hasher.as_mut()) {
                        hasher.update(data);
                    }
                    if this.expected.is_empty() {
                        // Nothing to check: nothing to hold back.
                        return Poll::Ready(Some(Ok(frame)));
                    }
                    if let Some(previous) = this.held.replace(frame) {
                        return Poll::Ready(Some(Ok(previous)));
                    }
                }
                Poll::Ready(None) => {
                    *this.ended = true;
                    let Some(hasher) = this.hasher.take() else {
                        continue;
                    };
                    let checked = if this.expected.is_empty() {
                        Ok(())
                    } else {
                        hasher.verify(this.expected)
                    };
                    // Request side (a tally) or response side: for the metric.
                    let direction = if this.tally.is_some() {
                        "request"
                    } else {
                        "response"
                    };
                    let verified = !this.expected.is_empty();
                    match checked {
                        Ok(()) => {
                            if verified {
                                metrics::counter!("gateway_digests_total", "direction" => direction, "result" => "verified")
                                    .increment(1);
                            }
                            this.outcome.set(Ok(hasher.finish()));
                        }
                        Err(mismatch) => {
                            let algorithm = match &mismatch {
                                Mismatch::Differs { algorithm }
                                | Mismatch::NotComputed { algorithm } => *algorithm,
                                // `NothingToVerify` (never: `expected` is not empty here).
                                _ => Algorithm::Sha256,
                            };
                            metrics::counter!("gateway_digests_total", "direction" => direction, "result" => "mismatch")
                                .increment(1);
                            this.outcome.set(Err(mismatch));
                            this.held.take();
                            if let Some(tally) = this.tally.as_ref() {
                                tally.set_fault(BodyFault::DigestMismatch(algorithm));
                            }
                            return Poll::Ready(Some(Err(Box::new(DigestMismatch(algorithm)))));
                        }
                    }
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ended && self.held.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt, Full};

    /// A body delivering the given pieces, one frame each.
    struct Chunks(std::collections::VecDeque<&'static str>);

    fn chunks(parts: &[&'static str]) -> Chunks {
        Chunks(parts.iter().copied().collect())
    }

    impl Body for Chunks {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            Poll::Ready(
                self.0
                    .pop_front()
                    .map(|p| Ok(Frame::data(Bytes::from_static(p.as_bytes())))),
            )
        }
    }

    fn sha256(text: &str) -> Vec<Digest> {
        vec![Algorithm::Sha256.digest(text.as_bytes())]
    }

    #[tokio::test]
    async fn a_matching_body_passes_whole_and_records_its_digest() {
        let outcome = Arc::new(DigestOutcome::default());
        let body = VerifiedBody::new(
            chunks(&["ab", "cd"]),
            sha256("abcd"),
            &[],
            Arc::clone(&outcome),
            None,
        );
        let got = body.collect().await.map(|c| c.to_bytes());
        assert_eq!(got.ok().as_deref(), Some(&b"abcd"[..]));
        assert_eq!(outcome.digests(), Some(sha256("abcd")));
    }

    #[tokio::test]
    async fn a_mismatch_fails_before_the_last_piece_is_released() {
        let outcome = Arc::new(DigestOutcome::default());
        let tally = BodyFaultCell::default();
        let mut body = VerifiedBody::new(
            chunks(&["ab", "cd", "ef"]),
            sha256("abcdeX"),
            &[],
            Arc::clone(&outcome),
            Some(Arc::clone(&tally)),
        );
        let mut released = Vec::new();
        let mut failed = false;
        while let Some(frame) = body.frame().await {
            match frame {
                Ok(f) => released.extend_from_slice(f.data_ref().map_or(&[][..], |d| d.as_ref())),
                Err(_) => failed = true,
            }
        }
        assert!(failed);
        assert_eq!(
            released, b"abcd",
            "the last piece must not reach the upstream"
        );
        assert!(outcome.mismatched());
        assert_eq!(
            tally.fault(),
            Some(&BodyFault::DigestMismatch(Algorithm::Sha256))
        );
    }

    #[tokio::test]
    async fn without_an_expected_digest_the_bytes_are_hashed_for_the_trail() {
        let outcome = Arc::new(DigestOutcome::default());
        let body = VerifiedBody::new(
            Full::new(Bytes::from_static(b"hello")),
            vec![],
            &[Algorithm::Sha256],
            Arc::clone(&outcome),
            None,
        );
        assert!(body.collect().await.is_ok());
        assert_eq!(outcome.digests(), Some(sha256("hello")));
    }

    #[test]
    fn announced_digests_come_from_content_digest_then_repr_digest() {
        let mut h = HeaderMap::new();
        assert!(announced(&h).unwrap().is_none());
        h.insert(
            "repr-digest",
            "sha-256=:LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=:"
                .parse()
                .unwrap(),
        );
        assert_eq!(announced(&h).unwrap().map(|d| d.len()), Some(1));
        h.insert("content-encoding", "gzip".parse().unwrap());
        assert!(
            announced(&h).is_err(),
            "Repr-Digest of an encoded body cannot be checked"
        );
        h.insert("content-digest", "sha-256=:not base64:".parse().unwrap());
        let e = announced(&h).unwrap_err().to_string();
        assert!(e.starts_with("content-digest:"), "{e}");
    }
}
