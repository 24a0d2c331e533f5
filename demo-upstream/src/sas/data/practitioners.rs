//! The demo's practitioners: the three named ones, an ADELI-only one, one per input of the ANS SAS
//! test kit, and the generated ones for benchmarks, with the slot patterns of their places.

use std::sync::LazyLock;

use serde_json::json;

use super::{
    BENCH_RPPS_PREFIX, DEMO_RPPS, KIT_MULTI_CPTS, KIT_ONE_PLACE, KIT_TOGETHER, Pattern,
    Practitioner, place,
};

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

/// [`KIT_ONE_PLACE`]: CPTS slots all linked to one CPTS (the one with a name and a phone), and
/// every other slot type and consultation mode, which the kit's "options" group compares with
/// what the operator declares (PUBLIC, PRO, SNP; AMB, VR, HH).
const ONE_CPTS: &[Pattern] = &[
    (8, 30, &["PUBLIC", "CPTS"], &["AMB"], &["cpts-axe-majeur"]),
    (10, 0, &["CPTS"], &["AMB"], &["cpts-axe-majeur"]),
    (11, 30, &["PUBLIC", "PRO"], &["AMB"], &[]),
    (14, 30, &["SNP"], &["VR"], &[]),
    (17, 0, &["PUBLIC", "CPTS"], &["HH"], &["cpts-axe-majeur"]),
];

/// [`KIT_MULTI_CPTS`]'s first place: one slot for one CPTS, one shared by two.
const MULTI_CPTS_A: &[Pattern] = &[
    (9, 0, &["CPTS"], &["AMB"], &["cpts-axe-majeur"]),
    (11, 0, &["CPTS"], &["AMB"], &["cpts-axe-majeur", "cpts-sud"]),
];

/// [`KIT_MULTI_CPTS`]'s second place: slots for the other CPTS only.
const MULTI_CPTS_B: &[Pattern] = &[
    (10, 0, &["CPTS"], &["AMB"], &["cpts-sud"]),
    (15, 30, &["CPTS"], &["VR"], &["cpts-sud"]),
];

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
        Practitioner {
            id: "pr-kit-un-lieu".into(),
            rpps: Some(KIT_ONE_PLACE.into()),
            adeli: None,
            family: "Petit",
            given: "Claire",
            places: vec![place(
                "pl-pontoise",
                json!({"finess": "950000010"}),
                "3 RUE DE L'HOTEL DE VILLE",
                "Pontoise",
                "95300",
                Some("+33130000010"),
                ONE_CPTS,
            )],
        },
        Practitioner {
            id: "pr-kit-multi-cpts".into(),
            rpps: Some(KIT_MULTI_CPTS.into()),
            adeli: None,
            family: "Moreau",
            given: "Julien",
            places: vec![
                place(
                    "pl-osny",
                    json!({"finess": "950000011"}),
                    "12 RUE DE GISORS",
                    "Osny",
                    "95520",
                    Some("+33130000011"),
                    MULTI_CPTS_A,
                ),
                place(
                    "pl-eragny",
                    json!({"siret": "95000001200017"}),
                    "4 PLACE DU MARCHE",
                    "Eragny",
                    "95610",
                    Some("+33130000012"),
                    MULTI_CPTS_B,
                ),
            ],
        },
        Practitioner {
            id: "pr-kit-ensemble-1".into(),
            rpps: Some(KIT_TOGETHER[0].into()),
            adeli: None,
            family: "Bernard",
            given: "Sophie",
            places: vec![place(
                "pl-albi",
                json!({"finess": "810000013"}),
                "8 RUE MARIES",
                "Albi",
                "81000",
                Some("+33563000013"),
                STANDARD,
            )],
        },
        Practitioner {
            id: "pr-kit-ensemble-2".into(),
            rpps: Some(KIT_TOGETHER[1].into()),
            adeli: None,
            family: "Lefevre",
            given: "Thomas",
            places: vec![place(
                "pl-castres",
                json!({"rpps_rang": "10100050110001"}),
                "21 BOULEVARD CLEMENCEAU",
                "Castres",
                "81100",
                Some("+33563000014"),
                &STANDARD[1..],
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

#[cfg(test)]
mod tests {
    //! The demo holds what the ANS kit's inputs need (`docs/ans-kit.md`); the end-to-end
    //! checks through the gateway are in `tests/tests/sas_kit_inputs.rs`.
    #![allow(clippy::unwrap_used)]
    use std::collections::BTreeSet;

    use jiff::{Timestamp, ToSpan};
    use serde_json::Value;

    use super::super::{KIT_TWO_PLACES, Place, cpts, slots};
    use super::*;

    fn by_rpps(rpps: &str) -> &'static Practitioner {
        practitioners()
            .iter()
            .find(|p| p.rpps.as_deref() == Some(rpps))
            .unwrap()
    }

    fn cpts_of(p: &Practitioner) -> BTreeSet<&'static str> {
        p.places
            .iter()
            .flat_map(|pl| pl.pattern.iter().flat_map(|s| s.4.iter().copied()))
            .collect()
    }

    /// The slots of the coming days (from now to eight days on), as the planning answers them.
    fn coming(place: &Place) -> Vec<Value> {
        let now = Timestamp::now();
        slots(
            place,
            now,
            now.checked_add(jiff::SignedDuration::from_hours(24 * 8))
                .unwrap(),
        )
    }

    #[test]
    fn kit_practitioners_are_distinct_and_unique() {
        let mut all = vec![KIT_ONE_PLACE, KIT_TWO_PLACES, KIT_MULTI_CPTS];
        all.extend(KIT_TOGETHER);
        let set: BTreeSet<&str> = all.iter().copied().collect();
        assert_eq!(set.len(), all.len());
        for rpps in all {
            let n = practitioners()
                .iter()
                .filter(|p| p.rpps.as_deref() == Some(rpps))
                .count();
            assert_eq!(n, 1, "{rpps}");
        }
    }

    #[test]
    fn kit_one_place_has_one_place_and_exactly_one_cpts_with_a_name_and_a_phone() {
        let p = by_rpps(KIT_ONE_PLACE);
        assert_eq!(p.places.len(), 1);
        let pattern = &p.places[0].pattern;
        // Non-CPTS slots (the PS indiv mode) and CPTS slots (the CPTS mode).
        assert!(pattern.iter().any(|s| s.2.iter().any(|k| *k != "CPTS")));
        assert!(pattern.iter().any(|s| s.2.contains(&"CPTS")));
        // Every CPTS slot is linked to a CPTS, and all to the same one.
        assert!(
            pattern
                .iter()
                .filter(|s| s.2.contains(&"CPTS"))
                .all(|s| !s.4.is_empty())
        );
        let linked = cpts_of(p);
        assert_eq!(linked.len(), 1);
        let id = linked.into_iter().next().unwrap();
        let all = cpts();
        let c = all
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap();
        assert!(c["name"].as_str().is_some_and(|n| !n.is_empty()));
        assert!(c["phone"].as_str().is_some_and(|n| n.starts_with("+33")));
    }

    #[test]
    fn kit_two_places_has_two_places_with_slots() {
        let p = by_rpps(KIT_TWO_PLACES);
        assert_eq!(p.places.len(), 2);
        assert!(
            p.places
                .iter()
                .all(|pl| pl.pattern.iter().any(|s| s.4.is_empty()))
        );
    }

    #[test]
    fn kit_multi_cpts_has_two_places_and_cpts_only_slots_one_shared_by_two() {
        let p = by_rpps(KIT_MULTI_CPTS);
        assert_eq!(p.places.len(), 2);
        let slots: Vec<&Pattern> = p.places.iter().flat_map(|pl| pl.pattern.iter()).collect();
        assert!(slots.iter().all(|s| s.2 == ["CPTS"] && !s.4.is_empty()));
        let linked = cpts_of(p);
        assert!(linked.len() >= 2, "{linked:?}");
        assert!(slots.iter().any(|s| s.4.len() >= 2), "a shared slot");
        // A slot for each CPTS alone too (the kit's "two slots, two CPTS" group).
        for c in &linked {
            assert!(slots.iter().any(|s| s.4 == [*c]), "{c} alone");
        }
        let known: BTreeSet<String> = cpts()
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect();
        assert!(linked.iter().all(|c| known.contains(*c)));
    }

    #[test]
    fn kit_together_are_two_practitioners_with_one_place_each() {
        for rpps in KIT_TOGETHER {
            let p = by_rpps(rpps);
            assert_eq!(p.places.len(), 1, "{rpps}");
            assert!(p.places[0].pattern.iter().any(|s| s.4.is_empty()), "{rpps}");
        }
    }

    #[test]
    fn kit_practitioners_have_free_slots_every_coming_day() {
        let tz = jiff::tz::TimeZone::get("Europe/Paris").unwrap();
        let today = Timestamp::now().to_zoned(tz.clone()).date();
        let mut all = vec![KIT_ONE_PLACE, KIT_TWO_PLACES, KIT_MULTI_CPTS];
        all.extend(KIT_TOGETHER);
        for rpps in all {
            for place in &by_rpps(rpps).places {
                let days: BTreeSet<jiff::civil::Date> = coming(place)
                    .iter()
                    .map(|s| {
                        s["start"]
                            .as_str()
                            .unwrap()
                            .parse::<Timestamp>()
                            .unwrap()
                            .to_zoned(tz.clone())
                            .date()
                    })
                    .collect();
                // Tomorrow and the day after tomorrow, the last day of the kit's window.
                for d in 1..=2 {
                    let day = today.checked_add(d.days()).unwrap();
                    assert!(days.contains(&day), "{rpps} {}: {day}", place.id);
                }
            }
        }
    }
}
