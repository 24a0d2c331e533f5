//! A real SOAP client, Python zeep, builds itself from the WSDL the gateway serves and calls
//! every operation through the gateway over mutual TLS, with its own UsernameToken, against the
//! demo upstream's in-memory alert service: once through the SOAP 1.1 port, once through the
//! SOAP 1.2 port of the same WSDL. Fails (does not skip) without python3 and zeep:
//! `pip install -r scripts/requirements-test.txt`.
#![allow(clippy::unwrap_used)]

mod alert_support;
mod common;

use std::process::Command;

use alert_support::{Options, PARTNER_A, SECRET_A, start, upstream_config};

/// Runs `alert_zeep.py` through `port` of the served WSDL against a fresh gateway; checks what
/// every operation answered and what the upstream holds; returns the script's output.
async fn zeep_through(port: &str) -> serde_json::Value {
    let alert = start(Options::default()).await;
    let base = format!("https://localhost:{}/aspone/alert", alert.addr.port());
    let script = common::pki("../../tests/python/alert_zeep.py");
    let args = [
        base.clone(),
        common::pki("ca-bundle.pem").display().to_string(),
        common::pki("clients/portal.pem").display().to_string(),
        common::pki("clients/portal.key").display().to_string(),
        PARTNER_A.to_owned(),
        SECRET_A.to_owned(),
        port.to_owned(),
    ];
    let output = tokio::task::spawn_blocking(move || {
        Command::new("python3").arg(script).args(args).output()
    })
    .await
    .unwrap()
    .unwrap_or_else(|e| {
        panic!("cannot run python3 ({e}); install Python 3 and scripts/requirements-test.txt")
    });
    assert!(
        output.status.success(),
        "zeep script failed (is zeep installed? pip install -r scripts/requirements-test.txt)\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let out: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();

    // The WSDL's endpoints (both ports) are the route the WSDL was asked on.
    assert_eq!(out["address"], base);
    assert_eq!(
        out["addresses"],
        serde_json::json!({ "AlertPort": base, "AlertSoap12Port": base })
    );

    let get = &out["get"];
    assert_eq!(get["responseType"], "SUCCESS", "{get}");
    let config = &get["alertConfig"];
    assert_eq!(config["accountName"], "CPT01");
    assert_eq!(config["accountType"], "PRIMARY");
    assert_eq!(
        config["mail"],
        serde_json::json!(["compta@cpt01.example", "boss@cpt01.example"])
    );
    // Every subscribed téléprocédure, only active message services (RCP on TVA is inactive).
    let tps: Vec<&str> = config["teleProcedureAlert"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["teleProcedure"].as_str().unwrap())
        .collect();
    assert_eq!(tps, ["DUCS", "IR", "OGA", "TVA"]);
    let tva = &config["teleProcedureAlert"][3]["messageService"];
    assert_eq!(tva.as_array().unwrap().len(), 2, "{tva}");

    assert_eq!(out["set"]["responseType"], "SUCCESS");
    assert_eq!(out["set"]["alertConfig"]["alertActive"], false);

    let update = &out["update"]["alertConfig"];
    assert_eq!(
        out["update"]["responseType"], "SUCCESS",
        "{}",
        out["update"]
    );
    assert_eq!(
        update["mail"],
        serde_json::json!(["compta@cpt01.example", "new@cpt01.example"])
    );
    assert_eq!(update["secondaryAccountAlert"], false);
    assert_eq!(update["sendTest"], true);
    let tva: Vec<String> = update["teleProcedureAlert"][3]["messageService"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| format!("{}{}", m["type"].as_str().unwrap(), m["positif"]))
        .collect();
    assert_eq!(
        tva,
        ["ACSfalse", "RCPtrue"],
        "ARS positive switched off, RCP on"
    );
    assert_eq!(
        out["get_after"]["alertConfig"], *update,
        "get returns what update answered"
    );

    let invalid = &out["invalid"];
    assert_eq!(invalid["responseType"], "ERROR");
    let codes: Vec<&str> = invalid["messages"]["message"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["INVALID_MAIL", "NOT_APPLICABLE"]);

    // SOAP 1.1: faultcode tns:UserAuthenticationFailed; SOAP 1.2: Code Sender, Subcode that.
    let fault = &out["fault"];
    assert!(
        fault["code"]
            .as_str()
            .unwrap()
            .contains("UserAuthenticationFailed")
            || fault["subcodes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c.as_str().unwrap().contains("UserAuthenticationFailed")),
        "{fault}"
    );

    // And the upstream holds what zeep was told.
    let stored = upstream_config(&alert.upstream, "portal-a", "CPT01").await;
    assert_eq!(
        stored["mails"],
        serde_json::json!(["compta@cpt01.example", "new@cpt01.example"])
    );
    assert_eq!(stored["alertActive"], false);
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn zeep_calls_every_operation_through_the_gateway() {
    let out = zeep_through("AlertPort").await;
    assert_eq!(out["binding"], "Soap11Binding");
    let wire = &out["wire"];
    assert_eq!(wire["request_types"], serde_json::json!(["text/xml"]));
    assert_eq!(wire["response_types"], serde_json::json!(["text/xml"]));
    assert_eq!(
        wire["received_envelope"],
        "http://schemas.xmlsoap.org/soap/envelope/"
    );
}

/// The WSDL's SOAP 1.2 binding: zeep built from the served WSDL, bound to `AlertSoap12Port`,
/// speaks SOAP 1.2 (`application/soap+xml` with the operation's action) and every answer, the
/// fault included, comes back in SOAP 1.2.
#[tokio::test(flavor = "multi_thread")]
async fn zeep_soap12_calls_every_operation_through_the_gateway() {
    let out = zeep_through("AlertSoap12Port").await;
    assert_eq!(out["binding"], "Soap12Binding");
    let wire = &out["wire"];
    let soap12 = "http://www.w3.org/2003/05/soap-envelope";
    assert_eq!(wire["sent_envelope"], soap12);
    assert_eq!(wire["received_envelope"], soap12);
    assert_eq!(
        wire["request_types"],
        serde_json::json!(["application/soap+xml"])
    );
    assert_eq!(
        wire["response_types"],
        serde_json::json!(["application/soap+xml"])
    );
    assert!(
        wire["action"]
            .as_str()
            .unwrap()
            .contains(r#"action="http://www.cegedim.com/aspone/mb/webservices/getAlertConfig""#),
        "{wire}"
    );
    let fault = &out["fault"];
    assert_eq!(fault["code"], "env:Sender", "{fault}");
    assert_eq!(
        fault["subcodes"],
        serde_json::json!([
            "{http://www.cegedim.com/aspone/mb/webservices}UserAuthenticationFailed"
        ]),
        "{fault}"
    );
}
