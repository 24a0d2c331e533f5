//! The internal planning (`/v1/planning/*`) and regulator-account (`/v1/regulators/*`)
//! services, in memory, as `docs/openapi/planning.yaml` and `docs/openapi/accounts.yaml`
//! describe them.
//!
//! Planning data is fixed practitioners (one place, two places, CPTS links, an ADELI-only
//! one, one per input of the ANS SAS test kit, and 25 generated ones for benchmarks) and SOS
//! associations, with free slots computed at request time for the coming days, so the demo
//! always has slots in the future.

mod accounts;
mod data;
mod planning;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::{get, post};

pub use data::{
    BENCH_RPPS_PREFIX, DEMO_RPPS, KIT_MULTI_CPTS, KIT_ONE_PLACE, KIT_TOGETHER, KIT_TWO_PLACES,
};

/// The planning and account services' routes (fresh account store on every call).
pub fn router() -> Router {
    let accounts = Arc::new(Mutex::new(accounts::Store::default()));
    Router::new()
        .route("/v1/planning/slots", get(planning::slots))
        .route("/v1/planning/sos", get(planning::sos))
        .route(
            "/v1/regulators",
            post(accounts::create)
                .put(accounts::upsert)
                .get(accounts::list),
        )
        .route("/v1/regulators/{id}", get(accounts::one))
        .with_state(accounts)
}

/// Every value of `name` in a raw query string (percent-decoded; `+` is not a space).
fn query_values(raw: Option<&str>, name: &str) -> Vec<String> {
    raw.unwrap_or_default()
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .filter(|(n, _)| *n == name)
        .map(|(_, v)| {
            percent_encoding::percent_decode_str(v)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect()
}
