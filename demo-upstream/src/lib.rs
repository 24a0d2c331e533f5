//! Demo implementation of the internal REST services the gateway fronts, used by
//! `gateway demo` and by the end-to-end tests: in memory, except the SecureEchange core's
//! documents, which are kept on disk in a temporary directory ([`documents`]).
//!
//! Every other path is an echo: every request is answered with what it carried (method, path,
//! query, headers, and the body's length, SHA-256 and text), so the identity headers the
//! gateway adds can be seen. The body is read as a stream and hashed on the fly: a 1 GiB
//! upload costs no memory.
#![forbid(unsafe_code)]

pub mod alert;
pub mod cps_agent;
pub mod documents;
pub mod fake_dmp;
pub mod fake_sas;
mod mtls_server;
pub mod sas;
pub mod sealer;

use std::collections::BTreeMap;
use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::response::{IntoResponse, Json};
use http_body_util::BodyExt;
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;

/// The echo keeps at most this much body text in its answer; the hash covers everything.
const MAX_ECHOED_TEXT: usize = 64 * 1024;

/// The demo upstream's routes: the alert service, the planning and regulator-account services,
/// the core's document API, and the echo for every other path. Each call builds fresh data
/// (and a fresh document directory, deleted when the router is dropped).
pub fn router() -> Router {
    router_with(documents::router())
}

/// The demo upstream's routes with the given document API routes, e.g.
/// [`documents::corrupting_router`], or [`documents::Documents::router`] to keep a handle on
/// the store's files.
pub fn router_with(documents: Router) -> Router {
    Router::new()
        .merge(alert::router())
        .merge(sas::router())
        .merge(documents)
        // The single-token sealer (seed 001): 300 ms a PDF, one at a time.
        .merge(sealer::router(std::time::Duration::from_millis(300)).0)
        .fallback(echo)
}

/// Serves the demo upstream on a bound listener until the task is dropped.
///
/// # Errors
/// An I/O error of the server.
pub async fn serve(listener: TcpListener) -> std::io::Result<()> {
    axum::serve(listener, router()).await
}

/// Binds `addr` (port 0 picks one), serves in the background, and returns the bound address.
///
/// # Errors
/// When the address cannot be bound.
pub async fn spawn(addr: SocketAddr) -> std::io::Result<SocketAddr> {
    spawn_with(addr, router()).await
}

/// Like [`spawn`], serving `app` (e.g. [`router_with`]) instead of [`router`].
///
/// # Errors
/// When the address cannot be bound.
pub async fn spawn_with(addr: SocketAddr, app: Router) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "demo upstream stopped");
        }
    });
    Ok(bound)
}

async fn echo(req: Request) -> impl IntoResponse {
    let (parts, body) = req.into_parts();
    let headers: BTreeMap<String, String> = parts
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let (len, sha256, text) = match digest(body).await {
        Ok(d) => d,
        Err(e) => {
            return (
                http::StatusCode::BAD_REQUEST,
                Json(serde_json::json!({ "error": format!("body could not be read: {e}") })),
            );
        }
    };
    (
        http::StatusCode::OK,
        Json(serde_json::json!({
            "service": "demo-upstream echo",
            "method": parts.method.as_str(),
            "path": parts.uri.path(),
            "query": parts.uri.query(),
            "headers": headers,
            "body_len": len,
            "body_sha256": sha256,
            "body_text": text,
        })),
    )
}

async fn digest(mut body: Body) -> Result<(u64, String, Option<String>), axum::Error> {
    let mut hasher = Sha256::new();
    let mut len = 0u64;
    let mut kept = Vec::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            hasher.update(&data);
            len += data.len() as u64;
            if kept.len() < MAX_ECHOED_TEXT {
                let room = MAX_ECHOED_TEXT - kept.len();
                kept.extend_from_slice(&data[..data.len().min(room)]);
            }
        }
    }
    let text = (len as usize <= MAX_ECHOED_TEXT)
        .then(|| String::from_utf8(kept).ok())
        .flatten();
    Ok((len, hex::encode(hasher.finalize()), text))
}
