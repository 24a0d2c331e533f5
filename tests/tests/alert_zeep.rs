//! A real SOAP client, Python zeep, builds itself from the WSDL the gateway serves and calls
//! every operation through the gateway over mutual TLS, with its own UsernameToken, against the
//! demo upstream's in-memory alert service. Fails (does not skip) without python3 and zeep:
//! `pip install -r scripts/requirements-test.txt`.
#![allow(clippy::unwrap_used)]

mod alert_support;
mod common;

use std::process::Command;

use alert_support::{Options, PARTNER_A, SECRET_A, start, upstream_config};

#[tokio::test(flavor = "multi_thread")]
async fn zeep_calls_every_operation_through_the_gateway() {
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

    // The WSDL's endpoint is the route the WSDL was asked on.
    assert_eq!(out["address"], base);

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

    assert!(
        out["fault"]["code"]
            .as_str()
            .unwrap()
            .contains("UserAuthenticationFailed"),
        "{}",
        out["fault"]
    );

    // And the upstream holds what zeep was told.
    let stored = upstream_config(&alert.upstream, "portal-a", "CPT01").await;
    assert_eq!(
        stored["mails"],
        serde_json::json!(["compta@cpt01.example", "new@cpt01.example"])
    );
    assert_eq!(stored["alertActive"], false);
}
