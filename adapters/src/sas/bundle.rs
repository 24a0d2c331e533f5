//! The searchset Bundle and its Slots, written with typed `Serialize` structs that borrow from
//! the planning answer: a 25-practitioner week is about 700 Slots, and building a
//! `serde_json::Value` tree for each cost most of the answer's time. Included resources are
//! few and stay `Value`s (see `fhir`).

use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;

use super::model::{Slot, Specialty};
use super::time::format_slot_time;

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
    fn bundle_profile(self) -> &'static str {
        match self {
            Self::Individual => "http://sas.fr/fhir/StructureDefinition/BundleAgregateur",
            Self::Cpts => {
                "https://interop.esante.gouv.fr/ig/fhir/sas/StructureDefinition/sas-cpts-bundle-aggregator"
            }
            Self::Sos => {
                "https://interop.esante.gouv.fr/ig/fhir/sas/StructureDefinition/sas-sos-bundle-aggregator"
            }
        }
    }

    /// The Slot profile of the family (also listed by the CapabilityStatement).
    pub(crate) fn slot_profile(self) -> &'static str {
        match self {
            Self::Individual => "http://sas.fr/fhir/StructureDefinition/FrSlotAgregateur",
            Self::Cpts => {
                "https://interop.esante.gouv.fr/ig/fhir/sas/StructureDefinition/sas-cpts-slot-aggregator"
            }
            Self::Sos => {
                "https://interop.esante.gouv.fr/ig/fhir/sas/StructureDefinition/sas-sos-slot-aggregator"
            }
        }
    }
}

#[derive(Serialize)]
struct Coding<'a> {
    system: &'static str,
    code: &'a str,
}

#[derive(Serialize)]
struct Reference {
    reference: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Extension {
    url: &'static str,
    value_reference: Reference,
}

#[derive(Serialize)]
struct Concept<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    extension: Option<[Extension; 1]>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    coding: Vec<Coding<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
}

impl<'a> Concept<'a> {
    fn code(system: &'static str, code: &'a str) -> Self {
        Self {
            extension: None,
            coding: vec![Coding { system, code }],
            text: None,
        }
    }
}

#[derive(Serialize)]
struct SlotMeta<'a> {
    profile: [&'static str; 1],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    security: Vec<Coding<'a>>,
}

/// A Slot of the answer, borrowing from the planning service's slot.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SlotOut<'a> {
    resource_type: &'static str,
    id: &'a str,
    meta: SlotMeta<'a>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    service_type: Vec<Concept<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    specialty: Option<[Concept<'a>; 1]>,
    appointment_type: Concept<'a>,
    schedule: Reference,
    status: &'static str,
    start: String,
    end: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<&'a str>,
}

fn specialty(s: &Specialty) -> Option<[Concept<'_>; 1]> {
    match (s.code.as_deref(), s.text.as_deref()) {
        (Some(code), _) if !code.is_empty() => Some([Concept::code(SPECIALTY, code)]),
        (_, Some(text)) if !text.is_empty() => Some([Concept {
            extension: None,
            coding: Vec::new(),
            text: Some(text),
        }]),
        _ => None,
    }
}

/// A Slot of `family`. `kinds` are the slot types to show (already filtered for the family),
/// `cpts_services` the HealthcareService ids of the CPTS the slot is visible to (CPTS family).
pub(crate) fn slot<'a>(
    family: Family,
    slot: &'a Slot,
    schedule_id: &str,
    kinds: Vec<&'a str>,
    cpts_services: &[String],
    comment: Option<&'a str>,
) -> SlotOut<'a> {
    let mut service_type: Vec<Concept<'a>> = slot
        .modes
        .iter()
        .map(|m| Concept::code(ACT_CODE, m))
        .collect();
    for service in cpts_services {
        service_type.push(Concept {
            extension: Some([Extension {
                url: SERVICE_TYPE_EXT,
                value_reference: Reference {
                    reference: format!("HealthcareService/{service}"),
                },
            }]),
            coding: vec![Coding {
                system: CATEGORY,
                code: "604",
            }],
            text: None,
        });
    }
    if let Some(reason) = slot.reason.as_deref().filter(|r| !r.is_empty()) {
        service_type.push(Concept {
            extension: None,
            coding: Vec::new(),
            text: Some(reason),
        });
    }
    SlotOut {
        resource_type: "Slot",
        id: &slot.id,
        meta: SlotMeta {
            profile: [family.slot_profile()],
            security: kinds
                .into_iter()
                .map(|code| Coding {
                    system: SLOT_TYPE,
                    code,
                })
                .collect(),
        },
        service_type,
        specialty: slot.specialty.as_ref().and_then(specialty),
        appointment_type: Concept::code(V2_0276, if slot.walk_in { "WALKIN" } else { "ROUTINE" }),
        schedule: Reference {
            reference: format!("Schedule/{schedule_id}"),
        },
        status: "free",
        start: format_slot_time(slot.start),
        end: format_slot_time(slot.end),
        comment: comment.filter(|c| !c.is_empty()),
    }
}

// Slots are most entries: boxing them would add one allocation per Slot to save space on the
// few included resources.
#[allow(clippy::large_enum_variant)]
#[derive(Serialize)]
#[serde(untagged)]
enum Resource<'a> {
    Slot(SlotOut<'a>),
    Other(Value),
}

#[derive(Serialize)]
struct Search {
    mode: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Entry<'a> {
    full_url: String,
    resource: Resource<'a>,
    search: Search,
}

#[derive(Serialize)]
struct Link<'a> {
    relation: &'static str,
    url: &'a str,
}

#[derive(Serialize)]
struct BundleMeta {
    profile: [&'static str; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BundleOut<'a> {
    resource_type: &'static str,
    meta: BundleMeta,
    #[serde(rename = "type")]
    kind: &'static str,
    total: usize,
    link: [Link<'a>; 1],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    entry: Vec<Entry<'a>>,
}

/// Collects a searchset answer: matching Slots first, then the included resources.
pub(crate) struct BundleBuilder<'a> {
    base: String,
    family: Family,
    slots: Vec<Entry<'a>>,
    includes: Vec<Entry<'a>>,
}

impl<'a> BundleBuilder<'a> {
    /// A new bundle whose `fullUrl`s start with `base` (`https://host:port/prefix`).
    pub(crate) fn new(base: String, family: Family) -> Self {
        Self {
            base,
            family,
            slots: Vec::new(),
            includes: Vec::new(),
        }
    }

    /// Adds a matching Slot (counted in `total`).
    pub(crate) fn matched(&mut self, slot: SlotOut<'a>) {
        let full_url = format!("{}/Slot/{}", self.base, slot.id);
        self.slots.push(Entry {
            full_url,
            resource: Resource::Slot(slot),
            search: Search { mode: "match" },
        });
    }

    /// Adds an included resource (not counted).
    pub(crate) fn include(&mut self, resource: Value) {
        let kind = resource["resourceType"].as_str().unwrap_or_default();
        let id = resource["id"].as_str().unwrap_or_default();
        let full_url = format!("{}/{kind}/{id}", self.base);
        self.includes.push(Entry {
            full_url,
            resource: Resource::Other(resource),
            search: Search { mode: "include" },
        });
    }

    /// Matching slots so far.
    pub(crate) fn total(&self) -> usize {
        self.slots.len()
    }

    /// The Bundle as JSON, with the self link copying the received URL byte for byte.
    pub(crate) fn finish(self, self_url: &str) -> Bytes {
        let total = self.slots.len();
        let mut entry = self.slots;
        entry.extend(self.includes);
        let bundle = BundleOut {
            resource_type: "Bundle",
            meta: BundleMeta {
                profile: [self.family.bundle_profile()],
            },
            kind: "searchset",
            total,
            link: [Link {
                relation: "self",
                url: self_url,
            }],
            entry,
        };
        // Serialising plain structs and `Value`s cannot fail; the fallback keeps "never panic".
        Bytes::from(serde_json::to_vec(&bundle).unwrap_or_default())
    }
}
