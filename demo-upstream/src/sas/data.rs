//! The demo's practitioners, places, CPTS and SOS associations, and their slot pattern.

use std::sync::LazyLock;

use jiff::civil::{Date, Time};
use jiff::{Timestamp, ToSpan, Zoned};
use serde_json::{Value, json};

/// RPPS numbers (unprefixed) of the named demo practitioners: one place, two places, CPTS.
pub const DEMO_RPPS: [&str; 3] = ["10002909371", "10001288385", "10100050075"];
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

const STANDARD: &[Pattern] = &[
    (9, 0, &["PUBLIC"], &["AMB"], &[]),
    (10, 30, &["PUBLIC", "PRO"], &["AMB"], &[]),
    (14, 0, &["SNP"], &["VR"], &[]),
    (16, 30, &["PUBLIC"], &["HH"], &[]),
];

const WITH_CPTS: &[Pattern] = &[
    (9, 0, &["PUBLIC", "CPTS"], &["AMB"], &["cpts-axe-majeur"]),
    (11, 0, &["CPTS"], &["AMB"], &["cpts-axe-majeur", "cpts-sud"]),
    (15, 0, &["PUBLIC"], &["AMB"], &[]),
];

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

/// Every practitioner of the demo: fixed data, built once (only the slots depend on the request
/// and the time).
pub(crate) fn practitioners() -> &'static [Practitioner] {
    static ALL: LazyLock<Vec<Practitioner>> = LazyLock::new(build_practitioners);
    &ALL
}

fn build_practitioners() -> Vec<Practitioner> {
    let mut all = vec![
        Practitioner {
            id: "pr-foret".into(),
            rpps: Some(DEMO_RPPS[0].into()),
            adeli: None,
            family: "Foret",
            given: "Pierre",
            places: vec![place(
                "pl-aussonne",
                json!({"siret": "12345678912345"}),
                "25 CHEMIN DE MOUNESTIE",
                "Aussonne",
                "31840",
                Some("+33561855977"),
                STANDARD,
            )],
        },
        Practitioner {
            id: "pr-lemaire".into(),
            rpps: Some(DEMO_RPPS[1].into()),
            adeli: None,
            family: "Lemaire",
            given: "Anne",
            places: vec![
                place(
                    "pl-toulouse",
                    json!({"finess": "310000001"}),
                    "2 RUE DU TAUR",
                    "Toulouse",
                    "31000",
                    Some("+33561000001"),
                    STANDARD,
                ),
                place(
                    "pl-blagnac",
                    json!({"rpps_rang": "10001288385001"}),
                    "1 PLACE DES ARTS",
                    "Blagnac",
                    "31700",
                    None,
                    &STANDARD[..2],
                ),
            ],
        },
        Practitioner {
            id: "pr-cpts".into(),
            rpps: Some(DEMO_RPPS[2].into()),
            adeli: None,
            family: "Garnier",
            given: "Louis",
            places: vec![place(
                "pl-cergy",
                json!({"finess": "950000002"}),
                "10 AVENUE DE L'AXE MAJEUR",
                "Cergy",
                "95000",
                Some("+33130000000"),
                WITH_CPTS,
            )],
        },
        Practitioner {
            id: "pr-adeli".into(),
            rpps: None,
            adeli: Some("319876543".into()),
            family: "Roux",
            given: "Marie",
            places: vec![place(
                "pl-muret",
                json!({"adeli_rang": "3198765430001"}),
                "5 RUE CASTELVIEL",
                "Muret",
                "31600",
                None,
                &STANDARD[2..],
            )],
        },
    ];
    for n in 0..25 {
        all.push(Practitioner {
            id: format!("pr-bench-{n:02}"),
            rpps: Some(format!("{BENCH_RPPS_PREFIX}{n:02}")),
            adeli: None,
            family: "Banc",
            given: "Essai",
            places: vec![place(
                &format!("pl-bench-{n:02}"),
                json!({"finess": format!("3100{n:05}")}),
                "1 RUE DU BANC",
                "Toulouse",
                "31000",
                Some("+33561000002"),
                STANDARD,
            )],
        });
    }
    all
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
