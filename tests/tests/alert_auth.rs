//! The authentication chain and the scope rules, through the gateway over mTLS: the partner's
//! WS-Security token (digest, nonce replay, freshness), the user's password or SSO token, and
//! which accounts a user may act on.
#![allow(clippy::unwrap_used)]

mod alert_support;
mod common;

use std::time::Duration;

use alert_support::{Call, Options, SSO_KEY_A, SSO_KEY_B, call, post, start};
use soap::{Secret, SsoPolicy};

fn get(login: &str, password: &str) -> Call {
    Call::new(login, password, "getAlertConfig", "")
}

fn sso(key: &str, login: &str, age: Duration) -> String {
    let at = jiff::Timestamp::now() - age;
    SsoPolicy::new(Secret::from(key)).token_for(login, at)
}

#[tokio::test]
async fn the_gateway_serves_its_wsdl_with_the_route_address() {
    let alert = start(Options::default()).await;
    let answer = common::send(
        alert.addr,
        Some("portal"),
        false,
        common::get("/aspone/alert?wsdl"),
    )
    .await
    .unwrap();
    let text = String::from_utf8(answer.body.to_vec()).unwrap();
    assert_eq!(answer.status, 200);
    // Both ports, SOAP 1.1 and SOAP 1.2, carry the route's address.
    assert!(
        text.contains(r#"<soap:address location="https://localhost/aspone/alert"/>"#),
        "{text}"
    );
    assert!(
        text.contains(r#"<soap12:address location="https://localhost/aspone/alert"/>"#),
        "{text}"
    );
    let xsd = common::send(
        alert.addr,
        Some("portal"),
        false,
        common::get("/aspone/alert?xsd=alert.xsd"),
    )
    .await
    .unwrap();
    assert!(
        String::from_utf8(xsd.body.to_vec())
            .unwrap()
            .contains("<xsd:schema")
    );
}

#[tokio::test]
async fn right_partner_and_user() {
    let alert = start(Options::default()).await;
    let answer = call(&alert, &get("CPT01", "Primary-01-pass")).await;
    assert_eq!(answer.status, 200);
    assert!(answer.is_success(), "{}", answer.body);
}

#[tokio::test]
async fn wrong_partner_digest() {
    let alert = start(Options::default()).await;
    let answer = call(
        &alert,
        &get("CPT01", "Primary-01-pass").partner("portal-a", "not-the-secret"),
    )
    .await;
    assert_eq!(answer.status, 401);
    answer.assert_fault("wsse:FailedAuthentication");
    // An unknown partner gets exactly the same answer.
    let unknown = call(
        &alert,
        &get("CPT01", "Primary-01-pass").partner("portal-z", "whatever"),
    )
    .await;
    assert_eq!((unknown.status, unknown.body), (answer.status, answer.body));
}

#[tokio::test]
async fn replayed_nonce() {
    let alert = start(Options::default()).await;
    let xml = get("CPT01", "Primary-01-pass").xml();
    assert!(post(alert.addr, xml.clone()).await.is_success());
    let replay = post(alert.addr, xml).await;
    assert_eq!(replay.status, 401);
    replay.assert_fault("wsse:InvalidSecurity");
}

#[tokio::test]
async fn stale_created() {
    let alert = start(Options::default()).await;
    let mut c = get("CPT01", "Primary-01-pass");
    c.created = Some(
        (jiff::Timestamp::now() - Duration::from_secs(600))
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string(),
    );
    let answer = call(&alert, &c).await;
    assert_eq!(answer.status, 401);
    answer.assert_fault("wsse:MessageExpired");
}

#[tokio::test]
async fn missing_security_header() {
    let alert = start(Options::default()).await;
    let xml = get("CPT01", "Primary-01-pass").xml();
    let start = xml.find("<wsse:Security").unwrap();
    let end = xml.find("</wsse:Security>").unwrap() + "</wsse:Security>".len();
    let answer = post(alert.addr, format!("{}{}", &xml[..start], &xml[end..])).await;
    assert_eq!(answer.status, 401);
    answer.assert_fault("wsse:InvalidSecurity");
}

#[tokio::test]
async fn unknown_mandatory_header() {
    let alert = start(Options::default()).await;
    let xml = get("CPT01", "Primary-01-pass").xml().replace(
        "<soapenv:Header>",
        r#"<soapenv:Header><x:Routing xmlns:x="urn:other" soapenv:mustUnderstand="1"/>"#,
    );
    let answer = post(alert.addr, xml).await;
    assert_eq!(answer.status, 400);
    answer.assert_fault("soap:MustUnderstand");
}

#[tokio::test]
async fn wrong_user_password() {
    let alert = start(Options::default()).await;
    let answer = call(&alert, &get("CPT01", "not-my-password")).await;
    assert_eq!(answer.status, 401);
    answer.assert_fault("tns:UserAuthenticationFailed");
    // An unknown login gets the same answer.
    let unknown = call(&alert, &get("NOBODY", "not-my-password")).await;
    assert_eq!((unknown.status, unknown.body), (answer.status, answer.body));
}

#[tokio::test]
async fn sso_valid() {
    let alert = start(Options::default()).await;
    let answer = call(
        &alert,
        &get("S1.CPT01", &sso(SSO_KEY_A, "S1.CPT01", Duration::ZERO)),
    )
    .await;
    assert!(answer.is_success(), "{}", answer.body);
    assert!(answer.body.contains("<accountName>S1.CPT01</accountName>"));
}

#[tokio::test]
async fn sso_expired() {
    let alert = start(Options::default()).await;
    // Partner A's tokens are valid 5 minutes.
    let answer = call(
        &alert,
        &get(
            "CPT01",
            &sso(SSO_KEY_A, "CPT01", Duration::from_secs(7 * 60)),
        ),
    )
    .await;
    answer.assert_fault("tns:UserAuthenticationFailed");
}

#[tokio::test]
async fn sso_with_another_partners_key() {
    let alert = start(Options::default()).await;
    let answer = call(
        &alert,
        &get("CPT01", &sso(SSO_KEY_B, "CPT01", Duration::ZERO)),
    )
    .await;
    answer.assert_fault("tns:UserAuthenticationFailed");
}

#[tokio::test]
async fn sso_refused_for_an_administrator() {
    let alert = start(Options::default()).await;
    let answer = call(
        &alert,
        &get("ADMINA", &sso(SSO_KEY_A, "ADMINA", Duration::ZERO)),
    )
    .await;
    answer.assert_fault("tns:UserAuthenticationFailed");
    // The same administrator with its password is fine.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(
        call(&alert, &get("ADMINA", "Admin-A-pass1"))
            .await
            .is_success()
    );
}

async fn read(
    alert: &alert_support::Alert,
    login: &str,
    password: &str,
    account: &str,
) -> alert_support::Soap {
    let c = Call::new(
        login,
        password,
        "getAlertConfig",
        &format!("<a:accountName>{account}</a:accountName>"),
    );
    call(alert, &c).await
}

#[tokio::test]
async fn scope_of_each_account_type() {
    let alert = start(Options::default()).await;
    let denied = [("accountName", "ACCOUNT_NOT_ACCESSIBLE")];
    // A secondary account: itself only.
    assert!(
        read(&alert, "S1.CPT01", "Second-1-pass", "S1.CPT01")
            .await
            .is_success()
    );
    read(&alert, "S1.CPT01", "Second-1-pass", "CPT01")
        .await
        .assert_problems(&denied);
    read(&alert, "S1.CPT01", "Second-1-pass", "S2.CPT01")
        .await
        .assert_problems(&denied);
    // A primary account: itself and its secondary accounts, not another primary's.
    assert!(
        read(&alert, "CPT01", "Primary-01-pass", "S2.CPT01")
            .await
            .is_success()
    );
    read(&alert, "CPT02", "Primary-02-pass", "S1.CPT01")
        .await
        .assert_problems(&denied);
    read(&alert, "CPT01", "Primary-01-pass", "CPT02")
        .await
        .assert_problems(&denied);
    // An administrator: every account of its partner.
    assert!(
        read(&alert, "ADMINA", "Admin-A-pass1", "CPT02")
            .await
            .is_success()
    );
    assert!(
        read(&alert, "ADMINA", "Admin-A-pass1", "S2.CPT01")
            .await
            .is_success()
    );
}

#[tokio::test]
async fn out_of_scope_changes_are_not_applied() {
    let alert = start(Options::default()).await;
    let before = alert_support::upstream_config(&alert.upstream, "portal-a", "CPT02").await;
    let c = Call::new(
        "CPT01",
        "Primary-01-pass",
        "setAlertActive",
        "<a:accountName>CPT02</a:accountName><a:alertActive>false</a:alertActive>",
    );
    call(&alert, &c)
        .await
        .assert_problems(&[("accountName", "ACCOUNT_NOT_ACCESSIBLE")]);
    assert_eq!(
        alert_support::upstream_config(&alert.upstream, "portal-a", "CPT02").await,
        before
    );
}

#[tokio::test]
async fn another_partners_account() {
    let alert = start(Options::default()).await;
    // BCPT01 belongs to portal-b: portal-a's administrator gets the same answer as for an
    // account that exists nowhere.
    let other = read(&alert, "ADMINA", "Admin-A-pass1", "BCPT01").await;
    other.assert_problems(&[("accountName", "ACCOUNT_NOT_ACCESSIBLE")]);
    let nowhere = read(&alert, "ADMINA", "Admin-A-pass1", "NOPE01").await;
    assert_eq!(other.body, nowhere.body);
    // portal-b's own user reaches it through portal-b's credentials only.
    let b = Call::new("BCPT01", "Primary-B1-pass", "getAlertConfig", "")
        .partner("portal-b", "partner-b-secret");
    assert!(call(&alert, &b).await.is_success());
    let via_a = call(&alert, &get("BCPT01", "Primary-B1-pass")).await;
    via_a.assert_fault("tns:UserAuthenticationFailed");
}

/// A PHP-style token (reference §3): a 5-byte nonce without `EncodingType`, `Created` to the
/// second from the portal's local (Paris) clock with a literal `Z`. Partner B's profile is
/// lenient with `created_local_zone: Europe/Paris` and accepts it; partner A's strict one does not.
#[tokio::test]
async fn lenient_and_strict_partner_profiles() {
    let alert = start(Options::default()).await;
    let php_style = |c: Call| {
        let mut c = c;
        c.nonce = Some(alert_support::fresh_nonce()[8..13].to_vec());
        let paris = jiff::tz::TimeZone::get("Europe/Paris").unwrap();
        c.created = Some(
            jiff::Timestamp::now()
                .to_zoned(paris)
                .strftime("%Y-%m-%dT%H:%M:%SZ")
                .to_string(),
        );
        c.xml().replace(
            &format!(r#" EncodingType="{}""#, soap::BASE64_BINARY_URI),
            "",
        )
    };
    let b = Call::new("BCPT01", "Primary-B1-pass", "getAlertConfig", "")
        .partner(alert_support::PARTNER_B, alert_support::SECRET_B);
    let lenient = post(alert.addr, php_style(b)).await;
    assert!(lenient.is_success(), "{}", lenient.body);
    let strict = post(alert.addr, php_style(get("CPT01", "Primary-01-pass"))).await;
    assert_eq!(strict.status, 401);
    strict.assert_fault("wsse:InvalidSecurityToken");
}

/// The gateway's own refusals on this route (body too large, wrong method) come back as SOAP
/// faults with the gateway's status, not problem+json.
#[tokio::test]
async fn gateway_refusals_are_soap_faults() {
    let alert = start(Options::default()).await;
    let big = get("CPT01", "Primary-01-pass").xml().replace(
        "<soapenv:Body>",
        &format!("<soapenv:Body><!--{}-->", "x".repeat(300 * 1024)),
    );
    let too_large = post(alert.addr, big).await;
    assert_eq!(too_large.status, 413, "{}", too_large.body);
    too_large.assert_fault("soap:Client");
    let put = http::Request::put("https://localhost/aspone/alert")
        .header("host", "localhost")
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .unwrap();
    let answer = common::send(alert.addr, Some("portal"), false, put)
        .await
        .unwrap();
    assert_eq!(answer.status, 405);
    assert!(String::from_utf8_lossy(&answer.body).contains("<faultcode>soap:Client</faultcode>"));
}
