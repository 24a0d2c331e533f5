//! A small stand-in for the SAS platform's FHIR server (INT_R03 receiver), over HTTPS on
//! loopback, for `gateway demo` and the tests.
//!
//! It demands a client certificate from the configured CA (the handshake fails without one) and
//! answers 403 unless the certificate's CN is the expected vendor's. `POST /…/Appointment`
//! creates (201 + `Location`), `PUT /…/Appointment?identifier=system|value` updates (200) or
//! creates (201). Refusals imitate SAS: 400 for a malformed body, 422 for a business rule (a
//! creation with status `cancelled`, a duplicate identifier), each with an OperationOutcome.
//! [`FakeSas::fail_next`] makes the next requests answer 503, to exercise retries.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, Method, StatusCode, header};
use serde_json::{Value, json};

/// What the fake SAS is built from.
#[derive(Debug, Clone)]
pub struct FakeSasSettings {
    /// Its server certificate chain (leaf first).
    pub cert: PathBuf,
    /// Its key.
    pub key: PathBuf,
    /// CAs the vendor's client certificate must lead to.
    pub client_anchors: Vec<PathBuf>,
    /// The CN the client certificate must carry (`None`: any verified client).
    pub expected_client_cn: Option<String>,
}

#[derive(Default)]
struct Inner {
    /// identifier (`system|value`) → (id, resource).
    appointments: Mutex<BTreeMap<String, (String, Value)>>,
    fail_next: AtomicUsize,
    requests: AtomicUsize,
    next_id: AtomicUsize,
}

/// A running fake SAS.
#[derive(Clone)]
pub struct FakeSas {
    /// Where it listens.
    pub addr: SocketAddr,
    inner: Arc<Inner>,
}

impl FakeSas {
    /// The appointments received, by `system|value` identifier.
    #[must_use]
    pub fn appointments(&self) -> BTreeMap<String, Value> {
        self.inner
            .appointments
            .lock()
            .map(|m| m.iter().map(|(k, (_, v))| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    }

    /// The next `n` requests are answered 503.
    pub fn fail_next(&self, n: usize) {
        self.inner.fail_next.store(n, Ordering::SeqCst);
    }

    /// Requests that reached the HTTP layer so far.
    #[must_use]
    pub fn requests(&self) -> usize {
        self.inner.requests.load(Ordering::SeqCst)
    }
}

/// Starts a fake SAS on `addr`.
///
/// # Errors
/// Unusable TLS material or an address that cannot be bound.
pub async fn spawn(addr: SocketAddr, settings: FakeSasSettings) -> std::io::Result<FakeSas> {
    let tls = crate::mtls_server::PartnerTls {
        cert: settings.cert.clone(),
        key: settings.key.clone(),
        client_anchors: settings.client_anchors.clone(),
        session_cache_size: 256,
    };
    let inner = Arc::new(Inner::default());
    let shared = Arc::clone(&inner);
    let expected = settings.expected_client_cn;
    let addr = crate::mtls_server::spawn(addr, &tls, move |cn| {
        let allowed = expected
            .as_ref()
            .is_none_or(|e| cn.as_deref() == Some(e.as_str()));
        Router::new()
            .fallback(handle)
            .with_state((Arc::clone(&shared), allowed))
    })
    .await?;
    Ok(FakeSas { addr, inner })
}

fn outcome(
    status: StatusCode,
    code: &str,
    diagnostics: &str,
    expression: Option<&str>,
) -> Response {
    let mut issue = json!({ "severity": "error", "code": code, "diagnostics": diagnostics });
    if let Some(e) = expression {
        issue["expression"] = json!([e]);
    }
    fhir(
        status,
        &json!({ "resourceType": "OperationOutcome", "issue": [issue] }),
    )
}

fn fhir(status: StatusCode, body: &Value) -> Response {
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/fhir+json"),
    );
    r
}

/// Checks the FrAppointmentSAS essentials; returns the `system|value` identifier.
fn check(v: &Value) -> Result<String, Box<Response>> {
    let bad =
        |d: &str, e: &str| Box::new(outcome(StatusCode::BAD_REQUEST, "structure", d, Some(e)));
    if v["resourceType"] != "Appointment" {
        return Err(bad("not an Appointment", "Appointment"));
    }
    if !v["meta"]["profile"].as_array().is_some_and(|p| {
        p.iter()
            .any(|x| x == "http://sas.fr/fhir/StructureDefinition/FrAppointmentSAS")
    }) {
        return Err(bad(
            "the FrAppointmentSAS profile is required",
            "Appointment.meta.profile",
        ));
    }
    let ids = v["identifier"]
        .as_array()
        .filter(|a| a.len() == 1)
        .ok_or_else(|| bad("exactly one identifier", "Appointment.identifier"))?;
    let (Some(system), Some(value)) = (ids[0]["system"].as_str(), ids[0]["value"].as_str()) else {
        return Err(bad(
            "identifier needs system and value",
            "Appointment.identifier[0]",
        ));
    };
    let operator = &v["extension"][0]["valueReference"]["identifier"]["value"];
    if !operator.as_str().is_some_and(|o| {
        !o.is_empty()
            && o.bytes()
                .all(|b| b.is_ascii_digit() || b == b'/' || b == b'-' || b.is_ascii_hexdigit())
    }) {
        return Err(bad(
            "the operator identifier is not a national or SAS id",
            "Appointment.extension[0].valueReference.identifier.value",
        ));
    }
    if !matches!(
        v["status"].as_str(),
        Some("booked" | "fulfilled" | "noshow" | "cancelled")
    ) {
        return Err(bad("unknown status", "Appointment.status"));
    }
    if v["start"].as_str().is_none()
        || v["end"].as_str().is_none()
        || v["participant"].as_array().is_none_or(Vec::is_empty)
    {
        return Err(bad(
            "start, end and participant are required",
            "Appointment",
        ));
    }
    Ok(format!("{system}|{value}"))
}

async fn handle(
    State((inner, allowed)): State<(Arc<Inner>, bool)>,
    method: Method,
    uri: http::Uri,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    inner.requests.fetch_add(1, Ordering::SeqCst);
    if !allowed {
        return outcome(
            StatusCode::FORBIDDEN,
            "security",
            "client certificate not allowed",
            None,
        );
    }
    if inner.fail_next.load(Ordering::SeqCst) > 0 {
        inner.fail_next.fetch_sub(1, Ordering::SeqCst);
        return outcome(
            StatusCode::SERVICE_UNAVAILABLE,
            "transient",
            "try again later",
            None,
        );
    }
    if !uri.path().ends_with("/Appointment") {
        return outcome(
            StatusCode::NOT_FOUND,
            "not-supported",
            "unknown resource",
            None,
        );
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return outcome(
            StatusCode::BAD_REQUEST,
            "structure",
            "the body is not JSON",
            None,
        );
    };
    let key = match check(&v) {
        Ok(k) => k,
        Err(r) => return *r,
    };
    let base = uri.path().trim_end_matches("/Appointment").to_owned();
    let Ok(mut store) = inner.appointments.lock() else {
        return outcome(
            StatusCode::INTERNAL_SERVER_ERROR,
            "exception",
            "store poisoned",
            None,
        );
    };
    let (status, id) = match method {
        Method::POST => {
            if store.contains_key(&key) {
                return outcome(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "business-rule",
                    "an appointment with this identifier exists: update it with a conditional PUT",
                    Some("Appointment.identifier"),
                );
            }
            if v["status"] == "cancelled" {
                return outcome(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "business-rule",
                    "an appointment cannot be created cancelled",
                    Some("Appointment.status"),
                );
            }
            (
                StatusCode::CREATED,
                format!("{}", inner.next_id.fetch_add(1, Ordering::SeqCst) + 1),
            )
        }
        Method::PUT => {
            let wanted = query
                .as_deref()
                .and_then(|q| q.strip_prefix("identifier="))
                .map(|q| {
                    percent_encoding::percent_decode_str(q)
                        .decode_utf8_lossy()
                        .into_owned()
                });
            if wanted.as_deref() != Some(key.as_str()) {
                return outcome(
                    StatusCode::BAD_REQUEST,
                    "invalid",
                    "?identifier= must name the body's identifier",
                    Some("Appointment.identifier"),
                );
            }
            match store.get(&key) {
                Some((id, _)) => (StatusCode::OK, id.clone()),
                None => (
                    StatusCode::CREATED,
                    format!("{}", inner.next_id.fetch_add(1, Ordering::SeqCst) + 1),
                ),
            }
        }
        _ => {
            return outcome(
                StatusCode::METHOD_NOT_ALLOWED,
                "not-supported",
                "POST or conditional PUT only",
                None,
            );
        }
    };
    let mut stored = v;
    stored["id"] = json!(id);
    store.insert(key, (id.clone(), stored.clone()));
    let mut r = fhir(status, &stored);
    if let Ok(loc) = HeaderValue::from_str(&format!("{base}/Appointment/{id}")) {
        r.headers_mut().insert(header::LOCATION, loc);
    }
    r
}

/// Where `gateway demo` runs the fake SAS (its `sas_appointments` route points there).
pub const DEMO_ADDR: &str = "127.0.0.1:18443";

/// Starts the fake SAS of `gateway demo` on `addr` ([`DEMO_ADDR`] unless the demo's ports are
/// moved) with the test PKI at `pki` (laid out as `certs-test/pki`), demanding the vendor's
/// certificate.
///
/// # Errors
/// The address is taken or the test PKI cannot be read.
pub async fn spawn_demo(pki: &std::path::Path, addr: SocketAddr) -> std::io::Result<FakeSas> {
    spawn(
        addr,
        FakeSasSettings {
            cert: pki.join("server.pem"),
            key: pki.join("server.key"),
            client_anchors: vec![pki.join("ca-bundle.pem")],
            expected_client_cn: Some("vendor-gateway.test".into()),
        },
    )
    .await
}
