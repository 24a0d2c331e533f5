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

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;

use bytes::Bytes;
use common::*;
use http::Request;
use http_body_util::Full;

const MODULES: &[&str] = &[
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
];

fn module() -> PathBuf {
    MODULES
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| {
            panic!(
                "softhsm2 is not installed: `apt-get install softhsm2` (scripts/test.sh does it)"
            )
        })
}

fn run(program: &str, args: &[&str], conf: &std::path::Path) {
    let out = Command::new(program)
        .args(args)
        .env("SOFTHSM2_CONF", conf)
        .output()
        .unwrap_or_else(|e| panic!("{program} cannot run ({e}): install softhsm2 and openssl"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_pkcs11_identity_authenticates_the_outbound_call() {
    let module = module();
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::create_dir(&tokens).unwrap();
    let conf = dir.path().join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .unwrap();
    // The vendor's key, as PKCS#8, onto a fresh token.
    let p8 = dir.path().join("vendor.p8");
    let key = pki("clients/vendor.key");
    run(
        "openssl",
        &[
            "pkcs8",
            "-topk8",
            "-nocrypt",
            "-in",
            key.to_str().unwrap(),
            "-out",
            p8.to_str().unwrap(),
        ],
        &conf,
    );
    run(
        "softhsm2-util",
        &[
            "--init-token",
            "--free",
            "--label",
            "gateway",
            "--pin",
            "1234",
            "--so-pin",
            "5678",
        ],
        &conf,
    );
    run(
        "softhsm2-util",
        &[
            "--import",
            p8.to_str().unwrap(),
            "--token",
            "gateway",
            "--label",
            "vendor",
            "--id",
            "01",
            "--pin",
            "1234",
        ],
        &conf,
    );
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["child_pkcs11_call", "--exact", "--ignored", "--nocapture"])
        .env("SOFTHSM2_CONF", &conf)
        .env("GW_TEST_PKCS11_MODULE", &module)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
          token_label: gateway
          key_label: vendor
          cert: clients/vendor.pem
          pin_env: GW_TEST_PIN
"#,
        listener = listener("required"),
        port = dmp.port(),
    )
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "run by a_pkcs11_identity_authenticates_the_outbound_call with SOFTHSM2_CONF set"]
async fn child_pkcs11_call() {
    let module = std::env::var("GW_TEST_PKCS11_MODULE").unwrap();
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
    let right = HashMap::from([("GW_TEST_PIN".to_owned(), "1234".to_owned())]);
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
