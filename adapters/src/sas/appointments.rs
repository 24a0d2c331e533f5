//! INT_R03, appointments outbound: internal REST endpoints (`POST [prefix]/appointments`,
//! `PUT [prefix]/appointments/{id}`) turned into a FrAppointmentSAS `POST [SAS]/Appointment` or
//! conditional `PUT [SAS]/Appointment?identifier=<vendor system>|<id>`, sent with the vendor's
//! client certificate. Only the conditional PUT is idempotent, so only it is retried (on
//! transport failures and 502/503/504), with doubling backoff and a bound on attempts.

use std::borrow::Cow;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Value, json};

use super::client::enc;
use super::config::{OutboundSettings, RetryPolicy};
use super::problem::{AppointmentError, Invalid, issues};
use super::query::{IDNPS_SYSTEM, SAS_SYSTEM};
use super::time::format_slot_time;
use crate::{Adapter, BoxFuture, BuildError, CallContext, Deps};

const V2_0203: &str = "http://interopsante.org/fhir/CodeSystem/fr-v2-0203";
const STATUSES: &[&str] = &["booked", "fulfilled", "noshow", "cancelled"];

/// The internal caller's appointment (see `docs/openapi/appointments.yaml`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AppointmentIn {
    id: Option<String>,
    operator: Option<Operator>,
    practitioner: Option<String>,
    start: Option<String>,
    end: Option<String>,
    status: Option<String>,
    created: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Operator {
    national_id: Option<String>,
    sas_id: Option<String>,
}

/// The outbound appointment service.
pub struct OutboundService {
    http: reqwest::Client,
    /// `[base]/Appointment`, where a creation is POSTed.
    create_url: String,
    /// `[base]/Appointment?identifier=` and the encoded `vendor_system|`: an update's URL
    /// but for the encoded appointment id.
    update_url_prefix: String,
    vendor_system: String,
    retry: RetryPolicy,
}

impl OutboundService {
    /// Builds the HTTP client on the TLS configuration validation built.
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(settings: OutboundSettings, _deps: &Deps) -> Result<Self, BuildError> {
        let http = reqwest::Client::builder()
            .use_preconfigured_tls((*settings.tls).clone())
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| BuildError {
                key: "sas_appointments".into(),
                reason: format!("HTTP client: {e}"),
            })?;
        Ok(Self {
            http,
            create_url: format!("{}/Appointment", settings.base_url),
            update_url_prefix: format!(
                "{}/Appointment?identifier={}",
                settings.base_url,
                enc(&format!("{}|", settings.vendor_system))
            ),
            vendor_system: settings.vendor_system,
            retry: settings.retry,
        })
    }

    async fn dispatch(
        &self,
        req: Request<Bytes>,
        ctx: &CallContext,
    ) -> (Result<Response<Bytes>, AppointmentError>, u32) {
        let path = req.uri().path();
        let rel = path.strip_prefix(ctx.route_prefix.as_str()).unwrap_or(path);
        let target = match (req.method(), rel.trim_end_matches('/')) {
            (&Method::POST, "/appointments") => None,
            (&Method::PUT, p)
                if p.starts_with("/appointments/") && p.len() > 14 && !p[14..].contains('/') =>
            {
                Some(p[14..].to_owned())
            }
            (_, p) if p == "/appointments" || p.starts_with("/appointments/") => {
                return (Err(AppointmentError::MethodNotAllowed), 0);
            }
            _ => return (Err(AppointmentError::NotFound), 0),
        };
        let (id, fhir) = match self.appointment(req.body(), target.as_deref()) {
            Ok(v) => v,
            Err(e) => return (Err(e), 0),
        };
        let body = Bytes::from(serde_json::to_vec(&fhir).unwrap_or_default());
        let (method, url, attempts_allowed) = match target {
            None => (Method::POST, Cow::Borrowed(self.create_url.as_str()), 1),
            Some(_) => (
                Method::PUT,
                Cow::Owned(format!("{}{}", self.update_url_prefix, enc(&id))),
                self.retry.max_attempts,
            ),
        };
        let mut backoff = self.retry.initial_backoff;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome = self
                .send_once(&method, &url, body.clone(), &ctx.request_id)
                .await;
            let retryable = match &outcome {
                Err(AppointmentError::Unreachable | AppointmentError::Timeout) => true,
                Err(AppointmentError::Unexpected { status, .. }) => {
                    matches!(status.as_u16(), 502..=504)
                }
                _ => false,
            };
            if !retryable || attempt >= attempts_allowed {
                return (
                    outcome.map(|(status, location)| answer(status, &id, location, attempt)),
                    attempt,
                );
            }
            tracing::info!(attempt, ?backoff, "retrying the conditional PUT to SAS");
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(self.retry.max_backoff);
        }
    }

    async fn send_once(
        &self,
        method: &Method,
        url: &str,
        body: Bytes,
        request_id: &str,
    ) -> Result<(StatusCode, Option<String>), AppointmentError> {
        let resp = self
            .http
            .request(method.clone(), url)
            .header(header::CONTENT_TYPE, "application/fhir+json")
            .header(header::ACCEPT, "application/fhir+json")
            .header("x-request-id", request_id)
            .body(body)
            .send()
            .await
            .map_err(transport)?;
        let status = resp.status();
        let location = resp
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let answer = resp.bytes().await.map_err(transport)?;
        match status.as_u16() {
            200 | 201 => Ok((status, location)),
            400 | 422 => Err(AppointmentError::Refused {
                status,
                issues: issues(&answer),
            }),
            _ => Err(AppointmentError::Unexpected {
                status,
                issues: issues(&answer),
            }),
        }
    }

    /// Validates the internal body (every problem) and builds the FrAppointmentSAS.
    fn appointment(
        &self,
        body: &[u8],
        path_id: Option<&str>,
    ) -> Result<(String, Value), AppointmentError> {
        let one = |field: &str, reason: &str| {
            AppointmentError::Invalid(vec![Invalid {
                field: field.into(),
                reason: reason.into(),
            }])
        };
        let a: AppointmentIn = serde_json::from_slice(body)
            .map_err(|e| one("body", &format!("not the expected JSON object: {e}")))?;
        let mut errs = Vec::new();
        let mut bad = |field: &str, reason: &str| {
            errs.push(Invalid {
                field: field.into(),
                reason: reason.into(),
            })
        };
        let id = match (path_id, a.id.as_deref()) {
            (Some(p), Some(b)) if p != b => {
                bad("id", "differs from the id in the path");
                p.to_owned()
            }
            (Some(p), _) => p.to_owned(),
            (None, Some(b)) if !b.trim().is_empty() => b.to_owned(),
            (None, _) => {
                bad("id", "is required (the vendor's stable appointment id)");
                String::new()
            }
        };
        let operator = match &a.operator {
            Some(Operator {
                national_id: Some(n),
                sas_id: None,
            }) if !n.is_empty() => Some(("IDNPS", IDNPS_SYSTEM, n.as_str())),
            Some(Operator {
                national_id: None,
                sas_id: Some(s),
            }) if !s.is_empty() => Some(("INTRN", SAS_SYSTEM, s.as_str())),
            _ => {
                bad(
                    "operator",
                    "needs exactly one of national_id or sas_id (as INT_R02 supplied it)",
                );
                None
            }
        };
        let practitioner = a.practitioner.as_deref().filter(|p| {
            let b = p.as_bytes();
            (b.len() == 12 && b[0] == b'8' || b.len() == 10 && b[0] == b'0')
                && b.iter().all(u8::is_ascii_digit)
        });
        if practitioner.is_none() {
            bad(
                "practitioner",
                "must be the prefixed national id: 8 + 11-digit RPPS or 0 + 9-digit ADELI",
            );
        }
        let mut instant = |field: &str, v: &Option<String>, required: bool| match v
            .as_deref()
            .map(str::parse::<Timestamp>)
        {
            Some(Ok(t)) => Some(t),
            Some(Err(_)) => {
                bad(field, "must be an RFC 3339 date-time with an offset");
                None
            }
            None => {
                if required {
                    bad(field, "is required");
                }
                None
            }
        };
        let start = instant("start", &a.start, true);
        let end = instant("end", &a.end, true);
        let created = instant("created", &a.created, false);
        if let (Some(s), Some(e)) = (start, end)
            && s >= e
        {
            bad("end", "must be after start");
        }
        let status = a.status.as_deref().filter(|s| STATUSES.contains(s));
        if status.is_none() {
            bad("status", "must be booked, fulfilled, noshow or cancelled");
        }
        if !errs.is_empty() {
            return Err(AppointmentError::Invalid(errs));
        }
        let (
            Some((code, system, operator_id)),
            Some(practitioner),
            Some(start),
            Some(end),
            Some(status),
        ) = (operator, practitioner, start, end, status)
        else {
            return Err(one("body", "incomplete"));
        };
        let mut fhir = json!({
            "resourceType": "Appointment",
            "meta": { "profile": ["http://sas.fr/fhir/StructureDefinition/FrAppointmentSAS"] },
            "extension": [{
                "url": "http://interopsante.org/fhir/StructureDefinition/FrAppointmentOperator",
                "valueReference": { "identifier": {
                    "type": { "coding": [{ "system": V2_0203, "code": code }] },
                    "system": system, "value": operator_id,
                } },
            }],
            "identifier": [{ "system": self.vendor_system, "value": id }],
            "status": status,
            "start": format_slot_time(start),
            "end": format_slot_time(end),
            "participant": [{
                "actor": { "identifier": {
                    "type": { "coding": [{ "system": V2_0203, "code": "IDNPS" }] },
                    "system": IDNPS_SYSTEM, "value": practitioner,
                } },
                "status": "accepted",
            }],
        });
        if let Some(c) = created {
            fhir["created"] = json!(format_slot_time(c));
        }
        Ok((id, fhir))
    }
}

fn transport(e: reqwest::Error) -> AppointmentError {
    if e.is_timeout() {
        return AppointmentError::Timeout;
    }
    // A refused server certificate is a rustls error somewhere in the chain.
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(s) = source {
        if let Some(rustls::Error::InvalidCertificate(_)) = rustls_error(s) {
            tracing::warn!(error = %e, "SAS server certificate refused");
            return AppointmentError::ServerRefused;
        }
        source = s.source();
    }
    tracing::warn!(error = %e, "SAS unreachable");
    AppointmentError::Unreachable
}

/// The rustls error `e` is or wraps. TLS errors reach us inside `io::Error`s (nested ones, from
/// tokio-rustls then hyper-util), whose `source()` skips the error they wrap: look inside them
/// with `get_ref`.
fn rustls_error<'a>(mut e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    loop {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        let inner = e.downcast_ref::<std::io::Error>()?.get_ref()?;
        e = inner;
    }
}

fn answer(
    status: StatusCode,
    id: &str,
    location: Option<String>,
    attempts: u32,
) -> Response<Bytes> {
    let body = json!({ "id": id, "sas_status": status.as_u16(), "sas_location": location, "attempts": attempts });
    let mut response = Response::new(Bytes::from(serde_json::to_vec(&body).unwrap_or_default()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

impl Adapter for OutboundService {
    fn handle<'a>(
        &'a self,
        req: Request<Bytes>,
        ctx: &'a CallContext,
    ) -> BoxFuture<'a, Response<Bytes>> {
        Box::pin(async move {
            match self.dispatch(req, ctx).await {
                (Ok(response), _) => response,
                (Err(e), attempts) => {
                    tracing::info!(route = %ctx.route_name, request_id = %ctx.request_id, error = %e, attempts, "appointment not delivered");
                    e.into_response(attempts)
                }
            }
        })
    }
}
