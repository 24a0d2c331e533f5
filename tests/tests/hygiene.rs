//! What the upstream is told must be what the gateway checked: identity headers of other
//! proxies' conventions never pass, paths are matched and forwarded in canonical form, and a
//! reload applies every setting or refuses.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::collections::HashMap;

use base64::Engine as _;
use bytes::Bytes;
use common::*;
use http::Request;
use http_body_util::Full;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

/// `/internal` open to any verified client, `/sas` pinned to sas-recette, both on the echo.
async fn two_routes(extra: &str) -> gateway::Gateway {
    let upstream = demo_upstream::spawn("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    start(&format!(
        "{}\nupstreams:\n  echo:\n    url: http://{upstream}\nroutes:
  - name: internal
    path_prefix: /internal
    handler: proxy
    upstream: echo
    allow_any_verified_client: true
{extra}
  - name: sas
    path_prefix: /sas
    handler: proxy
    upstream: echo
    allowed_clients: [sas-recette]
",
        listener("required")
    ))
    .await
}

#[tokio::test]
async fn other_conventions_identity_headers_never_reach_the_upstream() {
    let gw = two_routes("    strip_headers: [X-Tenant]\n    forward_client_cert: true").await;
    let spoofed = [
        "x-ssl-client-cert",
        "x-ssl-client-s-dn",
        "x-ssl-client-verify",
        "ssl-client-cert",
        "ssl-client-verify",
        "x-amzn-mtls-clientcert",
        "x-amzn-mtls-clientcert-subject",
        "x-arr-clientcert",
        "client-cert-chain",
        "x-ssl-cert",
        "x-tls-client-cert",
        "cf-client-cert",
        "x-real-ip",
        "remote-user",
        "x-remote-user",
        "x-authenticated-user",
        "x-user",
        "x-partner",
        "x-ms-client-principal-name",
        "x-original-url",
        "x-rewrite-url",
        "x-envoy-peer-metadata",
        "x-tenant",
    ];
    let mut req = Request::get("https://localhost/internal/x").header("host", "localhost");
    for name in spoofed {
        req = req.header(name, "spoofed");
    }
    req = req.header("client-cert", ":c3Bvb2ZlZA==:");
    let req = req.body(Full::new(Bytes::new())).unwrap();
    let answer = send(gw.addr("edge").unwrap(), Some("internal-app"), false, req)
        .await
        .unwrap();
    assert_eq!(answer.status, 200);
    let echo = answer.json();
    for name in spoofed {
        let value = &echo["headers"][name];
        // Client-Cert-Chain is the gateway's own (the chain presented), never the caller's.
        assert!(
            value.is_null() || (name == "client-cert-chain" && value != "spoofed"),
            "{name} reached the upstream: {value}"
        );
    }
    // RFC 9440: the gateway's own Client-Cert is the presented leaf.
    let leaf = CertificateDer::pem_file_iter(pki("clients/internal-app.pem"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    let expected = format!(
        ":{}:",
        base64::engine::general_purpose::STANDARD.encode(leaf.as_ref())
    );
    assert_eq!(echo["headers"]["client-cert"], expected);
    gw.shutdown().await;
}

#[tokio::test]
async fn dot_segments_cannot_reach_another_routes_path() {
    let gw = two_routes("").await;
    let addr = gw.addr("edge").unwrap();
    // Resolved before matching: the pinned route decides, and internal-app is not pinned there.
    for path in [
        "/internal/../sas/Slot",
        "/internal/%2e%2e/sas/Slot",
        "/internal//..//sas/Slot",
    ] {
        let answer = send(addr, Some("internal-app"), false, get(path))
            .await
            .unwrap();
        assert_eq!(answer.status, 403, "{path}");
    }
    // Refused outright: an upstream may or may not decode these into separators.
    for path in [
        "/internal/..%2Fsas/Slot",
        "/internal/..%5Csas/Slot",
        "/internal/a%00b",
    ] {
        let answer = send(addr, Some("internal-app"), false, get(path))
            .await
            .unwrap();
        assert_eq!(answer.status, 400, "{path}");
        assert_eq!(answer.json()["type"], "urn:gateway:problem:bad-path");
    }
    // What was matched is what is forwarded.
    let answer = send(
        addr,
        Some("internal-app"),
        false,
        get("/internal/a/./b/../c?q=%2F"),
    )
    .await
    .unwrap();
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json()["path"], "/internal/a/c");
    assert_eq!(answer.json()["query"], "q=%2F");
    gw.shutdown().await;
}

#[tokio::test]
async fn a_reload_applies_every_setting_or_refuses_naming_it() {
    let upstream = demo_upstream::spawn("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let dir = std::env::temp_dir().join(format!("gw-reload-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("gateway.yaml");
    let base = format!(
        "{}\nupstreams:\n  echo:\n    url: http://{upstream}\nroutes:\n  - name: sas\n    path_prefix: /sas\n    handler: proxy\n    upstream: echo\n    allowed_clients: [sas-recette]\n",
        listener("required")
            .replace(
                "cert: server.pem",
                &format!("cert: {}", pki("server.pem").display())
            )
            .replace(
                "key: server.key",
                &format!("key: {}", pki("server.key").display())
            )
            .replace(
                "[root-ca.cer, intermediate-ca.cer]",
                &format!(
                    "[{}, {}]",
                    pki("root-ca.cer").display(),
                    pki("intermediate-ca.cer").display()
                )
            )
    );
    std::fs::write(&file, &base).unwrap();
    mtls::install_default_provider();
    let env: HashMap<String, String> =
        HashMap::from([("REDIS_URL".into(), "redis://127.0.0.1:6379".into())]);
    let settings = gateway::config::load(&file, &env).unwrap();
    let gw = gateway::Gateway::start(settings).await.unwrap();
    let with_listener_key =
        |key: &str| base.replacen("    tls:\n", &format!("    {key}\n    tls:\n"), 1);
    for (change, named) in [
        (with_listener_key("max_connections: 7"), "max_connections"),
        (
            with_listener_key("max_connections_per_address: 3"),
            "max_connections_per_address",
        ),
        (
            format!("{base}state:\n  backend: redis\n  url_env: REDIS_URL\n"),
            "state",
        ),
        (format!("{base}logging:\n  level: debug\n"), "logging"),
        (
            format!("{base}shutdown:\n  grace_period: 1s\n"),
            "shutdown.grace_period",
        ),
    ] {
        std::fs::write(&file, &change).unwrap();
        let err = gw.reload_from_file(&env).unwrap_err().to_string();
        assert!(
            err.contains(named) && err.contains("restart"),
            "{named}: {err}"
        );
    }
    // Timeouts are applied (to new connections): a 300 ms header-read timeout closes a new
    // connection that sends nothing within about that, where the default would wait 10 s.
    std::fs::write(&file, with_listener_key("header_read_timeout: 300ms")).unwrap();
    gw.reload_from_file(&env).unwrap();
    let mut silent = connect(
        gw.addr("edge").unwrap(),
        client_config(Some("sas-recette"), &[b"http/1.1"]),
    )
    .await
    .unwrap();
    let started = std::time::Instant::now();
    let mut buf = [0u8; 64];
    let closed = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        tokio::io::AsyncReadExt::read(&mut silent, &mut buf),
    )
    .await;
    assert!(
        matches!(closed, Ok(Ok(0) | Err(_))),
        "the reloaded header_read_timeout was not applied: {closed:?}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    gw.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// Raw HTTP/1.1 over TLS, as internal-app; the whole answer as text.
async fn raw_exchange(addr: std::net::SocketAddr, request: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = connect(addr, client_config(Some("internal-app"), &[b"http/1.1"]))
        .await
        .unwrap();
    s.write_all(request).await.unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), s.read_to_end(&mut buf)).await;
    String::from_utf8_lossy(&buf).into_owned()
}

#[tokio::test]
async fn framing_the_gateway_cannot_pass_on_faithfully_is_refused_or_removed() {
    let gw = two_routes("").await;
    let addr = gw.addr("edge").unwrap();
    // A transfer coding hyper does not decode would reach the upstream undecoded.
    let out = raw_exchange(
        addr,
        b"POST /internal/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    )
    .await;
    assert!(out.starts_with("HTTP/1.1 501"), "{out}");
    assert!(out.contains("urn:gateway:problem:transfer-coding"), "{out}");
    // The gateway answers 100 Continue itself; the upstream must not be asked to again.
    let out = raw_exchange(
        addr,
        b"POST /internal/x HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
    )
    .await;
    assert!(out.contains("HTTP/1.1 200"), "{out}");
    assert!(
        !out.contains("\"expect\""),
        "Expect reached the upstream: {out}"
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn a_truncated_upstream_response_is_counted() {
    // An upstream that promises 1,000 bytes and closes after 10.
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = tcp.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut s, _)) = tcp.accept().await {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).await;
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789")
                .await;
        }
    });
    let gw = start(&format!(
        "{}\nupstreams:\n  cutting:\n    url: http://{upstream}\nroutes:\n  - name: cut\n    path_prefix: /cut\n    handler: proxy\n    upstream: cutting\n    allow_any_verified_client: true\n",
        listener("required")
    ))
    .await;
    let got = send(
        gw.addr("edge").unwrap(),
        Some("internal-app"),
        false,
        get("/cut"),
    )
    .await;
    assert!(got.is_err(), "a truncated body was delivered as complete");
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let metrics = gateway::prometheus().render();
    assert!(
        metrics.contains(r#"gateway_upstream_errors_total{upstream="cutting",kind="truncated"} 1"#),
        "{metrics}"
    );
    gw.shutdown().await;
}
