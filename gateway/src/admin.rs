//! The admin listener (loopback by default): health, readiness, metrics, reload.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::ProcessEnv;
use crate::gateway::Inner;

pub(crate) async fn serve(tcp: TcpListener, inner: Arc<Inner>, shutdown: CancellationToken) {
    let app = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/reload", post(reload))
        .with_state(inner);
    let served = axum::serve(tcp, app)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await;
    if let Err(e) = served {
        tracing::error!(error = %e, "admin listener failed");
    }
}

async fn readyz(State(_inner): State<Arc<Inner>>) -> impl IntoResponse {
    // The configuration is loaded by construction; the state store check joins here.
    (
        StatusCode::OK,
        axum::Json(serde_json::json!({ "ready": true, "checks": { "config": "loaded" } })),
    )
}

async fn metrics() -> impl IntoResponse {
    (
        [("content-type", "text/plain; version=0.0.4")],
        crate::telemetry::prometheus().render(),
    )
}

async fn reload(State(inner): State<Arc<Inner>>) -> impl IntoResponse {
    match inner.reload_from_file(&ProcessEnv) {
        Ok(()) => (StatusCode::OK, "reloaded\n".to_owned()),
        Err(e) => {
            tracing::error!(error = %e, "reload refused; the running configuration stays");
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("reload refused:\n{e}\n"),
            )
        }
    }
}
