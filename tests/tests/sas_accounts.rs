//! INT_R02, regulator accounts, through the gateway over mTLS: create (201 + Location), an
//! identical second POST refused, the conditional PUT as an idempotent upsert (unknown
//! identifier creates; a percent-encoded national id with `/`), and each malformed body of
//! the guide's §6 refused with an OperationOutcome.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;
mod sas_support;

use serde_json::{Value, json};

use sas_support::*;

const NATIONAL: &str = "urn:oid:1.2.250.1.71.4.2.1";
const SAS: &str = "urn:oid:1.2.250.1.213.3.6";
const V2_0203: &str = "http://interopsante.org/fhir/CodeSystem/fr-v2-0203";

/// A FrPractitionerRegul body as the kit sends it (with its own `id`, ignored by the server).
fn regulator(system: &str, code: &str, value: &str, email: &str) -> Value {
    json!({
        "resourceType": "Practitioner",
        "id": "example-regulator-1",
        "meta": {
            "profile": ["https://interop.esante.gouv.fr/ig/fhir/sas/StructureDefinition/FrPractitionerRegul"],
            "source": SAS
        },
        "identifier": [{
            "type": { "coding": [{ "system": V2_0203, "code": code }] },
            "system": system,
            "value": value
        }],
        "active": true,
        "name": [{ "family": "MARIUS", "given": ["Jules"] }],
        "telecom": [{ "system": "email", "value": email }]
    })
}

fn path() -> String {
    format!("{BASE}/Practitioner")
}

fn location_id(a: &common::Answer) -> String {
    let loc = a.headers["location"].to_str().unwrap().to_owned();
    let prefix = format!("{ORIGIN}{BASE}/Practitioner/");
    assert!(loc.starts_with(&prefix), "Location {loc}");
    loc[prefix.len()..].to_owned()
}

/// The accounts as the demo accounts service holds them.
async fn accounts(s: &Stack) -> Vec<Value> {
    let req = http::Request::get(format!("http://{}/v1/regulators", s.planning))
        .body(String::new())
        .unwrap();
    let tcp = tokio::net::TcpStream::connect(s.planning).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp))
            .await
            .unwrap();
    tokio::spawn(conn);
    let resp = sender.send_request(req).await.unwrap();
    let body = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .unwrap()
        .to_bytes();
    serde_json::from_slice(&body).unwrap()
}

#[tokio::test]
async fn create_is_201_with_location_and_an_identical_second_post_is_refused() {
    let s = stack().await;
    let body = regulator(NATIONAL, "IDNPS", "810002673899", "jules.marius@test.com");
    let a = send_json(&s, "sas-recette", "POST", &path(), &body).await;
    a.assert_status(201);
    let id = location_id(&a);
    assert_ne!(id, "example-regulator-1", "the server allocates the id");
    let summary = python_check("practitioner", &json!({}), &a.body);
    assert_eq!(summary["id"], id);
    let stored = accounts(&s).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["national_id"], "810002673899");
    assert_eq!(stored[0]["email"], "jules.marius@test.com");

    let again = send_json(&s, "sas-recette", "POST", &path(), &body).await;
    assert_outcome(&again, 422, "duplicate");
    assert_eq!(accounts(&s).await.len(), 1);
}

#[tokio::test]
async fn put_on_an_unknown_identifier_creates_then_updates_the_same_account() {
    let s = stack().await;
    let uuid = "3c7a3a3e-7d2c-4a8e-9d1e-2f8a4b6c9e01";
    let q = format!("{}?identifier={SAS}|{uuid}", path());
    let body = regulator(SAS, "INTRN", uuid, "a@test.com");
    let created = send_json(&s, "sas-recette", "PUT", &q, &body).await;
    created.assert_status(201);
    let id = location_id(&created);
    let mut changed = body.clone();
    changed["telecom"][0]["value"] = json!("b@test.com");
    let updated = send_json(&s, "sas-recette", "PUT", &q, &changed).await;
    assert_eq!(updated.status, 200);
    assert_eq!(location_id(&updated), id);
    let stored = accounts(&s).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["email"], "b@test.com");
}

#[tokio::test]
async fn put_with_a_percent_encoded_national_id_containing_a_slash() {
    let s = stack().await;
    let national = "3456780581/11242343";
    let a = send_json(
        &s,
        "sas-recette",
        "POST",
        &path(),
        &regulator(NATIONAL, "IDNPS", national, "r@test.com"),
    )
    .await;
    assert_eq!(a.status, 201);
    let id = location_id(&a);
    // Exactly as the kit's HTTP client sends it: `:`, `|` and `/` encoded.
    let q = format!(
        "{}?identifier=urn%3Aoid%3A1.2.250.1.71.4.2.1%7C3456780581%2F11242343",
        path()
    );
    let mut disabled = regulator(NATIONAL, "IDNPS", national, "r@test.com");
    disabled["active"] = json!(false);
    let b = send_json(&s, "sas-recette", "PUT", &q, &disabled).await;
    b.assert_status(200);
    assert_eq!(location_id(&b), id);
    let stored = accounts(&s).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["active"], false);
    // Once disabled, the national id may be given to a new account.
    let c = send_json(
        &s,
        "sas-recette",
        "POST",
        &path(),
        &regulator(NATIONAL, "IDNPS", national, "new@test.com"),
    )
    .await;
    assert_eq!(c.status, 201);
    assert_ne!(location_id(&c), id);
}

#[tokio::test]
async fn put_may_change_the_identifier_of_the_account() {
    let s = stack().await;
    let uuid = "0f8b3c1a-2d4e-4f60-8a7b-9c0d1e2f3a4b";
    let a = send_json(
        &s,
        "sas-recette",
        "POST",
        &path(),
        &regulator(SAS, "INTRN", uuid, "x@test.com"),
    )
    .await;
    assert_eq!(a.status, 201);
    let id = location_id(&a);
    // The technical UUID becomes a national id: an ordinary update.
    let q = format!("{}?identifier={SAS}%7C{uuid}", path());
    let b = send_json(
        &s,
        "sas-recette",
        "PUT",
        &q,
        &regulator(NATIONAL, "IDNPS", "810002909371", "x@test.com"),
    )
    .await;
    b.assert_status(200);
    assert_eq!(location_id(&b), id);
    assert_eq!(accounts(&s).await[0]["national_id"], "810002909371");
}

#[tokio::test]
async fn each_malformed_body_of_the_guide_is_refused() {
    let s = stack().await;
    let good = regulator(NATIONAL, "IDNPS", "810002673899", "jules.marius@test.com");
    let mut cases: Vec<(&str, Value, u16, &str)> = Vec::new();
    for key in ["identifier", "name", "telecom", "active"] {
        let mut b = good.clone();
        b.as_object_mut().unwrap().remove(key);
        cases.push((key, b, 400, "structure"));
    }
    let mut b = good.clone();
    b["name"][0]["family"] = json!("");
    cases.push(("empty family", b, 400, "structure"));
    let mut b = good.clone();
    b["telecom"][0]["value"] = json!("");
    cases.push(("empty e-mail", b, 400, "structure"));
    let mut b = good.clone();
    b["telecom"][0]["system"] = json!("phone");
    cases.push(("telecom not email", b, 400, "structure"));
    cases.push((
        "INTRN with the national system",
        regulator(NATIONAL, "INTRN", "810002673899", "a@b.fr"),
        422,
        "business-rule",
    ));
    cases.push((
        "IDNPS with the SAS system",
        regulator(
            SAS,
            "IDNPS",
            "3c7a3a3e-7d2c-4a8e-9d1e-2f8a4b6c9e01",
            "a@b.fr",
        ),
        422,
        "business-rule",
    ));
    cases.push((
        "not a Practitioner",
        json!({ "resourceType": "Patient" }),
        400,
        "structure",
    ));
    for (what, body, status, code) in cases {
        let a = send_json(&s, "sas-recette", "POST", &path(), &body).await;
        assert_eq!(
            a.status,
            status,
            "{what}: {}",
            String::from_utf8_lossy(&a.body)
        );
        assert_outcome(&a, status, code);
        let q = format!("{}?identifier={NATIONAL}%7C810002673899", path());
        let a = send_json(&s, "sas-recette", "PUT", &q, &body).await;
        assert_eq!(a.status, status, "PUT {what}");
    }
    assert!(accounts(&s).await.is_empty(), "nothing was stored");
    let a = send_json(&s, "sas-recette", "PUT", &path(), &good).await;
    assert_outcome(&a, 405, "not-supported");
    let a = send_json(
        &s,
        "sas-recette",
        "PUT",
        &format!("{}?identifier=urn:oid:9.9%7Cx", path()),
        &good,
    )
    .await;
    assert_outcome(&a, 400, "invalid");
}

#[tokio::test]
async fn a_fhir_xml_body_is_415_not_misread_as_json() {
    let s = stack().await;
    let req = http::Request::post(format!(
        "https://localhost:{}/sas/recette/fhir/Practitioner",
        s.addr.port()
    ))
    .header("host", "localhost")
    .header("content-type", "application/fhir+xml")
    .body(http_body_util::Full::new(bytes::Bytes::from_static(
        b"<Practitioner xmlns=\"http://hl7.org/fhir\"/>",
    )))
    .unwrap();
    let a = common::send(s.addr, Some("sas-recette"), false, req)
        .await
        .unwrap();
    assert_outcome(&a, 415, "not-supported");
    assert!(accounts(&s).await.is_empty());
}
