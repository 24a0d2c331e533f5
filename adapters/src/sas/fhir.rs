//! FHIR resource builders for the SAS answers, one profile URL per resource (the kit's FHIRPath
//! `meta.profile = '<url>'` only sees resources with exactly one), prefixed identifiers, and
//! elements left out rather than empty.

use serde_json::{Map, Value, json};

use super::model::{Address, Slot, Specialty};
use super::query::{IDNPS_SYSTEM, IDNST_SYSTEM};
use super::time::format_slot_time;

const SAS: &str = "http://sas.fr/fhir/StructureDefinition/";
const IG: &str = "https://interop.esante.gouv.fr/ig/fhir/sas/StructureDefinition/";
const V2_0203: &str = "http://interopsante.org/fhir/CodeSystem/fr-v2-0203";
const LOCATION_ID_TYPE: &str =
    "http://interopsante.org/fhir/CodeSystem/fr-location-identifier-type";
const SLOT_TYPE: &str =
    "https://mos.esante.gouv.fr/NOS/TRE_R314-TypeCreneau/FHIR/TRE-R314-TypeCreneau";
const ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
const V2_0276: &str = "http://terminology.hl7.org/CodeSystem/v2-0276";
const SPECIALTY: &str =
    "https://mos.esante.gouv.fr/NOS/TRE_R38-SpecialiteOrdinale/FHIR/TRE-R38-SpecialiteOrdinale";
const CATEGORY: &str = "https://mos.esante.gouv.fr/NOS/TRE_R66-CategorieEtablissement/FHIR/TRE-R66-CategorieEtablissement";
const SERVICE_TYPE_EXT: &str =
    "http://hl7.org/fhir/5.0/StructureDefinition/extension-Slot.serviceType";

/// The profile family of an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    /// INT_R01: individual practitioners.
    Individual,
    /// INT_R04: practitioners in CPTS (`_include=Slot:service-type-reference`).
    Cpts,
    /// SOS Médecins schedules.
    Sos,
}

impl Family {
    fn bundle_profile(self) -> String {
        match self {
            Self::Individual => format!("{SAS}BundleAgregateur"),
            Self::Cpts => format!("{IG}sas-cpts-bundle-aggregator"),
            Self::Sos => format!("{IG}sas-sos-bundle-aggregator"),
        }
    }

    fn slot_profile(self) -> String {
        match self {
            Self::Individual => format!("{SAS}FrSlotAgregateur"),
            Self::Cpts => format!("{IG}sas-cpts-slot-aggregator"),
            Self::Sos => format!("{IG}sas-sos-slot-aggregator"),
        }
    }
}

fn meta(profile: String) -> Value {
    json!({ "profile": [profile] })
}

fn coding(system: &str, code: &str) -> Value {
    json!({ "system": system, "code": code })
}

fn typed_identifier(type_system: &str, type_code: &str, system: &str, value: &str) -> Value {
    json!({
        "type": { "coding": [coding(type_system, type_code)] },
        "system": system,
        "value": value,
    })
}

fn phone(value: Option<&str>) -> Option<Value> {
    value
        .filter(|v| !v.is_empty())
        .map(|v| json!([{ "system": "phone", "value": v }]))
}

fn insert_opt(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(v) = value {
        map.insert(key.to_owned(), v);
    }
}

/// Collects a searchset answer.
pub(crate) struct BundleBuilder {
    base: String,
    family: Family,
    entries: Vec<Value>,
    total: usize,
}

impl BundleBuilder {
    /// A new bundle whose `fullUrl`s start with `base` (`https://host:port/prefix`).
    pub(crate) fn new(base: String, family: Family) -> Self {
        Self {
            base,
            family,
            entries: Vec::new(),
            total: 0,
        }
    }

    fn push(&mut self, resource: Value, mode: &str) {
        let kind = resource["resourceType"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let id = resource["id"].as_str().unwrap_or_default().to_owned();
        self.entries.push(json!({
            "fullUrl": format!("{}/{kind}/{id}", self.base),
            "resource": resource,
            "search": { "mode": mode },
        }));
    }

    /// Adds a matching Slot (counted in `total`).
    pub(crate) fn matched(&mut self, slot: Value) {
        self.total += 1;
        self.push(slot, "match");
    }

    /// Adds an included resource (not counted).
    pub(crate) fn include(&mut self, resource: Value) {
        self.push(resource, "include");
    }

    /// Matching slots so far.
    pub(crate) fn total(&self) -> usize {
        self.total
    }

    /// The Bundle, with the self link copying the received URL byte for byte.
    pub(crate) fn finish(self, self_url: &str) -> Value {
        let mut bundle = json!({
            "resourceType": "Bundle",
            "meta": meta(self.family.bundle_profile()),
            "type": "searchset",
            "total": self.total,
            "link": [{ "relation": "self", "url": self_url }],
        });
        if !self.entries.is_empty() {
            bundle["entry"] = Value::Array(self.entries);
        }
        bundle
    }
}

/// A Slot of `family`. `kinds` are the slot types to show (already filtered for the family),
/// `cpts_services` the HealthcareService ids of the CPTS the slot is visible to (CPTS family).
pub(crate) fn slot(
    family: Family,
    slot: &Slot,
    schedule_id: &str,
    kinds: &[&str],
    cpts_services: &[String],
    comment: Option<&str>,
) -> Value {
    let security: Vec<Value> = kinds.iter().map(|k| coding(SLOT_TYPE, k)).collect();
    let mut service_type: Vec<Value> = slot
        .modes
        .iter()
        .map(|m| json!({ "coding": [coding(ACT_CODE, m)] }))
        .collect();
    for service in cpts_services {
        service_type.push(json!({
            "extension": [{
                "url": SERVICE_TYPE_EXT,
                "valueReference": { "reference": format!("HealthcareService/{service}") },
            }],
            "coding": [coding(CATEGORY, "604")],
        }));
    }
    if let Some(reason) = slot.reason.as_deref().filter(|r| !r.is_empty()) {
        service_type.push(json!({ "text": reason }));
    }
    let mut m = Map::new();
    m.insert("resourceType".into(), json!("Slot"));
    m.insert("id".into(), json!(slot.id));
    let mut meta_v = meta(family.slot_profile());
    if !security.is_empty() {
        meta_v["security"] = Value::Array(security);
    }
    m.insert("meta".into(), meta_v);
    if !service_type.is_empty() {
        m.insert("serviceType".into(), Value::Array(service_type));
    }
    insert_opt(
        &mut m,
        "specialty",
        slot.specialty.as_ref().and_then(specialty),
    );
    let booking = if slot.walk_in { "WALKIN" } else { "ROUTINE" };
    m.insert(
        "appointmentType".into(),
        json!({ "coding": [coding(V2_0276, booking)] }),
    );
    m.insert(
        "schedule".into(),
        json!({ "reference": format!("Schedule/{schedule_id}") }),
    );
    m.insert("status".into(), json!("free"));
    m.insert("start".into(), json!(format_slot_time(slot.start)));
    m.insert("end".into(), json!(format_slot_time(slot.end)));
    insert_opt(
        &mut m,
        "comment",
        comment.filter(|c| !c.is_empty()).map(|c| json!(c)),
    );
    Value::Object(m)
}

fn specialty(s: &Specialty) -> Option<Value> {
    match (s.code.as_deref(), s.text.as_deref()) {
        (Some(code), _) if !code.is_empty() => {
            Some(json!([{ "coding": [coding(SPECIALTY, code)] }]))
        }
        (_, Some(text)) if !text.is_empty() => Some(json!([{ "text": text }])),
        _ => None,
    }
}

/// A Schedule of one practice place (INT_R01/R04): actors are the Practitioner and the role.
pub(crate) fn schedule(id: &str, practitioner_id: &str, role_id: &str) -> Value {
    json!({
        "resourceType": "Schedule",
        "id": id,
        "meta": meta(format!("{SAS}FrScheduleAgregateur")),
        "actor": [
            { "reference": format!("Practitioner/{practitioner_id}") },
            { "reference": format!("PractitionerRole/{role_id}") },
        ],
    })
}

/// A Practitioner whose first identifier is the queried national id, byte for byte.
pub(crate) fn practitioner(
    id: &str,
    queried_value: &str,
    family: Option<&str>,
    given: Option<&str>,
) -> Value {
    let mut m = Map::new();
    m.insert("resourceType".into(), json!("Practitioner"));
    m.insert("id".into(), json!(id));
    m.insert(
        "meta".into(),
        meta(format!("{SAS}FrPractitionerAgregateur")),
    );
    m.insert(
        "identifier".into(),
        json!([typed_identifier(
            V2_0203,
            "IDNPS",
            IDNPS_SYSTEM,
            queried_value
        )]),
    );
    let mut name = Map::new();
    insert_opt(
        &mut name,
        "family",
        family.filter(|f| !f.is_empty()).map(|f| json!(f)),
    );
    insert_opt(
        &mut name,
        "given",
        given.filter(|g| !g.is_empty()).map(|g| json!([g])),
    );
    if !name.is_empty() {
        m.insert("name".into(), json!([name]));
    }
    Value::Object(m)
}

fn address(a: &Address) -> Value {
    json!({ "line": [a.line], "city": a.city, "postalCode": a.postal_code })
}

/// A PractitionerRole of one place, with its Location contained.
pub(crate) fn practitioner_role(
    id: &str,
    practitioner_id: &str,
    idnst: Option<&str>,
    phone_number: Option<&str>,
    location_id: &str,
    location_address: &Address,
) -> Value {
    let mut m = Map::new();
    m.insert("resourceType".into(), json!("PractitionerRole"));
    m.insert("id".into(), json!(id));
    m.insert(
        "meta".into(),
        meta(format!("{SAS}FrPractitionerRoleExerciceAgregateur")),
    );
    m.insert(
        "contained".into(),
        json!([{
            "resourceType": "Location",
            "id": location_id,
            "meta": meta(format!("{SAS}FrLocationAgregateur")),
            "address": address(location_address),
        }]),
    );
    m.insert(
        "practitioner".into(),
        json!({ "reference": format!("Practitioner/{practitioner_id}") }),
    );
    insert_opt(
        &mut m,
        "organization",
        idnst.map(|v| json!({ "identifier": typed_identifier(V2_0203, "IDNST", IDNST_SYSTEM, v) })),
    );
    m.insert(
        "location".into(),
        json!([{ "reference": format!("#{location_id}") }]),
    );
    insert_opt(&mut m, "telecom", phone(phone_number));
    Value::Object(m)
}

/// The HealthcareService standing for one CPTS.
pub(crate) fn cpts_service(id: &str, organization_id: &str) -> Value {
    json!({
        "resourceType": "HealthcareService",
        "id": id,
        "meta": meta(format!("{IG}sas-cpts-healthcareservice-aggregator")),
        "providedBy": { "reference": format!("Organization/{organization_id}") },
    })
}

/// The CPTS Organization (`1` + FINESS) or the SOS association (`3` + SIRET).
pub(crate) fn organization(
    sos: bool,
    id: &str,
    idnst: &str,
    name: Option<&str>,
    phone_number: Option<&str>,
) -> Value {
    let profile = if sos {
        "sas-sos-organization-aggregator"
    } else {
        "sas-cpts-organization-aggregator"
    };
    let mut m = Map::new();
    m.insert("resourceType".into(), json!("Organization"));
    m.insert("id".into(), json!(id));
    m.insert("meta".into(), meta(format!("{IG}{profile}")));
    m.insert(
        "identifier".into(),
        json!([typed_identifier(
            LOCATION_ID_TYPE,
            "IDNST",
            IDNST_SYSTEM,
            idnst
        )]),
    );
    insert_opt(
        &mut m,
        "name",
        name.filter(|n| !n.is_empty()).map(|n| json!(n)),
    );
    insert_opt(&mut m, "telecom", phone(phone_number));
    Value::Object(m)
}

/// A SOS Schedule: one per fixed consultation place, its actor the Location.
pub(crate) fn sos_schedule(id: &str, location_id: &str) -> Value {
    json!({
        "resourceType": "Schedule",
        "id": id,
        "meta": meta(format!("{IG}sas-sos-schedule-aggregator")),
        "actor": [{ "reference": format!("Location/{location_id}") }],
    })
}

/// A SOS fixed consultation place.
pub(crate) struct SosLocation<'a> {
    pub(crate) id: &'a str,
    /// `(type code, system, value)`: IDNST, or the vendor's internal id.
    pub(crate) identifier: (&'a str, &'a str, &'a str),
    pub(crate) name: Option<&'a str>,
    pub(crate) address: &'a Address,
    pub(crate) phone: Option<&'a str>,
    pub(crate) hours: Vec<Value>,
    pub(crate) organization_id: &'a str,
}

/// A SOS Location.
pub(crate) fn sos_location(l: &SosLocation<'_>) -> Value {
    let (code, system, value) = l.identifier;
    let mut m = Map::new();
    m.insert("resourceType".into(), json!("Location"));
    m.insert("id".into(), json!(l.id));
    m.insert(
        "meta".into(),
        meta(format!("{IG}sas-sos-location-aggregator")),
    );
    m.insert(
        "identifier".into(),
        json!([typed_identifier(LOCATION_ID_TYPE, code, system, value)]),
    );
    insert_opt(
        &mut m,
        "name",
        l.name.filter(|n| !n.is_empty()).map(|n| json!(n)),
    );
    insert_opt(&mut m, "telecom", phone(l.phone));
    m.insert("address".into(), address(l.address));
    if !l.hours.is_empty() {
        m.insert("hoursOfOperation".into(), Value::Array(l.hours.clone()));
    }
    m.insert(
        "managingOrganization".into(),
        json!({ "reference": format!("Organization/{}", l.organization_id) }),
    );
    Value::Object(m)
}
