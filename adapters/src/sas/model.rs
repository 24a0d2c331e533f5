//! The vendor's internal planning and account services, as `docs/openapi/planning.yaml` and
//! `docs/openapi/accounts.yaml` describe them. Fields the FHIR side does not need are ignored;
//! optional data stays `None` and is then left out of the FHIR answer (never `""`).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// `GET /v1/planning/slots` answer.
#[derive(Debug, Deserialize)]
pub(crate) struct SlotSearch {
    /// Practitioners that matched, with their places and free slots.
    #[serde(default)]
    pub(crate) practitioners: Vec<Practitioner>,
    /// The CPTS that slots refer to.
    #[serde(default)]
    pub(crate) cpts: Vec<Cpts>,
}

/// One practitioner.
#[derive(Debug, Deserialize)]
pub(crate) struct Practitioner {
    pub(crate) id: String,
    /// 11-digit RPPS number, unprefixed.
    pub(crate) rpps: Option<String>,
    /// 9-digit ADELI number, unprefixed.
    pub(crate) adeli: Option<String>,
    pub(crate) family: Option<String>,
    pub(crate) given: Option<String>,
    #[serde(default)]
    pub(crate) places: Vec<Place>,
}

/// A practice place (one PractitionerRole and one Schedule each).
#[derive(Debug, Deserialize)]
pub(crate) struct Place {
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) structure: Structure,
    pub(crate) phone: Option<String>,
    pub(crate) address: Address,
    /// The agenda's booking URL (SAS appends `origin=…`).
    pub(crate) booking_url: Option<String>,
    #[serde(default)]
    pub(crate) slots: Vec<Slot>,
}

/// The structure identifiers a place may have, unprefixed.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Structure {
    pub(crate) finess: Option<String>,
    pub(crate) siret: Option<String>,
    pub(crate) rpps_rang: Option<String>,
    pub(crate) adeli_rang: Option<String>,
}

impl Structure {
    /// The prefixed IDNST the guide asks for: FINESS first, then SIRET, then RPPS/ADELI rang.
    pub(crate) fn idnst(&self) -> Option<String> {
        fn nonempty(v: &Option<String>) -> Option<&str> {
            v.as_deref().filter(|s| !s.is_empty())
        }
        nonempty(&self.finess)
            .map(|v| format!("1{v}"))
            .or_else(|| nonempty(&self.siret).map(|v| format!("3{v}")))
            .or_else(|| nonempty(&self.rpps_rang).map(|v| format!("4{v}")))
            .or_else(|| nonempty(&self.adeli_rang).map(|v| format!("0{v}")))
    }
}

/// A postal address.
#[derive(Debug, Deserialize)]
pub(crate) struct Address {
    pub(crate) line: String,
    pub(crate) city: String,
    pub(crate) postal_code: String,
}

/// A free slot.
#[derive(Debug, Deserialize)]
pub(crate) struct Slot {
    pub(crate) id: String,
    #[serde(deserialize_with = "instant")]
    pub(crate) start: Timestamp,
    #[serde(deserialize_with = "instant")]
    pub(crate) end: Timestamp,
    /// Slot types: `PUBLIC`, `PRO`, `SNP`, `CPTS`.
    #[serde(default)]
    pub(crate) kinds: Vec<String>,
    /// Consultation modes: `AMB`, `HH`, `VR`.
    #[serde(default)]
    pub(crate) modes: Vec<String>,
    pub(crate) reason: Option<String>,
    pub(crate) specialty: Option<Specialty>,
    /// Without appointment (`WALKIN`) rather than bookable (`ROUTINE`).
    #[serde(default)]
    pub(crate) walk_in: bool,
    /// Ids of the CPTS the slot is visible to.
    #[serde(default)]
    pub(crate) cpts: Vec<String>,
    /// The slot's own booking URL, if any (SOS prefers it).
    pub(crate) booking_url: Option<String>,
}

/// A specialty: a TRE_R38 code, or free text.
#[derive(Debug, Deserialize)]
pub(crate) struct Specialty {
    pub(crate) code: Option<String>,
    pub(crate) text: Option<String>,
}

/// A CPTS (Communauté Professionnelle Territoriale de Santé).
#[derive(Debug, Deserialize)]
pub(crate) struct Cpts {
    pub(crate) id: String,
    /// 9-digit FINESS, unprefixed.
    pub(crate) finess: String,
    pub(crate) name: Option<String>,
    pub(crate) phone: Option<String>,
}

/// `GET /v1/planning/sos` answer.
#[derive(Debug, Deserialize)]
pub(crate) struct SosSearch {
    #[serde(default)]
    pub(crate) associations: Vec<SosAssociation>,
}

/// A SOS Médecins association.
#[derive(Debug, Deserialize)]
pub(crate) struct SosAssociation {
    pub(crate) id: String,
    /// 14-digit SIRET, unprefixed.
    pub(crate) siret: String,
    pub(crate) name: Option<String>,
    #[serde(default)]
    pub(crate) places: Vec<SosPlace>,
}

/// A fixed consultation place of an association.
#[derive(Debug, Deserialize)]
pub(crate) struct SosPlace {
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) structure: Structure,
    pub(crate) name: Option<String>,
    pub(crate) address: Address,
    pub(crate) phone: Option<String>,
    #[serde(default)]
    pub(crate) hours: Vec<Hours>,
    pub(crate) booking_url: Option<String>,
    #[serde(default)]
    pub(crate) slots: Vec<Slot>,
}

/// Opening hours.
#[derive(Debug, Deserialize)]
pub(crate) struct Hours {
    pub(crate) days: Vec<String>,
    pub(crate) opens: Option<String>,
    pub(crate) closes: Option<String>,
}

/// A regulator account, as the accounts service stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Regulator {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) national_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) sas_id: Option<String>,
    pub(crate) active: bool,
    pub(crate) family: String,
    pub(crate) given: String,
    pub(crate) email: String,
}

/// The accounts service's answer to a write: the account's id.
#[derive(Debug, Deserialize)]
pub(crate) struct Saved {
    pub(crate) id: String,
}

/// An RFC 3339 instant with an offset.
fn instant<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
    let text = String::deserialize(d)?;
    text.parse().map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::Structure;

    fn s(
        finess: Option<&str>,
        siret: Option<&str>,
        rpps: Option<&str>,
        adeli: Option<&str>,
    ) -> Structure {
        let own = |v: Option<&str>| v.map(str::to_owned);
        Structure {
            finess: own(finess),
            siret: own(siret),
            rpps_rang: own(rpps),
            adeli_rang: own(adeli),
        }
    }

    #[test]
    fn the_structure_id_prefers_finess_then_siret_then_rang_and_is_prefixed() {
        assert_eq!(
            s(Some("310000001"), Some("12345678912345"), None, None)
                .idnst()
                .as_deref(),
            Some("1310000001")
        );
        assert_eq!(
            s(Some(""), Some("12345678912345"), None, None)
                .idnst()
                .as_deref(),
            Some("312345678912345")
        );
        assert_eq!(
            s(None, None, Some("10001288385001"), Some("1"))
                .idnst()
                .as_deref(),
            Some("410001288385001")
        );
        assert_eq!(
            s(None, None, None, Some("3198765430001"))
                .idnst()
                .as_deref(),
            Some("03198765430001")
        );
        assert_eq!(s(None, None, None, None).idnst(), None);
    }
}
