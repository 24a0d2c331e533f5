//! Validation of the SAS route blocks: defaults, every error reported with its key, TLS
//! material loaded at check time.
#![allow(clippy::unwrap_used)]
use std::collections::BTreeMap;

use super::*;

fn service(name: &str) -> InternalService {
    InternalService {
        name: name.into(),
        base_url: "http://127.0.0.1:1".into(),
        connect_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_secs(5),
    }
}

fn with_cx<T>(route_upstream: Option<&str>, f: impl FnOnce(&BuildContext<'_>) -> T) -> T {
    let upstreams: BTreeMap<String, InternalService> =
        [("planning".to_owned(), service("planning"))].into();
    let env = |_: &str| None;
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("../certs-test/pki");
    let cx = BuildContext {
        env: &env,
        base_dir: &base,
        upstreams: &upstreams,
        route_upstream,
    };
    f(&cx)
}

#[test]
fn inbound_defaults_and_every_error() {
    let ok = with_cx(Some("planning"), |cx| {
        validate_inbound(&RawInbound::default(), cx)
    })
    .unwrap();
    assert_eq!(ok.deadline, DEFAULT_DEADLINE);
    assert_eq!(ok.accounts.name, "planning");
    let raw = RawInbound {
        deadline: Some("7s".into()),
        accounts_upstream: Some("nope".into()),
        location_system: Some("vendor".into()),
    };
    let errs = with_cx(None, |cx| validate_inbound(&raw, cx)).unwrap_err();
    let keys: Vec<&str> = errs.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "deadline",
            "upstream",
            "accounts_upstream",
            "location_system"
        ]
    );
}

#[test]
fn outbound_reports_every_problem_and_loads_the_material() {
    let errs = with_cx(None, |cx| validate_outbound(&RawOutbound::default(), cx)).unwrap_err();
    let keys: Vec<&str> = errs.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "base_url",
            "client_cert",
            "client_key",
            "vendor_system",
            "trust_anchors"
        ]
    );
    let raw = RawOutbound {
        base_url: Some("https://localhost:9443/fhir/".into()),
        client_cert: Some("clients/vendor.pem".into()),
        client_key: Some("clients/internal-app.key".into()),
        trust_anchors: vec!["ca-bundle.pem".into()],
        vendor_system: Some("urn:oid:1.2.3".into()),
        request_timeout: Some("5 s".into()),
        ..RawOutbound::default()
    };
    let errs = with_cx(None, |cx| validate_outbound(&raw, cx)).unwrap_err();
    let keys: Vec<&str> = errs.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(keys, ["client_cert", "request_timeout"]);
    let raw = RawOutbound {
        client_key: Some("clients/vendor.key".into()),
        request_timeout: None,
        ..raw
    };
    let ok = with_cx(None, |cx| validate_outbound(&raw, cx)).unwrap();
    assert_eq!(ok.base_url, "https://localhost:9443/fhir");
    assert_eq!(ok.retry.max_attempts, 3);
}

#[test]
fn durations_are_bounded_not_wrapped() {
    // The one duration syntax of every YAML key (crate::parse_duration).
    let raw = RawOutbound {
        base_url: Some("https://localhost:9443/fhir".into()),
        client_cert: Some("clients/vendor.pem".into()),
        client_key: Some("clients/vendor.key".into()),
        trust_anchors: vec!["ca-bundle.pem".into()],
        vendor_system: Some("urn:oid:1.2.3".into()),
        // u64::MAX / 60 + 1 minutes overflows: refused instead of a panic or a wrapped value.
        connect_timeout: Some("307445734561825861m".into()),
        ..RawOutbound::default()
    };
    let errors = with_cx(None, |cx| validate_outbound(&raw, cx)).unwrap_err();
    assert!(
        errors
            .iter()
            .any(|e| e.key == "connect_timeout" && e.reason.contains("is too large")),
        "{errors:?}"
    );
}
