//! The route's `aspone_alert:` block: raw YAML, validation into [`Settings`] reporting every
//! problem at once, and the per-partner settings the authentication chain reads.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::Deserialize;
use soap::{Backoff, Secret, SecurityPolicy, SsoPolicy};

use crate::{BuildContext, FieldError, InternalService};

/// The service namespace ASPOne's version-1 services use (reference §3).
pub const DEFAULT_NAMESPACE: &str = "http://www.cegedim.com/aspone/mb/webservices";

/// Seed 004 §2.2.1 gives the account name's length as "...9". Read literally: at most
/// 9 characters. The table's own notation (`...X` = maximal length X) supports that reading,
/// but a secondary account's name (`IdCompte.IdCP`) rarely fits, so the figure may have lost
/// digits in the document's conversion. Hence a per-partner `account_name_max_len`,
/// defaulting to the literal 9.
pub const DEFAULT_ACCOUNT_NAME_MAX_LEN: usize = 9;

/// The `aspone_alert:` block of a route.
#[derive(Debug, Deserialize)]
// A name of its own in serde (the YAML is unchanged): the gateway's configuration types share
// one namespace when the configuration reference is traced (gateway/src/config/reference.rs).
#[serde(deny_unknown_fields, rename = "AsponeAlertBlock")]
pub struct RawConfig {
    /// Service namespace of the WSDL and of the operations (default [`DEFAULT_NAMESPACE`]).
    #[serde(default)]
    pub namespace: Option<String>,
    /// Wait per consecutive failed user login (default `5s`; tests use `1s`).
    #[serde(default)]
    pub backoff_step: Option<String>,
    /// Time zone of SSO tokens' date and time (default `Europe/Paris`; the seed does not say).
    #[serde(default)]
    pub sso_time_zone: Option<String>,
    /// The white-label partners allowed to call the service.
    #[serde(default)]
    pub partners: Vec<RawPartner>,
}

/// One white-label partner.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPartner {
    /// The UsernameToken username ASPOne gave the partner.
    pub username: String,
    /// The partner's identifier in the internal alert service (default: `username`).
    #[serde(default)]
    pub id: Option<String>,
    /// Environment variable holding the UsernameToken password.
    pub secret_env: String,
    /// Environment variable holding the SSO shared key; no key means no SSO for this partner.
    #[serde(default)]
    pub sso_key_env: Option<String>,
    /// How long an SSO token stays valid (default `5m`).
    #[serde(default)]
    pub sso_validity: Option<String>,
    /// `strict` (default) or `lenient` WS-Security profile.
    #[serde(default)]
    pub profile: Option<String>,
    /// Lenient profile only: the IANA zone in which this partner's `Created` labelled `Z` is
    /// really written (portals that send their local clock with a `Z`, reference §3).
    #[serde(default)]
    pub created_local_zone: Option<String>,
    /// Longest account name accepted (default 9, see [`DEFAULT_ACCOUNT_NAME_MAX_LEN`]).
    #[serde(default)]
    pub account_name_max_len: Option<usize>,
}

/// Validated settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub(crate) namespace: String,
    pub(crate) backoff: Backoff,
    pub(crate) partners: Vec<Partner>,
    pub(crate) upstream: InternalService,
}

/// One validated partner.
#[derive(Debug, Clone)]
pub(crate) struct Partner {
    pub(crate) username: String,
    pub(crate) id: String,
    pub(crate) secret: Secret,
    pub(crate) sso: Option<SsoPolicy>,
    pub(crate) policy: SecurityPolicy,
    pub(crate) account_name_max_len: usize,
}

impl Settings {
    /// The partner whose UsernameToken username is `username`.
    pub(crate) fn partner(&self, username: &str) -> Option<&Partner> {
        self.partners.iter().find(|p| p.username == username)
    }
}

/// Validates the block, reporting every problem.
///
/// # Errors
/// Every invalid key, with its reason.
pub fn validate(raw: &RawConfig, cx: &BuildContext<'_>) -> Result<Settings, Vec<FieldError>> {
    let mut errors = Vec::new();
    let namespace = raw
        .namespace
        .clone()
        .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned());
    if !(namespace.starts_with("http://")
        || namespace.starts_with("https://")
        || namespace.starts_with("urn:"))
        || namespace.contains(['"', '<', '>', '&', '\'', ' '])
    {
        errors.push(FieldError::new(
            "namespace",
            "must be an absolute http(s):// or urn: URI without quotes, spaces or markup",
        ));
    }
    let step = duration_field(&mut errors, "backoff_step", raw.backoff_step.as_deref())
        .unwrap_or(Backoff::DEFAULT_STEP);
    if step.is_zero() {
        errors.push(FieldError::new("backoff_step", "must be at least 1ms"));
    }
    let zone = raw
        .sso_time_zone
        .as_deref()
        .unwrap_or(SsoPolicy::DEFAULT_TIME_ZONE);
    let zone = match jiff::tz::TimeZone::get(zone) {
        Ok(z) => Some(z),
        Err(_) => {
            errors.push(FieldError::new(
                "sso_time_zone",
                format!("`{zone}` is not an IANA time zone name"),
            ));
            None
        }
    };
    if raw.partners.is_empty() {
        errors.push(FieldError::new(
            "partners",
            "at least one partner is required",
        ));
    }
    let mut seen = BTreeSet::new();
    let mut partners = Vec::new();
    for (i, p) in raw.partners.iter().enumerate() {
        if let Some(partner) = partner(&mut errors, cx.env, i, p, zone.as_ref(), &mut seen) {
            partners.push(partner);
        }
    }
    let upstream = match cx.route_upstream {
        None => {
            errors.push(FieldError::new(
                "upstream",
                "the route needs `upstream:` naming the internal alert service",
            ));
            None
        }
        Some(name) => match cx.upstreams.get(name) {
            Some(service) => Some(service.clone()),
            None => {
                errors.push(FieldError::new(
                    "upstream",
                    format!("`{name}` is not an http:// upstream of the file"),
                ));
                None
            }
        },
    };
    match upstream {
        Some(upstream) if errors.is_empty() => Ok(Settings {
            namespace,
            backoff: Backoff::new(step),
            partners,
            upstream,
        }),
        _ => Err(errors),
    }
}

fn partner(
    errors: &mut Vec<FieldError>,
    env: &dyn Fn(&str) -> Option<String>,
    i: usize,
    raw: &RawPartner,
    zone: Option<&jiff::tz::TimeZone>,
    seen: &mut BTreeSet<String>,
) -> Option<Partner> {
    let key = |k: &str| format!("partners[{i}].{k}");
    let before = errors.len();
    if raw.username.trim().is_empty() || raw.username.len() > 128 {
        errors.push(FieldError::new(
            key("username"),
            "must be 1 to 128 characters",
        ));
    } else if !seen.insert(raw.username.clone()) {
        errors.push(FieldError::new(
            key("username"),
            format!("`{}` is used by another partner", raw.username),
        ));
    }
    let id = raw.id.clone().unwrap_or_else(|| raw.username.clone());
    // Ids key the backoff counters and the upstream's partners: two partners must not share one.
    if !seen.insert(format!("\0id:{id}")) {
        errors.push(FieldError::new(
            key("id"),
            format!("`{id}` is the id of another partner"),
        ));
    } else if id.is_empty()
        || id.len() > 64
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        errors.push(FieldError::new(
            key("id"),
            "must be 1 to 64 characters among A-Z a-z 0-9 - _ . (it goes in upstream URLs)",
        ));
    }
    let secret = env_secret(errors, env, &key("secret_env"), &raw.secret_env);
    let sso_key = raw
        .sso_key_env
        .as_deref()
        .and_then(|var| env_secret(errors, env, &key("sso_key_env"), var));
    let validity = duration_field(errors, &key("sso_validity"), raw.sso_validity.as_deref());
    if raw.sso_validity.is_some() && raw.sso_key_env.is_none() {
        errors.push(FieldError::new(
            key("sso_validity"),
            "only used with `sso_key_env` (SSO is off for this partner)",
        ));
    }
    let policy = match raw.profile.as_deref() {
        None | Some("strict") => Some(SecurityPolicy::strict()),
        Some("lenient") => Some(SecurityPolicy::lenient()),
        Some(other) => {
            errors.push(FieldError::new(
                key("profile"),
                format!("`{other}` is not `strict` or `lenient`"),
            ));
            None
        }
    };
    let policy = match (policy, raw.created_local_zone.as_deref()) {
        (Some(p), Some(name)) if p.profile() == soap::Profile::Lenient => {
            match jiff::tz::TimeZone::get(name) {
                Ok(zone) => Some(p.assume_z_means_local_time(zone)),
                Err(_) => {
                    errors.push(FieldError::new(
                        key("created_local_zone"),
                        format!("`{name}` is not an IANA time zone name"),
                    ));
                    None
                }
            }
        }
        (Some(_), Some(_)) => {
            errors.push(FieldError::new(
                key("created_local_zone"),
                "only used with `profile: lenient`",
            ));
            None
        }
        (p, _) => p,
    };
    let max_len = raw
        .account_name_max_len
        .unwrap_or(DEFAULT_ACCOUNT_NAME_MAX_LEN);
    if !(1..=256).contains(&max_len) {
        errors.push(FieldError::new(
            key("account_name_max_len"),
            "must be between 1 and 256",
        ));
    }
    if errors.len() > before {
        return None;
    }
    let sso = match (sso_key, zone) {
        (Some(k), Some(zone)) => Some(
            SsoPolicy::new(k)
                .with_validity(validity.unwrap_or(SsoPolicy::DEFAULT_VALIDITY))
                .with_time_zone(zone.clone()),
        ),
        _ => None,
    };
    Some(Partner {
        username: raw.username.clone(),
        id,
        secret: secret?,
        sso,
        policy: policy?,
        account_name_max_len: max_len,
    })
}

/// Reads a secret from the environment variable the YAML names (secrets are never inline).
fn env_secret(
    errors: &mut Vec<FieldError>,
    env: &dyn Fn(&str) -> Option<String>,
    key: &str,
    var: &str,
) -> Option<Secret> {
    match env(var) {
        Some(value) if !value.is_empty() => Some(Secret::from(value)),
        Some(_) => {
            errors.push(FieldError::new(key, format!("`{var}` is empty")));
            None
        }
        None => {
            errors.push(FieldError::new(key, format!("`{var}` is not set")));
            None
        }
    }
}

/// Parses an optional duration such as `500ms`, `5s`, `2m` or `1h`.
fn duration_field(errors: &mut Vec<FieldError>, key: &str, text: Option<&str>) -> Option<Duration> {
    match crate::parse_duration(text?) {
        Ok(d) => Some(d),
        Err(reason) => {
            errors.push(FieldError::new(key, reason));
            None
        }
    }
}
