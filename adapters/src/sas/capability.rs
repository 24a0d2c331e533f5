//! `GET [base]/metadata`: the FHIR R4 CapabilityStatement of one SAS FHIR base.
//!
//! It says what [`super::inbound`] really serves, no more: the Slot search (INT_R01, and
//! INT_R04 with `_include=Slot:service-type-reference`), the Schedule search (SOS Médecins),
//! the Practitioner create and conditional update (INT_R02), JSON only. It `instantiates` the
//! SAS guide's CapabilityStatements for the vendor's role (gestionnaire d'agenda PS indiv, CPTS
//! and SOS; gestionnaire de structure), a subset of which it implements, as FHIR allows: the
//! guide also lists `read` (and a Practitioner search) on Slot, Schedule and Practitioner,
//! which the planning service cannot answer and SAS never sends. `docs/sas-fhir.md` lists the
//! differences with the guide's statements.

use serde_json::{Value, json};

use super::bundle::Family;
use super::slots::{ASSOCIATION_PARAM, PRACTITIONER_PARAM};

/// When this statement's content last changed (CapabilityStatement.date).
const DATE: &str = "2026-12-01";
/// The SAS implementation guide's canonical URL.
pub(crate) const IG: &str = "https://interop.esante.gouv.fr/ig/fhir/sas";
const SAS_PROFILE: &str = "http://sas.fr/fhir/StructureDefinition/";
const IG_PROFILE: &str = "https://interop.esante.gouv.fr/ig/fhir/sas/StructureDefinition/";
const HL7_SEARCH: &str = "http://hl7.org/fhir/SearchParameter/";

/// The guide's CapabilityStatements for the vendor as a server (package `ans.fhir.fr.sas`
/// 1.1.0, the version the ANS test kit validates against, and 1.2.0).
pub(crate) const INSTANTIATES: [&str; 4] = [
    "https://interop.esante.gouv.fr/ig/fhir/sas/CapabilityStatement/SAS-GestionnaireAgenda-PsIndiv",
    "https://interop.esante.gouv.fr/ig/fhir/sas/CapabilityStatement/SAS-GestionnaireAgenda-CPTS",
    "https://interop.esante.gouv.fr/ig/fhir/sas/CapabilityStatement/SAS-GestionnaireAgenda-SOS",
    "https://interop.esante.gouv.fr/ig/fhir/sas/CapabilityStatement/SAS-GestionnaireStructure",
];

/// The media types this base speaks (answers are always `application/fhir+json`; `Accept`
/// and `_format` may name the legacy `application/json+fhir` or `application/json` too).
pub(crate) const FORMATS: [&str; 2] = ["application/fhir+json", "json"];

fn param(name: &str, kind: &str, definition: &str, documentation: &str) -> Value {
    json!({
        "name": name,
        "definition": definition,
        "type": kind,
        "documentation": documentation,
    })
}

/// The statement for the base `base` (`[origin][route prefix]`), served by the route `route`.
pub(crate) fn statement(base: &str, route: &str) -> Value {
    json!({
        "resourceType": "CapabilityStatement",
        "id": "sas-fhir-base",
        "url": format!("{base}/metadata"),
        "version": env!("CARGO_PKG_VERSION"),
        "name": "SasFhirBase",
        "title": "SAS FHIR base of the SOAP/mTLS interoperability gateway",
        "status": "active",
        "experimental": false,
        "date": DATE,
        "description": "The vendor's FHIR base for the SAS platform (ANS): slot searches for individual practitioners (INT_R01) and practitioners in CPTS (INT_R04), SOS Médecins schedule searches, and regulator accounts (INT_R02). Mutual TLS with the SAS platform's IGC Santé certificate.",
        "kind": "instance",
        "instantiates": INSTANTIATES,
        "software": {
            "name": "SOAP/mTLS interoperability gateway",
            "version": env!("CARGO_PKG_VERSION"),
        },
        "implementation": {
            "description": format!("route {route}"),
            "url": base,
        },
        "fhirVersion": "4.0.1",
        "format": FORMATS,
        "implementationGuide": [IG],
        "rest": [{
            "mode": "server",
            "documentation": "Searches answer a searchset Bundle with one profile per resource (PS indiv, CPTS or SOS family) and a self link that repeats the received query byte for byte; nothing found is 200 with total 0. Errors: 400, 404, 405, 415, 422, 502 and 504, each with an issue list.",
            "security": {
                "cors": false,
                "service": [{
                    "coding": [{
                        "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                        "code": "Certificates",
                    }],
                }],
                "description": "Mutual TLS (TLS 1.2 or later): the client certificate must chain to the environment's IGC Santé authorities, be unrevoked, and carry the SAS platform's CN and OU for this environment.",
            },
            "resource": [slot(), schedule(), practitioner()],
        }],
    })
}

fn slot() -> Value {
    let slot_profiles = [Family::Individual, Family::Cpts, Family::Sos].map(Family::slot_profile);
    json!({
        "type": "Slot",
        "supportedProfile": slot_profiles,
        "documentation": format!("INT_R01 and INT_R04 slot search. `{PRACTITIONER_PARAM}` (1 to 25 `system|value` national identifiers, comma-separated), `start` twice (`ge` and `le`) and `status=free` select the slots; `_include=Slot:service-type-reference` asks for the CPTS family (HealthcareService and Organization of each CPTS). `_count` and `_format` are accepted."),
        "interaction": [{ "code": "search-type" }],
        "searchInclude": [
            "Slot:schedule",
            "Schedule:actor",
            "Slot:service-type-reference",
            "HealthcareService:organization",
        ],
        "searchParam": [
            param("start", "date", &format!("{IG}/SearchParameter/slot-sp-start"),
                "Required twice, `ge<dateTime>` and `le<dateTime>` (AND); without an offset the time is Europe/Paris."),
            param("schedule", "reference", &format!("{HL7_SEARCH}Slot-schedule"),
                &format!("Required, only as the chain `{PRACTITIONER_PARAM}`: an OR-list of 1 to 25 `urn:oid:1.2.250.1.71.4.2.1|<8 + RPPS or 0 + ADELI>`.")),
            param("status", "token", &format!("{HL7_SEARCH}Slot-status"),
                "`free` (the only status exposed)."),
            param("service-type-reference", "reference", &format!("{IG}/SearchParameter/cptsslot-sp-servicetype"),
                "Used as `_include=Slot:service-type-reference` (INT_R04)."),
        ],
    })
}

fn schedule() -> Value {
    json!({
        "type": "Schedule",
        "supportedProfile": [
            format!("{SAS_PROFILE}FrScheduleAgregateur"),
            format!("{IG_PROFILE}sas-sos-schedule-aggregator"),
        ],
        "documentation": format!("SOS Médecins schedule search: `{ASSOCIATION_PARAM}` (1 to 25 `urn:oid:1.2.250.1.71.4.2.2|3<SIRET>`), `_has:Slot:schedule:start` twice (`ge` and `le`) and `_has:Slot:schedule:status=free`; one Schedule per place, its Slots, Location and Organization."),
        "interaction": [{ "code": "search-type" }],
        "searchInclude": ["Schedule:actor:Location", "Location:organization"],
        "searchRevInclude": ["Slot:schedule"],
        "searchParam": [
            param("actor", "reference", &format!("{HL7_SEARCH}Schedule-actor"),
                &format!("Required, only as the chain `{ASSOCIATION_PARAM}` (SOS associations by SIRET).")),
            param("_has", "special", &format!("{HL7_SEARCH}Resource-has"),
                "`_has:Slot:schedule:start` (`ge` and `le`, required) and `_has:Slot:schedule:status=free`."),
        ],
    })
}

fn practitioner() -> Value {
    json!({
        "type": "Practitioner",
        "profile": format!("{IG_PROFILE}FrPractitionerRegul"),
        "supportedProfile": [
            format!("{IG_PROFILE}FrPractitionerRegul"),
            format!("{SAS_PROFILE}FrPractitionerAgregateur"),
        ],
        "documentation": "INT_R02 regulator accounts: create, and conditional update by identifier (national `urn:oid:1.2.250.1.71.4.2.1` or SAS technical `urn:oid:1.2.250.1.213.3.6`), which creates the account when nothing matches. Bodies are FrPractitionerRegul JSON; the server allocates ids. In search answers, Practitioners carry FrPractitionerAgregateur.",
        "interaction": [
            { "code": "create", "documentation": "POST [base]/Practitioner: 201 with Location; a second create of the same account is 422." },
            { "code": "update", "documentation": "Conditional form only: PUT [base]/Practitioner?identifier=<system>|<value> (the value may be percent-encoded): 200 with Location, or 201 when nothing matched." },
        ],
        "versioning": "no-version",
        "readHistory": false,
        "updateCreate": true,
        "conditionalCreate": false,
        "conditionalRead": "not-supported",
        "conditionalUpdate": true,
        "conditionalDelete": "not-supported",
        "searchParam": [
            param("identifier", "token", &format!("{HL7_SEARCH}Practitioner-identifier"),
                "The condition of the conditional update (not a search)."),
        ],
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_statement_names_its_base_and_what_it_serves() {
        let cs = statement("https://gw.example/sas/recette/fhir", "sas-recette-fhir");
        assert_eq!(
            cs["implementation"]["url"],
            "https://gw.example/sas/recette/fhir"
        );
        assert_eq!(cs["kind"], "instance");
        assert_eq!(cs["fhirVersion"], "4.0.1");
        let types: Vec<&str> = cs["rest"][0]["resource"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["type"].as_str().unwrap())
            .collect();
        assert_eq!(types, ["Slot", "Schedule", "Practitioner"]);
        // The slot profiles are the ones the bundles carry.
        assert_eq!(
            cs["rest"][0]["resource"][0]["supportedProfile"][1],
            Family::Cpts.slot_profile()
        );
    }
}
