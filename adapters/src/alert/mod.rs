//! The ASPOne-style SOAP alert web service (seed 004, "Webservice d'alerte" v008).
//!
//! Skeleton: the contract with the gateway is fixed (`RawConfig` → [`validate`] → [`Settings`] →
//! [`AlertService`]); the service itself is being written.

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use serde::Deserialize;

use crate::{Adapter, BoxFuture, BuildContext, BuildError, CallContext, Deps, FieldError};

/// The `aspone_alert:` block of a route.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {}

/// Validated settings.
#[derive(Debug, Clone)]
pub struct Settings {}

/// Validates the block, reporting every problem.
///
/// # Errors
/// Every invalid key, with its reason.
pub fn validate(_raw: &RawConfig, _cx: &BuildContext<'_>) -> Result<Settings, Vec<FieldError>> {
    Ok(Settings {})
}

/// The running service.
pub struct AlertService {}

impl AlertService {
    /// Builds the service.
    ///
    /// # Errors
    /// When the settings cannot be turned into a working service.
    pub fn new(_settings: Settings, _deps: &Deps) -> Result<Self, BuildError> {
        Ok(Self {})
    }
}

impl Adapter for AlertService {
    fn handle<'a>(
        &'a self,
        _req: Request<Bytes>,
        _ctx: &'a CallContext,
    ) -> BoxFuture<'a, Response<Bytes>> {
        Box::pin(async move {
            let mut response = Response::new(Bytes::from_static(b"not implemented yet"));
            *response.status_mut() = StatusCode::NOT_IMPLEMENTED;
            response
        })
    }
}
