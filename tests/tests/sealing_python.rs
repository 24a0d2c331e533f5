//! The sealing service against outside implementations, not this project's code:
//!
//! * RFC 9421 signed requests made by Python `requests` with `requests-http-signature` (on
//!   `http-message-signatures`): its own signature base, its own `Content-Digest`, its own
//!   nonce (tests/python/sealing_signed.py). A good request is sealed; the same request sent
//!   again byte for byte, one signed with another key and one whose body changed after signing
//!   are each refused with their class.
//! * RFC 3161 tokens the gateway obtained (from `openssl ts -reply`, as in timestamps.rs),
//!   verified by `rfc3161-client` against the sealed PDF's SHA-256 and the test root
//!   (tests/python/timestamp_check.py).
//!
//! Both fail (do not skip) without python3 or the packages:
//! `pip install -r scripts/requirements-test.txt`.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;
#[path = "../../tsp/tests/support/mod.rs"]
mod tsa_support;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use common::*;
use http::Request;
use http_body_util::Full;
use tsa_support::{Eku, Tsa};

const SECRET: &str = "sealing-client-secret-0123456789abcdef";
const SEALED_MARK: &str = "\n%% sealed by the demo token\n";

/// Runs `python3 tests/python/<script> args…` and returns its JSON output; panics (the test
/// fails) when python3 or a package is missing, with what to install. The JSON is printed for
/// the log: the test harness captures it unless `--nocapture`.
#[allow(clippy::print_stdout)]
async fn python(script: &str, args: Vec<String>) -> serde_json::Value {
    let path = pki(&format!("../../tests/python/{script}"));
    let output = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg(path)
            .args(args)
            // An outside proxy or CA bundle from the environment must not get in the way.
            .env_remove("REQUESTS_CA_BUNDLE")
            .env_remove("HTTPS_PROXY")
            .env_remove("https_proxy")
            .output()
    })
    .await
    .unwrap()
    .unwrap_or_else(|e| {
        panic!("cannot run python3 ({e}); install Python 3 and scripts/requirements-test.txt")
    });
    assert!(
        output.status.success(),
        "{script} failed (are its packages installed? pip install -r \
         scripts/requirements-test.txt)\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let out: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{script} printed no JSON ({e}):\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    // What the outside library said.
    println!("{script}: {out:#}");
    out
}

/// The demo's sealing route: anonymous TLS callers authenticated by their signature, PDFs only,
/// one at a time in front of the fake sealer.
async fn signed_sealing_gateway() -> (gateway::Gateway, Arc<demo_upstream::sealer::SealerStats>) {
    let (app, stats) = demo_upstream::sealer::router(Duration::from_millis(5));
    let sealer = demo_upstream::spawn_with("127.0.0.1:0".parse().unwrap(), app)
        .await
        .unwrap();
    let env = HashMap::from([("SEAL_KEY".to_owned(), SECRET.to_owned())]);
    let gw = start_with_env(
        &format!(
            r#"{listener}
upstreams:
  signer:
    url: http://{sealer}
    concurrency:
      max_in_flight: 1
      max_queue: 10
      queue_timeout: 10s
routes:
  - name: seal
    path_prefix: /seal-contract
    methods: [POST]
    handler: proxy
    upstream: signer
    allow_anonymous: true
    max_body_size: 1MiB
    content:
      types: [application/pdf]
      magic: "%PDF-"
    signature:
      keys:
        odentas-app: SEAL_KEY
      components: ["@method", "@target-uri", "content-digest"]
      max_age: 60s
"#,
            listener = listener("optional")
        ),
        &env,
    )
    .await;
    (gw, stats)
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_http_signature_is_sealed_once_and_refused_otherwise() {
    let (gw, stats) = signed_sealing_gateway().await;
    let url = format!(
        "https://localhost:{}/seal-contract",
        gw.addr("edge").unwrap().port()
    );
    let out = python(
        "sealing_signed.py",
        vec![
            url,
            pki("ca-bundle.pem").display().to_string(),
            SECRET.to_owned(),
            "odentas-app".to_owned(),
        ],
    )
    .await;

    // The library signs RFC 9421's own hmac-sha256 example (B.2.5) as the RFC does.
    let b25 = &out["rfc9421_b25"];
    assert_eq!(b25["signature_input"], b25["rfc_signature_input"], "{b25}");
    assert_eq!(b25["signature"], b25["rfc_signature"], "{b25}");
    // The library's own signature base is RFC 9421's (rebuilt by hand in the script from what
    // was sent), and its own Content-Digest is RFC 9530's sha-256 of the body.
    let sent = &out["sent"];
    assert_eq!(sent["independent_base_matches"], true, "{sent}");
    assert_eq!(sent["content_digest_matches_hashlib"], true, "{sent}");
    let input = sent["signature_input"].as_str().unwrap();
    for part in [
        "\"@method\"",
        "\"@target-uri\"",
        "\"content-digest\"",
        "created=",
        "keyid=\"odentas-app\"",
        "nonce=",
        "alg=\"hmac-sha256\"",
    ] {
        assert!(input.contains(part), "{part} not in {input}");
    }

    let good = &out["good"];
    assert_eq!(good["status"], 200, "{good}");
    assert_eq!(good["content_type"], "application/pdf", "{good}");
    assert_eq!(good["starts_with_sent_pdf"], true, "{good}");
    assert!(
        good["tail"].as_str().unwrap().ends_with(SEALED_MARK),
        "{good}"
    );

    for (case, slug) in [
        ("replay", "signature-replay"),
        ("wrong_key", "signature-bad"),
        ("body_changed", "signature-digest-mismatch"),
    ] {
        let answer = &out[case];
        assert_eq!(answer["status"], 401, "{case}: {answer}");
        assert_eq!(
            answer["type"],
            format!("urn:gateway:problem:{slug}"),
            "{case}: {answer}"
        );
        assert_eq!(answer["www_authenticate"], "Signature", "{case}: {answer}");
    }
    // The replay was the prepared request that was sealed, unchanged: same fields, same body.
    assert_eq!(
        out["replay"]["same_bytes_as_good"], true,
        "{}",
        out["replay"]
    );

    // Only the good request was sealed (the changed body was cut off before the sealer had it
    // whole; the others were refused on their headers).
    assert_eq!(stats.sealed.load(Ordering::SeqCst), 1);
    assert_eq!(stats.overlaps.load(Ordering::SeqCst), 0);
    gw.shutdown().await;
}

/// `openssl ts -reply` over HTTP (as in timestamps.rs).
async fn tsa_server(tsa: Arc<Mutex<(Tsa, tsa_support::Cert)>>) -> SocketAddr {
    let app = axum::Router::new().fallback(move |body: Bytes| {
        let tsa = Arc::clone(&tsa);
        async move {
            let reply = tokio::task::spawn_blocking(move || {
                let guard = tsa.lock().unwrap();
                let (tsa, cert) = &*guard;
                tsa.reply(&body, cert, &[], "tsa_default")
            })
            .await
            .unwrap();
            ([("content-type", "application/timestamp-reply")], reply)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

#[tokio::test(flavor = "multi_thread")]
async fn rfc3161_client_verifies_the_token_of_the_sealed_pdf() {
    let tsa = Tsa::new();
    let cert = tsa.leaf(
        "tsa",
        &tsa.ca,
        &rcgen::PKCS_ECDSA_P256_SHA256,
        Eku::TimeStamping,
        false,
    );
    let (ca_pem, tsa_pem): (PathBuf, PathBuf) = (tsa.ca.pem.clone(), cert.pem.clone());
    // A root the token does not chain to, for the negative check.
    let stranger = Tsa::new();
    let tsa = Arc::new(Mutex::new((tsa, cert)));
    let server = tsa_server(Arc::clone(&tsa)).await;

    let (app, _) = demo_upstream::sealer::router(Duration::from_millis(5));
    let sealer = demo_upstream::spawn_with("127.0.0.1:0".parse().unwrap(), app)
        .await
        .unwrap();
    let gw = start(&format!(
        r#"{listener}
  internal-app:
    cn: internal-app.test
    ou: INTERNAL-TEST
upstreams:
  signer:
    url: http://{sealer}
routes:
  - name: seal
    path_prefix: /seal-contract
    methods: [POST]
    handler: proxy
    upstream: signer
    allowed_clients: [internal-app]
    content:
      types: [application/pdf]
      magic: "%PDF-"
    timestamp:
      tsa: http://{server}/tsa
      trust_anchors: ["{anchors}"]
      mode: required
      timeout: 5s
"#,
        listener = listener("required"),
        anchors = ca_pem.display(),
    ))
    .await;
    let seal = Request::post("https://localhost/seal-contract")
        .header("host", "localhost")
        .header("content-type", "application/pdf")
        .body(Full::new(Bytes::from_static(
            b"%PDF-1.7 contract to seal and time-stamp",
        )))
        .unwrap();
    let answer = send(gw.addr("edge").unwrap(), Some("internal-app"), false, seal)
        .await
        .unwrap();
    answer.assert_status(200);
    assert_eq!(answer.headers["timestamp-status"], "granted");
    let field = answer.headers["timestamp-token"].to_str().unwrap();
    let der = base64::engine::general_purpose::STANDARD
        .decode(field.trim_matches(':'))
        .unwrap();
    let work = tempfile::tempdir().unwrap();
    let file = |name: &str| work.path().join(name).display().to_string();
    std::fs::write(work.path().join("token.der"), &der).unwrap();
    std::fs::write(work.path().join("sealed.pdf"), &answer.body).unwrap();
    std::fs::copy(&ca_pem, work.path().join("root.pem")).unwrap();
    std::fs::copy(&tsa_pem, work.path().join("tsa.pem")).unwrap();
    std::fs::copy(&stranger.ca.pem, work.path().join("other-root.pem")).unwrap();
    let out = python(
        "timestamp_check.py",
        vec![
            file("token.der"),
            file("sealed.pdf"),
            file("root.pem"),
            file("tsa.pem"),
            file("other-root.pem"),
            tsa_support::DEFAULT_POLICY.to_owned(),
        ],
    )
    .await;

    // The library read the token, and its imprint is the SHA-256 of the PDF as received.
    let decoded = &out["decoded"];
    assert_eq!(decoded["status"], 0, "{decoded}");
    assert_eq!(
        decoded["hash_algorithm"], "2.16.840.1.101.3.4.2.1",
        "{decoded}"
    );
    assert_eq!(decoded["imprint_is_sha256_of_pdf"], true, "{decoded}");
    assert_eq!(decoded["policy"], tsa_support::DEFAULT_POLICY, "{decoded}");
    // The serial `openssl ts` gave its first token.
    assert_eq!(
        decoded["serial_number"],
        u64::from_str_radix(&hex::encode(tsa_support::FIRST_SERIAL), 16).unwrap(),
        "{decoded}"
    );

    // Verified against the document, its digest, and only the test root (and the TSA leaf).
    let verified = &out["verify"];
    assert_eq!(verified["message"], "ok", "{verified}");
    assert_eq!(verified["digest"], "ok", "{verified}");
    assert_eq!(verified["root_only"], "ok", "{verified}");
    // And refused for other bytes or another root.
    for case in ["other_document", "other_root"] {
        assert!(
            verified[case].as_str().unwrap().starts_with("refused"),
            "{case}: {verified}"
        );
    }
    gw.shutdown().await;
}
