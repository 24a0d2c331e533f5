//! Validation of the adapter blocks of routes. Each adapter owns its block's schema and checks;
//! this module checks that a route carries the block of its handler and no other, hands the
//! adapter what it needs (environment, base directory, upstreams), and files every
//! [`adapters::FieldError`] under the route's key.

use std::collections::BTreeMap;
use std::path::Path;

use adapters::{AdapterSettings, BuildContext, FieldError, InternalService};

use super::error::Collector;
use super::raw::RawRoute;
use super::{Env, HandlerKind, UpstreamSettings};

/// The upstreams as adapters see them (adapters do not depend on the gateway's config types).
pub(super) fn internal_services(
    upstreams: &BTreeMap<String, UpstreamSettings>,
) -> BTreeMap<String, InternalService> {
    upstreams
        .iter()
        .map(|(name, u)| {
            let service = InternalService {
                name: name.clone(),
                base_url: u.url.to_string().trim_end_matches('/').to_owned(),
                connect_timeout: u.connect_timeout,
                request_timeout: u.request_timeout,
            };
            (name.clone(), service)
        })
        .collect()
}

/// The adapter settings of route `r` (`Some(None)` for a proxy route), or `None` when something
/// was reported.
pub(super) fn adapter(
    c: &mut Collector,
    key: &str,
    r: &RawRoute,
    base: &Path,
    env: &dyn Env,
    services: &BTreeMap<String, InternalService>,
) -> Option<Option<AdapterSettings>> {
    // Each adapter's block is named like its handler.
    let blocks = [
        (HandlerKind::AsponeAlert, r.aspone_alert.is_some()),
        (HandlerKind::SasFhir, r.sas_fhir.is_some()),
        (HandlerKind::SasAppointments, r.sas_appointments.is_some()),
    ];
    let handler = r.handler.as_str();
    let mut misplaced = false;
    for (kind, present) in blocks {
        if present && kind != r.handler {
            misplaced = true;
            c.push(
                format!("{key}.{}", kind.as_str()),
                format!(
                    "this block belongs to `handler: {}` routes, and this route's handler is `{handler}`",
                    kind.as_str()
                ),
            );
        }
    }
    let lookup = |name: &str| env.var(name);
    let cx = BuildContext {
        env: &lookup,
        base_dir: base,
        upstreams: services,
        route_upstream: r.upstream.as_deref(),
    };
    let built = match r.handler {
        HandlerKind::Proxy | HandlerKind::Documents | HandlerKind::Outbound => Ok(None),
        HandlerKind::AsponeAlert => {
            let raw = required(c, key, handler, r.aspone_alert.as_ref())?;
            adapters::alert::validate(raw, &cx).map(|s| Some(AdapterSettings::Alert(s)))
        }
        HandlerKind::SasFhir => {
            let raw = required(c, key, handler, r.sas_fhir.as_ref())?;
            adapters::sas::validate_inbound(raw, &cx).map(|s| Some(AdapterSettings::SasFhir(s)))
        }
        HandlerKind::SasAppointments => {
            let raw = required(c, key, handler, r.sas_appointments.as_ref())?;
            adapters::sas::validate_outbound(raw, &cx)
                .map(|s| Some(AdapterSettings::SasAppointments(s)))
        }
    };
    match built {
        Ok(settings) if !misplaced => Some(settings),
        Ok(_) => None,
        Err(errors) => {
            for FieldError { key: field, reason } in errors {
                c.push(format!("{key}.{handler}.{field}"), reason);
            }
            None
        }
    }
}

/// The route's block for its handler, reporting its absence.
fn required<'a, T>(
    c: &mut Collector,
    key: &str,
    handler: &str,
    block: Option<&'a T>,
) -> Option<&'a T> {
    if block.is_none() {
        c.push(
            format!("{key}.{handler}"),
            format!("a `handler: {handler}` route needs its `{handler}:` block"),
        );
    }
    block
}
