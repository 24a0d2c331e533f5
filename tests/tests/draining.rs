//! A gateway process leaving a fleet and following its files (issue 13): on SIGTERM it drains
//! (`/readyz` 503, still serving, `Connection: close`), then closes its listeners and lets the
//! request in flight finish; with `--watch` it reloads by itself when a Kubernetes-style
//! `..data` symlink swap changes its configuration, and keeps running on a broken one.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;
mod fleet_support;

use std::path::Path;
use std::time::{Duration, Instant};

use fleet_support::{GatewayProcess, Scratch, http_get, listener};

fn config(upstream: std::net::SocketAddr, prefix: &str, drain: &str) -> String {
    format!(
        r#"{listener}
upstreams:
  app: {{url: "http://{upstream}"}}
routes:
  - name: app
    path_prefix: {prefix}
    handler: proxy
    upstream: app
    allow_any_verified_client: true
shutdown:
  drain_period: {drain}
  grace_period: 5s
"#,
        listener = listener("required"),
    )
}

async fn get(g: &GatewayProcess, path: &str) -> common::Answer {
    tokio::time::timeout(
        Duration::from_secs(10),
        common::send(g.edge, Some("internal-app"), false, common::get(path)),
    )
    .await
    .unwrap()
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_drains_then_closes_and_the_request_in_flight_finishes() {
    let slow = common::slow_upstream(Duration::from_millis(2500)).await;
    let fast = demo_upstream::spawn("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let dir = Scratch::new("drain");
    let file = dir.0.join("gateway.yaml");
    let yaml = config(slow, "/app", "1500ms").replace(
        "shutdown:",
        "  - name: quick\n    path_prefix: /quick\n    handler: proxy\n    upstream: quick\n    \
         allow_any_verified_client: true\nshutdown:",
    );
    let yaml = yaml.replace(
        "upstreams:\n",
        &format!("upstreams:\n  quick: {{url: \"http://{fast}\"}}\n"),
    );
    std::fs::write(&file, yaml).unwrap();
    let mut g = GatewayProcess::run(&file, &[], &[]);
    assert_eq!(g.admin_get("/readyz").0, 200);

    // A request in flight (the upstream answers in 2.5 s: after the drain, within the grace).
    let edge = g.edge;
    let in_flight = tokio::spawn(async move {
        common::send(edge, Some("internal-app"), false, common::get("/app/long"))
            .await
            .unwrap()
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let signalled = Instant::now();
    g.terminate();
    tokio::time::sleep(Duration::from_millis(200)).await;

    // Draining: not ready, but still serving, and asking HTTP/1.1 clients to go.
    let (status, body) = g.admin_get("/readyz");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains(r#""draining":true"#), "{body}");
    let during = tokio::spawn({
        let edge = g.edge;
        async move {
            common::send(
                edge,
                Some("internal-app"),
                false,
                common::get("/quick/echo"),
            )
            .await
            .unwrap()
        }
    });
    let during = during.await.unwrap();
    during.assert_status(200);
    assert_eq!(during.headers["connection"], "close");
    assert!(signalled.elapsed() < Duration::from_millis(1500));

    // After the drain the listener is closed: a new connection is refused.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let refused = std::net::TcpStream::connect(g.edge);
    assert!(
        refused.is_err(),
        "the listener still accepts after the drain"
    );

    // The request that was in flight finishes, and the process exits 0.
    let answer = in_flight.await.unwrap();
    answer.assert_status(200);
    assert_eq!(&answer.body[..], b"slow answer");
    let status = g.wait(Duration::from_secs(10)).expect("still running");
    assert!(status.success(), "{status:?}\n{}", g.output());
    assert!(g.output().contains("draining"), "{}", g.output());
}

/// Writes `text` as the next version of a Kubernetes-style volume: `..<version>/gateway.yaml`,
/// then swaps `..data` to it in one rename (what the kubelet does).
fn publish(volume: &Path, version: &str, text: &str) {
    use std::os::unix::fs::symlink;
    let dir = volume.join(format!("..{version}"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("gateway.yaml"), text).unwrap();
    let tmp = volume.join("..data_tmp");
    let _ = std::fs::remove_file(&tmp);
    symlink(format!("..{version}"), &tmp).unwrap();
    std::fs::rename(&tmp, volume.join("..data")).unwrap();
    let link = volume.join("gateway.yaml");
    if std::fs::symlink_metadata(&link).is_err() {
        symlink("..data/gateway.yaml", &link).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_configmap_update_is_reloaded_by_itself_and_a_broken_one_is_refused() {
    let upstream = demo_upstream::spawn("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let volume = Scratch::new("watch");
    publish(&volume.0, "v1", &config(upstream, "/first", "0s"));
    let g = GatewayProcess::run(&volume.0.join("gateway.yaml"), &["--watch", "200ms"], &[]);
    get(&g, "/first/echo").await.assert_status(200);
    get(&g, "/second/echo").await.assert_status(404);

    // A new version of the ConfigMap: the route moves; no signal, no admin call.
    publish(&volume.0, "v2", &config(upstream, "/second", "0s"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while get(&g, "/second/echo").await.status != 200 {
        assert!(Instant::now() < deadline, "not reloaded:\n{}", g.output());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    get(&g, "/first/echo").await.assert_status(404);

    // A broken version: refused, and the running configuration stays.
    publish(&volume.0, "v3", "listeners: [\nnot: yaml");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !g.output().contains("reload refused") {
        assert!(
            Instant::now() < deadline,
            "no refusal logged:\n{}",
            g.output()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    get(&g, "/second/echo").await.assert_status(200);
    let (status, _) = http_get(g.admin, "/healthz");
    assert_eq!(status, 200);
}
