//! The admin listener (loopback by default): health, readiness, metrics, reload.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::gateway::Inner;

pub(crate) async fn serve(tcp: TcpListener, inner: Arc<Inner>, shutdown: CancellationToken) {
    let app = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/revocation", get(revocation))
        .route("/revocation/refresh", post(refresh_revocation))
        .route("/reload", post(reload))
        .route("/trail", get(trail))
        .with_state(inner);
    let served = axum::serve(tcp, app)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await;
    if let Err(e) = served {
        tracing::error!(error = %e, "admin listener failed");
    }
}

async fn readyz(State(inner): State<Arc<Inner>>) -> impl IntoResponse {
    // The configuration is loaded by construction. A stale CRL under a hard policy makes the
    // instance unready, so a load balancer can route around it.
    let mut checks = serde_json::Map::new();
    checks.insert("config".into(), "loaded".into());
    let mut ready = true;
    // Draining after a shutdown signal: still serving, but the load balancer must stop sending.
    if inner
        .shared
        .draining
        .load(std::sync::atomic::Ordering::Relaxed)
    {
        ready = false;
        checks.insert("draining".into(), true.into());
    }
    let store = match inner.store.ping().await {
        Ok(()) => "reachable".to_owned(),
        Err(e) => {
            ready = false;
            e.to_string()
        }
    };
    checks.insert("state".into(), store.into());
    for (listener, revocation) in &inner.revocations {
        let state = match revocation.readiness() {
            Ok(()) => "ok".to_owned(),
            Err(reason) => {
                ready = false;
                reason
            }
        };
        checks.insert(format!("revocation.{listener}"), state.into());
    }
    // A down upstream is a detail, not unreadiness: the other routes still work.
    for (name, health) in &inner.shared.health {
        let state = if health.is_up() { "healthy" } else { "down" };
        checks.insert(format!("upstream.{name}"), state.into());
    }
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        axum::Json(serde_json::json!({ "ready": ready, "checks": checks })),
    )
}

async fn revocation(State(inner): State<Arc<Inner>>) -> impl IntoResponse {
    let listeners: serde_json::Map<String, serde_json::Value> = inner
        .revocations
        .iter()
        .map(|(name, r)| {
            let status = serde_json::to_value(r.status()).unwrap_or_default();
            (name.clone(), status)
        })
        .collect();
    axum::Json(serde_json::Value::Object(listeners))
}

/// Each trail's file, instance, last sequence number and head hash: what an operator anchors
/// elsewhere (records cut off the end of a file only show against such an anchor).
async fn trail(State(inner): State<Arc<Inner>>) -> impl IntoResponse {
    let trails: serde_json::Map<String, serde_json::Value> = inner
        .shared
        .trails
        .iter()
        .map(|(name, t)| {
            (
                name.clone(),
                serde_json::to_value(t.status()).unwrap_or_default(),
            )
        })
        .collect();
    axum::Json(serde_json::Value::Object(trails))
}

async fn metrics() -> impl IntoResponse {
    (
        [("content-type", "text/plain; version=0.0.4")],
        crate::telemetry::prometheus().render(),
    )
}

async fn reload(State(inner): State<Arc<Inner>>) -> impl IntoResponse {
    match inner.reload_configured() {
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

/// Fetches every CRL source now (after an incident, rather than waiting for the daily refresh).
async fn refresh_revocation(State(inner): State<Arc<Inner>>) -> impl IntoResponse {
    let mut failures = Vec::new();
    for (listener, revocation) in &inner.revocations {
        if let Err(e) = revocation.refresh_now().await {
            tracing::warn!(listener, error = %e, "CRL refresh requested by the admin failed");
            failures.push(format!("{listener}: {e}"));
        }
    }
    if failures.is_empty() {
        (StatusCode::OK, "refreshed\n".to_owned())
    } else {
        (
            StatusCode::BAD_GATEWAY,
            format!("refresh failed:\n{}\n", failures.join("\n")),
        )
    }
}
