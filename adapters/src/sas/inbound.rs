//! The inbound FHIR service: routes `[base]/Slot`, `[base]/Schedule`, `[base]/Practitioner`
//! and `[base]/metadata` to their handlers and turns every failure into an OperationOutcome
//! (via [`FhirError`]).
//!
//! `Accept` is never a reason to refuse: SAS sends the DSTU2-era `application/json+fhir`, the
//! kit `application/fhir+json`, others `application/json` or `*/*`, and `_format` may name any
//! of them. The answer is always FHIR JSON.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};

use super::client::Internal;
use super::config::InboundSettings;
use super::outcome::{FhirError, fhir_bytes, fhir_response};
use super::{capability, practitioner, slots};
use crate::{Adapter, BoxFuture, BuildError, CallContext, Deps};

/// The inbound FHIR service.
pub struct InboundService {
    planning: Internal,
    accounts: Internal,
    location_system: Option<String>,
}

impl InboundService {
    /// Builds the service: one pooled HTTP client shared by the planning and accounts calls.
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(settings: InboundSettings, _deps: &Deps) -> Result<Self, BuildError> {
        mtls::install_default_provider();
        let http = reqwest::Client::builder()
            .connect_timeout(settings.planning.connect_timeout.min(settings.deadline))
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(64)
            .tcp_nodelay(true)
            .build()
            .map_err(|e| BuildError {
                key: "sas_fhir".into(),
                reason: format!("HTTP client: {e}"),
            })?;
        Ok(Self {
            planning: Internal::new(
                http.clone(),
                "planning",
                &settings.planning,
                settings.deadline,
            ),
            accounts: Internal::new(http, "accounts", &settings.accounts, settings.deadline),
            location_system: settings.location_system,
        })
    }

    async fn dispatch(
        &self,
        req: Request<Bytes>,
        ctx: &CallContext,
    ) -> Result<Response<Bytes>, FhirError> {
        let path = req.uri().path();
        let rel = path
            .strip_prefix(ctx.route_prefix.as_str())
            .unwrap_or(path)
            .trim_end_matches('/');
        let raw_query = req.uri().query().unwrap_or("");
        let base = format!("{}{}", ctx.origin, ctx.route_prefix);
        let self_url = if raw_query.is_empty() {
            format!("{}{path}", ctx.origin)
        } else {
            format!("{}{path}?{raw_query}", ctx.origin)
        };
        let default_system = format!("{base}/Location");
        let call = slots::SearchCall {
            raw_query,
            self_url: &self_url,
            base: base.clone(),
            request_id: &ctx.request_id,
            location_system: self.location_system.as_deref().unwrap_or(&default_system),
        };
        let method = req.method().clone();
        match (rel, &method) {
            ("/metadata", &Method::GET) => {
                metadata_mode(raw_query)?;
                Ok(fhir_response(
                    StatusCode::OK,
                    &capability::statement(&base, &ctx.route_name),
                ))
            }
            ("/Slot", &Method::GET) => {
                let bundle = slots::search_slots(&self.planning, &call).await?;
                Ok(fhir_bytes(StatusCode::OK, bundle))
            }
            ("/Schedule", &Method::GET) => {
                let bundle = slots::search_schedules(&self.planning, &call).await?;
                Ok(fhir_bytes(StatusCode::OK, bundle))
            }
            ("/Practitioner", &Method::POST | &Method::PUT) => {
                check_json_body(req.headers())?;
                let body = req.body();
                let written = if method == Method::POST {
                    practitioner::create(&self.accounts, body, &ctx.request_id).await?
                } else {
                    practitioner::upsert(&self.accounts, raw_query, body, &ctx.request_id).await?
                };
                let mut response = fhir_response(written.status, &written.resource);
                let location = format!("{base}/Practitioner/{}", written.id);
                if let Ok(v) = HeaderValue::from_str(&location) {
                    response.headers_mut().insert(header::LOCATION, v);
                }
                Ok(response)
            }
            ("/Slot" | "/Schedule", _) => Err(FhirError::MethodNotAllowed(format!(
                "only GET (search) is supported on {}",
                &rel[1..]
            ))),
            ("/metadata", _) => Err(FhirError::MethodNotAllowed(
                "only GET is supported on metadata".into(),
            )),
            ("/Practitioner", _) => Err(FhirError::MethodNotAllowed(
                "only POST (create) and conditional PUT are supported on Practitioner".into(),
            )),
            _ => Err(FhirError::NotFound(
                "this FHIR base serves Slot and Schedule searches, Practitioner create and conditional update, and metadata only".into(),
            )),
        }
    }
}

/// `GET [base]/metadata?mode=…`: `full` (the default) and `normative` both get the
/// CapabilityStatement; `terminology` (a TerminologyCapabilities) is not offered.
fn metadata_mode(raw_query: &str) -> Result<(), FhirError> {
    let params = super::query::Params::parse(raw_query)?;
    match params.one("mode")? {
        None | Some("full" | "normative") => Ok(()),
        Some(other) => Err(FhirError::BadQuery(format!(
            "`mode={other}` is not offered: this base has no terminology service (use `full`)"
        ))),
    }
}

/// Writes are read as FHIR JSON: a body declared as XML (`application/fhir+xml`, `text/xml`)
/// is refused with 415 rather than misread as broken JSON. No `Content-Type` is read as JSON.
fn check_json_body(headers: &http::HeaderMap) -> Result<(), FhirError> {
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        });
    match declared.as_deref() {
        None => Ok(()),
        Some(t) if t.ends_with("json") || t.ends_with("+json") || t == "application/json+fhir" => {
            Ok(())
        }
        Some(t) => Err(FhirError::UnsupportedFormat(format!(
            "`{t}` bodies are not read on this base: send FHIR JSON (application/fhir+json)"
        ))),
    }
}

impl Adapter for InboundService {
    fn handle<'a>(
        &'a self,
        req: Request<Bytes>,
        ctx: &'a CallContext,
    ) -> BoxFuture<'a, Response<Bytes>> {
        Box::pin(async move {
            match self.dispatch(req, ctx).await {
                Ok(response) => response,
                Err(e) => {
                    tracing::info!(route = %ctx.route_name, request_id = %ctx.request_id, error = %e, "SAS FHIR request refused");
                    e.into_response()
                }
            }
        })
    }

    fn render_refusal(&self, refusal: &crate::Refusal<'_>) -> Option<Response<Bytes>> {
        Some(super::outcome::refusal(refusal))
    }
}
