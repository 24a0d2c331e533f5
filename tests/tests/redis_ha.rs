//! Redis for production (issue 13): the state store over TLS with the test PKI (a client
//! certificate when the server asks for one), and behind Redis Sentinel, where the master is
//! killed mid-traffic, the sentinel promotes the replica, and the alert route of a gateway
//! process works again without a restart, within a time measured here. Every server is started here on a free
//! loopback port and stopped by its PID.
#![allow(clippy::unwrap_used, missing_docs)]

mod alert_support;
mod common;
mod fleet_support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use alert_support::{Call, SECRET_A, post};
use fleet_support::Redis;

/// The alert route, in front of the upstream `demo`.
const ALERT_ROUTE: &str = "routes:
  - name: aspone-alert
    path_prefix: /aspone/alert
    handler: aspone_alert
    upstream: demo
    allow_any_verified_client: true
    aspone_alert:
      partners:
        - {username: portal-a, secret_env: HA_ALERT_SECRET}
";

/// A gateway (in this process) with the alert route and the given `state:` block.
async fn alert_gateway(state: &str, env: &[(&str, &str)]) -> gateway::Gateway {
    let upstream = demo_upstream::spawn("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let yaml = format!(
        "{listener}\n{state}\nupstreams:\n  demo: {{url: \"http://{upstream}\"}}\n{ALERT_ROUTE}",
        listener = common::listener("required"),
    );
    let mut vars: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    vars.insert("HA_ALERT_SECRET".into(), SECRET_A.into());
    common::start_with_env(&yaml, &vars).await
}

fn read_config() -> String {
    Call::new("CPT01", "Primary-01-pass", "getAlertConfig", "").xml()
}

/// One alert call; whether it succeeded (a refused nonce check is a 503 SOAP fault).
async fn alert_ok(addr: std::net::SocketAddr) -> bool {
    match tokio::time::timeout(Duration::from_secs(5), post(addr, read_config())).await {
        Ok(answer) => answer.is_success(),
        Err(_) => false,
    }
}

async fn readyz(g: &gateway::Gateway) -> (u16, String) {
    let addr = g.admin_addr();
    tokio::task::spawn_blocking(move || fleet_support::http_get(addr, "/readyz"))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_state_store_speaks_tls_with_a_client_certificate() {
    let pki = common::pki_dir().canonicalize().unwrap();
    let file = |name: &str| pki.join(name).display().to_string();
    let tls = Redis::start_tls(&[
        "--tls-cert-file",
        &file("server.pem"),
        "--tls-key-file",
        &file("server.key"),
        "--tls-ca-cert-file",
        &file("ca-bundle.pem"),
        "--tls-auth-clients",
        "yes",
    ]);
    let tls_port = tls.port;
    let url = format!("rediss://localhost:{tls_port}");
    let env = [("HA_REDIS_URL", url.as_str())];

    // The test CA and a client certificate: the nonce is stored, so a replay is refused.
    let g = alert_gateway(
        "state:\n  backend: redis\n  url_env: HA_REDIS_URL\n  timeout: 2s\n  tls:\n    \
         ca: ca-bundle.pem\n    cert: clients/internal-app.pem\n    key: clients/internal-app.key\n",
        &env,
    )
    .await;
    let addr = g.addr("edge").unwrap();
    let xml = read_config();
    let first = post(addr, xml.clone()).await;
    assert!(first.is_success(), "{}", first.body);
    post(addr, xml).await.assert_fault("wsse:InvalidSecurity");
    assert_eq!(readyz(&g).await.0, 200);

    // Without the client certificate the server refuses the handshake: not ready, and calls
    // that need the store fail instead of skipping the nonce check.
    let g = alert_gateway(
        "state:\n  backend: redis\n  url_env: HA_REDIS_URL\n  timeout: 2s\n  tls:\n    ca: ca-bundle.pem\n",
        &env,
    )
    .await;
    let (status, body) = readyz(&g).await;
    assert_eq!(status, 503, "{body}");
    assert!(!alert_ok(g.addr("edge").unwrap()).await);

    // Another CA: the server's certificate is not trusted.
    let g = alert_gateway(
        "state:\n  backend: redis\n  url_env: HA_REDIS_URL\n  timeout: 2s\n  tls:\n    \
         ca: untrusted-ca.pem\n    cert: clients/internal-app.pem\n    key: clients/internal-app.key\n",
        &env,
    )
    .await;
    assert_eq!(readyz(&g).await.0, 503);
    drop(tls);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_alert_route_survives_a_sentinel_failover_without_a_restart() {
    let mut master = Redis::start(&[]);
    let replica = Redis::start(&["--replicaof", "127.0.0.1", &master.port.to_string()]);
    let sentinel = Redis::sentinel("gateway", master.port);
    // The sentinel must know the replica before the master goes, or there is nothing to
    // promote (it learns replicas from the master's INFO).
    let deadline = Instant::now() + Duration::from_secs(30);
    while !sentinel
        .cli(&["SENTINEL", "replicas", "gateway"])
        .contains(&replica.port.to_string())
        || !replica
            .cli(&["INFO", "replication"])
            .contains("master_link_status:up")
    {
        assert!(
            Instant::now() < deadline,
            "the sentinel never saw the replica"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The gateway as a process of its own, as a fleet member runs.
    let state = format!(
        "state:\n  backend: redis\n  timeout: 300ms\n  sentinel:\n    addresses: [\"127.0.0.1:{}\"]\n    master_name: gateway\n",
        sentinel.port
    );
    let dir = fleet_support::Scratch::new("sentinel");
    let upstream = demo_upstream::spawn("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let config = dir.0.join("gateway.yaml");
    std::fs::write(
        &config,
        format!(
            "{listener}{state}upstreams:\n  demo: {{url: \"http://{upstream}\"}}\n{routes}",
            listener = fleet_support::listener("required"),
            routes = ALERT_ROUTE,
        ),
    )
    .unwrap();
    let g = fleet_support::GatewayProcess::run(&config, &[], &[("HA_ALERT_SECRET", SECRET_A)]);
    let addr = g.edge;
    assert!(alert_ok(addr).await);

    // Traffic, then the master dies.
    for _ in 0..5 {
        assert!(alert_ok(addr).await);
    }
    let killed = Instant::now();
    master.kill();
    let mut failed = 0;
    let recovered = loop {
        if alert_ok(addr).await {
            break killed.elapsed();
        }
        failed += 1;
        assert!(
            killed.elapsed() < Duration::from_secs(30),
            "the alert route did not recover within 30 s of the failover"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // The replica is the master now, and the calls keep working.
    assert!(replica.cli(&["ROLE"]).starts_with("master"));
    for _ in 0..10 {
        assert!(alert_ok(addr).await);
    }
    let (status, body) = tokio::task::spawn_blocking(move || g.admin_get("/readyz"))
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    // The figure the issue asks for, in the test's output (`-- --nocapture`).
    eprintln!(
        "sentinel failover: the alert route answered again {} ms after the master was killed \
         ({failed} calls failed meanwhile)",
        recovered.as_millis()
    );
    assert!(
        failed > 0,
        "the kill did not interrupt anything: nothing was tested"
    );
}
