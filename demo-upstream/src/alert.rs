//! The internal REST alert service (`/v1/auth/*`, `/v1/partners/*`), in memory.

use axum::Router;

/// The alert service's routes.
pub fn router() -> Router {
    Router::new()
}
