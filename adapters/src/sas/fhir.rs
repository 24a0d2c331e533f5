//! FHIR resource builders for the SAS answers, one profile URL per resource (the kit's FHIRPath
//! `meta.profile = '<url>'` only sees resources with exactly one), prefixed identifiers, and
//! elements left out rather than empty.

use serde_json::{Map, Value, json};

use super::model::Address;
use super::query::{IDNPS_SYSTEM, IDNST_SYSTEM};

const SAS: &str = "http://sas.fr/fhir/StructureDefinition/";
const IG: &str = "https://interop.esante.gouv.fr/ig/fhir/sas/StructureDefinition/";
const V2_0203: &str = "http://interopsante.org/fhir/CodeSystem/fr-v2-0203";
const LOCATION_ID_TYPE: &str =
    "http://interopsante.org/fhir/CodeSystem/fr-location-identifier-type";

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
