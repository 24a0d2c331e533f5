//! The trail policy: one record per exchange, refusals included. What the record says is
//! gathered in a [`Witness`] by the layers below as they run (who called, which document, how
//! many bytes with which digest, what the upstream answered).
//!
//! An upload's record is on disk before the caller gets its answer: a document the core stored
//! always has its record (if the record cannot be written the caller gets 503, and the record is
//! logged). A download's record is written when its stream ends: `served` when the bytes went
//! out whole and matched the core's digest, `aborted` when the digest did not match or the
//! caller went away.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use bytes::Bytes;
use http::{Method, Response};
use http_body::Frame;
use integrity::{Action, Client, Entry, Outcome};

use super::digest::DigestOutcome;
use crate::body::BodyFaultCell;
use crate::problem::{Fault, GatewayError};
use crate::routing::Route;
use crate::server::ConnectionInfo;
use crate::trail::Trail;

/// What the trail will say about one exchange.
#[derive(Debug)]
pub(crate) struct Witness {
    pub(crate) action: Action,
    pub(crate) document_id: Option<String>,
    pub(crate) size: Option<u64>,
    pub(crate) digest: Option<String>,
    /// The digest the upstream announced for a download.
    pub(crate) response_digest: Option<String>,
    /// The download's check, complete when its stream ends.
    pub(crate) download: Option<Arc<DigestOutcome>>,
    pub(crate) flags: Vec<String>,
    /// The `keyid` of a verified signed request.
    pub(crate) keyid: Option<String>,
}

impl Witness {
    pub(crate) fn new(method: &Method) -> Self {
        let action = match *method {
            Method::POST | Method::PUT | Method::PATCH => Action::Upload,
            Method::GET | Method::HEAD => Action::Download,
            Method::DELETE => Action::Delete,
            _ => Action::Other,
        };
        Self {
            action,
            document_id: None,
            size: None,
            digest: None,
            response_digest: None,
            download: None,
            flags: Vec::new(),
            keyid: None,
        }
    }

    pub(crate) fn flag(&mut self, flag: &str) {
        self.flags.push(flag.to_owned());
    }

    /// Notes what an upload carried: its size and the digest computed over it.
    pub(crate) fn upload(&mut self, tally: &BodyFaultCell, digest: Option<&DigestOutcome>) {
        if self.action != Action::Upload {
            return;
        }
        self.size = Some(tally.seen());
        if let Some(digests) = digest.and_then(DigestOutcome::digests) {
            self.digest = digests.first().map(ToString::to_string);
        }
    }
}

/// Records the exchange's outcome and passes the result on.
pub(crate) async fn record(
    trail: &Arc<Trail>,
    route: &Route,
    conn: &ConnectionInfo,
    request_id: &str,
    witness: Witness,
    result: Result<Response<Body>, GatewayError>,
) -> Result<Response<Body>, GatewayError> {
    let mut entry = Entry::new(
        jiff::Timestamp::now().to_string(),
        request_id,
        route.settings.name.clone(),
        witness.action,
        Outcome::Ok,
    );
    entry.client = client(conn);
    entry.client.keyid.clone_from(&witness.keyid);
    entry.document_id.clone_from(&witness.document_id);
    entry.size = witness.size;
    entry.digest.clone_from(&witness.digest);
    entry.flags.clone_from(&witness.flags);
    let response = match result {
        Err(e) => {
            (entry.outcome, entry.reason) = refused(&e);
            write(trail, entry).await;
            return Err(e);
        }
        Ok(response) => response,
    };
    entry.core_status = Some(response.status().as_u16());
    if !response.status().is_success() {
        entry.outcome = Outcome::CoreError;
        write(trail, entry).await;
        return Ok(response);
    }
    match witness.action {
        Action::Upload => {
            entry.outcome = Outcome::Stored;
            metrics::counter!("gateway_document_bytes_total", "route" => entry.route.clone(), "direction" => "upload")
                .increment(entry.size.unwrap_or(0));
            if let Err(e) = trail.record(entry.clone()).await {
                tracing::error!(record = ?entry, error = %e,
                    "the upstream accepted an upload whose trail record could not be written");
                return Err(GatewayError::PolicyUnavailable {
                    what: "the audit trail",
                    reason: e.to_string(),
                });
            }
            Ok(response)
        }
        Action::Download => {
            entry.size = None;
            entry.digest = witness.response_digest;
            let watched = Recorded {
                trail: Arc::clone(trail),
                entry: Some(entry),
                download: witness.download,
                sent: 0,
            };
            Ok(response.map(|body| Body::new(watched.wrap(body))))
        }
        _ => {
            write(trail, entry).await;
            Ok(response)
        }
    }
}

async fn write(trail: &Trail, entry: Entry) {
    if let Err(e) = trail.record(entry.clone()).await {
        tracing::error!(record = ?entry, error = %e, "a trail record could not be written");
    }
}

fn client(conn: &ConnectionInfo) -> Client {
    let mut c = Client::default();
    if let Some(id) = &conn.identity {
        c.cn.clone_from(&id.cn);
        c.ou.clone_from(&id.ou);
        c.issuer = Some(id.issuer_dn.clone());
        c.serial = Some(id.serial_hex.clone());
        c.cert_sha256 = Some(id.sha256_fingerprint.clone());
    }
    c
}

/// A refusal's outcome: `aborted` when a body was cut mid-stream (so the upstream discarded it),
/// `core_error` when the upstream failed, `refused` otherwise; with the problem's slug and detail.
fn refused(e: &GatewayError) -> (Outcome, Option<String>) {
    let outcome = match e {
        GatewayError::DigestMismatch { .. }
        | GatewayError::BodyUnreadable(_)
        | GatewayError::RequestTimeout { .. } => Outcome::Aborted,
        _ if e.fault() == Fault::Upstream => Outcome::CoreError,
        _ => Outcome::Refused,
    };
    (
        outcome,
        Some(format!("{}: {}", e.slug(), e.public_detail())),
    )
}

/// Writes a download's record when its stream ends, or when it is dropped before its end.
struct Recorded {
    trail: Arc<Trail>,
    entry: Option<Entry>,
    download: Option<Arc<DigestOutcome>>,
    sent: u64,
}

impl Recorded {
    fn wrap(self, inner: Body) -> RecordedBody {
        RecordedBody { inner, watch: self }
    }

    fn finish(&mut self, complete: bool) {
        let Some(mut entry) = self.entry.take() else {
            return;
        };
        entry.size = Some(self.sent);
        let mismatched = self.download.as_ref().is_some_and(|d| d.mismatched());
        (entry.outcome, entry.reason) = match (complete, mismatched) {
            (_, true) => (
                Outcome::Aborted,
                Some("the core's bytes do not match its Content-Digest; the stream was cut".into()),
            ),
            (true, false) => (Outcome::Served, None),
            (false, false) => (
                Outcome::Aborted,
                Some("the stream ended before its end".into()),
            ),
        };
        metrics::counter!("gateway_document_bytes_total", "route" => entry.route.clone(), "direction" => "download")
            .increment(self.sent);
        self.trail.record_later(entry);
    }
}

struct RecordedBody {
    inner: Body,
    watch: Recorded,
}

impl http_body::Body for RecordedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    self.watch.sent += data.len() as u64;
                }
            }
            Poll::Ready(Some(Err(_))) => self.watch.finish(false),
            Poll::Ready(None) => self.watch.finish(true),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for RecordedBody {
    fn drop(&mut self) {
        // A body that was empty from the start may be dropped unpolled: it was served whole.
        let complete = http_body::Body::is_end_stream(&self.inner);
        self.watch.finish(complete);
    }
}
