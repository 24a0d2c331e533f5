//! The YAML blocks of the SAS routes and their validation (every problem reported, with its
//! key relative to the block).

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::{BuildContext, FieldError, InternalService};

/// SAS drops any answer after this long; the deadline budget must stay below it.
const SAS_TIMEOUT: Duration = Duration::from_secs(7);
/// Default budget of the internal call on the inbound path: leaves SAS 4 s of margin for the
/// network and TLS on its side.
const DEFAULT_DEADLINE: Duration = Duration::from_secs(3);

/// The `sas_fhir:` block of an inbound route (SAS → gateway).
#[derive(Debug, Default, Deserialize)]
// A name of its own in serde (the YAML is unchanged): the gateway's configuration types share
// one namespace when the configuration reference is traced (gateway/src/config/reference.rs).
#[serde(deny_unknown_fields, rename = "SasFhirBlock")]
pub struct RawInbound {
    /// Budget of the internal call (e.g. `3s`, `800ms`); below 7 s. Default 3 s.
    #[serde(default)]
    pub deadline: Option<String>,
    /// Name of the upstream serving `/v1/regulators` (default: the route's upstream).
    #[serde(default)]
    pub accounts_upstream: Option<String>,
    /// The vendor's identifier system for SOS places without a national structure id
    /// (`urn:oid:…` or a URL). Default: `[base]/Location`.
    #[serde(default)]
    pub location_system: Option<String>,
}

/// The `retry:` block of the outbound route.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRetry {
    /// Attempts in all, first included (1 disables retries). Default 3, at most 10.
    #[serde(default)]
    pub max_attempts: Option<u32>,
    /// Wait before the second attempt; doubled each time. Default 200ms.
    #[serde(default)]
    pub initial_backoff: Option<String>,
    /// Longest wait between attempts. Default 2s.
    #[serde(default)]
    pub max_backoff: Option<String>,
}

/// The `sas_appointments:` block of an outbound route (internal apps → gateway → SAS).
#[derive(Debug, Default, Deserialize)]
// A name of its own in serde (the YAML is unchanged): the gateway's configuration types share
// one namespace when the configuration reference is traced (gateway/src/config/reference.rs).
#[serde(deny_unknown_fields, rename = "SasAppointmentsBlock")]
pub struct RawOutbound {
    /// The SAS FHIR base URL (`https://…`); its host is the name the SAS certificate must carry.
    #[serde(default)]
    pub base_url: Option<String>,
    /// The vendor's IGC Santé client certificate chain (PEM or DER).
    #[serde(default)]
    pub client_cert: Option<String>,
    /// Its private key.
    #[serde(default)]
    pub client_key: Option<String>,
    /// The CA certificates the SAS server chain must lead to (no other root is trusted).
    #[serde(default)]
    pub trust_anchors: Vec<String>,
    /// The system of `Appointment.identifier` (`urn:oid:<vendor OID>` or a vendor URL).
    #[serde(default)]
    pub vendor_system: Option<String>,
    /// Longest wait to connect to SAS. Default 2s.
    #[serde(default)]
    pub connect_timeout: Option<String>,
    /// Longest wait for one SAS answer. Default 5s.
    #[serde(default)]
    pub request_timeout: Option<String>,
    /// Retries of the conditional PUT (the only idempotent call).
    #[serde(default)]
    pub retry: Option<RawRetry>,
}

/// Validated inbound settings.
#[derive(Debug, Clone)]
pub struct InboundSettings {
    /// The planning service (the route's upstream).
    pub planning: InternalService,
    /// The accounts service.
    pub accounts: InternalService,
    /// Budget of one internal call.
    pub deadline: Duration,
    /// System of internal SOS place ids (`None`: `[base]/Location`).
    pub location_system: Option<String>,
}

/// Retry policy of the conditional PUT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all.
    pub max_attempts: u32,
    /// First wait.
    pub initial_backoff: Duration,
    /// Longest wait.
    pub max_backoff: Duration,
}

/// Validated outbound settings.
#[derive(Debug, Clone)]
pub struct OutboundSettings {
    /// SAS FHIR base, without a trailing slash.
    pub base_url: String,
    /// The vendor's client identity and the SAS trust anchors, built (files read, key matched)
    /// once, during validation.
    pub tls: std::sync::Arc<rustls::ClientConfig>,
    /// `Appointment.identifier.system`.
    pub vendor_system: String,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Per-attempt timeout.
    pub request_timeout: Duration,
    /// Retries of the conditional PUT.
    pub retry: RetryPolicy,
}

/// Parses `250ms`, `3s` or `2m`.
fn duration_or(
    errors: &mut Vec<FieldError>,
    key: &str,
    value: Option<&str>,
    default: Duration,
) -> Duration {
    match value.map(crate::parse_duration) {
        None => default,
        Some(Ok(d)) if !d.is_zero() => d,
        Some(Ok(_)) => {
            errors.push(FieldError::new(key, "must be greater than zero"));
            default
        }
        Some(Err(e)) => {
            errors.push(FieldError::new(key, e));
            default
        }
    }
}

fn is_system(s: &str) -> bool {
    (s.starts_with("urn:oid:")
        && s.len() > 8
        && s[8..].bytes().all(|b| b.is_ascii_digit() || b == b'.'))
        || s.starts_with("https://")
        || s.starts_with("http://")
}

/// Validates an inbound block, reporting every problem.
///
/// # Errors
/// Every invalid key, with its reason.
pub fn validate_inbound(
    raw: &RawInbound,
    cx: &BuildContext<'_>,
) -> Result<InboundSettings, Vec<FieldError>> {
    let mut errors = Vec::new();
    let deadline = duration_or(
        &mut errors,
        "deadline",
        raw.deadline.as_deref(),
        DEFAULT_DEADLINE,
    );
    if deadline >= SAS_TIMEOUT {
        errors.push(FieldError::new(
            "deadline",
            "must be below 7s: SAS drops answers after 7 s, a 504 must reach it before",
        ));
    }
    let planning = match cx.route_upstream {
        Some(name) => cx.upstreams.get(name).cloned().or_else(|| {
            errors.push(FieldError::new(
                "upstream",
                format!("no upstream named `{name}`"),
            ));
            None
        }),
        None => {
            errors.push(FieldError::new(
                "upstream",
                "a `sas_fhir` route needs `upstream:` (the planning service)",
            ));
            None
        }
    };
    let accounts = match raw.accounts_upstream.as_deref() {
        Some(name) => cx.upstreams.get(name).cloned().or_else(|| {
            errors.push(FieldError::new(
                "accounts_upstream",
                format!("no upstream named `{name}`"),
            ));
            None
        }),
        None => planning.clone(),
    };
    if let Some(s) = raw.location_system.as_deref()
        && !is_system(s)
    {
        errors.push(FieldError::new(
            "location_system",
            "must be `urn:oid:<digits and dots>` or an http(s) URL",
        ));
    }
    match (planning, accounts) {
        (Some(planning), Some(accounts)) if errors.is_empty() => Ok(InboundSettings {
            planning,
            accounts,
            deadline,
            location_system: raw.location_system.clone(),
        }),
        _ => Err(errors),
    }
}

fn path(cx: &BuildContext<'_>, p: &str) -> std::path::PathBuf {
    let p = Path::new(p);
    if p.is_absolute() {
        p.to_owned()
    } else {
        cx.base_dir.join(p)
    }
}

/// Validates an outbound block, reporting every problem (including unusable TLS material).
///
/// # Errors
/// Every invalid key, with its reason.
pub fn validate_outbound(
    raw: &RawOutbound,
    cx: &BuildContext<'_>,
) -> Result<OutboundSettings, Vec<FieldError>> {
    let mut errors = Vec::new();
    let base_url = match raw.base_url.as_deref() {
        Some(u) if u.starts_with("https://") && u.len() > 8 && !u.contains(['?', '#', ' ']) => {
            u.trim_end_matches('/').to_owned()
        }
        Some(_) => {
            errors.push(FieldError::new(
                "base_url",
                "must be an https:// URL without query",
            ));
            String::new()
        }
        None => {
            errors.push(FieldError::new(
                "base_url",
                "is required (the SAS FHIR base URL)",
            ));
            String::new()
        }
    };
    let mut required = |key: &str, v: &Option<String>| match v {
        Some(s) if !s.is_empty() => s.clone(),
        _ => {
            errors.push(FieldError::new(key, "is required"));
            String::new()
        }
    };
    let cert = required("client_cert", &raw.client_cert);
    let key = required("client_key", &raw.client_key);
    let vendor_system = required("vendor_system", &raw.vendor_system);
    if !vendor_system.is_empty() && !is_system(&vendor_system) {
        errors.push(FieldError::new(
            "vendor_system",
            "must be `urn:oid:<digits and dots>` or an http(s) URL",
        ));
    }
    if raw.trust_anchors.is_empty() {
        errors.push(FieldError::new(
            "trust_anchors",
            "at least one CA certificate is required (no default roots are trusted)",
        ));
    }
    let tls = mtls::OutboundTlsSettings {
        cert_chain: path(cx, &cert),
        key: path(cx, &key),
        trust_anchors: raw.trust_anchors.iter().map(|a| path(cx, a)).collect(),
        alpn: vec![b"http/1.1".to_vec()],
    };
    let mut client_tls = None;
    if !cert.is_empty() && !key.is_empty() && !raw.trust_anchors.is_empty() {
        use mtls::OutboundTlsError as E;
        match mtls::client_config(&tls) {
            Ok(config) => client_tls = Some(config),
            Err(e) => {
                let field = match e {
                    E::Certificate(_) | E::CertKeyMismatch { .. } => "client_cert",
                    E::Key(_) => "client_key",
                    E::TrustAnchors(_) | E::NoTrustAnchors | E::Rustls(_) => "trust_anchors",
                };
                errors.push(FieldError::new(field, e.to_string()));
            }
        }
    }
    let connect_timeout = duration_or(
        &mut errors,
        "connect_timeout",
        raw.connect_timeout.as_deref(),
        Duration::from_secs(2),
    );
    let request_timeout = duration_or(
        &mut errors,
        "request_timeout",
        raw.request_timeout.as_deref(),
        Duration::from_secs(5),
    );
    let r = raw.retry.as_ref();
    let max_attempts = r.and_then(|r| r.max_attempts).unwrap_or(3);
    if !(1..=10).contains(&max_attempts) {
        errors.push(FieldError::new(
            "retry.max_attempts",
            "must be between 1 and 10",
        ));
    }
    let initial_backoff = duration_or(
        &mut errors,
        "retry.initial_backoff",
        r.and_then(|r| r.initial_backoff.as_deref()),
        Duration::from_millis(200),
    );
    let max_backoff = duration_or(
        &mut errors,
        "retry.max_backoff",
        r.and_then(|r| r.max_backoff.as_deref()),
        Duration::from_secs(2),
    );
    if max_backoff < initial_backoff {
        errors.push(FieldError::new(
            "retry.max_backoff",
            "must not be below retry.initial_backoff",
        ));
    }
    // Without a TLS config, a missing or unusable cert, key or anchor has been reported.
    let Some(tls) = client_tls.filter(|_| errors.is_empty()) else {
        return Err(errors);
    };
    Ok(OutboundSettings {
        base_url,
        tls,
        vendor_system,
        connect_timeout,
        request_timeout,
        retry: RetryPolicy {
            max_attempts,
            initial_backoff,
            max_backoff,
        },
    })
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
