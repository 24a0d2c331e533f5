//! The configuration, and whole calls in-process against the demo upstream.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::Request;
use sha1::{Digest as _, Sha1};
use soap::Limits;

use super::super::model::AccountType;
use super::super::*;
use crate::{BuildContext, InternalService};

pub(super) const NS: &str = config::DEFAULT_NAMESPACE;

// === configuration ===

fn upstreams(url: &str) -> BTreeMap<String, InternalService> {
    BTreeMap::from([(
        "alert".to_owned(),
        InternalService {
            name: "alert".into(),
            base_url: url.into(),
            connect_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_secs(2),
        },
    )])
}

fn settings_from(
    yaml: &str,
    url: &str,
    route_upstream: Option<&str>,
) -> Result<Settings, Vec<crate::FieldError>> {
    let raw: RawConfig = serde_saphyr_like(yaml);
    let env = |name: &str| match name {
        "SECRET_A" => Some("partner-a-secret".to_owned()),
        "SSO_A" => Some("sso-key-a".to_owned()),
        "EMPTY" => Some(String::new()),
        _ => None,
    };
    let ups = upstreams(url);
    let cx = BuildContext {
        env: &env,
        base_dir: Path::new("."),
        upstreams: &ups,
        route_upstream,
    };
    validate(&raw, &cx)
}

/// The tests write the block as JSON (a subset of YAML) to avoid a YAML dependency here.
fn serde_saphyr_like(json: &str) -> RawConfig {
    serde_json::from_str(json).unwrap()
}

#[test]
fn config_reports_every_problem() {
    let yaml = r#"{"namespace": "not a uri", "backoff_step": "5 parsecs", "sso_time_zone": "Mars/Olympus",
      "partners": [
        {"username": "a", "secret_env": "MISSING", "profile": "loose", "account_name_max_len": 0},
        {"username": "a", "secret_env": "EMPTY", "sso_validity": "1m", "id": "bad/id"}
      ]}"#;
    let errors = settings_from(yaml, "http://127.0.0.1:1", Some("nope")).unwrap_err();
    let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(
        keys,
        vec![
            "namespace",
            "backoff_step",
            "sso_time_zone",
            "partners[0].secret_env",
            "partners[0].profile",
            "partners[0].account_name_max_len",
            "partners[1].username",
            "partners[1].id",
            "partners[1].secret_env",
            "partners[1].sso_validity",
            "upstream",
        ],
        "{errors:?}"
    );
}

#[test]
fn config_defaults() {
    let s = settings_from(r#"{"partners": [{"username": "portal-a", "secret_env": "SECRET_A", "sso_key_env": "SSO_A"}]}"#, "http://127.0.0.1:1", Some("alert")).unwrap();
    assert_eq!(s.namespace, NS);
    assert_eq!(s.backoff.step(), soap::Backoff::DEFAULT_STEP);
    let p = s.partner("portal-a").unwrap();
    assert_eq!(p.account_name_max_len, 9);
    assert_eq!(p.id, "portal-a");
    assert!(p.sso.is_some());
    assert_eq!(p.policy.profile(), soap::Profile::Strict);
}

// === whole calls, in-process, against the demo upstream ===

pub(super) async fn service(backoff_step: &str) -> AlertService {
    let addr = demo_upstream::spawn("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    service_on(&format!("http://{addr}"), backoff_step)
}

/// The service in front of the alert service at `url`.
pub(super) fn service_on(url: &str, backoff_step: &str) -> AlertService {
    let yaml = format!(
        r#"{{"backoff_step": "{backoff_step}", "partners": [{{"username": "portal-a", "secret_env": "SECRET_A", "sso_key_env": "SSO_A"}}]}}"#
    );
    let s = settings_from(&yaml, url, Some("alert")).unwrap();
    let deps = crate::Deps {
        store: Arc::new(state::MemoryStore::new(1000)),
    };
    AlertService::new(s, &deps).unwrap()
}

fn ctx() -> CallContext {
    CallContext {
        request_id: "req-1".into(),
        route_name: "aspone-alert".into(),
        route_prefix: "/aspone/alert".into(),
        origin: "https://gw.example:8443".into(),
        client_name: None,
        identity: None,
    }
}

pub(super) fn request(login: &str, password: &str, body: &str) -> Request<Bytes> {
    let nonce: [u8; 16] = rand_nonce();
    let created = jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let mut h = Sha1::new();
    h.update(nonce);
    h.update(created.as_bytes());
    h.update(b"partner-a-secret");
    let b64 = base64::engine::general_purpose::STANDARD;
    let xml = format!(
        r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:a="{NS}" xmlns:wsse="{}" xmlns:wsu="{}"><s:Header><a:serviceVersion>1.1</a:serviceVersion><a:context><a:user><a:login>{login}</a:login><a:password>{password}</a:password></a:user></a:context><wsse:Security s:mustUnderstand="1"><wsse:UsernameToken><wsse:Username>portal-a</wsse:Username><wsse:Password Type="{}">{}</wsse:Password><wsse:Nonce EncodingType="{}">{}</wsse:Nonce><wsu:Created>{created}</wsu:Created></wsse:UsernameToken></wsse:Security></s:Header><s:Body>{body}</s:Body></s:Envelope>"#,
        soap::WSSE_NS,
        soap::WSU_NS,
        soap::PASSWORD_DIGEST_URI,
        b64.encode(h.finalize()),
        soap::BASE64_BINARY_URI,
        b64.encode(nonce),
    );
    Request::post("https://gw.example:8443/aspone/alert")
        .body(Bytes::from(xml))
        .unwrap()
}

fn rand_nonce() -> [u8; 16] {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = jiff::Timestamp::now().as_nanosecond() as u64;
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&n.to_le_bytes());
    out[8..].copy_from_slice(&t.to_le_bytes());
    out
}

pub(super) async fn call(svc: &AlertService, req: Request<Bytes>) -> (u16, String) {
    let r = svc.handle(req, &ctx()).await;
    (
        r.status().as_u16(),
        String::from_utf8(r.body().to_vec()).unwrap(),
    )
}

#[tokio::test]
async fn wsdl_carries_the_route_address_and_the_schema() {
    let svc = service("1s").await;
    let r = svc
        .handle(
            Request::get("/aspone/alert?wsdl")
                .body(Bytes::new())
                .unwrap(),
            &ctx(),
        )
        .await;
    let text = String::from_utf8(r.body().to_vec()).unwrap();
    assert!(
        text.contains(r#"location="https://gw.example:8443/aspone/alert""#),
        "{text}"
    );
    assert!(text.contains(r#"<xsd:element name="updateAlertConfig">"#));
    assert!(!text.contains("schemaLocation"));
    // The document stays well-formed XML once assembled: the parser gets to the root element
    // and refuses it only for not being an Envelope.
    let err = soap::Envelope::parse_any(text.as_bytes(), &Limits::default()).unwrap_err();
    assert!(
        matches!(err, soap::EnvelopeError::NotAnEnvelope { .. }),
        "{err}"
    );
}

#[tokio::test]
async fn get_own_config_lists_only_active_services() {
    let svc = service("1s").await;
    let (status, body) = call(
        &svc,
        request(
            "CPT01",
            "Primary-01-pass",
            &format!(r#"<a:getAlertConfig xmlns:a="{NS}"/>"#),
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("<responseType>SUCCESS</responseType>"),
        "{body}"
    );
    assert!(
        body.contains("<teleProcedure>IR</teleProcedure>"),
        "subscribed without services: {body}"
    );
    assert!(
        !body.contains("<type>RCP</type>"),
        "inactive service listed: {body}"
    );
}

#[tokio::test]
async fn wrong_password_then_backoff() {
    let svc = service("1s").await;
    let get = format!(r#"<a:getAlertConfig xmlns:a="{NS}"/>"#);
    let (status, body) = call(&svc, request("CPT01", "wrong", &get)).await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("UserAuthenticationFailed"));
    let (status, _) = call(&svc, request("CPT01", "Primary-01-pass", &get)).await;
    assert_eq!(status, 401, "the wait is not over");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, body) = call(&svc, request("CPT01", "Primary-01-pass", &get)).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn any_login_text_is_judged_not_a_transport_error() {
    let svc = service("1s").await;
    let get = format!(r#"<a:getAlertConfig xmlns:a="{NS}"/>"#);
    for login in ["José", "a&#10;b", "%41", &"x".repeat(300)] {
        let (status, body) = call(&svc, request(login, "whatever", &get)).await;
        assert_eq!(status, 401, "{login}: {body}");
        assert!(body.contains("UserAuthenticationFailed"), "{body}");
    }
}

#[test]
fn scope_rules() {
    use super::super::auth::{Scope, scope};
    use super::super::upstream::VerifiedUser;
    let user = |account: &str, role, secondaries: &[&str]| VerifiedUser {
        account: account.into(),
        role,
        secondary_accounts: secondaries.iter().map(|s| (*s).to_owned()).collect(),
    };
    let secondary = user("S1.P", AccountType::Secondary, &[]);
    assert_eq!(
        scope(&secondary, "S1.P"),
        Scope::Allowed(Some(AccountType::Secondary))
    );
    assert_eq!(scope(&secondary, "P"), Scope::Denied);
    let primary = user("P", AccountType::Primary, &["S1.P"]);
    assert_eq!(
        scope(&primary, "S1.P"),
        Scope::Allowed(Some(AccountType::Secondary))
    );
    assert_eq!(scope(&primary, "Q"), Scope::Denied);
    let admin = user("ADM", AccountType::Administrator, &[]);
    assert_eq!(
        scope(&admin, "ADM"),
        Scope::Allowed(Some(AccountType::Administrator))
    );
    assert_eq!(scope(&admin, "P"), Scope::Allowed(None));
}

#[test]
fn created_local_zone_is_for_lenient_partners() {
    let strict = r#"{"partners": [{"username": "a", "secret_env": "SECRET_A", "created_local_zone": "Europe/Paris"}]}"#;
    let errors = settings_from(strict, "http://127.0.0.1:1", Some("alert")).unwrap_err();
    assert_eq!(errors[0].key, "partners[0].created_local_zone");
    let lenient = r#"{"partners": [{"username": "a", "secret_env": "SECRET_A", "profile": "lenient", "created_local_zone": "Europe/Paris"}]}"#;
    assert!(settings_from(lenient, "http://127.0.0.1:1", Some("alert")).is_ok());
}
