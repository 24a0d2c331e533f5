//! INT_R03, appointments outbound: internal REST through the gateway, sent to a loopback HTTPS
//! fake SAS that demands the vendor's client certificate. Create, update, SAS's 400/422 passed
//! back with its issues, retries of the conditional PUT only (bounded), and a SAS server with a
//! wrong name or an untrusted chain refused before any request is sent.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;
mod sas_support;

use serde_json::{Value, json};

use sas_support::*;

const ID: &str = "b6e39355-8a61-4556-b340-36f7b95fec6a";

fn appointment(status: &str) -> Value {
    json!({
        "id": ID,
        "operator": { "national_id": "3456780581/11242343" },
        "practitioner": "810100050075",
        "start": "2030-09-04T14:00:00+02:00",
        "end": "2030-09-04T14:15:00+02:00",
        "status": status,
        "created": "2030-09-01T10:00:00Z"
    })
}

async fn post(s: &Stack, body: &Value) -> common::Answer {
    send_json(
        s,
        "internal-app",
        "POST",
        "/internal/sas/appointments",
        body,
    )
    .await
}

async fn put(s: &Stack, id: &str, body: &Value) -> common::Answer {
    send_json(
        s,
        "internal-app",
        "PUT",
        &format!("/internal/sas/appointments/{id}"),
        body,
    )
    .await
}

fn stored(s: &Stack) -> Value {
    let all = s.sas.as_ref().unwrap().appointments();
    all.get(&format!("{VENDOR_SYSTEM}|{ID}"))
        .cloned()
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn create_then_update_reach_sas_as_fr_appointment_sas() {
    let s = stack_with_sas("server", "vendor", "ca-bundle.pem").await;
    let a = post(&s, &appointment("booked")).await;
    a.assert_status(201);
    let v = a.json();
    assert_eq!(v["sas_status"], 201);
    assert_eq!(v["sas_location"], "/fhir/Appointment/1");
    let sent = stored(&s);
    let summary = python_check("appointment", &json!({}), sent.to_string().as_bytes());
    assert_eq!(summary["status"], "booked");
    // Times keep milliseconds and a numeric offset, in Paris time.
    assert_eq!(summary["start"], "2030-09-04T14:00:00.000+02:00");
    assert_eq!(sent["identifier"][0]["system"], VENDOR_SYSTEM);
    assert_eq!(
        sent["extension"][0]["valueReference"]["identifier"]["system"],
        "urn:oid:1.2.250.1.71.4.2.1"
    );

    let mut cancelled = appointment("cancelled");
    cancelled.as_object_mut().unwrap().remove("id");
    let b = put(&s, ID, &cancelled).await;
    b.assert_status(200);
    assert_eq!(b.json()["attempts"], 1);
    assert_eq!(stored(&s)["status"], "cancelled");
    assert_eq!(s.sas.as_ref().unwrap().appointments().len(), 1);
}

#[tokio::test]
async fn the_sas_technical_id_may_name_the_operator() {
    let s = stack_with_sas("server", "vendor", "ca-bundle.pem").await;
    let mut body = appointment("booked");
    body["operator"] = json!({ "sas_id": "3c7a3a3e-7d2c-4a8e-9d1e-2f8a4b6c9e01" });
    let a = post(&s, &body).await;
    a.assert_status(201);
    let op = &stored(&s)["extension"][0]["valueReference"]["identifier"];
    assert_eq!(op["system"], "urn:oid:1.2.250.1.213.3.6");
    assert_eq!(op["type"]["coding"][0]["code"], "INTRN");
}

#[tokio::test]
async fn sas_400_and_422_are_passed_back_with_their_issues() {
    let s = stack_with_sas("server", "vendor", "ca-bundle.pem").await;
    // The fake SAS refuses an operator id that is neither a national nor a SAS id: 400.
    let mut body = appointment("booked");
    body["operator"] = json!({ "national_id": "not an id!" });
    let a = post(&s, &body).await;
    a.assert_status(400);
    assert_eq!(a.headers["content-type"], "application/problem+json");
    let v = a.json();
    assert_eq!(v["type"], "urn:gateway:sas-appointments:sas-refused");
    assert_eq!(v["sas_status"], 400);
    assert_eq!(v["issues"][0]["code"], "structure");
    assert_eq!(
        v["issues"][0]["expression"][0],
        "Appointment.extension[0].valueReference.identifier.value"
    );
    // A business rule (creating a cancelled appointment): 422 with SAS's diagnostics.
    let a = post(&s, &appointment("cancelled")).await;
    assert_eq!(a.status, 422);
    let v = a.json();
    assert_eq!(v["sas_status"], 422);
    assert_eq!(v["issues"][0]["code"], "business-rule");
    assert!(
        v["issues"][0]["diagnostics"]
            .as_str()
            .unwrap()
            .contains("cancelled")
    );
    assert!(s.sas.as_ref().unwrap().appointments().is_empty());
}

#[tokio::test]
async fn only_the_conditional_put_is_retried_with_a_bound() {
    let s = stack_with_sas("server", "vendor", "ca-bundle.pem").await;
    let sas = s.sas.clone().unwrap();
    // Two 503s, then success: the PUT succeeds at the third attempt.
    sas.fail_next(2);
    let a = put(&s, ID, &appointment("booked")).await;
    a.assert_status(201);
    assert_eq!(a.json()["attempts"], 3);
    // More failures than attempts: 502 after exactly three.
    sas.fail_next(10);
    let before = sas.requests();
    let a = put(&s, ID, &appointment("fulfilled")).await;
    assert_eq!(a.status, 502);
    assert_eq!(a.json()["attempts"], 3);
    assert_eq!(a.json()["sas_status"], 503);
    assert_eq!(sas.requests() - before, 3);
    // A POST is not idempotent: one attempt only.
    sas.fail_next(1);
    let before = sas.requests();
    let mut other = appointment("booked");
    other["id"] = json!("7f0c2b4e-1111-4c8e-9d1e-2f8a4b6c9e02");
    let a = post(&s, &other).await;
    assert_eq!(a.status, 502);
    assert_eq!(a.json()["attempts"], 1);
    assert_eq!(sas.requests() - before, 1);
}

#[tokio::test]
async fn a_sas_server_with_another_name_is_refused() {
    let s = stack_with_sas("wrong-name-server", "vendor", "ca-bundle.pem").await;
    let a = post(&s, &appointment("booked")).await;
    a.assert_status(502);
    assert_eq!(
        a.json()["type"],
        "urn:gateway:sas-appointments:sas-tls-refused"
    );
    assert_eq!(s.sas.as_ref().unwrap().requests(), 0, "nothing was sent");
}

#[tokio::test]
async fn a_sas_server_chain_from_an_unconfigured_ca_is_refused() {
    let s = stack_with_sas("server", "vendor", "untrusted-ca.pem").await;
    let a = put(&s, ID, &appointment("booked")).await;
    a.assert_status(502);
    assert_eq!(
        a.json()["type"],
        "urn:gateway:sas-appointments:sas-tls-refused"
    );
    // A TLS refusal is not retried as a transient failure would be.
    assert_eq!(a.json()["attempts"], 1);
    assert_eq!(s.sas.as_ref().unwrap().requests(), 0);
}

#[tokio::test]
async fn sas_demands_the_vendor_certificate() {
    // Configured with another (valid) client certificate: SAS refuses it, the caller learns it.
    let s = stack_with_sas("server", "internal-app", "ca-bundle.pem").await;
    let a = post(&s, &appointment("booked")).await;
    assert_eq!(a.status, 502);
    assert_eq!(a.json()["sas_status"], 403);
    assert!(s.sas.as_ref().unwrap().appointments().is_empty());
}

#[tokio::test]
async fn an_invalid_internal_body_reports_every_field() {
    let s = stack_with_sas("server", "vendor", "ca-bundle.pem").await;
    let body = json!({
        "operator": {},
        "practitioner": "10100050075",
        "start": "2030-09-04 14:00",
        "end": "2030-09-04T13:00:00+02:00",
        "status": "maybe"
    });
    let a = post(&s, &body).await;
    assert_eq!(a.status, 400);
    let v = a.json();
    let fields: Vec<&str> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["id", "operator", "practitioner", "start", "status"]
    );
    let a = put(&s, "other-id", &appointment("booked")).await;
    assert_eq!(a.status, 400, "the body's id must match the path");
    let a = send_json(
        &s,
        "internal-app",
        "POST",
        "/internal/sas/appointments/x",
        &appointment("booked"),
    )
    .await;
    assert_eq!(a.status, 405);
    let a = send_json(
        &s,
        "internal-app",
        "POST",
        "/internal/sas/elsewhere",
        &appointment("booked"),
    )
    .await;
    assert_eq!(a.status, 404);
    assert_eq!(s.sas.as_ref().unwrap().requests(), 0);
    // The route is pinned: the SAS certificate cannot use it.
    let a = send_json(
        &s,
        "sas-recette",
        "POST",
        "/internal/sas/appointments",
        &appointment("booked"),
    )
    .await;
    assert_eq!(a.status, 403);
}
