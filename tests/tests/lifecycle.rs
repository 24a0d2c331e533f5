//! Admin endpoints, reload (a bad file keeps the running configuration) and graceful shutdown.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use common::*;

fn config_with_route(upstream: std::net::SocketAddr, prefix: &str) -> String {
    format!(
        r#"{}
upstreams:
  echo:
    url: http://{upstream}
routes:
  - name: r
    path_prefix: {prefix}
    handler: proxy
    upstream: echo
    allowed_clients: [sas-recette]
"#,
        listener("required")
    )
    .replace(
        "cert: server.pem",
        &format!("cert: {}", pki("server.pem").display()),
    )
    .replace(
        "key: server.key",
        &format!("key: {}", pki("server.key").display()),
    )
    .replace(
        "[root-ca.cer, intermediate-ca.cer]",
        &format!("[{}]", pki("ca-bundle.pem").display()),
    )
}

#[tokio::test]
async fn admin_reports_health_readiness_and_metrics() {
    let upstream = demo_upstream::spawn("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let gw = start(&config_with_route(upstream, "/m")).await;
    let answer = send(
        gw.addr("edge").unwrap(),
        Some("sas-recette"),
        false,
        get("/m/x"),
    )
    .await
    .unwrap();
    assert_eq!(answer.status, 200);
    let admin = gw.admin_addr();
    assert_eq!(admin_get(admin, "/healthz").await, (200, "ok\n".into()));
    let (status, ready) = admin_get(admin, "/readyz").await;
    assert_eq!(status, 200, "{ready}");
    assert!(ready.contains(r#""ready":true"#), "{ready}");
    assert!(ready.contains(r#""state":"reachable""#), "{ready}");
    let (status, metrics) = admin_get(admin, "/metrics").await;
    assert_eq!(status, 200);
    assert!(
        metrics.contains(r#"gateway_requests_total{route="r",status="200"}"#),
        "{metrics}"
    );
    assert!(
        metrics.contains("gateway_request_duration_seconds_bucket"),
        "{metrics}"
    );
    assert!(metrics.contains(r#"gateway_tls_handshakes_total{listener="edge",outcome="full"}"#));
    gw.shutdown().await;
}

#[tokio::test]
async fn a_bad_reload_keeps_the_running_configuration() {
    let upstream = demo_upstream::spawn("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let dir = std::env::temp_dir().join(format!("gw-reload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("gateway.yaml");
    std::fs::write(&file, config_with_route(upstream, "/old")).unwrap();
    let env = HashMap::<String, String>::new();
    mtls::install_default_provider();
    let gw = gateway::Gateway::start(gateway::config::load(&file, &env).unwrap())
        .await
        .unwrap();
    let addr = gw.addr("edge").unwrap();

    std::fs::write(&file, "listeners: [oops").unwrap();
    let err = gw.reload_from_file(&env).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!("{}: line 1 column", file.display())),
        "{err}"
    );
    let still = send(addr, Some("sas-recette"), false, get("/old/x"))
        .await
        .unwrap();
    assert_eq!(
        still.status, 200,
        "the running routes must survive a bad reload"
    );

    // Moving a listener needs a restart: refused, old configuration kept.
    std::fs::write(
        &file,
        // The listener's address only (the admin's comes after it in the file).
        config_with_route(upstream, "/old").replacen("127.0.0.1:0", "127.0.0.1:1", 1),
    )
    .unwrap();
    let err = gw.reload_from_file(&env).unwrap_err().to_string();
    assert!(err.contains("restart the gateway"), "{err}");

    // So does a change of revocation settings (the CRLs and caches are started with the gateway).
    let crl = pki("crl/intermediate.crl");
    std::fs::write(
        &file,
        config_with_route(upstream, "/old").replace(
            "        trust_anchors:",
            &format!(
                "        revocation:\n          crl:\n            sources: [{}]\n        trust_anchors:",
                crl.display()
            ),
        ),
    )
    .unwrap();
    let err = gw.reload_from_file(&env).unwrap_err().to_string();
    assert!(
        err.contains("the revocation settings of listener `edge` changed"),
        "{err}"
    );

    std::fs::write(&file, config_with_route(upstream, "/new")).unwrap();
    gw.reload_from_file(&env).unwrap();
    let new = send(addr, Some("sas-recette"), false, get("/new/x"))
        .await
        .unwrap();
    assert_eq!(new.status, 200);
    let old = send(addr, Some("sas-recette"), false, get("/old/x"))
        .await
        .unwrap();
    assert_eq!(old.status, 404);
    gw.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn shutdown_lets_in_flight_requests_finish_and_stops_accepting() {
    let slow = slow_upstream(Duration::from_millis(800)).await;
    let gw = start(&config_with_route(slow, "/slow")).await;
    let addr = gw.addr("edge").unwrap();
    let in_flight = tokio::spawn(send(addr, Some("sas-recette"), false, get("/slow/x")));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = std::time::Instant::now();
    gw.shutdown().await;
    let answer = in_flight.await.unwrap().unwrap();
    assert_eq!(answer.status, 200);
    assert_eq!(&answer.body[..], b"slow answer");
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "still accepting"
    );
}

/// With Redis as the state backend, readiness follows Redis: the real one answers, a closed port
/// makes the instance unready (503) while it keeps serving.
#[tokio::test]
async fn readiness_follows_the_redis_store() {
    let upstream = demo_upstream::spawn("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    for (url, expected) in [
        ("redis://127.0.0.1:6379", 200),
        ("redis://127.0.0.1:1", 503),
    ] {
        let yaml = format!(
            "{}\nstate:\n  backend: redis\n  url_env: GW_TEST_REDIS\n  timeout: 300ms\n",
            config_with_route(upstream, "/r")
        );
        let env = HashMap::from([("GW_TEST_REDIS".to_owned(), url.to_owned())]);
        mtls::install_default_provider();
        let s = gateway::config::from_yaml(&yaml, Path::new("t.yaml"), &pki_dir(), &env).unwrap();
        let gw = gateway::Gateway::start(s).await.unwrap();
        let (status, body) = admin_get(gw.admin_addr(), "/readyz").await;
        assert_eq!(status, expected, "{url}: {body}");
        gw.shutdown().await;
    }
}

#[tokio::test]
async fn a_taken_port_is_a_readable_start_error() {
    let taken = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = taken.local_addr().unwrap().port();
    let yaml = listener("required").replace(
        "bind: 127.0.0.1:0\n    tls",
        &format!("bind: 127.0.0.1:{port}\n    tls"),
    );
    mtls::install_default_provider();
    let err = gateway::Gateway::start(settings(&yaml).unwrap())
        .await
        .err()
        .unwrap();
    assert!(
        err.to_string().starts_with(&format!(
            "cannot bind listener `edge` on 127.0.0.1:{port}: "
        )),
        "{err}"
    );
}
