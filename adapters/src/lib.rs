//! Dialect adapters: each module turns one external dialect into calls to the vendor's internal
//! REST services and back. Adapters never terminate TLS and never see a socket: the gateway has
//! already matched the route, checked the client certificate and the route's pinning, and read
//! the (size-limited) body. An adapter gets a `Request<Bytes>` and a [`CallContext`], and returns
//! a complete `Response<Bytes>` in its own dialect (SOAP fault, FHIR OperationOutcome, JSON).
//!
//! Configuration follows the gateway's pattern: each adapter owns the YAML block of its routes
//! (`RawConfig`, unknown fields denied), validates it into settings reporting every problem as
//! a [`FieldError`] with its key, and builds a service from those settings at start and on
//! reload.
//!
//! - [`alert`]: the ASPOne-style SOAP alert web service (seed 004).
//! - [`sas`]: the SAS platform's FHIR R4 flows, inbound (slots, schedules, regulator accounts)
//!   and outbound (appointments).
#![forbid(unsafe_code)]

pub mod alert;
mod context;
mod internal;
pub mod sas;
mod units;

pub use context::{
    Adapter, AdapterSettings, BoxFuture, BuildContext, BuildError, CallContext, Deps, FieldError,
    Refusal,
};
pub use internal::InternalService;
pub use units::parse_duration;
