//! Helpers of the SAS end-to-end tests: a gateway with the SAS routes in front of the demo
//! planning/accounts services and a fake SAS, FHIR requests over mTLS, and the Python
//! structural checks (fhir.resources R4B + fhirpathpy), which FAIL rather than skip when
//! Python or its packages are missing.
#![allow(dead_code, clippy::unwrap_used, missing_docs, unreachable_pub)]

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};

use bytes::Bytes;
use demo_upstream::fake_sas::{FakeSas, FakeSasSettings};
use http::Request;
use http_body_util::Full;
use jiff::ToSpan;

use crate::common::{self, Answer};

/// The route prefix of the inbound FHIR base.
pub const BASE: &str = "/sas/recette/fhir";
/// `[base]` as the tests address it (the `Host` they send is `localhost`).
pub const ORIGIN: &str = "https://localhost";
/// The vendor's Appointment.identifier system in the tests.
pub const VENDOR_SYSTEM: &str = "urn:oid:1.2.250.1.999.1.1";

pub struct Stack {
    pub gateway: gateway::Gateway,
    pub addr: SocketAddr,
    pub planning: SocketAddr,
    pub sas: Option<FakeSas>,
}

/// What the outbound route uses to reach SAS.
pub struct Outbound<'a> {
    pub sas: SocketAddr,
    pub client: &'a str,
    pub anchors: &'a str,
}

pub async fn fake_sas(cert: &str) -> FakeSas {
    demo_upstream::fake_sas::spawn(
        "127.0.0.1:0".parse().unwrap(),
        FakeSasSettings {
            cert: common::pki(&format!("{cert}.pem")),
            key: common::pki(&format!("{cert}.key")),
            client_anchors: vec![common::pki("ca-bundle.pem")],
            expected_client_cn: Some("vendor-gateway.test".into()),
        },
    )
    .await
    .unwrap()
}

/// The YAML of the SAS routes, with the planning service at `planning`.
pub fn yaml(planning: SocketAddr, deadline: &str, outbound: Option<&Outbound<'_>>) -> String {
    let mut y = common::listener("optional");
    y.push_str(&format!(
        r#"  internal-app:
    cn: internal-app.test
    ou: INTERNAL-TEST
    environment: test
upstreams:
  planning:
    url: http://{planning}
    connect_timeout: 1s
    request_timeout: 10s
routes:
  - name: sas-recette-fhir
    path_prefix: {BASE}
    methods: [GET, POST, PUT]
    handler: sas_fhir
    upstream: planning
    allowed_clients: [sas-recette]
    max_body_size: 64KiB
    sas_fhir:
      deadline: {deadline}
"#
    ));
    if let Some(o) = outbound {
        y.push_str(&format!(
            r#"
  - name: sas-appointments
    path_prefix: /internal/sas
    methods: [POST, PUT]
    handler: sas_appointments
    allowed_clients: [internal-app]
    max_body_size: 64KiB
    sas_appointments:
      base_url: https://localhost:{port}/fhir
      client_cert: clients/{client}.pem
      client_key: clients/{client}.key
      trust_anchors: [{anchors}]
      vendor_system: "{VENDOR_SYSTEM}"
      connect_timeout: 1s
      request_timeout: 2s
      retry:
        max_attempts: 3
        initial_backoff: 20ms
        max_backoff: 100ms
"#,
            port = o.sas.port(),
            client = o.client,
            anchors = o.anchors,
        ));
    }
    y
}

/// Demo planning/accounts upstream and a gateway with the inbound route (deadline 3s).
pub async fn stack() -> Stack {
    let planning = demo_upstream::spawn("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    stack_on(planning, "3s").await
}

/// A gateway with the inbound route to `planning`.
pub async fn stack_on(planning: SocketAddr, deadline: &str) -> Stack {
    let gateway = common::start(&yaml(planning, deadline, None)).await;
    let addr = gateway.addr("edge").unwrap();
    Stack {
        gateway,
        addr,
        planning,
        sas: None,
    }
}

/// A gateway with both routes, the outbound one to a fake SAS with `sas_cert`'s certificate.
pub async fn stack_with_sas(sas_cert: &str, client: &str, anchors: &str) -> Stack {
    let planning = demo_upstream::spawn("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let sas = fake_sas(sas_cert).await;
    let out = Outbound {
        sas: sas.addr,
        client,
        anchors,
    };
    let gateway = common::start(&yaml(planning, "3s", Some(&out))).await;
    let addr = gateway.addr("edge").unwrap();
    Stack {
        gateway,
        addr,
        planning,
        sas: Some(sas),
    }
}

/// `GET [base]/<path_and_query>` as SAS sends it (old `Accept`, `Content-Type: application/json`).
pub async fn fhir_get(stack: &Stack, path_and_query: &str) -> Answer {
    fhir_get_accept(stack, path_and_query, "application/json+fhir").await
}

pub async fn fhir_get_accept(stack: &Stack, path_and_query: &str, accept: &str) -> Answer {
    let req = Request::get(format!("{ORIGIN}{BASE}{path_and_query}"))
        .header("host", "localhost")
        .header("accept", accept)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::new()))
        .unwrap();
    common::send(stack.addr, Some("sas-recette"), false, req)
        .await
        .unwrap()
}

/// A request with a JSON body, presenting `client`.
pub async fn send_json(
    stack: &Stack,
    client: &str,
    method: &str,
    path: &str,
    body: &serde_json::Value,
) -> Answer {
    let req = Request::builder()
        .method(method)
        .uri(format!("{ORIGIN}{path}"))
        .header("host", "localhost")
        .header("accept", "application/fhir+json")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    common::send(stack.addr, Some(client), false, req)
        .await
        .unwrap()
}

/// The self link the gateway must write for `path_and_query`.
pub fn self_url(path_and_query: &str) -> String {
    format!("{ORIGIN}{BASE}{path_and_query}")
}

/// A FHIR dateTime `days` days from today at `hh:mm`, Paris time, written with milliseconds
/// and a numeric offset (`+` not yet encoded).
pub fn paris(days: i64, hh: i8, mm: i8) -> String {
    let tz = jiff::tz::TimeZone::get("Europe/Paris").unwrap();
    let today = jiff::Timestamp::now().to_zoned(tz.clone()).date();
    let day = today.checked_add(days.days()).unwrap();
    let zoned = day
        .to_datetime(jiff::civil::Time::constant(hh, mm, 0, 0))
        .to_zoned(tz)
        .unwrap();
    zoned.strftime("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string()
}

/// `+` → `%2B`, as the kit sends offsets.
pub fn plus(s: &str) -> String {
    s.replace('+', "%2B")
}

/// The kit's INT_R01 query (its HTTP library sorts parameters alphabetically) over a window
/// of `days` days from tomorrow, for `ids` (prefixed RPPS values).
pub fn kit_query(ids: &[&str], days: i64) -> String {
    let list = ids
        .iter()
        .map(|i| format!("urn:oid:1.2.250.1.71.4.2.1%7C{i}"))
        .collect::<Vec<_>>()
        .join(",");
    format!(
        "/Slot?_include=Slot:schedule&_include:iterate=Schedule:actor&schedule.actor:Practitioner.identifier={list}&start=ge{}&start=le{}&status=free",
        plus(&paris(1, 0, 0)),
        plus(&paris(days, 23, 59))
    )
}

/// Runs `tests/python/sas_check.py MODE EXPECT` on `doc`; panics with its reasons on failure.
pub fn python_check(mode: &str, expect: &serde_json::Value, doc: &[u8]) -> serde_json::Value {
    python_script("sas_check.py", &[mode, &expect.to_string()], doc)
}

/// Runs `tests/python/SCRIPT ARGS…` with `doc` on its standard input; its standard output as
/// JSON. Panics with the script's reasons when it fails (or Python or its packages are missing).
pub fn python_script(script: &str, args: &[&str], doc: &[u8]) -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("python")
        .join(script);
    let mut child = Command::new("python3")
        .arg(&path)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run python3 ({e}): install Python 3 and `pip install -r scripts/requirements-test.txt`")
        });
    child.stdin.take().unwrap().write_all(doc).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the FHIR check ({script} {}) failed (are fhir.resources and fhirpathpy installed? \
         `pip install -r scripts/requirements-test.txt`):\n{}\n--- document:\n{}",
        args.first().copied().unwrap_or_default(),
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(doc)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Checks an OperationOutcome answer: status, FHIR media type, issue code.
pub fn assert_outcome(a: &Answer, status: u16, code: &str) -> String {
    assert_eq!(a.status, status, "{}", String::from_utf8_lossy(&a.body));
    assert_eq!(
        a.headers["content-type"], "application/fhir+json; charset=utf-8",
        "FHIR media type"
    );
    let summary = python_check("outcome", &serde_json::json!({ "code": code }), &a.body);
    summary["diagnostics"].as_str().unwrap().to_owned()
}
