//! The internal planning (`/v1/planning/*`) and regulator-account (`/v1/regulators/*`)
//! services, in memory.

use axum::Router;

/// The planning and account services' routes.
pub fn router() -> Router {
    Router::new()
}
