//! The inbound searches: `GET [base]/Slot` (INT_R01, and INT_R04 when
//! `_include=Slot:service-type-reference` is present) and `GET [base]/Schedule` (SOS Médecins),
//! each translated into one call to the planning service and answered with a searchset Bundle.

use std::collections::BTreeSet;

use bytes::Bytes;
use jiff::Timestamp;
use serde_json::json;

use super::bundle::{BundleBuilder, Family, slot as slot_out};
use super::client::{Internal, enc};
use super::fhir::{self, SosLocation};
use super::model::{Slot, SlotSearch, SosSearch};
use super::outcome::FhirError;
use super::query::{self, IDNPS_SYSTEM, IDNST_SYSTEM, Params, Token, Window};

/// The chained identifier parameter of slot searches.
pub(crate) const PRACTITIONER_PARAM: &str = "schedule.actor:Practitioner.identifier";
/// The identifier parameter of SOS schedule searches.
pub(crate) const ASSOCIATION_PARAM: &str = "actor:Location.organization.identifier";

/// What every search handler needs besides its query.
pub(crate) struct SearchCall<'a> {
    /// The raw query string, byte for byte as received.
    pub(crate) raw_query: &'a str,
    /// The self link: the received URL.
    pub(crate) self_url: &'a str,
    /// `[base]` for `fullUrl`s.
    pub(crate) base: String,
    /// Forwarded upstream.
    pub(crate) request_id: &'a str,
    /// The system of the vendor's internal ids (SOS places without IDNST).
    pub(crate) location_system: &'a str,
}

/// A FHIR resource id: `[A-Za-z0-9-.]{1,64}`. Upstream ids that are not are refused rather than
/// emitted (the answer would fail validation anyway).
fn check_id(id: &str) -> Result<&str, FhirError> {
    let ok = !id.is_empty()
        && id.len() <= 60
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if ok {
        Ok(id)
    } else {
        tracing::warn!(id, "planning service returned an id that is not a FHIR id");
        Err(FhirError::UpstreamInvalid("planning"))
    }
}

fn digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
}

/// The window clipped to now: slots never start in the past. `None` when nothing can match.
fn clip(window: Window) -> Option<Window> {
    let start = window.start.max(Timestamp::now());
    (start <= window.end).then_some(Window { start, ..window })
}

fn in_window(slot: &Slot, window: Window) -> bool {
    slot.start >= window.start && slot.start <= window.end && slot.start < slot.end
}

/// `GET [base]/Slot`.
pub(crate) async fn search_slots(
    planning: &Internal,
    call: &SearchCall<'_>,
) -> Result<Bytes, FhirError> {
    let params = Params::parse(call.raw_query)?;
    query::common(&params)?;
    let window = query::window("start", params.all("start"))?;
    let tokens = query::tokens(PRACTITIONER_PARAM, params.one(PRACTITIONER_PARAM)?)?;
    let family = if params
        .all("_include")
        .any(|v| v == "Slot:service-type-reference")
    {
        Family::Cpts
    } else {
        Family::Individual
    };
    let mut bundle = BundleBuilder::new(call.base.clone(), family);
    // Identifiers with an unknown system or without the RPPS (8) / ADELI (0) prefix find
    // nothing; they are not an error.
    let mut lookup = String::new();
    for t in &tokens {
        if !(t.system.is_empty() || t.system == IDNPS_SYSTEM) {
            continue;
        }
        if let Some(rpps) = t.value.strip_prefix('8').filter(|v| digits(v, 11)) {
            lookup.push_str(&format!("&rpps={rpps}"));
        } else if let Some(adeli) = t.value.strip_prefix('0').filter(|v| digits(v, 9)) {
            lookup.push_str(&format!("&adeli={adeli}"));
        }
    }
    let Some(window) = clip(window) else {
        return Ok(bundle.finish(call.self_url));
    };
    if lookup.is_empty() || !query::wants_free(params.all("status")) {
        return Ok(bundle.finish(call.self_url));
    }
    let path = format!(
        "/v1/planning/slots?start={}&end={}{lookup}",
        enc(&window.start.to_string()),
        enc(&window.end.to_string())
    );
    let found: SlotSearch = planning.get_json(&path, call.request_id).await?;
    build_slots(&mut bundle, family, &found, &tokens, window)?;
    Ok(bundle.finish(call.self_url))
}

fn queried<'t>(tokens: &'t [Token], rpps: Option<&str>, adeli: Option<&str>) -> Option<&'t str> {
    let matches = |prefix: char, number: Option<&str>| {
        number.and_then(|n| {
            tokens
                .iter()
                .find(|t| {
                    t.value.len() == n.len() + 1
                        && t.value.starts_with(prefix)
                        && t.value[1..] == *n
                })
                .map(|t| t.value.as_str())
        })
    };
    matches('8', rpps).or_else(|| matches('0', adeli))
}

fn build_slots<'a>(
    bundle: &mut BundleBuilder<'a>,
    family: Family,
    found: &'a SlotSearch,
    tokens: &[Token],
    window: Window,
) -> Result<(), FhirError> {
    let allowed: &[&str] = match family {
        Family::Cpts => &["PUBLIC", "PRO", "SNP", "CPTS"],
        _ => &["PUBLIC", "PRO", "SNP"],
    };
    let mut includes = Vec::new();
    let mut seen = BTreeSet::new();
    let mut used_cpts = BTreeSet::new();
    for p in &found.practitioners {
        let Some(value) = queried(tokens, p.rpps.as_deref(), p.adeli.as_deref()) else {
            continue;
        };
        let pid = check_id(&p.id)?;
        if !seen.insert(pid) {
            continue;
        }
        let before = bundle.total();
        for place in &p.places {
            let place_id = check_id(&place.id)?;
            let (schedule_id, role_id) = (format!("sched-{place_id}"), format!("role-{place_id}"));
            let place_before = bundle.total();
            for s in place.slots.iter().filter(|s| in_window(s, window)) {
                check_id(&s.id)?;
                let services: Vec<String> =
                    if family == Family::Cpts && s.kinds.iter().any(|k| k == "CPTS") {
                        s.cpts
                            .iter()
                            .filter(|c| found.cpts.iter().any(|k| &k.id == *c))
                            .map(|c| format!("hs-{}", check_id(c).unwrap_or_default()))
                            .collect()
                    } else {
                        Vec::new()
                    };
                let kinds: Vec<&str> = s
                    .kinds
                    .iter()
                    .map(String::as_str)
                    .filter(|k| allowed.contains(k) && (*k != "CPTS" || !services.is_empty()))
                    .collect();
                if kinds.is_empty() {
                    continue;
                }
                for c in &s.cpts {
                    if !services.is_empty() {
                        used_cpts.insert(c.as_str());
                    }
                }
                bundle.matched(slot_out(
                    family,
                    s,
                    &schedule_id,
                    kinds,
                    &services,
                    place.booking_url.as_deref(),
                ));
            }
            if bundle.total() > place_before {
                includes.push(fhir::schedule(&schedule_id, pid, &role_id));
                let idnst = place.structure.idnst();
                includes.push(fhir::practitioner_role(
                    &role_id,
                    pid,
                    idnst.as_deref(),
                    place.phone.as_deref(),
                    &format!("loc-{place_id}"),
                    &place.address,
                ));
            }
        }
        if bundle.total() > before {
            includes.push(fhir::practitioner(
                pid,
                value,
                p.family.as_deref(),
                p.given.as_deref(),
            ));
        }
    }
    for c in found
        .cpts
        .iter()
        .filter(|c| used_cpts.contains(c.id.as_str()))
    {
        let id = check_id(&c.id)?;
        includes.push(fhir::cpts_service(&format!("hs-{id}"), id));
        includes.push(fhir::organization(
            false,
            id,
            &format!("1{}", c.finess),
            c.name.as_deref(),
            c.phone.as_deref(),
        ));
    }
    for r in includes {
        bundle.include(r);
    }
    Ok(())
}

/// `GET [base]/Schedule` (SOS Médecins).
pub(crate) async fn search_schedules(
    planning: &Internal,
    call: &SearchCall<'_>,
) -> Result<Bytes, FhirError> {
    let params = Params::parse(call.raw_query)?;
    query::common(&params)?;
    let window = query::window(
        "_has:Slot:schedule:start",
        params.all("_has:Slot:schedule:start"),
    )?;
    let tokens = query::tokens(ASSOCIATION_PARAM, params.one(ASSOCIATION_PARAM)?)?;
    let mut bundle = BundleBuilder::new(call.base.clone(), Family::Sos);
    let mut lookup = String::new();
    for t in &tokens {
        if (t.system.is_empty() || t.system == IDNST_SYSTEM)
            && let Some(siret) = t.value.strip_prefix('3').filter(|v| digits(v, 14))
        {
            lookup.push_str(&format!("&siret={siret}"));
        }
    }
    let Some(window) = clip(window) else {
        return Ok(bundle.finish(call.self_url));
    };
    if lookup.is_empty() || !query::wants_free(params.all("_has:Slot:schedule:status")) {
        return Ok(bundle.finish(call.self_url));
    }
    let path = format!(
        "/v1/planning/sos?start={}&end={}{lookup}",
        enc(&window.start.to_string()),
        enc(&window.end.to_string())
    );
    let found: SosSearch = planning.get_json(&path, call.request_id).await?;
    let mut includes = Vec::new();
    for a in &found.associations {
        let org_id = check_id(&a.id)?;
        let before = bundle.total();
        for place in &a.places {
            let place_id = check_id(&place.id)?;
            let schedule_id = format!("sched-{place_id}");
            let place_before = bundle.total();
            for s in place.slots.iter().filter(|s| in_window(s, window)) {
                check_id(&s.id)?;
                let kinds: Vec<&str> = s
                    .kinds
                    .iter()
                    .map(String::as_str)
                    .filter(|k| matches!(*k, "PUBLIC" | "SNP"))
                    .collect();
                if kinds.is_empty() {
                    continue;
                }
                let comment = s.booking_url.as_deref().or(place.booking_url.as_deref());
                bundle.matched(slot_out(Family::Sos, s, &schedule_id, kinds, &[], comment));
            }
            if bundle.total() > place_before {
                let idnst = place.structure.idnst();
                let identifier = match idnst.as_deref() {
                    Some(v) => ("IDNST", IDNST_SYSTEM, v),
                    None => ("INTRN", call.location_system, place_id),
                };
                let hours = place
                    .hours
                    .iter()
                    .map(|h| {
                        let mut v = json!({ "daysOfWeek": h.days });
                        if let Some(o) = &h.opens {
                            v["openingTime"] = json!(seconds(o));
                        }
                        if let Some(c) = &h.closes {
                            v["closingTime"] = json!(seconds(c));
                        }
                        v
                    })
                    .collect();
                includes.push(fhir::sos_schedule(&schedule_id, place_id));
                includes.push(fhir::sos_location(&SosLocation {
                    id: place_id,
                    identifier,
                    name: place.name.as_deref(),
                    address: &place.address,
                    phone: place.phone.as_deref(),
                    hours,
                    organization_id: org_id,
                }));
            }
        }
        if bundle.total() > before {
            includes.push(fhir::organization(
                true,
                org_id,
                &format!("3{}", a.siret),
                a.name.as_deref(),
                None,
            ));
        }
    }
    for r in includes {
        bundle.include(r);
    }
    Ok(bundle.finish(call.self_url))
}

/// `08:00` → `08:00:00` (FHIR `time` needs seconds).
fn seconds(t: &str) -> String {
    if t.len() == 5 {
        format!("{t}:00")
    } else {
        t.to_owned()
    }
}
