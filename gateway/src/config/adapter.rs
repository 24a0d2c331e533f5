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

/// The adapter settings of route `r` (`Some(None)` for a proxy route), or `None` when something
/// was reported.
pub(super) fn adapter(
    c: &mut Collector,
    key: &str,
    r: &RawRoute,
    base: &Path,
    env: &dyn Env,
    upstreams: &BTreeMap<String, UpstreamSettings>,
) -> Option<Option<AdapterSettings>> {
    let blocks = [
        (
            HandlerKind::AsponeAlert,
            "aspone_alert",
            r.aspone_alert.is_some(),
        ),
        (HandlerKind::SasFhir, "sas_fhir", r.sas_fhir.is_some()),
        (
            HandlerKind::SasAppointments,
            "sas_appointments",
            r.sas_appointments.is_some(),
        ),
    ];
    let mut misplaced = false;
    for (kind, name, present) in blocks {
        if present && kind != r.handler {
            misplaced = true;
            c.push(
                format!("{key}.{name}"),
                format!(
                    "this block belongs to `handler: {}` routes, and this route's handler is `{}`",
                    kind.as_str(),
                    r.handler.as_str()
                ),
            );
        }
    }
    let services: BTreeMap<String, InternalService> = upstreams
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
        .collect();
    let lookup = |name: &str| env.var(name);
    let cx = BuildContext {
        env: &lookup,
        base_dir: base,
        upstreams: &services,
        route_upstream: r.upstream.as_deref(),
    };
    let missing = |c: &mut Collector, name: &str| {
        c.push(
            format!("{key}.{name}"),
            format!("a `handler: {name}` route needs its `{name}:` block"),
        );
    };
    let built = match r.handler {
        HandlerKind::Proxy => Ok(None),
        HandlerKind::AsponeAlert => match &r.aspone_alert {
            Some(raw) => {
                adapters::alert::validate(raw, &cx).map(|s| Some(AdapterSettings::Alert(s)))
            }
            None => {
                missing(c, "aspone_alert");
                return None;
            }
        },
        HandlerKind::SasFhir => match &r.sas_fhir {
            Some(raw) => {
                adapters::sas::validate_inbound(raw, &cx).map(|s| Some(AdapterSettings::SasFhir(s)))
            }
            None => {
                missing(c, "sas_fhir");
                return None;
            }
        },
        HandlerKind::SasAppointments => match &r.sas_appointments {
            Some(raw) => adapters::sas::validate_outbound(raw, &cx)
                .map(|s| Some(AdapterSettings::SasAppointments(s))),
            None => {
                missing(c, "sas_appointments");
                return None;
            }
        },
    };
    match built {
        Ok(settings) if !misplaced => Some(settings),
        Ok(_) => None,
        Err(errors) => {
            let name = r.handler.as_str();
            for FieldError { key: field, reason } in errors {
                c.push(format!("{key}.{name}.{field}"), reason);
            }
            None
        }
    }
}
