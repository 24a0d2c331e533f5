//! RFC 3161 timestamps of a sealed PDF, from a real TSA (Debian OpenSSL's `openssl ts -reply`
//! behind a small HTTP server, with a PKI made at test time): the token the gateway hands over
//! verifies independently with `openssl ts -verify`; a TSA that is down, slow, or signs under
//! another CA gives no document under `required` and the document without a token under
//! `best_effort`.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;
#[path = "../../tsp/tests/support/mod.rs"]
mod tsa_support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use common::*;
use http::Request;
use http_body_util::Full;
use tsa_support::Tsa;

/// `openssl ts -reply` over HTTP, answering after `delay`.
async fn tsa_server(tsa: Arc<Mutex<(Tsa, tsa_support::Cert)>>, delay: Duration) -> SocketAddr {
    let app = axum::Router::new().fallback(move |body: Bytes| {
        let tsa = Arc::clone(&tsa);
        async move {
            tokio::time::sleep(delay).await;
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

async fn gateway(
    tsa: SocketAddr,
    anchors: &std::path::Path,
    mode: &str,
    timeout: &str,
) -> gateway::Gateway {
    let (app, _) = demo_upstream::sealer::router(Duration::from_millis(5));
    let sealer = demo_upstream::spawn_with("127.0.0.1:0".parse().unwrap(), app)
        .await
        .unwrap();
    start(&format!(
        r#"{listener}
  internal-app:
    cn: internal-app.test
    ou: INTERNAL-TEST
upstreams:
  sealer:
    url: http://{sealer}
routes:
  - name: seal
    path_prefix: /seal-contract
    handler: proxy
    upstream: sealer
    allowed_clients: [internal-app]
    timestamp:
      tsa: http://{tsa}/tsa
      trust_anchors: ["{anchors}"]
      mode: {mode}
      timeout: {timeout}
"#,
        listener = listener("required"),
        anchors = anchors.display(),
    ))
    .await
}

fn seal() -> Request<Full<Bytes>> {
    Request::post("https://localhost/seal-contract")
        .header("host", "localhost")
        .header("content-type", "application/pdf")
        .body(Full::new(Bytes::from_static(b"%PDF-1.7 contract to seal")))
        .unwrap()
}

/// The PDF sealed through `gw`'s timestamping route.
async fn seal_through(gw: &gateway::Gateway) -> Answer {
    send(
        gw.addr("edge").unwrap(),
        Some("internal-app"),
        false,
        seal(),
    )
    .await
    .unwrap()
}

fn pki() -> (Arc<Mutex<(Tsa, tsa_support::Cert)>>, std::path::PathBuf) {
    let tsa = Tsa::new();
    let cert = tsa.time_stamping_leaf();
    let ca = tsa.ca.pem.clone();
    (Arc::new(Mutex::new((tsa, cert))), ca)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sealed_pdf_comes_with_a_token_that_openssl_verifies() {
    let (tsa, ca) = pki();
    let server = tsa_server(Arc::clone(&tsa), Duration::ZERO).await;
    let gw = gateway(server, &ca, "required", "5s").await;
    let answer = seal_through(&gw).await;
    answer.assert_status(200);
    assert_eq!(answer.headers["timestamp-status"], "granted");
    let field = answer.headers["timestamp-token"].to_str().unwrap();
    let der = base64::engine::general_purpose::STANDARD
        .decode(field.trim_matches(':'))
        .unwrap();
    // An independent verification: the token, the document as received, only the test CA.
    let (dir, ca_pem, tsa_pem) = {
        let guard = tsa.lock().unwrap();
        (
            guard.0.dir.path().to_owned(),
            guard.0.ca.pem.clone(),
            guard.1.pem.clone(),
        )
    };
    std::fs::write(dir.join("token.der"), &der).unwrap();
    std::fs::write(dir.join("sealed.pdf"), &answer.body).unwrap();
    let out = std::process::Command::new("openssl")
        .args([
            "ts",
            "-verify",
            "-token_in",
            "-in",
            "token.der",
            "-data",
            "sealed.pdf",
            "-CAfile",
        ])
        .arg(&ca_pem)
        .arg("-untrusted")
        .arg(&tsa_pem)
        .current_dir(&dir)
        .output()
        .expect("openssl must be installed");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Verification: OK"),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn no_token_means_no_document_when_required_and_a_flag_when_best_effort() {
    let (tsa, ca) = pki();
    let down = closed_port().await;
    let gw = gateway(down, &ca, "required", "2s").await;
    let answer = seal_through(&gw).await;
    assert_eq!(answer.status, 502);
    assert_eq!(
        answer.json()["type"],
        "urn:gateway:problem:timestamp-unavailable"
    );
    gw.shutdown().await;

    let slow = tsa_server(Arc::clone(&tsa), Duration::from_secs(3)).await;
    let gw = gateway(slow, &ca, "required", "500ms").await;
    let answer = seal_through(&gw).await;
    assert_eq!(answer.status, 504);
    gw.shutdown().await;

    // Signed under a CA the route does not trust.
    let other = Tsa::new();
    let good = tsa_server(Arc::clone(&tsa), Duration::ZERO).await;
    let gw = gateway(good, &other.ca.pem, "required", "5s").await;
    let answer = seal_through(&gw).await;
    assert_eq!(answer.status, 502);
    gw.shutdown().await;

    let gw = gateway(down, &ca, "best_effort", "2s").await;
    let answer = seal_through(&gw).await;
    assert_eq!(answer.status, 200);
    assert!(answer.body.starts_with(b"%PDF-1.7 contract to seal"));
    assert_eq!(
        answer.headers["timestamp-status"],
        "unavailable; reason=\"tsa-unavailable\""
    );
    assert!(answer.headers.get("timestamp-token").is_none());
    gw.shutdown().await;
}
