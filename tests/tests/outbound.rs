//! Outbound routes (seed 003): an internal application calls the gateway, which calls a
//! DMP stand-in over mutual TLS with a practitioner's CPS card through the fake CPS agent, or
//! with a key file. The stand-in is a small rustls + hyper server written here (no code shared
//! with the client path): TLS 1.2 (or 1.3 only, to see a card refused cleanly), a client
//! certificate from the CPS test CA or the test PKI required, answering with the certificate's
//! CN, its connection number and the SHA-256 of the body it received.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;
mod outbound_support;

use std::net::SocketAddr;

use bytes::Bytes;
use common::*;
use http::Request;
use http_body_util::Full;
use outbound_support::{cps, dmp};
use sha2::Digest as _;

async fn agent(card: &str) -> demo_upstream::cps_agent::FakeAgent {
    let options = demo_upstream::cps_agent::AgentOptions::from_files(
        &cps(&format!("cards/{card}.pem")),
        &cps(&format!("cards/{card}.key")),
    )
    .unwrap();
    demo_upstream::cps_agent::spawn(options).await.unwrap()
}

fn card_route(
    dmp: SocketAddr,
    agents: &[&demo_upstream::cps_agent::FakeAgent],
    versions: &str,
) -> String {
    let pins: Vec<String> = agents
        .iter()
        .map(|a| format!("\"{}\"", hex::encode(a.fingerprint)))
        .collect();
    let ports: Vec<String> = agents.iter().map(|a| a.addr.port().to_string()).collect();
    format!(
        r#"  - name: dmp
    path_prefix: /dmp
    handler: outbound
    strip_prefix: true
    allowed_clients: [internal-app]
    outbound:
      base_url: https://localhost:{port}/si-dmp-server/v2
      trust_anchors: [ca-bundle.pem]
      tls_versions: {versions}
      identity:
        cps_agent:
          agent_fingerprints: [{pins}]
          agent_networks: [127.0.0.1/32]
          agent_ports: [{ports}]
          sign_timeout: 2s
"#,
        port = dmp.port(),
        pins = pins.join(", "),
        ports = ports.join(", "),
    )
}

async fn gateway(routes: &str) -> gateway::Gateway {
    start(&format!(
        "{}  internal-app:\n    cn: internal-app.test\n    ou: INTERNAL-TEST\nroutes:\n{routes}",
        listener("required")
    ))
    .await
}

fn soap_call(
    agent: Option<&demo_upstream::cps_agent::FakeAgent>,
    body: &'static [u8],
) -> Request<Full<Bytes>> {
    let mut req = Request::post("https://localhost/dmp/services/DocumentRepository_Service")
        .header("host", "localhost")
        .header(
            "content-type",
            r#"multipart/related; type="application/xop+xml"; boundary="MIMEBoundary_1"; start="<root@dmp>""#,
        )
        .header("x-client-cn", "spoofed");
    if let Some(a) = agent {
        req = req
            .header("x-cps-agent", a.base_url())
            .header("x-cps-session", "session-1");
    }
    req.body(Full::new(Bytes::from_static(body))).unwrap()
}

/// A SOAP 1.2 MTOM/XOP message with a binary attachment: it must reach the DMP byte for byte.
const MTOM: &[u8] = b"--MIMEBoundary_1\r\nContent-Type: application/xop+xml; charset=UTF-8; type=\"application/soap+xml\"\r\nContent-ID: <root@dmp>\r\n\r\n<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Body><Document><xop:Include xmlns:xop=\"http://www.w3.org/2004/08/xop/include\" href=\"cid:doc@dmp\"/></Document></s:Body></s:Envelope>\r\n--MIMEBoundary_1\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <doc@dmp>\r\n\r\n%PDF-1.4 \x00\x01\x02\xff\xfe binary\r\n--MIMEBoundary_1--\r\n";

#[tokio::test(flavor = "multi_thread")]
async fn a_card_signs_through_its_agent_and_the_mtom_body_arrives_unchanged() {
    let dmp = dmp(&[&rustls::version::TLS12]).await;
    let medecin = agent("medecin").await;
    let gw = gateway(&card_route(dmp, &[&medecin], "[tls12, tls13]")).await;
    let answer = send(
        gw.addr("edge").unwrap(),
        Some("internal-app"),
        false,
        soap_call(Some(&medecin), MTOM),
    )
    .await
    .unwrap();
    answer.assert_status(200);
    let seen = answer.json();
    let card_cn = serde_json::from_str::<serde_json::Value>(
        &std::fs::read_to_string(cps("manifest.json")).unwrap(),
    )
    .unwrap()["certificates"]["cps/cards/medecin"]["cn"]
        .clone();
    assert_eq!(seen["cn"], card_cn, "{seen}");
    assert_eq!(seen["body_sha256"], hex::encode(sha2::Sha256::digest(MTOM)));
    assert!(
        seen["content_type"]
            .as_str()
            .unwrap()
            .starts_with("multipart/related")
    );
    assert_eq!(
        seen["leaked"],
        serde_json::json!([]),
        "internal headers reached the partner"
    );
    assert!(medecin.stats.signatures() >= 1);
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_practitioners_never_share_a_connection() {
    let dmp = dmp(&[&rustls::version::TLS12]).await;
    let (medecin, infirmiere) = (agent("medecin").await, agent("infirmiere").await);
    let gw = gateway(&card_route(dmp, &[&medecin, &infirmiere], "[tls12]")).await;
    let addr = gw.addr("edge").unwrap();
    let mut seen = Vec::new();
    for round in 0..3 {
        for a in [&medecin, &infirmiere] {
            let answer = send(
                addr,
                Some("internal-app"),
                false,
                soap_call(Some(a), b"<call/>"),
            )
            .await
            .unwrap();
            assert_eq!(answer.status, 200, "round {round}");
            let j = answer.json();
            seen.push((
                a.base_url(),
                j["cn"].as_str().unwrap().to_owned(),
                j["connection"].as_u64().unwrap(),
            ));
        }
    }
    // Each connection carried one card only, and each agent's calls always the same card.
    let mut by_connection = std::collections::HashMap::new();
    let mut by_agent = std::collections::HashMap::new();
    for (agent, cn, conn) in &seen {
        assert_eq!(
            by_connection.entry(*conn).or_insert_with(|| cn.clone()),
            cn,
            "{seen:?}"
        );
        assert_eq!(
            by_agent.entry(agent.clone()).or_insert_with(|| cn.clone()),
            cn,
            "{seen:?}"
        );
    }
    assert_ne!(
        by_agent[&medecin.base_url()],
        by_agent[&infirmiere.base_url()]
    );
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_before_and_during_the_handshake_are_named() {
    let dmp12 = dmp(&[&rustls::version::TLS12]).await;
    let medecin = agent("medecin").await;
    let gw = gateway(&card_route(dmp12, &[&medecin], "[tls12]")).await;
    let addr = gw.addr("edge").unwrap();
    let problem = |a: &Answer| a.json()["type"].as_str().unwrap().to_owned();
    // No agent named, an agent outside the route's networks: refused before any connection.
    let a = send(addr, Some("internal-app"), false, soap_call(None, b"x"))
        .await
        .unwrap();
    assert_eq!(
        (a.status, problem(&a).as_str()),
        (400, "urn:gateway:problem:agent-missing")
    );
    // A listening "agent" on a loopback address outside the route's 127.0.0.1/32: it must
    // never see a connection.
    let outside = tokio::net::TcpListener::bind("127.0.0.2:0").await.unwrap();
    let mut req = soap_call(None, b"x");
    req.headers_mut().insert(
        "x-cps-agent",
        format!("https://{}", outside.local_addr().unwrap())
            .parse()
            .unwrap(),
    );
    let a = send(addr, Some("internal-app"), false, req).await.unwrap();
    assert_eq!(
        (a.status, problem(&a).as_str()),
        (400, "urn:gateway:problem:agent-not-allowed")
    );
    let contacted =
        tokio::time::timeout(std::time::Duration::from_millis(300), outside.accept()).await;
    assert!(
        contacted.is_err(),
        "the gateway connected to a refused agent"
    );
    let signs_before = medecin.stats.sign_requests();
    // A slow card: the signature times out (504).
    medecin.set_sign_delay(std::time::Duration::from_secs(4));
    let a = send(
        addr,
        Some("internal-app"),
        false,
        soap_call(Some(&medecin), b"x"),
    )
    .await
    .unwrap();
    assert_eq!(
        (a.status, problem(&a).as_str()),
        (504, "urn:gateway:problem:signature-timeout"),
        "{}",
        String::from_utf8_lossy(&a.body)
    );
    medecin.set_sign_delay(std::time::Duration::ZERO);
    // The 504 came from the card's slowness: it had been asked to sign.
    assert!(medecin.stats.sign_requests() > signs_before);
    gw.shutdown().await;
    // A TLS 1.3-only partner: a card cannot sign for TLS 1.3, refused cleanly (502).
    let dmp13 = dmp(&[&rustls::version::TLS13]).await;
    let gw = gateway(&card_route(dmp13, &[&medecin], "[tls12, tls13]")).await;
    let a = send(
        gw.addr("edge").unwrap(),
        Some("internal-app"),
        false,
        soap_call(Some(&medecin), b"x"),
    )
    .await
    .unwrap();
    a.assert_status(502);
    gw.shutdown().await;
    // An agent that is down.
    let down = closed_port().await;
    let gw = gateway(&card_route(dmp12, &[&medecin], "[tls12]").replace(
        &format!("agent_ports: [{}]", medecin.addr.port()),
        &format!("agent_ports: [{}]", down.port()),
    ))
    .await;
    let mut req = soap_call(Some(&medecin), b"x");
    req.headers_mut().insert(
        "x-cps-agent",
        format!("https://127.0.0.1:{}", down.port())
            .parse()
            .unwrap(),
    );
    let a = send(gw.addr("edge").unwrap(), Some("internal-app"), false, req)
        .await
        .unwrap();
    assert_eq!(
        (a.status, problem(&a).as_str()),
        (502, "urn:gateway:problem:agent-unreachable")
    );
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_identity_reaches_the_partner_too() {
    let dmp = dmp(&[&rustls::version::TLS13, &rustls::version::TLS12]).await;
    let gw = gateway(&format!(
        r#"  - name: dmp
    path_prefix: /dmp
    handler: outbound
    allowed_clients: [internal-app]
    outbound:
      base_url: https://localhost:{}/
      trust_anchors: [ca-bundle.pem]
      identity:
        file: {{cert: clients/vendor.pem, key: clients/vendor.key}}
"#,
        dmp.port()
    ))
    .await;
    let answer = send(
        gw.addr("edge").unwrap(),
        Some("internal-app"),
        false,
        soap_call(None, MTOM),
    )
    .await
    .unwrap();
    answer.assert_status(200);
    assert_eq!(answer.json()["cn"], manifest("clients/vendor")["cn"]);
    gw.shutdown().await;
}

/// A card's pool lives no longer than `certificate_ttl`: past it, the agent is asked for the
/// card's certificate again (a card swapped behind the same agent is seen).
#[tokio::test(flavor = "multi_thread")]
async fn the_card_is_fetched_again_after_its_ttl() {
    let dmp = dmp(&[&rustls::version::TLS12]).await;
    let medecin = agent("medecin").await;
    let route = card_route(dmp, &[&medecin], "[tls12]").replace(
        "          sign_timeout: 2s\n",
        "          sign_timeout: 2s\n          certificate_ttl: 1s\n",
    );
    let gw = gateway(&route).await;
    let addr = gw.addr("edge").unwrap();
    let call = || {
        send(
            addr,
            Some("internal-app"),
            false,
            soap_call(Some(&medecin), b"x"),
        )
    };
    assert_eq!(call().await.unwrap().status, 200);
    let first = medecin.stats.certificate_requests();
    assert_eq!(call().await.unwrap().status, 200);
    assert_eq!(
        medecin.stats.certificate_requests(),
        first,
        "within the TTL: no new fetch"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
    assert_eq!(call().await.unwrap().status, 200);
    assert!(
        medecin.stats.certificate_requests() > first,
        "past the TTL the card is fetched again"
    );
    gw.shutdown().await;
}
