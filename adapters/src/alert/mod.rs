//! The ASPOne-style SOAP alert web service (seed 004, "Webservice d'alerte" v008).
//!
//! White-label portals switch an account's alerts on or off (`setAlertActive`), change their
//! configuration (`updateAlertConfig`) and read it back (`getAlertConfig`), document/literal
//! in SOAP 1.1 or SOAP 1.2 (each answered in its own version), as the two bindings of
//! `wsdl/alert.wsdl` publish it (`GET <route>?wsdl`). Each call goes through, in order:
//!
//! 1. the envelope (size-limited, namespace-aware parse) and `mustUnderstand`;
//! 2. the partner: its `wsse:Security` UsernameToken under its strict or lenient policy, then
//!    its nonce in the shared store (replay) — failures are WS-Security faults;
//! 3. the user from `context/user/{login,password}`: the backoff wait first, then an SSO token
//!    (`sso:` form; never for administrators) or the password, checked by the internal service
//!    — failures are one `tns:UserAuthenticationFailed` fault, whatever the reason;
//! 4. the scope (secondary: itself; primary: itself and its secondaries; administrator: its
//!    partner's accounts) and every field's validation, all problems reported at once in band
//!    (`responseType` ERROR);
//! 5. one call to the internal REST service (`docs/openapi/alert.yaml`), which applies a
//!    change atomically or not at all; unavailable or slow → a fault with HTTP 503 or 504;
//! 6. on success, the complete configuration, the same for the three operations (seed §2.3 and
//!    §3.1; see `response::success` and `upstream::subscribed`).
//!
//! The account name's length: seed §2.2.1 writes "...9"; see
//! [`config::DEFAULT_ACCOUNT_NAME_MAX_LEN`] for the reading and the per-partner setting.

mod auth;
pub mod config;
mod error;
mod fields;
mod model;
mod response;
mod upstream;
mod validation;
mod wsdl;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response};
use soap::{Envelope, Limits, SoapVersion, WSSE_NS};
use state::StateStore;

pub use config::{RawConfig, RawPartner, Settings, validate};
pub use model::{MessageType, TeleProcedure};

use crate::alert::auth::Scope;
use crate::alert::error::AlertError;
use crate::alert::model::{Operation, Problem};
use crate::alert::upstream::{AlertClient, Caller, UpstreamError};
use crate::{Adapter, BoxFuture, BuildError, CallContext, Deps};

/// ASPOne's version-0 namespace, which portals still use for `context` (reference §3).
const LEGACY_NAMESPACE: &str = "http://aspone.fr/mb/webservices";

/// The running service.
pub struct AlertService {
    settings: Settings,
    store: Arc<dyn StateStore>,
    client: AlertClient,
    docs: wsdl::Documents,
    limits: Limits,
}

impl AlertService {
    /// Builds the service.
    ///
    /// # Errors
    /// When the settings cannot be turned into a working service (the HTTP client).
    pub fn new(settings: Settings, deps: &Deps) -> Result<Self, BuildError> {
        let client = AlertClient::new(&settings.upstream).map_err(|e| BuildError {
            key: "upstream".into(),
            reason: format!("cannot build the HTTP client: {e}"),
        })?;
        Ok(Self {
            docs: wsdl::Documents::new(&settings.namespace),
            store: Arc::clone(&deps.store),
            client,
            limits: Limits {
                max_bytes: 256 * 1024,
                ..Limits::default()
            },
            settings,
        })
    }

    async fn serve(&self, req: Request<Bytes>, ctx: &CallContext) -> Response<Bytes> {
        let ns = self.settings.namespace.as_str();
        if req.method() == Method::GET {
            return match wsdl::asked(req.uri().query()) {
                wsdl::Asked::Wsdl => self
                    .docs
                    .wsdl(&format!("{}{}", ctx.origin, ctx.route_prefix)),
                wsdl::Asked::Xsd => self.docs.xsd(),
                wsdl::Asked::Nothing => AlertError::Method.to_response(ns, SoapVersion::V11),
            };
        }
        if req.method() != Method::POST {
            return AlertError::Method.to_response(ns, SoapVersion::V11);
        }
        let body = req.into_body();
        let envelope = match Envelope::parse_any(&body, &self.limits) {
            Ok(e) => e,
            Err(e) => return self.fault(ctx, SoapVersion::V11, e.into()),
        };
        let version = envelope.version();
        match self.call(&envelope, ctx).await {
            Ok(response) => response,
            Err(e) => self.fault(ctx, version, e),
        }
    }

    fn fault(&self, ctx: &CallContext, version: SoapVersion, e: AlertError) -> Response<Bytes> {
        tracing::info!(request_id = %ctx.request_id, route = %ctx.route_name, error = %e, "alert call refused");
        metrics::counter!("gateway_alert_faults_total").increment(1);
        e.to_response(&self.settings.namespace, version)
    }

    async fn call(
        &self,
        envelope: &Envelope<'_>,
        ctx: &CallContext,
    ) -> Result<Response<Bytes>, AlertError> {
        let ns = self.settings.namespace.as_str();
        let understood = [
            (WSSE_NS, "Security"),
            (ns, "context"),
            (ns, "serviceVersion"),
            (LEGACY_NAMESPACE, "context"),
            (LEGACY_NAMESPACE, "serviceVersion"),
        ];
        soap::check_must_understand(envelope, &understood)?;
        let payload = envelope
            .payload()
            .ok_or_else(|| AlertError::UnknownOperation(String::new()))?;
        let op = Operation::ALL
            .into_iter()
            .find(|op| payload.is(ns, op.name()) || payload.is(LEGACY_NAMESPACE, op.name()))
            .ok_or_else(|| AlertError::UnknownOperation(payload.name().to_owned()))?;
        let now = jiff::Timestamp::now();
        let partner = auth::partner(&self.settings, self.store.as_ref(), envelope, now).await?;
        let (login, password) = auth::user_credentials(envelope)?;
        let caller = Caller {
            request_id: &ctx.request_id,
            partner: &partner.id,
            user: login,
        };
        let user = auth::user(
            partner,
            &self.settings.backoff,
            &self.store,
            &self.client,
            &caller,
            password,
            now,
        )
        .await?;
        let (call, mut problems) = validation::read_call(op, payload, partner.account_name_max_len);
        let target = call.account.clone().unwrap_or_else(|| user.account.clone());
        let version = envelope.version();
        let refused = |problems: &[Problem]| Ok(response::refused(ns, version, op, problems));
        let mut known = match auth::scope(&user, &target) {
            Scope::Denied => return refused(&[not_accessible()]),
            Scope::Allowed(kind) => kind,
        };
        let needs_type =
            call.change.send_admin.is_some() || call.change.secondary_account_alert.is_some();
        if known.is_none() && needs_type {
            // An administrator acting on another account: its type decides which fields apply.
            let answer = self.client.get(&caller, &target).await;
            match in_band(answer, ns, version, op)? {
                Ok(config) => known = Some(config.account_type),
                Err(response) => return Ok(response),
            }
        }
        if let Some(kind) = known.filter(|_| needs_type) {
            problems.extend(validation::check_account_type(&call.change, kind));
        }
        if !problems.is_empty() {
            return refused(&problems);
        }
        let answer = if op.is_change() {
            self.client.patch(&caller, &target, &call.change).await
        } else {
            self.client.get(&caller, &target).await
        };
        Ok(match in_band(answer, ns, version, op)? {
            Ok(config) => response::success(ns, version, op, &config),
            Err(response) => response,
        })
    }
}

/// Sorts an upstream answer: a value (`Ok(Ok)`), an in-band ERROR answer for business
/// refusals (`Ok(Err)`), or a fault for an unusable service (`Err`).
fn in_band<T>(
    answer: Result<T, UpstreamError>,
    ns: &str,
    version: SoapVersion,
    op: Operation,
) -> Result<Result<T, Response<Bytes>>, AlertError> {
    match answer {
        Ok(v) => Ok(Ok(v)),
        Err(UpstreamError::NotFound) => {
            Ok(Err(response::refused(ns, version, op, &[not_accessible()])))
        }
        Err(UpstreamError::Rejected(problems)) => {
            Ok(Err(response::refused(ns, version, op, &problems)))
        }
        Err(e) => Err(AlertError::Upstream(e)),
    }
}

/// Out of scope and unknown accounts get the same answer: nothing says whether an account
/// exists elsewhere.
fn not_accessible() -> Problem {
    Problem::new(
        "ACCOUNT_NOT_ACCESSIBLE",
        "accountName",
        "this account does not exist or is not within the user's scope",
    )
}

impl Adapter for AlertService {
    fn handle<'a>(
        &'a self,
        req: Request<Bytes>,
        ctx: &'a CallContext,
    ) -> BoxFuture<'a, Response<Bytes>> {
        Box::pin(self.serve(req, ctx))
    }

    fn render_refusal(&self, refusal: &crate::Refusal<'_>) -> Option<Response<Bytes>> {
        Some(error::refusal_response(refusal))
    }
}
