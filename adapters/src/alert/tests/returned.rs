//! What a SUCCESS answer returns, one test per rule of seed 004 §2.3 ("Informations retournées
//! par le portail ASPOne", after a modification) and §3.1 (the same, after a read):
//!
//! - §2.3 "En cas de succès on obtiendra en retour le détail complet de la configuration des
//!   alertes": every field, the ones that depend on the account's type for that type;
//! - §2.3 "Toutes les téléprocédures auxquelles le compte est abonné sont remontées": also one
//!   the service writes without message services;
//! - §2.3 "mais on ne retourne que les MessageService qui sont actif": inactive ones are not
//!   returned, and what they hold cannot break the answer;
//! - §3.1 "La seule information à fournir est le nom du compte" and "de la même manière que
//!   pour la modification": the read takes the account name only and answers exactly what the
//!   modification answers.
#![allow(clippy::unwrap_used)]

use bytes::Bytes;
use serde_json::{Value, json};
use soap::SoapVersion;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::super::model::Operation;
use super::super::response;
use super::super::upstream::AlertConfig;
use super::service::{NS, call, request, service, service_on};

/// The answer written from the service's configuration `upstream` (its JSON), or why that JSON
/// is unusable.
fn answer(upstream: Value) -> Result<String, String> {
    let config: AlertConfig = serde_json::from_value(upstream).map_err(|e| e.to_string())?;
    let r = response::success(NS, SoapVersion::V11, Operation::GetAlertConfig, &config);
    Ok(String::from_utf8(r.body().to_vec()).unwrap())
}

fn config(account_type: &str, tele_procedures: Value) -> Value {
    json!({
        "account": "CPT01",
        "accountType": account_type,
        "alertActive": true,
        "sendAdmin": false,
        "secondaryAccountAlert": true,
        "mails": ["a@example.org"],
        "sendMultiplePaiement": false,
        "sendTest": true,
        "teleProcedures": tele_procedures,
    })
}

/// The `<alertConfig>` element of an answer.
fn alert_config(body: &str) -> &str {
    let start = body.find("<alertConfig>").unwrap();
    let end = body.find("</alertConfig>").unwrap();
    &body[start..end]
}

#[test]
fn rule_2_3_complete_detail_every_field_is_returned() {
    let body = answer(config(
        "primary",
        json!([{ "teleProcedure": "TVA", "messageServices": [
            { "type": "ACS", "positive": false, "active": true, "delay": 2 }] }]),
    ))
    .unwrap();
    let c = alert_config(&body);
    for element in [
        "<accountName>CPT01</accountName>",
        "<accountType>PRIMARY</accountType>",
        "<alertActive>true</alertActive>",
        "<secondaryAccountAlert>true</secondaryAccountAlert>",
        "<mail>a@example.org</mail>",
        "<sendMultiplePaiement>false</sendMultiplePaiement>",
        "<sendTest>true</sendTest>",
        "<teleProcedure>TVA</teleProcedure><messageService><actif>true</actif><type>ACS</type><delai>2</delai><positif>false</positif></messageService>",
    ] {
        assert!(c.contains(element), "{element} missing: {c}");
    }
}

#[test]
fn rule_2_3_complete_detail_type_dependent_fields_only_for_their_account_type() {
    // The service wrote both booleans for every account: each is returned for its type only
    // (§2.2.1: sendAdmin is the administrator's, secondaryAccountAlert the primary account's).
    for (kind, send_admin, secondary) in [
        ("administrator", true, false),
        ("primary", false, true),
        ("secondary", false, false),
    ] {
        let body = answer(config(kind, json!([]))).unwrap();
        assert_eq!(body.contains("<sendAdmin>"), send_admin, "{kind}: {body}");
        assert_eq!(
            body.contains("<secondaryAccountAlert>"),
            secondary,
            "{kind}: {body}"
        );
    }
}

#[test]
fn rule_2_3_every_subscribed_tele_procedure_is_returned_even_without_message_services() {
    let body = answer(config(
        "primary",
        json!([
            { "teleProcedure": "IR" },
            { "teleProcedure": "DSN", "messageServices": null },
            { "teleProcedure": "DUE", "messageServices": [] },
            { "teleProcedure": "OGA", "messageServices": [
                { "type": "ARS", "positive": false, "active": false, "delay": 5 }] },
        ]),
    ))
    .unwrap();
    let listed: Vec<&str> = body
        .split("<teleProcedure>")
        .skip(1)
        .map(|s| s.split('<').next().unwrap())
        .collect();
    assert_eq!(listed, ["IR", "DSN", "DUE", "OGA"], "{body}");
    assert!(!body.contains("<messageService>"), "{body}");
}

#[test]
fn rule_2_3_only_active_message_services_are_returned_and_inactive_ones_are_not_read() {
    // Inactive entries the web service cannot describe (an ADS alert, a 3-digit delay, no
    // polarity) are not returned, so they do not make the answer fail.
    let body = answer(config(
        "primary",
        json!([{ "teleProcedure": "TVA", "messageServices": [
            { "type": "ADS", "active": false },
            { "type": "ARS", "positive": true, "active": false, "delay": 300 },
            { "type": "RCP", "active": false },
            { "type": "ACS", "positive": false, "active": true, "delay": 2 },
            { "type": "ARS", "positive": true, "active": true, "delay": 0 },
        ] }]),
    ))
    .unwrap();
    let types: Vec<&str> = body
        .split("<type>")
        .skip(1)
        .map(|s| s.split('<').next().unwrap())
        .collect();
    assert_eq!(types, ["ACS", "ARS"], "{body}");
    assert_eq!(body.matches("<actif>true</actif>").count(), 2);
    assert!(!body.contains("<actif>false</actif>"), "{body}");
}

#[test]
fn rule_2_3_an_active_message_service_the_schema_cannot_carry_is_an_unusable_answer() {
    for active in [
        json!({ "type": "ADS", "positive": true, "active": true, "delay": 0 }),
        json!({ "type": "ACS", "positive": false, "active": true, "delay": 120 }),
        json!({ "type": "ACS", "active": true }),
    ] {
        let err = answer(config(
            "primary",
            json!([{ "teleProcedure": "TVA", "messageServices": [active] }]),
        ))
        .unwrap_err();
        assert!(!err.is_empty());
    }
}

// === whole calls ===

/// An alert service that verifies any password as the primary account `CPT01` and answers
/// `configuration` for every account, as a service written to the contract might.
async fn upstream_answering(configuration: Value) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let configuration = configuration.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let head_end = loop {
                    let n = stream.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                while buf.len() < head_end + length {
                    let n = stream.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let body = if head.starts_with("post /v1/auth/verify") {
                    json!({ "account": "CPT01", "role": "primary", "secondaryAccounts": [] })
                } else {
                    configuration
                };
                let body = Bytes::from(body.to_string());
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.write_all(&body).await;
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn rule_2_3_and_3_1_a_read_lists_every_subscribed_tele_procedure_and_only_active_services() {
    let url = upstream_answering(config(
        "primary",
        json!([
            { "teleProcedure": "IR" },
            { "teleProcedure": "TVA", "messageServices": [
                { "type": "ADS", "active": false },
                { "type": "ACS", "positive": false, "active": true, "delay": 2 },
            ] },
        ]),
    ))
    .await;
    let svc = service_on(&url, "1s");
    let (status, body) = call(
        &svc,
        request(
            "CPT01",
            "any",
            &format!(r#"<a:getAlertConfig xmlns:a="{NS}"><a:accountName>CPT01</a:accountName></a:getAlertConfig>"#),
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("<responseType>SUCCESS</responseType>"),
        "{body}"
    );
    assert!(
        body.contains("<teleProcedureAlert><teleProcedure>IR</teleProcedure></teleProcedureAlert>"),
        "{body}"
    );
    assert!(
        body.contains("<type>ACS</type>") && !body.contains("ADS"),
        "{body}"
    );
    assert!(!body.contains("<sendAdmin>"), "a primary account: {body}");
}

#[tokio::test]
async fn rule_3_1_the_read_takes_the_account_name_only() {
    let svc = service("1s").await;
    let (status, body) = call(
        &svc,
        request(
            "CPT01",
            "Primary-01-pass",
            &format!(r#"<a:getAlertConfig xmlns:a="{NS}"><a:accountName>CPT01</a:accountName><a:alertActive>true</a:alertActive></a:getAlertConfig>"#),
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("<responseType>ERROR</responseType>"),
        "{body}"
    );
    assert!(
        body.contains("<code>UNKNOWN_FIELD</code><field>alertActive</field>"),
        "{body}"
    );
    assert!(
        !body.contains("<alertConfig>"),
        "no configuration unless success: {body}"
    );
}

#[tokio::test]
async fn rule_3_1_the_read_answers_exactly_what_the_modification_answered() {
    let svc = service("1s").await;
    let update = format!(
        r#"<a:updateAlertConfig xmlns:a="{NS}"><a:accountName>CPT01</a:accountName><a:sendTest>true</a:sendTest><a:teleProcedureAlert><a:teleProcedure>TVA</a:teleProcedure><a:messageService><a:actif>false</a:actif><a:type>ARS</a:type><a:delai>0</a:delai><a:positif>true</a:positif></a:messageService></a:teleProcedureAlert></a:updateAlertConfig>"#
    );
    let (status, changed) = call(&svc, request("CPT01", "Primary-01-pass", &update)).await;
    assert_eq!(status, 200, "{changed}");
    assert!(changed.contains("<updateAlertConfigResponse"), "{changed}");
    // The service switched off: it is not returned, after the change as after a read.
    assert!(!changed.contains("<type>ARS</type>"), "{changed}");
    let get = format!(
        r#"<a:getAlertConfig xmlns:a="{NS}"><a:accountName>CPT01</a:accountName></a:getAlertConfig>"#
    );
    let (status, read) = call(&svc, request("CPT01", "Primary-01-pass", &get)).await;
    assert_eq!(status, 200, "{read}");
    assert!(read.contains("<getAlertConfigResponse"), "{read}");
    assert_eq!(alert_config(&read), alert_config(&changed));
}
