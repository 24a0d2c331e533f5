//! Antivirus (`routes[].scan`): for partners whose software sends documents in clear, an
//! upload's bytes go to a clamd daemon while they go to the upstream, and the upstream's request
//! is completed only once clamd answered clean.
//!
//! The connection to clamd is made (and `zINSTREAM` sent) before the upstream is called: when
//! clamd cannot be reached the route refuses with 503 (`on_unavailable: refuse`, the default),
//! or lets the upload through unscanned with the flag `scan_skipped` in its trail record
//! (`allow`). Each data frame is then also sent to clamd as a chunk (4-byte big-endian length,
//! then the bytes) by a task that holds the connection, through a bounded channel: a slow clamd
//! slows the upload down, it never makes the gateway buffer it. Like the digest check, the last
//! frame is held back; at the body's end the zero-length chunk is sent and the last frame is
//! released only on `stream: OK`. Any other answer fails the body instead, so the upstream sees
//! an incomplete message (short of its `Content-Length`, without its last chunk) and stores
//! nothing:
//!
//! | clamd's answer | caller gets | trail |
//! |---|---|---|
//! | `stream: OK` | the upstream's answer | as usual |
//! | `stream: <signature> FOUND` | 422 `infected`, naming the signature | `refused`, reason names the signature |
//! | `INSTREAM size limit exceeded. ERROR` (clamd's `StreamMaxLength`; may come before the end) | 413 `too-large-to-scan` | `refused` |
//! | any other answer, or none | 503 `scan-unavailable` | `refused` |
//! | no connection (before the upload starts) | 503 `scan-unavailable`, or the upload passes (`allow`) | `refused`, or flag `scan_skipped` |
//! | connection lost, or no answer within `timeout`, once the scan has started | 503 `scan-unavailable`, whatever `on_unavailable` says | `refused` |
//!
//! A scan that started is never skipped: `allow` applies only while nothing was sent (the
//! trail's flags are settled before the upload streams, and a half-scanned upload must not pass
//! as either scanned or skipped). Requests without a body (no `Content-Length` or a zero one
//! and no `Transfer-Encoding` in HTTP/1.1; `GET`/`HEAD` without `Content-Length` in HTTP/2) are
//! not scanned, so downloads never depend on clamd.
//!
//! Metrics: `gateway_scans_total{route,verdict}` with verdict `clean`, `infected`, `too_large`,
//! `error` (an answer that is no verdict), `unavailable` (refused: no connection, lost, timed
//! out), `skipped` (let through by `allow`).

mod protocol;
mod scanned;
mod session;

use axum::body::Body;

use crate::body::BodyFaultCell;
use crate::config::scan::{ScanOnUnavailable, ScanSettings};
use crate::problem::GatewayError;

use super::Witness;
use scanned::ScannedBody;

// === faults ===

/// Why a scanned body failed; recorded in the body's tally and answered by the handler.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ScanFault {
    /// clamd found a signature.
    #[error("the antivirus found {0}")]
    Infected(String),
    /// The body is longer than clamd accepts.
    #[error("the body is larger than the antivirus accepts")]
    TooLarge,
    /// No verdict: clamd lost, silent, or answering something else.
    #[error("the antivirus gave no verdict: {0}")]
    Unavailable(String),
}

impl From<ScanFault> for GatewayError {
    fn from(fault: ScanFault) -> Self {
        match fault {
            ScanFault::Infected(signature) => GatewayError::Infected { signature },
            ScanFault::TooLarge => GatewayError::ScanTooLarge,
            ScanFault::Unavailable(reason) => GatewayError::ScanUnavailable { reason },
        }
    }
}

// === the policy ===

/// A route's antivirus policy, built once per (re)load.
#[derive(Debug)]
pub(crate) struct Scanner {
    settings: ScanSettings,
    route: String,
}

impl Scanner {
    pub(crate) fn new(settings: ScanSettings, route: &str) -> Self {
        Self {
            settings,
            route: route.to_owned(),
        }
    }
}

/// Counts a scan's outcome in `gateway_scans_total` (see the module docs for the verdicts).
fn count(route: &str, verdict: &'static str) {
    metrics::counter!("gateway_scans_total", "route" => route.to_owned(), "verdict" => verdict)
        .increment(1);
}

/// The request's body, scanned as it streams when the route scans and the request has a body.
/// clamd is connected to first: without it, 503 (`refuse`) before the upstream is called, or
/// the body unscanned and the trail flagged (`allow`).
///
/// # Errors
/// 503 `scan-unavailable` when clamd cannot be reached and the route refuses.
pub(crate) async fn request(
    scanner: Option<&Scanner>,
    parts: &http::request::Parts,
    body: Body,
    tally: &BodyFaultCell,
    witness: &mut Witness,
) -> Result<Body, GatewayError> {
    let Some(scanner) = scanner else {
        return Ok(body);
    };
    if !carries_body(parts) {
        return Ok(body);
    }
    let settings = &scanner.settings;
    match session::connect(&settings.clamd, settings.connect_timeout).await {
        Ok(io) => Ok(Body::new(ScannedBody::new(
            body,
            io,
            settings.timeout,
            Some(BodyFaultCell::clone(tally)),
            scanner.route.clone(),
        ))),
        Err(e) => {
            let reason = format!("clamd at {} cannot be reached: {e}", settings.clamd);
            match settings.on_unavailable {
                ScanOnUnavailable::Refuse => {
                    count(&scanner.route, "unavailable");
                    Err(GatewayError::ScanUnavailable { reason })
                }
                ScanOnUnavailable::Allow => {
                    count(&scanner.route, "skipped");
                    tracing::warn!(route = %scanner.route, %reason,
                        "the upload passes unscanned (scan.on_unavailable: allow)");
                    witness.flag("scan_skipped");
                    Ok(body)
                }
            }
        }
    }
}

/// Whether the request may carry body bytes.
fn carries_body(parts: &http::request::Parts) -> bool {
    if let Some(length) = crate::body::declared_length(&parts.headers) {
        return length > 0;
    }
    if parts.headers.contains_key(http::header::TRANSFER_ENCODING) {
        return true;
    }
    match parts.version {
        // HTTP/1.x: neither header, no body.
        http::Version::HTTP_09 | http::Version::HTTP_10 | http::Version::HTTP_11 => false,
        // HTTP/2 and 3 frame bodies themselves: any method but a read may carry one.
        _ => !matches!(parts.method, http::Method::GET | http::Method::HEAD),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::config::scan::ClamdAddress;
    use http_body_util::BodyExt;
    use std::time::Duration;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn only_requests_with_a_body_are_scanned() {
        let parts = |method: &str, version, headers: &[(&str, &str)]| {
            let mut req = http::Request::builder().method(method).version(version);
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            req.body(()).unwrap().into_parts().0
        };
        let h1 = http::Version::HTTP_11;
        let h2 = http::Version::HTTP_2;
        assert!(carries_body(&parts("POST", h1, &[("content-length", "3")])));
        assert!(!carries_body(&parts(
            "POST",
            h1,
            &[("content-length", "0")]
        )));
        assert!(carries_body(&parts(
            "PUT",
            h1,
            &[("transfer-encoding", "chunked")]
        )));
        assert!(!carries_body(&parts("GET", h1, &[])));
        assert!(!carries_body(&parts("POST", h1, &[])));
        assert!(carries_body(&parts("POST", h2, &[])));
        assert!(!carries_body(&parts("GET", h2, &[])));
        assert!(carries_body(&parts("GET", h2, &[("content-length", "5")])));
    }

    #[tokio::test]
    async fn unreachable_clamd_refuses_or_lets_through_with_a_flag() {
        let closed = {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            l.local_addr().unwrap()
        };
        let settings = |on_unavailable| ScanSettings {
            clamd: ClamdAddress::Tcp(closed.to_string()),
            on_unavailable,
            timeout: SECOND,
            connect_timeout: SECOND,
        };
        let parts = http::Request::post("/x")
            .header("content-length", "2")
            .body(())
            .unwrap()
            .into_parts()
            .0;
        let tally = BodyFaultCell::default();
        let mut witness = Witness::new(&http::Method::POST);
        let refuse = Scanner::new(settings(ScanOnUnavailable::Refuse), "r");
        let got = request(
            Some(&refuse),
            &parts,
            Body::from("ab"),
            &tally,
            &mut witness,
        )
        .await;
        let e = got.err().unwrap();
        assert_eq!(e.status(), http::StatusCode::SERVICE_UNAVAILABLE);
        assert!(witness.flags.is_empty());
        let allow = Scanner::new(settings(ScanOnUnavailable::Allow), "r");
        let got = request(Some(&allow), &parts, Body::from("ab"), &tally, &mut witness).await;
        let bytes = got.unwrap().collect().await.unwrap().to_bytes();
        assert_eq!(&bytes[..], b"ab");
        assert_eq!(witness.flags, ["scan_skipped"]);
        // Without a body, clamd is not needed.
        let get = http::Request::get("/x").body(()).unwrap().into_parts().0;
        let mut witness = Witness::new(&http::Method::GET);
        assert!(
            request(Some(&refuse), &get, Body::empty(), &tally, &mut witness)
                .await
                .is_ok()
        );
    }
}
