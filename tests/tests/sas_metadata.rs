//! `GET [base]/metadata` on the SAS FHIR base through the gateway over mTLS, as the ANS kit's
//! "Capability Statement" group asks for it: a FHIR R4 CapabilityStatement (validated with
//! fhir.resources) that says what the route serves, that the route really serves what it says,
//! and that every capability the SAS guide's statements for the vendor's role list is there or
//! is one of the differences `docs/sas-fhir.md` explains.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;
mod sas_support;

use std::path::Path;

use serde_json::{Value, json};

use sas_support::*;

const ONE_PLACE: &str = "810002909371";

fn ig_dir() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../docs/sas-fhir/ig-1.1.0")
        .display()
        .to_string()
}

async fn statement(s: &Stack) -> (common::Answer, Value) {
    let a = fhir_get(s, "/metadata").await;
    a.assert_status(200);
    assert_eq!(
        a.headers["content-type"],
        "application/fhir+json; charset=utf-8"
    );
    let summary = python_check(
        "capability",
        &json!({ "base": format!("{ORIGIN}{BASE}"), "ig_dir": ig_dir() }),
        &a.body,
    );
    (a, summary)
}

#[tokio::test]
async fn metadata_is_a_capability_statement_of_what_the_base_serves() {
    let s = stack().await;
    let (_, summary) = statement(&s).await;
    let r = &summary["resources"];
    let names = |t: &str| -> Vec<String> {
        let mut v: Vec<String> = r[t]["params"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        v.sort();
        v
    };
    // Slot and Schedule: search only, with the parameters SAS sends.
    assert_eq!(r["Slot"]["interactions"], json!(["search-type"]));
    assert_eq!(
        names("Slot"),
        ["schedule", "service-type-reference", "start", "status"]
    );
    assert_eq!(r["Slot"]["params"]["start"], "date");
    assert_eq!(r["Schedule"]["interactions"], json!(["search-type"]));
    assert_eq!(names("Schedule"), ["_has", "actor"]);
    assert_eq!(r["Schedule"]["revincludes"], json!(["Slot:schedule"]));
    // Practitioner: create and conditional update (which creates when nothing matches).
    assert_eq!(
        r["Practitioner"]["interactions"],
        json!(["create", "update"])
    );
    assert_eq!(r["Practitioner"]["conditionalUpdate"], true);
    assert_eq!(r["Practitioner"]["updateCreate"], true);
    assert_eq!(r["Practitioner"]["conditionalCreate"], false);
    assert_eq!(names("Practitioner"), ["identifier"]);
    // JSON only, and the guide's statements for the vendor's role.
    assert_eq!(summary["formats"], json!(["application/fhir+json", "json"]));
    assert_eq!(summary["instantiates"].as_array().unwrap().len(), 4);
    // What the guide lists and this base does not serve (docs/sas-fhir.md says why).
    assert_eq!(
        summary["gaps"],
        json!([
            "Location resource",
            "Organization resource",
            "Practitioner interaction read",
            "Practitioner interaction search-type",
            "Schedule interaction read",
            "Slot interaction read",
        ])
    );
}

/// Every interaction the statement declares is answered by its handler (a request without its
/// required parameters is that handler's 400, never a 404 or 405), and what it does not declare
/// is refused as unsupported.
#[tokio::test]
async fn the_route_serves_what_the_statement_declares_and_nothing_else() {
    let s = stack().await;
    let (a, _) = statement(&s).await;
    let cs = a.json();
    for resource in cs["rest"][0]["resource"].as_array().unwrap() {
        let t = resource["type"].as_str().unwrap();
        for i in resource["interaction"].as_array().unwrap() {
            let answer = match i["code"].as_str().unwrap() {
                "search-type" => fhir_get(&s, &format!("/{t}")).await,
                "create" => {
                    send_json(
                        &s,
                        "sas-recette",
                        "POST",
                        &format!("{BASE}/{t}"),
                        &json!({}),
                    )
                    .await
                }
                "update" => {
                    let q = "identifier=urn%3Aoid%3A1.2.250.1.71.4.2.1%7C3456780581%2F11242343";
                    send_json(
                        &s,
                        "sas-recette",
                        "PUT",
                        &format!("{BASE}/{t}?{q}"),
                        &json!({}),
                    )
                    .await
                }
                other => panic!("an interaction the test does not know: {other}"),
            };
            // The handler ran and refused the empty request: 400 (or 422 for a body a business
            // rule refuses), as an OperationOutcome; never 404 or 405.
            assert!(
                matches!(answer.status, 400 | 422),
                "{t} {}: {} {}",
                i["code"],
                answer.status,
                String::from_utf8_lossy(&answer.body)
            );
            let code = answer.json()["issue"][0]["code"]
                .as_str()
                .unwrap()
                .to_owned();
            assert_outcome(&answer, answer.status, &code);
        }
    }
    // The searches really run with their declared parameters.
    let a = fhir_get(&s, &kit_query(&[ONE_PLACE], 2)).await;
    assert_eq!(a.status, 200);
    // Not declared: reads, other resource types, other methods.
    for path in [
        "/Slot/x",
        "/Schedule/x",
        "/Practitioner/x",
        "/Location",
        "/Organization",
    ] {
        let a = fhir_get(&s, path).await;
        assert_outcome(&a, 404, "not-supported");
    }
    let a = send_json(
        &s,
        "sas-recette",
        "POST",
        &format!("{BASE}/metadata"),
        &json!({}),
    )
    .await;
    assert_outcome(&a, 405, "not-supported");
    let a = fhir_get(&s, "/metadata?mode=terminology").await;
    assert_outcome(&a, 400, "invalid");
    for q in ["?mode=full", "?mode=normative", "?_format=json"] {
        let a = fhir_get(&s, &format!("/metadata{q}")).await;
        assert_eq!(a.status, 200, "{q}");
        assert_eq!(a.json()["resourceType"], "CapabilityStatement");
    }
}

#[tokio::test]
async fn metadata_needs_the_sas_certificate_like_the_rest_of_the_base() {
    let s = stack().await;
    let req = http::Request::get(format!("{ORIGIN}{BASE}/metadata"))
        .header("host", "localhost")
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .unwrap();
    let a = common::send(s.addr, Some("wrong-ou"), false, req)
        .await
        .unwrap();
    assert_outcome(&a, 403, "security");
}
