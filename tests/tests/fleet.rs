//! Two gateway processes on one Redis, as a fleet behind a load balancer runs (issue 13): what
//! one instance learns holds on the other. A WS-Security nonce replayed on the other instance
//! is refused; a login backoff started on one is enforced on the other; a signed request's
//! nonce and an upload quota are shared; and each instance schedules its CRL fetch on its own
//! jittered time. Redis is started here on a free port and stopped by its PID.
#![allow(clippy::unwrap_used, missing_docs)]

mod alert_support;
mod common;
mod fleet_support;

use std::time::Duration;

use alert_support::{Call, PARTNER_A, SECRET_A, post};
use bytes::Bytes;
use fleet_support::{GatewayProcess, Redis, Scratch, listener};
use http::Request;
use http_body_util::Full;

const SEAL_KEY: &str = "fleet-signing-secret-0123456789abcdef";

/// Two gateways on `redis`, in front of one demo upstream, with the alert route, a signed
/// route and a quota route; CRLs from the test PKI with a 15-minute jitter.
async fn fleet(redis: &Redis, dir: &Scratch) -> (GatewayProcess, GatewayProcess) {
    let upstream = demo_upstream::spawn("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let pki = common::pki_dir().canonicalize().unwrap();
    let yaml = format!(
        r#"{listener}
state:
  backend: redis
  url_env: FLEET_REDIS_URL
  key_prefix: fleet-{pid}
clients:
  portal: {{cn: {portal_cn}, ou: "{portal_ou}"}}
upstreams:
  demo: {{url: "http://{upstream}"}}
routes:
  - name: aspone-alert
    path_prefix: /aspone/alert
    handler: aspone_alert
    upstream: demo
    allow_any_verified_client: true
    aspone_alert:
      backoff_step: 30s
      partners:
        - {{username: {PARTNER_A}, secret_env: FLEET_ALERT_SECRET}}
  - name: signed
    path_prefix: /signed
    handler: proxy
    upstream: demo
    allow_anonymous: true
    signature:
      keys: {{fleet-app: FLEET_SEAL_KEY}}
  - name: uploads
    path_prefix: /uploads
    handler: proxy
    upstream: demo
    allowed_clients: [portal]
    quota: {{daily_volume: 100}}
"#,
        listener = listener("optional").replace(
            "trust_anchors:",
            &format!(
                "revocation:\n          crl:\n            sources: [{pki}/crl/intermediate.crl]\n            jitter: 15m\n        trust_anchors:",
                pki = pki.display()
            )
        ),
        pid = std::process::id(),
        portal_cn = common::manifest("clients/portal")["cn"].as_str().unwrap(),
        portal_ou = common::manifest("clients/portal")["ou"].as_str().unwrap(),
    );
    let config = dir.0.join("gateway.yaml");
    std::fs::write(&config, yaml).unwrap();
    let url = redis.url();
    let env = [
        ("FLEET_REDIS_URL", url.as_str()),
        ("FLEET_ALERT_SECRET", SECRET_A),
        ("FLEET_SEAL_KEY", SEAL_KEY),
    ];
    let first = GatewayProcess::run(&config, &[], &env);
    let second = GatewayProcess::run(&config, &[], &env);
    (first, second)
}

fn get_config(login: &str, password: &str) -> Call {
    Call::new(login, password, "getAlertConfig", "")
}

#[tokio::test(flavor = "multi_thread")]
async fn what_one_instance_learns_holds_on_the_other() {
    let redis = Redis::start(&[]);
    let dir = Scratch::new("fleet");
    let (a, b) = fleet(&redis, &dir).await;
    assert_ne!(a.pid(), b.pid());

    // 1. A WS-Security nonce used on A is a replay on B.
    let xml = get_config("CPT01", "Primary-01-pass").xml();
    let first = post(a.edge, xml.clone()).await;
    assert!(first.is_success(), "{}", first.body);
    let replay = post(b.edge, xml).await;
    assert_eq!(replay.status, 401, "{}", replay.body);
    replay.assert_fault("wsse:InvalidSecurity");

    // 2. A failed login on A starts a 30 s wait that B enforces: the right password is refused
    //    there exactly as a wrong one.
    post(a.edge, get_config("CPT02", "wrong").xml())
        .await
        .assert_fault("tns:UserAuthenticationFailed");
    post(b.edge, get_config("CPT02", "Primary-02-pass").xml())
        .await
        .assert_fault("tns:UserAuthenticationFailed");
    // Another user is not affected.
    assert!(
        post(b.edge, get_config("CPT01", "Primary-01-pass").xml())
            .await
            .is_success()
    );

    // 3. A signed request's nonce: accepted by A, a replay on B.
    let signed = |port: u16| {
        let key = ("fleet-app", SEAL_KEY);
        common::signed_post(
            port,
            "/signed/echo",
            b"%PDF-1.7 fleet",
            key,
            "fleet-nonce-1",
        )
    };
    common::send(a.edge, None, false, signed(a.edge.port()))
        .await
        .unwrap()
        .assert_status(200);
    let replay = common::send(b.edge, None, false, signed(b.edge.port()))
        .await
        .unwrap();
    replay.assert_status(401);
    assert_eq!(
        replay.json()["type"],
        "urn:gateway:problem:signature-replay"
    );

    // 4. The daily quota of 100 bytes: 60 on A, then 60 on B is over it.
    upload(&a, 60).await.assert_status(200);
    let over = upload(&b, 60).await;
    over.assert_status(429);
    assert!(over.headers.contains_key("retry-after"));

    // 5. Each instance's CRL refresh is at its own jittered time.
    let next = |g: &GatewayProcess| {
        let (status, body) = g.admin_get("/revocation");
        assert_eq!(status, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        let next = v.pointer("/edge/crls/0/next_fetch").cloned();
        next.unwrap_or_else(|| panic!("no next_fetch in {body}"))
    };
    assert_ne!(
        next(&a),
        next(&b),
        "two instances fetch the CRL at the same time"
    );
}

async fn upload(g: &GatewayProcess, size: usize) -> common::Answer {
    let req = Request::post("https://localhost/uploads/echo")
        .header("host", "localhost")
        .body(Full::new(Bytes::from(vec![b'x'; size])))
        .unwrap();
    tokio::time::timeout(
        Duration::from_secs(10),
        common::send(g.edge, Some("portal"), false, req),
    )
    .await
    .unwrap()
    .unwrap()
}
