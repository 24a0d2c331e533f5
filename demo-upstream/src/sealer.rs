//! A fake single-token sealer (seed 001, Odentas Sign): `POST /seal-contract` takes a PDF and
//! answers it "sealed" (the input with a seal comment appended) after a fixed time, as the
//! Raspberry Pi with one USB token does. Like the token, it can do one thing at a time: a
//! request that arrives while another is being sealed gets 500, and is counted, so tests can
//! prove that the gateway's queue never lets two overlap.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::post;

/// What the sealer did, for tests.
#[derive(Debug, Default)]
pub struct SealerStats {
    /// PDFs sealed.
    pub sealed: AtomicUsize,
    /// Requests refused because another was being sealed.
    pub overlaps: AtomicUsize,
    /// The token is unplugged: `/health` and sealing answer 503.
    pub unplugged: AtomicBool,
    busy: AtomicBool,
}

#[derive(Clone)]
struct Sealer {
    took: Duration,
    stats: Arc<SealerStats>,
}

/// The sealer's route, taking `took` per PDF, with its statistics.
pub fn router(took: Duration) -> (Router, Arc<SealerStats>) {
    let stats = Arc::new(SealerStats::default());
    let sealer = Sealer {
        took,
        stats: Arc::clone(&stats),
    };
    let app = Router::new()
        .route("/seal-contract", post(seal))
        .route("/health", axum::routing::get(health))
        .with_state(sealer);
    (app, stats)
}

async fn health(State(sealer): State<Sealer>) -> StatusCode {
    if sealer.stats.unplugged.load(Ordering::SeqCst) {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    }
}

async fn seal(State(sealer): State<Sealer>, pdf: Bytes) -> impl IntoResponse {
    if sealer.stats.unplugged.load(Ordering::SeqCst) {
        return (StatusCode::SERVICE_UNAVAILABLE, "no token").into_response();
    }
    if sealer.stats.busy.swap(true, Ordering::SeqCst) {
        sealer.stats.overlaps.fetch_add(1, Ordering::SeqCst);
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "token busy: one signature at a time",
        )
            .into_response();
    }
    // Freed however the request ends (a caller that goes away cancels the sealing).
    let _token = Token(&sealer.stats.busy);
    tokio::time::sleep(sealer.took).await;
    let mut sealed = pdf.to_vec();
    sealed.extend_from_slice(b"\n%% sealed by the demo token\n");
    sealer.stats.sealed.fetch_add(1, Ordering::SeqCst);
    ([(header::CONTENT_TYPE, "application/pdf")], sealed).into_response()
}

/// The token, in use until dropped.
struct Token<'a>(&'a AtomicBool);

impl Drop for Token<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}
