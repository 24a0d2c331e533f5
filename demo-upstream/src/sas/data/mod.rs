//! The demo's practitioners, places, CPTS and SOS associations, and their slot pattern.
//!
//! Besides the three practitioners named in docs/routes/sas.md, the demo holds one practitioner per input
//! the ANS SAS test kit asks the vendor for ([`KIT_ONE_PLACE`], [`KIT_TWO_PLACES`],
//! [`KIT_MULTI_CPTS`], [`KIT_TOGETHER`]; `docs/ans-kit.md`, "The data to give the kit"), so
//! that an operator can rehearse the recette connectée on `gateway demo`.

mod practitioners;

use jiff::civil::{Date, Time};
use jiff::{Timestamp, ToSpan, Zoned};
use serde_json::{Value, json};

pub(crate) use practitioners::practitioners;

/// RPPS numbers (unprefixed) of the named demo practitioners: one place, two places, CPTS.
pub const DEMO_RPPS: [&str; 3] = ["10002909371", "10001288385", "10100050075"];
/// The kit's `practitioner_id`, in both modes: one practice place, free slots every day (so
/// until the day after tomorrow, the end of the kit's window); in CPTS mode its CPTS slots are
/// linked to exactly one CPTS, whose Organization has a name and a phone. Also non-CPTS slots,
/// so that the PS indiv mode sees it too.
pub const KIT_ONE_PLACE: &str = "10100050086";
/// The kit's `practitioner_id2` in PS indiv mode: exactly two practice places.
pub const KIT_TWO_PLACES: &str = DEMO_RPPS[1];
/// The kit's `practitioner_id2` in CPTS mode, which that mode reads both for "two places" and
/// for the multi-CPTS groups: exactly two places, every slot CPTS-only, at least two CPTS, one
/// slot visible to one CPTS only, another to the other only, and one slot shared by both.
pub const KIT_MULTI_CPTS: &str = "10100050094";
/// The kit's `practitioner_id3` and `practitioner_id4`, queried together: one place each.
pub const KIT_TOGETHER: [&str; 2] = ["10100050102", "10100050110"];
/// Generated practitioners have RPPS `BENCH_RPPS_PREFIX` + two digits (00 to 24).
pub const BENCH_RPPS_PREFIX: &str = "199990000";

/// One slot of a place's day: local hour, minute, slot types, consultation modes, CPTS ids.
pub(crate) type Pattern = (
    i8,
    i8,
    &'static [&'static str],
    &'static [&'static str],
    &'static [&'static str],
);

/// One practitioner: id, rpps, adeli, family, given, places.
pub(crate) struct Practitioner {
    pub(crate) id: String,
    pub(crate) rpps: Option<String>,
    pub(crate) adeli: Option<String>,
    pub(crate) family: &'static str,
    pub(crate) given: &'static str,
    pub(crate) places: Vec<Place>,
}

/// A place and the slot pattern it has each day.
pub(crate) struct Place {
    pub(crate) id: String,
    pub(crate) json: Value,
    /// Local (Paris) start times of the day's slots, with their kinds, modes and CPTS.
    pub(crate) pattern: Vec<Pattern>,
}

fn place(
    id: &str,
    structure: Value,
    line: &str,
    city: &str,
    postal: &str,
    phone: Option<&str>,
    pattern: &'static [Pattern],
) -> Place {
    let mut json = json!({
        "id": id,
        "structure": structure,
        "address": { "line": line, "city": city, "postal_code": postal },
        "booking_url": format!("https://rdv.editeur.example/agenda/{id}?source=sas"),
    });
    if let Some(p) = phone {
        json["phone"] = json!(p);
    }
    Place {
        id: id.to_owned(),
        json,
        pattern: pattern.to_vec(),
    }
}

/// The CPTS the demo's slots refer to.
pub(crate) fn cpts() -> Value {
    json!([
        { "id": "cpts-axe-majeur", "finess": "950047225", "name": "CPTS AXE MAJEUR", "phone": "+33130000001" },
        { "id": "cpts-sud", "finess": "950047226", "name": "CPTS SUD" },
    ])
}

/// The SOS associations: SIRET, name, places (one with a FINESS, one with only an internal id).
pub(crate) fn sos() -> Vec<(Value, Vec<Place>)> {
    let sos_pattern: &'static [Pattern] = &[
        (8, 0, &["PUBLIC"], &["AMB"], &[]),
        (12, 0, &["SNP"], &["AMB"], &[]),
        (20, 0, &["PUBLIC"], &["HH"], &[]),
    ];
    let mut lyon = place(
        "sos-lyon-centre",
        json!({"finess": "690000001"}),
        "1 PLACE BELLECOUR",
        "Lyon",
        "69002",
        Some("+33478000000"),
        sos_pattern,
    );
    lyon.json["name"] = json!("SOS Médecins Lyon Centre");
    lyon.json["hours"] = json!([{ "days": ["mon", "tue", "wed", "thu", "fri"], "opens": "08:00", "closes": "22:00" }, { "days": ["sat", "sun"], "opens": "09:00", "closes": "20:00" }]);
    let mut villeurbanne = place(
        "sos-villeurbanne",
        json!({}),
        "3 COURS EMILE ZOLA",
        "Villeurbanne",
        "69100",
        None,
        &sos_pattern[..2],
    );
    villeurbanne.json["name"] = json!("SOS Médecins Villeurbanne");
    vec![(
        json!({ "id": "sos-lyon", "siret": "77980000000016", "name": "SOS MEDECINS LYON" }),
        vec![lyon, villeurbanne],
    )]
}

/// The place's free slots whose start falls in `[from, to]`, for the next 8 days, never past.
pub(crate) fn slots(place: &Place, from: Timestamp, to: Timestamp) -> Vec<Value> {
    let now = Timestamp::now();
    let tz = jiff::tz::TimeZone::get("Europe/Paris").unwrap_or(jiff::tz::TimeZone::UTC);
    let today: Date = now.to_zoned(tz.clone()).date();
    let mut out = Vec::new();
    for day in 0..8 {
        let Ok(date) = today.checked_add(day.days()) else {
            continue;
        };
        for &(h, m, kinds, modes, cpts) in &place.pattern {
            let Ok(start) = date
                .to_datetime(Time::constant(h, m, 0, 0))
                .to_zoned(tz.clone())
            else {
                continue;
            };
            let Ok(end): Result<Zoned, _> = start.checked_add(20.minutes()) else {
                continue;
            };
            let (s, e) = (start.timestamp(), end.timestamp());
            if s < now || s < from || s > to {
                continue;
            }
            let mut slot = json!({
                "id": format!("{}-{}{:02}{:02}-{h:02}{m:02}", place.id, date.year(), date.month(), date.day()),
                "start": s.to_string(),
                "end": e.to_string(),
                "kinds": kinds,
                "modes": modes,
                "specialty": { "code": "SM54" },
            });
            if !cpts.is_empty() {
                slot["cpts"] = json!(cpts);
            }
            if h >= 16 {
                slot["reason"] = json!("Consultation de suivi");
            }
            out.push(slot);
        }
    }
    out
}
