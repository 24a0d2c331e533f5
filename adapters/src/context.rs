//! The contract between the gateway and the adapters.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response};

use crate::InternalService;

/// A boxed, sendable future (the adapter trait must stay object-safe).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One built adapter, shared by every request of its route until the next reload.
pub trait Adapter: Send + Sync + 'static {
    /// Answers one request. Never fails at the Rust level: every refusal is a response in the
    /// adapter's dialect.
    fn handle<'a>(
        &'a self,
        req: Request<Bytes>,
        ctx: &'a CallContext,
    ) -> BoxFuture<'a, Response<Bytes>>;

    /// Renders a refusal the gateway made before calling [`Adapter::handle`] (no or wrong
    /// client certificate, revoked, wrong method, body too large) in the adapter's dialect, so
    /// that a SOAP client gets a fault and a FHIR client an OperationOutcome. `None` (the
    /// default) leaves the gateway's problem+json.
    fn render_refusal(&self, refusal: &Refusal<'_>) -> Option<Response<Bytes>> {
        let _ = refusal;
        None
    }
}

/// A refusal by the gateway, as an adapter may render it.
#[derive(Debug, Clone, Copy)]
pub struct Refusal<'a> {
    /// The HTTP status the gateway chose.
    pub status: http::StatusCode,
    /// What the caller may be told (no internals).
    pub detail: &'a str,
}

/// What the gateway knows about a request besides the request itself.
#[derive(Debug, Clone)]
pub struct CallContext {
    /// The request id (received `X-Request-Id` or generated); forward it upstream.
    pub request_id: String,
    /// The route's name, for logs.
    pub route_name: String,
    /// The route's path prefix as configured, without a trailing slash (e.g. `/sas/recette/fhir`).
    pub route_prefix: String,
    /// `https://host[:port]` as the caller addressed the gateway (Host header or authority),
    /// for addresses the answer must carry (WSDL endpoint, FHIR links, `Location`).
    pub origin: String,
    /// The named client the route's policy matched, if the route pins clients.
    pub client_name: Option<String>,
    /// The verified client certificate, if one was presented.
    pub identity: Option<Arc<mtls::PeerIdentity>>,
}

/// What validation gets besides the adapter's own YAML block.
pub struct BuildContext<'a> {
    /// Reads an environment variable (secrets are referenced by variable name, never inline).
    pub env: &'a dyn Fn(&str) -> Option<String>,
    /// The directory of the config file: relative paths resolve against it.
    pub base_dir: &'a Path,
    /// Every `http://` upstream of the file, by name.
    pub upstreams: &'a BTreeMap<String, InternalService>,
    /// The route's `upstream:` key, if it has one.
    pub route_upstream: Option<&'a str>,
}

/// One invalid key of an adapter's block. `key` is relative to the block (e.g.
/// `partners[0].secret_env`); the gateway prefixes the file and the route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The offending key.
    pub key: String,
    /// What is wrong with it, for the operator.
    pub reason: String,
}

impl FieldError {
    /// An error for `key`.
    pub fn new(key: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            reason: reason.into(),
        }
    }
}

/// Shared things an adapter may use at run time.
#[derive(Clone)]
pub struct Deps {
    /// Nonce replay and login backoff state, shared by every instance when it is Redis.
    pub store: Arc<dyn state::StateStore>,
}

/// Building a service from validated settings failed (e.g. a TLS client could not be built).
#[derive(Debug, thiserror::Error)]
#[error("{key}: {reason}")]
pub struct BuildError {
    /// The key whose material failed.
    pub key: String,
    /// Why.
    pub reason: String,
}

/// The validated settings of one adapter route, as the gateway stores them.
#[derive(Debug, Clone)]
pub enum AdapterSettings {
    /// `handler: aspone_alert`.
    Alert(crate::alert::Settings),
    /// `handler: sas_fhir` (inbound FHIR from the SAS platform).
    SasFhir(crate::sas::InboundSettings),
    /// `handler: sas_appointments` (internal REST, outbound FHIR to SAS).
    SasAppointments(crate::sas::OutboundSettings),
}

impl AdapterSettings {
    /// Builds the service.
    ///
    /// # Errors
    /// When material named by the settings cannot be turned into a working client.
    pub fn build(&self, deps: &Deps) -> Result<Arc<dyn Adapter>, BuildError> {
        match self {
            Self::Alert(s) => Ok(Arc::new(crate::alert::AlertService::new(s.clone(), deps)?)),
            Self::SasFhir(s) => Ok(Arc::new(crate::sas::InboundService::new(s.clone(), deps)?)),
            Self::SasAppointments(s) => {
                Ok(Arc::new(crate::sas::OutboundService::new(s.clone(), deps)?))
            }
        }
    }
}
