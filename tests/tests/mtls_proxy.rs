//! The spine over real sockets: mTLS termination, pinning, identity headers, proxying.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::*;
use http::Request;
use http_body_util::Full;

/// The pinned `/sas` route most tests here use, with a 1 KiB body limit.
async fn sas_gateway(mode: &str) -> gateway::Gateway {
    echo_gateway(
        &listener(mode),
        "    name: sas\n    path_prefix: /sas\n    allowed_clients: [sas-recette]\n    max_body_size: 1KiB\n",
    )
    .await
}

#[tokio::test]
async fn recette_certificate_reaches_the_upstream_with_identity_headers() {
    let gw = sas_gateway("required").await;
    let addr = gw.addr("edge").unwrap();
    let req = Request::get("https://localhost/sas/Slot?identifier=a%7Cb")
        .header("host", "localhost")
        .header("x-client-cn", "spoofed")
        .header("x-client-verified", "SUCCESS-SPOOFED")
        .header("x-forwarded-for", "10.0.0.1")
        .header("x-request-id", "req-42")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let answer = send(addr, Some("sas-recette"), false, req).await.unwrap();
    assert_eq!(answer.status, 200);
    let echo = answer.json();
    let h = &echo["headers"];
    let m = manifest("clients/sas-recette");
    assert_eq!(h["x-client-verified"], "SUCCESS");
    assert_eq!(h["x-client-cn"], "sas-agregateur-recette");
    assert_eq!(h["x-client-ou"], "499700234190004");
    assert_eq!(h["x-client-serial"], m["serial"]);
    assert_eq!(h["x-client-cert-sha256"], m["sha256"]);
    assert_eq!(h["x-client-not-after"], "2045-01-01T00:00:00Z");
    assert_eq!(h["x-gateway-client"], "sas-recette");
    assert_eq!(h["x-gateway-route"], "sas");
    assert_eq!(h["x-forwarded-for"], "127.0.0.1");
    assert_eq!(h["x-forwarded-proto"], "https");
    assert_eq!(h["x-request-id"], "req-42");
    assert_eq!(echo["query"], "identifier=a%7Cb");
    assert_eq!(answer.headers["x-request-id"], "req-42");
    gw.shutdown().await;
}

#[tokio::test]
async fn http2_and_http1_both_work() {
    let gw = sas_gateway("required").await;
    let addr = gw.addr("edge").unwrap();
    let h2 = send(addr, Some("sas-recette"), true, get("/sas/a"))
        .await
        .unwrap();
    assert_eq!(h2.status, 200);
    assert_eq!(h2.version, http::Version::HTTP_2);
    let h1 = send(addr, Some("sas-recette"), false, get("/sas/a"))
        .await
        .unwrap();
    assert_eq!(h1.status, 200);
    assert_eq!(h1.version, http::Version::HTTP_11);
    gw.shutdown().await;
}

/// Chain failures are refused during the handshake with a TLS alert, never a reset or a 5xx.
#[tokio::test]
async fn bad_chains_get_a_tls_alert() {
    let gw = sas_gateway("required").await;
    let addr = gw.addr("edge").unwrap();
    for (client, alert) in [
        ("untrusted", "UnknownCA"),
        ("expired", "CertificateExpired"),
        ("not-yet-valid", "CertificateExpired"),
        ("no-client-eku", "UnsupportedCertificate"),
    ] {
        let err = send(addr, Some(client), false, get("/sas/a")).await.err();
        let text = describe(
            err.as_deref()
                .unwrap_or_else(|| panic!("{client} was let in")),
        );
        assert!(
            text.contains(&format!("AlertReceived({alert})")),
            "{client}: expected alert {alert}, got {text}"
        );
    }
    // No certificate on a listener that requires one.
    let err = send(addr, None, false, get("/sas/a")).await.err().unwrap();
    let text = describe(err.as_ref());
    assert!(
        text.contains("AlertReceived(CertificateRequired)"),
        "{text}"
    );
    let metrics = gateway::prometheus().render();
    assert!(metrics.contains(r#"outcome="unknown_issuer""#), "{metrics}");
    assert!(metrics.contains(r#"outcome="expired""#), "{metrics}");
    gw.shutdown().await;
}

#[tokio::test]
async fn no_certificate_on_an_optional_listener_gets_401() {
    let gw = sas_gateway("optional").await;
    let answer = send(gw.addr("edge").unwrap(), None, false, get("/sas/a"))
        .await
        .unwrap();
    assert_eq!(answer.status, 401);
    assert_eq!(answer.headers["content-type"], "application/problem+json");
    assert_eq!(
        answer.json()["detail"],
        "a client certificate is required on this route"
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn wrong_cn_or_ou_on_a_pinned_route_gets_403() {
    let gw = sas_gateway("optional").await;
    let addr = gw.addr("edge").unwrap();
    for client in ["wrong-cn", "wrong-ou", "sas-preproduction"] {
        let answer = send(addr, Some(client), false, get("/sas/a"))
            .await
            .unwrap();
        assert_eq!(answer.status, 403, "{client}");
        assert_eq!(
            answer.json()["detail"],
            "the client certificate (CN and OU) is not allowed on this route"
        );
        // The refusal names no expected value.
        assert!(!String::from_utf8_lossy(&answer.body).contains("499700234190004"));
    }
    let unknown = send(addr, Some("sas-recette"), false, get("/elsewhere"))
        .await
        .unwrap();
    assert_eq!(unknown.status, 404);
    gw.shutdown().await;
}

#[tokio::test]
async fn body_over_the_limit_gets_413() {
    let gw = sas_gateway("required").await;
    let addr = gw.addr("edge").unwrap();
    let big = Request::post("https://localhost/sas/a")
        .header("host", "localhost")
        .body(Full::new(Bytes::from(vec![b'x'; 2048])))
        .unwrap();
    let answer = send(addr, Some("sas-recette"), false, big).await.unwrap();
    assert_eq!(answer.status, 413);
    assert_eq!(
        answer.json()["detail"],
        "request body larger than 1024 bytes"
    );
    // Streamed over HTTP/2 without a length: the limiter stops it mid-stream.
    let streamed = Request::post("https://localhost/sas/a")
        .body(Full::new(Bytes::from(vec![b'x'; 4096])))
        .unwrap();
    let answer = send(addr, Some("sas-recette"), true, streamed)
        .await
        .unwrap();
    assert_eq!(answer.status, 413);
    gw.shutdown().await;
}

#[tokio::test]
async fn upstream_down_is_502_and_slow_is_504() {
    let down = closed_port().await;
    let slow = slow_upstream(Duration::from_secs(5)).await;
    let gw = start(&format!(
        r#"{}
upstreams:
  down:
    url: http://{down}
  slow:
    url: http://{slow}
routes:
  - name: down
    path_prefix: /down
    handler: proxy
    upstream: down
    allowed_clients: [sas-recette]
  - name: slow
    path_prefix: /slow
    handler: proxy
    upstream: slow
    allowed_clients: [sas-recette]
    timeout: 300ms
"#,
        listener("required")
    ))
    .await;
    let addr = gw.addr("edge").unwrap();
    let answer = send(addr, Some("sas-recette"), false, get("/down/x"))
        .await
        .unwrap();
    assert_eq!(answer.status, 502);
    assert_eq!(answer.headers["content-type"], "application/problem+json");
    let body = answer.json();
    assert_eq!(
        body["detail"],
        "the service behind the gateway is unavailable"
    );
    // Never leak the upstream's address.
    assert!(!String::from_utf8_lossy(&answer.body).contains(&down.port().to_string()));
    let started = std::time::Instant::now();
    let answer = send(addr, Some("sas-recette"), false, get("/slow/x"))
        .await
        .unwrap();
    assert_eq!(answer.status, 504);
    assert!(started.elapsed() < Duration::from_secs(3));
    let metrics = gateway::prometheus().render();
    assert!(
        metrics.contains("gateway_upstream_errors_total"),
        "{metrics}"
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn revoked_certificate_is_refused_at_the_handshake_and_others_pass() {
    let listener = listener("optional").replace(
        "trust_anchors: [root-ca.cer, intermediate-ca.cer]",
        "trust_anchors: [root-ca.cer, intermediate-ca.cer]\n        revocation:\n          crl:\n            sources: [crl/intermediate.crl]",
    );
    let gw = echo_gateway(
        &listener,
        "    name: sas\n    path_prefix: /sas\n    allowed_clients: [sas-recette]\n",
    )
    .await;
    let addr = gw.addr("edge").unwrap();
    let err = send(addr, Some("revoked"), false, get("/sas/a"))
        .await
        .err()
        .unwrap();
    let text = describe(err.as_ref());
    assert!(text.contains("AlertReceived(CertificateRevoked)"), "{text}");
    let ok = send(addr, Some("sas-recette"), false, get("/sas/a"))
        .await
        .unwrap();
    assert_eq!(ok.status, 200);
    assert!(
        gateway::prometheus()
            .render()
            .contains(r#"outcome="revoked""#)
    );
    gw.shutdown().await;
}
