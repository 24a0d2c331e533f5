//! The SAS platform's FHIR R4 flows.
//!
//! Skeleton: the contract with the gateway is fixed (`RawInbound`/`RawOutbound` → validate →
//! settings → services); the services themselves are being written.

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use serde::Deserialize;

use crate::{Adapter, BoxFuture, BuildContext, BuildError, CallContext, Deps, FieldError};

/// The `sas_fhir:` block of an inbound route (SAS → gateway).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInbound {}

/// The `sas_appointments:` block of an outbound route (internal apps → gateway → SAS).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOutbound {}

/// Validated inbound settings.
#[derive(Debug, Clone)]
pub struct InboundSettings {}

/// Validated outbound settings.
#[derive(Debug, Clone)]
pub struct OutboundSettings {}

/// Validates an inbound block, reporting every problem.
///
/// # Errors
/// Every invalid key, with its reason.
pub fn validate_inbound(
    _raw: &RawInbound,
    _cx: &BuildContext<'_>,
) -> Result<InboundSettings, Vec<FieldError>> {
    Ok(InboundSettings {})
}

/// Validates an outbound block, reporting every problem.
///
/// # Errors
/// Every invalid key, with its reason.
pub fn validate_outbound(
    _raw: &RawOutbound,
    _cx: &BuildContext<'_>,
) -> Result<OutboundSettings, Vec<FieldError>> {
    Ok(OutboundSettings {})
}

/// The inbound FHIR service.
pub struct InboundService {}

impl InboundService {
    /// Builds the service.
    ///
    /// # Errors
    /// When the settings cannot be turned into a working service.
    pub fn new(_settings: InboundSettings, _deps: &Deps) -> Result<Self, BuildError> {
        Ok(Self {})
    }
}

/// The outbound appointment service.
pub struct OutboundService {}

impl OutboundService {
    /// Builds the service.
    ///
    /// # Errors
    /// When the settings cannot be turned into a working service (e.g. the client certificate).
    pub fn new(_settings: OutboundSettings, _deps: &Deps) -> Result<Self, BuildError> {
        Ok(Self {})
    }
}

fn not_implemented() -> Response<Bytes> {
    let mut response = Response::new(Bytes::from_static(b"not implemented yet"));
    *response.status_mut() = StatusCode::NOT_IMPLEMENTED;
    response
}

impl Adapter for InboundService {
    fn handle<'a>(
        &'a self,
        _req: Request<Bytes>,
        _ctx: &'a CallContext,
    ) -> BoxFuture<'a, Response<Bytes>> {
        Box::pin(async move { not_implemented() })
    }
}

impl Adapter for OutboundService {
    fn handle<'a>(
        &'a self,
        _req: Request<Bytes>,
        _ctx: &'a CallContext,
    ) -> BoxFuture<'a, Response<Bytes>> {
        Box::pin(async move { not_implemented() })
    }
}
