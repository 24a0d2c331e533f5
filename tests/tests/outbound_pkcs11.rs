//! An outbound route whose identity is a key on a PKCS#11 token (Debian's SoftHSM, initialised
//! here): the DMP stand-in sees the vendor's certificate, the key never left the token. A wrong
//! PIN stops the gateway from starting, and the error carries no PIN.
//!
//! SoftHSM reads `SOFTHSM2_CONF` when its module loads; tests never call `set_var`, so the
//! gateway runs in a child process of this test binary with the variable set (the child test is
//! `#[ignore]`d so that it runs only that way), as `mtls/tests/pkcs11.rs` does.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;
mod outbound_support;
#[path = "../../mtls/tests/softhsm/mod.rs"]
mod softhsm;

use std::collections::HashMap;
use std::process::Command;

use bytes::Bytes;
use common::*;
use http::Request;
use http_body_util::Full;

#[test]
fn a_pkcs11_identity_authenticates_the_outbound_call() {
    // The vendor's key as PKCS#8 (what softhsm2-util imports), onto a fresh token.
    let dir = tempfile::tempdir().unwrap();
    let p8 = dir.path().join("vendor.p8");
    let out = Command::new("openssl")
        .args(["pkcs8", "-topk8", "-nocrypt", "-in"])
        .arg(pki("clients/vendor.key"))
        .arg("-out")
        .arg(&p8)
        .output()
        .expect("openssl must be installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hsm = softhsm::token_with_key(&p8);
    softhsm::run_child("pkcs11_call", &hsm, &[]);
}

fn yaml(dmp: std::net::SocketAddr, module: &str) -> String {
    format!(
        r#"{listener}  internal-app:
    cn: internal-app.test
    ou: INTERNAL-TEST
routes:
  - name: dmp
    path_prefix: /dmp
    handler: outbound
    allowed_clients: [internal-app]
    outbound:
      base_url: https://localhost:{port}/
      trust_anchors: [ca-bundle.pem]
      identity:
        pkcs11:
          module: {module}
          token_label: {token}
          key_label: {key}
          cert: clients/vendor.pem
          pin_env: GW_TEST_PIN
"#,
        listener = listener("required"),
        port = dmp.port(),
        token = softhsm::TOKEN,
        key = softhsm::KEY_LABEL,
    )
}

mod child {
    use super::*;

    #[tokio::test(flavor = "multi_thread")]
    #[ignore = "run by a_pkcs11_identity_authenticates_the_outbound_call with SOFTHSM2_CONF set"]
    async fn pkcs11_call() {
        let module = std::env::var("MTLS_TEST_PKCS11_MODULE").unwrap();
        let dmp = outbound_support::dmp(&[&rustls::version::TLS13, &rustls::version::TLS12]).await;
        let yaml = yaml(dmp, &module);
        // A wrong PIN: the gateway does not start, and says why without the PIN.
        let wrong = HashMap::from([("GW_TEST_PIN".to_owned(), "9999".to_owned())]);
        let settings = settings_with_env(&yaml, &wrong).unwrap();
        mtls::install_default_provider();
        let err = gateway::Gateway::start(settings)
            .await
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("PIN is incorrect"), "{err}");
        assert!(!err.contains("9999"), "{err}");
        // The right PIN: the partner sees the vendor's certificate.
        let right = HashMap::from([("GW_TEST_PIN".to_owned(), softhsm::PIN.to_owned())]);
        let gw = start_with_env(&yaml, &right).await;
        let req = Request::post("https://localhost/dmp/services/x")
            .header("host", "localhost")
            .body(Full::new(Bytes::from_static(b"<soap/>")))
            .unwrap();
        let answer = send(gw.addr("edge").unwrap(), Some("internal-app"), false, req)
            .await
            .unwrap();
        answer.assert_status(200);
        assert_eq!(answer.json()["cn"], manifest("clients/vendor")["cn"]);
        gw.shutdown().await;
    }
}
