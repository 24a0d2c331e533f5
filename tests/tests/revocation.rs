//! Revocation through the gateway: a connection opened before its certificate was revoked is
//! refused at its next request, without restart.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use bytes::Bytes;
use common::*;
use http_body_util::{BodyExt, Empty, Full};
use hyper_util::rt::TokioIo;

async fn admin_post(addr: std::net::SocketAddr, path: &str) -> u16 {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .unwrap();
    tokio::spawn(conn);
    let req = http::Request::post(path)
        .header("host", "admin")
        .body(Empty::<Bytes>::new())
        .unwrap();
    sender.send_request(req).await.unwrap().status().as_u16()
}

/// A listener requiring client certificates, checking the CRL in file `crl` (which may not
/// exist yet) under the soft policy: a missing CRL lets clients in.
fn soft_crl_listener(crl: &std::path::Path) -> String {
    let revocation = format!(
        "trust_anchors: [root-ca.cer, intermediate-ca.cer]\n        revocation:\n          crl:\n            sources: [{}]\n            on_missing_at_start: start_degraded\n            on_stale: soft",
        crl.display()
    );
    listener("required").replace(
        "trust_anchors: [root-ca.cer, intermediate-ca.cer]",
        &revocation,
    )
}

#[tokio::test]
async fn an_open_connection_is_refused_once_its_certificate_is_revoked() {
    let dir = std::env::temp_dir().join(format!("gw-revocation-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let crl = dir.join("intermediate.crl");
    let _ = std::fs::remove_file(&crl);
    // No CRL yet, soft policy: the `revoked` test certificate gets in (the "débrayage").
    let gw = echo_gateway(
        &soft_crl_listener(&crl),
        "    name: any\n    path_prefix: /any\n    allow_any_verified_client: true\n",
    )
    .await;

    let mut sender = h1_sender(gw.addr("edge").unwrap(), "revoked").await;
    let request = || {
        http::Request::get("https://localhost/any/x")
            .header("host", "localhost")
            .body(Full::new(Bytes::new()))
            .unwrap()
    };
    let first = sender.send_request(request()).await.unwrap();
    assert_eq!(first.status(), 200);
    first.into_body().collect().await.unwrap();

    // The CRL that lists the certificate is published and fetched; the connection stays open.
    std::fs::copy(pki("crl/intermediate.crl"), &crl).unwrap();
    assert_eq!(
        admin_post(gw.admin_addr(), "/revocation/refresh").await,
        200
    );

    let second = sender.send_request(request()).await.unwrap();
    assert_eq!(second.status(), 403);
    let body = second.into_body().collect().await.unwrap().to_bytes();
    let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        problem["type"],
        "urn:gateway:problem:client-certificate-revoked"
    );
    // A new handshake with it is now refused outright.
    let err = send(
        gw.addr("edge").unwrap(),
        Some("revoked"),
        false,
        get("/any/x"),
    )
    .await
    .err()
    .unwrap();
    assert!(describe(err.as_ref()).contains("AlertReceived(CertificateRevoked)"));
    gw.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_route_that_requires_good_refuses_what_a_soft_listener_lets_in() {
    // No CRL can be fetched and the listener is soft: every certificate's status is unknown, and
    // the listener's policy lets it in. The `require_good` route does not.
    let missing = std::env::temp_dir().join(format!("gw-no-crl-{}.crl", std::process::id()));
    let gw = echo_gateway(
        &soft_crl_listener(&missing),
        "    name: lenient\n    path_prefix: /lenient\n    allow_any_verified_client: true\n  - handler: proxy\n    upstream: echo\n    name: strict\n    path_prefix: /strict\n    allow_any_verified_client: true\n    revocation: require_good\n",
    )
    .await;
    let addr = gw.addr("edge").unwrap();
    let lenient = send(addr, Some("sas-recette"), false, get("/lenient/x"))
        .await
        .unwrap();
    assert_eq!(lenient.status, 200);
    let strict = send(addr, Some("sas-recette"), false, get("/strict/x"))
        .await
        .unwrap();
    assert_eq!(strict.status, 403);
    assert_eq!(
        strict.json()["type"],
        "urn:gateway:problem:client-certificate-revoked"
    );
    gw.shutdown().await;
}
