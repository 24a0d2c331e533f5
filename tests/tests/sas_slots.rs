//! INT_R01 / INT_R04 slot searches and SOS schedule searches through the gateway over mTLS,
//! shaped like the guide's and the kit's requests, checked with fhir.resources + fhirpathpy;
//! one test per query-encoding trap; the error answers (400, total 0, 502, 504).
#![allow(clippy::unwrap_used, missing_docs)]

mod common;
mod sas_support;

use std::time::{Duration, Instant};

use serde_json::json;

use sas_support::*;

const ONE_PLACE: &str = "810002909371";
const TWO_PLACES: &str = "810001288385";
const IN_CPTS: &str = "810100050075";
const IG_PROFILE: &str = "http://sas.fr/fhir/StructureDefinition/BundleAgregateur";

fn slot_ids(a: &common::Answer) -> Vec<String> {
    let v = a.json();
    let mut ids: Vec<String> = v["entry"]
        .as_array()
        .map(|e| {
            e.iter()
                .filter(|e| e["resource"]["resourceType"] == "Slot")
                .map(|e| e["resource"]["id"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

#[tokio::test]
async fn int_r01_search_shaped_like_the_kit_passes_the_structural_checks() {
    let s = stack().await;
    let q = kit_query(&[ONE_PLACE], 3);
    let a = fhir_get(&s, &q).await;
    a.assert_status(200);
    assert_eq!(
        a.headers["content-type"],
        "application/fhir+json; charset=utf-8"
    );
    let summary = python_check(
        "psindiv",
        &json!({ "self": self_url(&q), "identifiers": [ONE_PLACE] }),
        &a.body,
    );
    assert_eq!(summary["practitioners"], json!([ONE_PLACE]));
    assert_eq!(summary["roles"], 1);
    // Four slots a day in the demo, three days, none in the past (the window starts tomorrow).
    assert_eq!(summary["total"], 12, "{summary}");
}

#[tokio::test]
async fn two_places_give_two_roles_and_schedules_for_one_practitioner() {
    let s = stack().await;
    let q = kit_query(&[TWO_PLACES, ONE_PLACE], 2);
    let a = fhir_get(&s, &q).await;
    let summary = python_check(
        "psindiv",
        &json!({ "self": self_url(&q), "identifiers": [ONE_PLACE, TWO_PLACES] }),
        &a.body,
    );
    let mut p: Vec<String> = serde_json::from_value(summary["practitioners"].clone()).unwrap();
    p.sort();
    assert_eq!(p, [TWO_PLACES, ONE_PLACE]);
    assert_eq!(summary["roles"], 3, "one role per place: 1 + 2");
}

#[tokio::test]
async fn int_r04_is_recognised_by_the_service_type_include_and_answers_the_cpts_family() {
    let s = stack().await;
    // The IG's own order: _include first, then start, identifiers, status, then the CPTS includes.
    let q = format!(
        "/Slot?_include=Slot:schedule&_include:iterate=Schedule:actor&start=ge{}&start=le{}&schedule.actor:Practitioner.identifier=urn:oid:1.2.250.1.71.4.2.1|{IN_CPTS},urn:oid:1.2.250.1.71.4.2.1|{ONE_PLACE}&status=free&_include=Slot:service-type-reference&_include:iterate=HealthcareService:organization",
        plus(&paris(1, 0, 0)),
        plus(&paris(2, 23, 0))
    );
    let a = fhir_get(&s, &q).await;
    let summary = python_check(
        "cpts",
        &json!({ "self": self_url(&q), "identifiers": [IN_CPTS, ONE_PLACE] }),
        &a.body,
    );
    // The demo's CPTS practitioner has two CPTS slots a day (one shared by two CPTS).
    assert_eq!(summary["cpts_slots"], 4, "{summary}");
    let mut orgs: Vec<String> = serde_json::from_value(summary["organizations"].clone()).unwrap();
    orgs.sort();
    assert_eq!(orgs, ["1950047225", "1950047226"]);
    // The same practitioner in an INT_R01 search: no CPTS-only slot, no CPTS type.
    let q = kit_query(&[IN_CPTS], 2);
    let a = fhir_get(&s, &q).await;
    let summary = python_check(
        "psindiv",
        &json!({ "self": self_url(&q), "identifiers": [IN_CPTS] }),
        &a.body,
    );
    assert_eq!(
        summary["total"], 4,
        "two non-CPTS-only slots a day: {summary}"
    );
    assert!(!String::from_utf8_lossy(&a.body).contains("\"CPTS\""));
}

#[tokio::test]
async fn sos_schedule_search_answers_one_schedule_per_location() {
    let s = stack().await;
    let q = format!(
        "/Schedule?_has:Slot:schedule:start=ge{}&_has:Slot:schedule:start=le{}&_has:Slot:schedule:status=free&actor:Location.organization.identifier=urn:oid:1.2.250.1.71.4.2.2%7C377980000000016&_revinclude=Slot:schedule&_include=Schedule:actor:Location&_include:iterate=Location:organization&_count=1000",
        plus(&paris(1, 0, 0)),
        plus(&paris(2, 23, 59))
    );
    let a = fhir_get(&s, &q).await;
    a.assert_status(200);
    let summary = python_check("sos", &json!({ "self": self_url(&q) }), &a.body);
    assert_eq!(summary["organizations"], json!(["377980000000016"]));
    assert_eq!(summary["locations"], 2);
    assert_eq!(summary["total"], 10, "(3 + 2 slots) x 2 days: {summary}");
    // The place without a national structure id is identified by the vendor's internal id.
    assert!(String::from_utf8_lossy(&a.body).contains("\"INTRN\""));
}

// --- one test per query trap ---

#[tokio::test]
async fn trap_parameters_in_any_order() {
    let s = stack().await;
    let kit = kit_query(&[ONE_PLACE], 2);
    let mut params: Vec<&str> = kit.trim_start_matches("/Slot?").split('&').collect();
    params.reverse();
    let reversed = format!("/Slot?{}", params.join("&"));
    let (a, b) = (fhir_get(&s, &kit).await, fhir_get(&s, &reversed).await);
    assert_eq!(b.status, 200);
    assert_eq!(slot_ids(&a), slot_ids(&b));
    assert_eq!(slot_ids(&a).len(), 8);
    python_check(
        "psindiv",
        &json!({ "self": self_url(&reversed), "identifiers": [ONE_PLACE] }),
        &b.body,
    );
}

#[tokio::test]
async fn trap_start_twice_ge_and_le_both_required() {
    let s = stack().await;
    let ge = plus(&paris(1, 0, 0));
    let le = plus(&paris(2, 0, 0));
    let id =
        format!("schedule.actor:Practitioner.identifier=urn:oid:1.2.250.1.71.4.2.1%7C{ONE_PLACE}");
    let ok = fhir_get(
        &s,
        &format!("/Slot?start=le{le}&{id}&start=ge{ge}&status=free"),
    )
    .await;
    assert_eq!(ok.status, 200);
    // Slots start at or after `ge` and at or before `le`: tomorrow's four slots only.
    assert_eq!(slot_ids(&ok).len(), 4);
    for bad in [
        format!("/Slot?start=ge{ge}&{id}"),
        format!("/Slot?start=le{le}&{id}"),
        format!("/Slot?start=ge{ge}&start=ge{le}&{id}"),
        format!("/Slot?start={ge}&start=le{le}&{id}"),
        format!("/Slot?start=ge{le}&start=le{ge}&{id}"),
    ] {
        let a = fhir_get(&s, &bad).await;
        let d = assert_outcome(&a, 400, "invalid");
        assert!(d.contains("start"), "{d}");
    }
}

#[tokio::test]
async fn trap_pipe_raw_or_percent_encoded() {
    let s = stack().await;
    let encoded = kit_query(&[ONE_PLACE], 2);
    let raw = encoded.replace("%7C", "|");
    let lower = encoded.replace("%7C", "%7c");
    let (a, b, c) = (
        fhir_get(&s, &encoded).await,
        fhir_get(&s, &raw).await,
        fhir_get(&s, &lower).await,
    );
    assert_eq!(slot_ids(&a).len(), 8);
    assert_eq!(slot_ids(&a), slot_ids(&b));
    assert_eq!(slot_ids(&a), slot_ids(&c));
    // Each self link is its own request, byte for byte.
    python_check(
        "psindiv",
        &json!({ "self": self_url(&raw), "identifiers": [ONE_PLACE] }),
        &b.body,
    );
    python_check(
        "psindiv",
        &json!({ "self": self_url(&lower), "identifiers": [ONE_PLACE] }),
        &c.body,
    );
}

#[tokio::test]
async fn trap_plus_sent_as_2b_is_an_offset_never_a_space() {
    let s = stack().await;
    let q = kit_query(&[ONE_PLACE], 2);
    assert!(
        q.contains("%2B"),
        "the window is written with %2B offsets: {q}"
    );
    let a = fhir_get(&s, &q).await;
    assert_eq!(slot_ids(&a).len(), 8);
    let link = a.json()["link"][0]["url"].as_str().unwrap().to_owned();
    assert!(
        link.contains("%2B") && !link.contains('+'),
        "self link re-encoded: {link}"
    );
    assert_eq!(link, self_url(&q));
    // The same window in UTC (`Z`): the same slots, so the offset was read as an offset.
    let utc = |days, hh: i8| {
        let t: jiff::Timestamp = paris(days, hh, 0).parse().unwrap();
        t.strftime("%Y-%m-%dT%H:%M:%S.000Z").to_string()
    };
    let z = format!(
        "/Slot?schedule.actor:Practitioner.identifier=urn:oid:1.2.250.1.71.4.2.1%7C{ONE_PLACE}&start=ge{}&start=le{}",
        utc(1, 0),
        utc(2, 23)
    );
    let b = fhir_get(&s, &z).await;
    assert_eq!(slot_ids(&a), slot_ids(&b));
}

#[tokio::test]
async fn trap_comma_list_with_stray_spaces() {
    let s = stack().await;
    let q = format!(
        "/Slot?schedule.actor:Practitioner.identifier=urn:oid:1.2.250.1.71.4.2.1%7C{ONE_PLACE},%20urn:oid:1.2.250.1.71.4.2.1%7C{TWO_PLACES}%20,&start=ge{}&start=le{}&status=free",
        plus(&paris(1, 0, 0)),
        plus(&paris(1, 23, 0))
    );
    let a = fhir_get(&s, &q).await;
    let summary = python_check(
        "psindiv",
        &json!({ "self": self_url(&q), "identifiers": [ONE_PLACE, TWO_PLACES] }),
        &a.body,
    );
    assert_eq!(summary["practitioners"].as_array().unwrap().len(), 2);
}

fn bench_ids(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("8{}{i:02}", demo_upstream::sas::BENCH_RPPS_PREFIX))
        .collect()
}

#[tokio::test]
async fn trap_25_identifiers_are_accepted_and_26_are_a_400() {
    let s = stack().await;
    let ids = bench_ids(25);
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let q = kit_query(&refs, 1);
    let a = fhir_get(&s, &q).await;
    let summary = python_check(
        "psindiv",
        &json!({ "self": self_url(&q), "identifiers": ids }),
        &a.body,
    );
    assert_eq!(summary["practitioners"].as_array().unwrap().len(), 25);
    let mut ids26 = ids.clone();
    ids26.push(ONE_PLACE.to_owned());
    let refs: Vec<&str> = ids26.iter().map(String::as_str).collect();
    let a = fhir_get(&s, &kit_query(&refs, 1)).await;
    let d = assert_outcome(&a, 400, "too-costly");
    assert!(d.contains("26"), "{d}");
}

#[tokio::test]
async fn trap_datetimes_with_or_without_milliseconds_seconds_or_offset() {
    let s = stack().await;
    let id =
        format!("schedule.actor:Practitioner.identifier=urn:oid:1.2.250.1.71.4.2.1%7C{ONE_PLACE}");
    let full = (paris(1, 0, 0), paris(2, 23, 59));
    let reference = fhir_get(
        &s,
        &format!(
            "/Slot?{id}&start=ge{}&start=le{}",
            plus(&full.0),
            plus(&full.1)
        ),
    )
    .await;
    assert_eq!(slot_ids(&reference).len(), 8);
    // Every spelling of the same Paris-time window finds the same slots.
    let (day1, day2) = (&full.0[..10], &full.1[..10]);
    for (lo, hi) in [
        (format!("{day1}T00:00:00"), format!("{day2}T23:59:00")),
        (
            format!("{day1}T00:00:00.000"),
            format!("{day2}T23:59:00.000"),
        ),
        (format!("{day1}T00:00"), format!("{day2}T23:59")),
        (day1.to_owned(), day2.to_owned()),
        (
            plus(&full.0[..19]) + &plus(&full.0[23..]),
            plus(&full.1[..19]) + &plus(&full.1[23..]),
        ),
    ] {
        let a = fhir_get(&s, &format!("/Slot?{id}&start=ge{lo}&start=le{hi}")).await;
        assert_eq!(
            a.status,
            200,
            "{lo} .. {hi}: {}",
            String::from_utf8_lossy(&a.body)
        );
        assert_eq!(slot_ids(&a), slot_ids(&reference), "{lo} .. {hi}");
    }
    for bad in [
        "2026-13-01T00:00:00",
        "tomorrow",
        "2026-01-01T10",
        "2026-01-01T10:00:00%2B1",
    ] {
        let a = fhir_get(
            &s,
            &format!("/Slot?{id}&start=ge{bad}&start=le{}", plus(&full.1)),
        )
        .await;
        assert_outcome(&a, 400, "invalid");
    }
}

#[tokio::test]
async fn trap_count_and_format_are_accepted() {
    let s = stack().await;
    let base = kit_query(&[ONE_PLACE], 2);
    for extra in [
        "&_count=1000",
        "&_format=json",
        "&_format=application/fhir%2Bjson",
        "&_format=application/json%2Bfhir",
        "&_format=application/json",
    ] {
        let q = format!("{base}{extra}");
        let a = fhir_get(&s, &q).await;
        assert_eq!(a.status, 200, "{extra}");
        assert_eq!(slot_ids(&a).len(), 8, "{extra}");
        assert_eq!(a.json()["link"][0]["url"], self_url(&q));
    }
    let a = fhir_get(&s, &format!("{base}&_count=many")).await;
    assert_outcome(&a, 400, "invalid");
}

#[tokio::test]
async fn trap_every_fhir_json_media_type_is_accepted() {
    let s = stack().await;
    let q = kit_query(&[ONE_PLACE], 2);
    for accept in [
        "application/json+fhir",
        "application/fhir+json",
        "application/fhir+json; fhirVersion=4.0",
        "application/json",
        "*/*",
        "application/fhir+json, application/json;q=0.9",
    ] {
        let a = fhir_get_accept(&s, &q, accept).await;
        assert_eq!(a.status, 200, "Accept: {accept}");
        assert_eq!(
            a.headers["content-type"],
            "application/fhir+json; charset=utf-8"
        );
        assert_eq!(slot_ids(&a).len(), 8);
    }
}

// --- nothing found, and failures ---

#[tokio::test]
async fn nothing_found_is_200_with_total_0() {
    let s = stack().await;
    let window = format!(
        "&start=ge{}&start=le{}",
        plus(&paris(1, 0, 0)),
        plus(&paris(2, 0, 0))
    );
    for ids in [
        "urn:oid:1.2.250.1.71.4.2.1%7C899999999999".to_owned(),
        format!("urn:oid:1.2.250.1.71.4.2.1%7C{}", &ONE_PLACE[1..]),
        format!("urn:oid:9.9.9%7C{ONE_PLACE}"),
    ] {
        let q = format!("/Slot?schedule.actor:Practitioner.identifier={ids}{window}&status=free");
        let a = fhir_get(&s, &q).await;
        assert_eq!(a.status, 200, "{ids}");
        python_check(
            "empty",
            &json!({ "self": self_url(&q), "profile": IG_PROFILE }),
            &a.body,
        );
    }
    // A window entirely in the past finds nothing either.
    let q = format!(
        "/Slot?schedule.actor:Practitioner.identifier=urn:oid:1.2.250.1.71.4.2.1%7C{ONE_PLACE}&start=ge2020-01-01&start=le2020-01-02"
    );
    let a = fhir_get(&s, &q).await;
    python_check(
        "empty",
        &json!({ "self": self_url(&q), "profile": IG_PROFILE }),
        &a.body,
    );
}

#[tokio::test]
async fn planning_service_down_is_an_operation_outcome_502() {
    let s = stack_on(common::closed_port().await, "3s").await;
    let a = fhir_get(&s, &kit_query(&[ONE_PLACE], 2)).await;
    let d = assert_outcome(&a, 502, "transient");
    assert!(!d.contains("127.0.0.1"), "internal address leaked: {d}");
}

#[tokio::test]
async fn slow_planning_service_is_a_504_within_the_budget() {
    let slow = common::slow_upstream(Duration::from_secs(5)).await;
    let s = stack_on(slow, "400ms").await;
    let started = Instant::now();
    let a = fhir_get(&s, &kit_query(&[ONE_PLACE], 2)).await;
    let took = started.elapsed();
    assert_outcome(&a, 504, "timeout");
    assert!(
        took >= Duration::from_millis(400),
        "answered before the budget: {took:?}"
    );
    assert!(
        took < Duration::from_millis(2500),
        "answered late: {took:?}"
    );
}

#[tokio::test]
async fn unsupported_interactions_are_operation_outcomes() {
    let s = stack().await;
    let a = fhir_get(&s, "/Patient?name=x").await;
    assert_outcome(&a, 404, "not-supported");
    let a = send_json(
        &s,
        "sas-recette",
        "POST",
        &format!("{BASE}/Slot"),
        &json!({}),
    )
    .await;
    assert_outcome(&a, 405, "not-supported");
    let a = fhir_get(&s, "/Slot?start=ge2026-01-01&start=le2026-01-02").await;
    assert_outcome(&a, 400, "invalid");
    let a = fhir_get(
        &s,
        "/Slot?schedule.actor:Practitioner.identifier=%FF%FE&start=ge2026-01-01&start=le2026-01-02",
    )
    .await;
    assert_outcome(&a, 400, "invalid");
}

#[tokio::test]
async fn another_client_certificate_is_refused_by_the_route() {
    let s = stack().await;
    let req = http::Request::get(format!("{ORIGIN}{BASE}{}", kit_query(&[ONE_PLACE], 2)))
        .header("host", "localhost")
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .unwrap();
    let a = common::send(s.addr, Some("wrong-ou"), false, req)
        .await
        .unwrap();
    assert_eq!(a.status, 403);
}

/// The self links of the IG's three example Bundles (json-ig-1.1.0/examples), replayed with our
/// base, future dates in the same spelling (raw `+` offsets, a `/Slot/` path) and the demo's
/// identifiers in place of the examples' ones.
#[tokio::test]
async fn the_ig_example_requests_are_answered_with_their_family() {
    let s = stack().await;
    let day = |d: i64| paris(d, 0, 0)[..10].to_owned();
    let (d1, d2) = (day(1), day(2));
    let psindiv = format!(
        "/Slot/?_include=Slot:schedule&_include:iterate=Schedule:actor&status=free&start=ge{d1}T14:19:35.760+00:00&start=le{d2}T23:59:59.999+00:00&schedule.actor:Practitioner.identifier=urn:oid:1.2.250.1.71.4.2.1%7C{ONE_PLACE},urn:oid:1.2.250.1.71.4.2.1%7C{IN_CPTS}&_count=1000"
    );
    let cpts = format!(
        "/Slot?_include=Slot:schedule&_include:iterate=Schedule:actor&start=ge{d1}T08:20:00.000+02:00&start=le{d2}T17:20:00.000+02:00&schedule.actor:Practitioner.identifier=urn:oid:1.2.250.1.71.4.2.1|{IN_CPTS}&status=free&_include=Slot:service-type-reference"
    );
    let sos = format!(
        "/Schedule?_revinclude=Slot:schedule&_include=Schedule:actor:Location&_include:iterate=Location:organization&_has:Slot:schedule:start=ge{d1}T09:00:00+02:00&_has:Slot:schedule:start=le{d2}T08:00:00+02:00&_has:Slot:schedule:status=free&actor:Location.organization.identifier=urn:oid:1.2.250.1.71.4.2.2%7C377980000000016,urn:oid:1.2.250.1.71.4.2.2%7C392080466300010&_count=1000"
    );
    for (mode, q, ids) in [
        ("psindiv", &psindiv, json!([ONE_PLACE, IN_CPTS])),
        ("cpts", &cpts, json!([IN_CPTS])),
        ("sos", &sos, json!([])),
    ] {
        let a = fhir_get(&s, q).await;
        assert_eq!(
            a.status,
            200,
            "{mode}: {}",
            String::from_utf8_lossy(&a.body)
        );
        let summary = python_check(
            mode,
            &json!({ "self": self_url(q), "identifiers": ids }),
            &a.body,
        );
        assert!(summary["total"].as_u64().unwrap() > 0, "{mode}: {summary}");
    }
}

#[tokio::test]
async fn an_http2_search_gets_the_same_answer_and_its_own_self_link() {
    let s = stack().await;
    let q = kit_query(&[ONE_PLACE], 2);
    let req = http::Request::get(format!("{ORIGIN}{BASE}{q}"))
        .header("accept", "application/fhir+json")
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .unwrap();
    let a = common::send(s.addr, Some("sas-recette"), true, req)
        .await
        .unwrap();
    assert_eq!(a.version, http::Version::HTTP_2);
    assert_eq!(a.status, 200);
    let summary = python_check(
        "psindiv",
        &json!({ "self": self_url(&q), "identifiers": [ONE_PLACE] }),
        &a.body,
    );
    assert_eq!(summary["total"], 8);
}

#[tokio::test]
async fn the_gateways_own_refusals_on_the_fhir_base_are_operation_outcomes() {
    let stack = stack().await;
    // A certificate of the right chain with another OU: refused by the route's pinning.
    let req = http::Request::get(format!("{ORIGIN}{BASE}/Slot?status=free"))
        .header("host", "localhost")
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .unwrap();
    let a = common::send(stack.addr, Some("wrong-ou"), false, req)
        .await
        .unwrap();
    let diagnostics = assert_outcome(&a, 403, "security");
    assert!(!diagnostics.contains("499700234190004"), "{diagnostics}");
    // A method the route does not take.
    let a = send_json(
        &stack,
        "sas-recette",
        "DELETE",
        &format!("{BASE}/Practitioner"),
        &serde_json::json!({}),
    )
    .await;
    assert_outcome(&a, 405, "not-supported");
}
