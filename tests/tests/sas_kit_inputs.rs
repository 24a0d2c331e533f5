//! The demo holds one practitioner per input of the ANS SAS test kit (`docs/ans-kit.md`, "The
//! data to give the kit"): each is searched through the gateway over mTLS the way the kit
//! searches it (its parameters, its window from now to the end of the day after tomorrow, its
//! two modes), and the answer passes the kit's checks of that input, replayed with the kit's
//! FHIRPath by `tests/python/sas_kit_check.py`, and the structural checks of `sas_check.py`.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;
mod sas_support;

use demo_upstream::sas::{KIT_MULTI_CPTS, KIT_ONE_PLACE, KIT_TOGETHER, KIT_TWO_PLACES};
use jiff::ToSpan;
use serde_json::{Value, json};

use sas_support::*;

/// The kit's two modes (its `launch_version` option).
#[derive(Clone, Copy)]
enum Launch {
    /// "IG version PS indiv" (`ig_launch_1`).
    PsIndiv,
    /// "IG version CPTS" (`ig_launch_2`).
    Cpts,
}

impl Launch {
    fn name(self) -> &'static str {
        match self {
            Self::PsIndiv => "psindiv",
            Self::Cpts => "cpts",
        }
    }
}

/// The kit's window (`SetupHelper.calculate_date_range`): from now to the earliest of now + 72 h
/// and the end of the day after tomorrow, both written as Paris local time to the second.
fn kit_window() -> (String, String) {
    let tz = jiff::tz::TimeZone::get("Europe/Paris").unwrap();
    let now = jiff::Timestamp::now().to_zoned(tz.clone());
    let end_of_day_2 = now
        .date()
        .checked_add(2.days())
        .unwrap()
        .to_datetime(jiff::civil::Time::constant(23, 59, 59, 0))
        .to_zoned(tz)
        .unwrap();
    let in_72h = now.checked_add(72.hours()).unwrap();
    let end = if in_72h < end_of_day_2 {
        in_72h
    } else {
        end_of_day_2
    };
    let f = |z: &jiff::Zoned| z.strftime("%Y-%m-%dT%H:%M:%S").to_string();
    (f(&now), f(&end))
}

/// The kit's search (`SetupHelper.build_slot_search_params`, parameters sorted as its HTTP
/// library sends them) for prefixed RPPS values; and the window's end.
fn kit_search(launch: Launch, rpps: &[&str]) -> (String, String) {
    let (start, end) = kit_window();
    let ids = rpps
        .iter()
        .map(|r| format!("urn:oid:1.2.250.1.71.4.2.1%7C{r}"))
        .collect::<Vec<_>>()
        .join(",");
    let q = match launch {
        // Local time labelled +00:00, as the kit writes it in this mode.
        Launch::PsIndiv => format!(
            "/Slot?_include=Slot:schedule&_include:iterate=Schedule:actor&schedule.actor:Practitioner.identifier={ids}&start=ge{start}.000%2B00:00&start=le{end}.000%2B00:00&status=free"
        ),
        Launch::Cpts => format!(
            "/Slot?_include=Slot:schedule&_include=Slot:service-type-reference&_include:iterate=Schedule:actor&_include:iterate=HealthcareService:organization&schedule.actor:Practitioner.identifier={ids}&start=ge{start}.000&start=le{end}.000&status=free"
        ),
    };
    (q, end)
}

/// Searches `rpps` as the kit does in `launch` mode and runs the kit's checks of `group`.
async fn kit_input(launch: Launch, group: &str, rpps: &[&str]) -> Value {
    let s = stack().await;
    let prefixed: Vec<String> = rpps.iter().map(|r| format!("8{r}")).collect();
    let refs: Vec<&str> = prefixed.iter().map(String::as_str).collect();
    let (q, end) = kit_search(launch, &refs);
    let a = fhir_get(&s, &q).await;
    a.assert_status(200);
    python_check(
        launch.name(),
        &json!({ "self": self_url(&q), "identifiers": prefixed }),
        &a.body,
    );
    let expect = json!({ "launch": launch.name(), "rpps": prefixed, "date_fin": end });
    python_script("sas_kit_check.py", &[group, &expect.to_string()], &a.body)
}

#[tokio::test]
async fn kit_practitioner_id_ps_indiv_one_place_with_slots_until_the_day_after_tomorrow() {
    let summary = kit_input(Launch::PsIndiv, "one_place", &[KIT_ONE_PLACE]).await;
    assert!(summary["slots"].as_u64().unwrap() >= 2, "{summary}");
    // What the operator declares in the kit's "options" group (docs/ans-kit.md).
    assert_eq!(summary["slot_types"], json!(["PRO", "PUBLIC", "SNP"]));
    assert_eq!(summary["modes"], json!(["AMB", "HH", "VR"]));
}

#[tokio::test]
async fn kit_practitioner_id_cpts_one_place_linked_to_exactly_one_cpts_with_a_name_and_a_phone() {
    let summary = kit_input(Launch::Cpts, "one_place", &[KIT_ONE_PLACE]).await;
    assert_eq!(summary["cpts"], "CPTS AXE MAJEUR", "{summary}");
    assert_eq!(
        summary["slot_types"],
        json!(["CPTS", "PRO", "PUBLIC", "SNP"])
    );
    assert_eq!(summary["modes"], json!(["AMB", "HH", "VR"]));
    assert!(summary["cpts_slots"].as_u64().unwrap() >= 1, "{summary}");
}

#[tokio::test]
async fn kit_practitioner_id2_ps_indiv_has_exactly_two_places() {
    let summary = kit_input(Launch::PsIndiv, "two_places", &[KIT_TWO_PLACES]).await;
    assert_eq!(summary["roles"], 2);
}

/// In CPTS mode the kit reads `practitioner_id2` both for "two places" and for the multi-CPTS
/// groups: the same practitioner passes both.
#[tokio::test]
async fn kit_practitioner_id2_cpts_two_places_cpts_only_slots_one_shared_by_two_cpts() {
    let summary = kit_input(Launch::Cpts, "multi_cpts", &[KIT_MULTI_CPTS]).await;
    assert_eq!(summary["roles"], 2);
    assert_eq!(summary["cpts"], json!(["1950047225", "1950047226"]));
    assert!(summary["shared"].as_u64().unwrap() >= 1, "{summary}");
}

#[tokio::test]
async fn kit_practitioner_id3_and_id4_are_two_practitioners_queried_together() {
    for launch in [Launch::PsIndiv, Launch::Cpts] {
        let summary = kit_input(launch, "together", &KIT_TOGETHER).await;
        assert_eq!(summary["practitioners"].as_array().unwrap().len(), 2);
    }
}

/// The inputs are what the kit needs, not more: the multi-CPTS practitioner is invisible in
/// PS indiv mode (all its slots are CPTS-only), and the two-places one has no CPTS slot.
#[tokio::test]
async fn each_kit_input_is_for_its_mode() {
    let s = stack().await;
    let (q, _) = kit_search(Launch::PsIndiv, &[&format!("8{KIT_MULTI_CPTS}")]);
    let a = fhir_get(&s, &q).await;
    assert_eq!(a.json()["total"], 0);
    let (q, _) = kit_search(Launch::Cpts, &[&format!("8{KIT_TWO_PLACES}")]);
    let a = fhir_get(&s, &q).await;
    let v = a.json();
    assert!(v["total"].as_u64().unwrap() > 0);
    let services = v["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["resource"]["resourceType"] == "HealthcareService")
        .count();
    assert_eq!(services, 0);
}
