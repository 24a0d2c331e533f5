//! The internal alert service down or slow: a SOAP fault with HTTP 503 or 504, and nothing
//! applied, not even later (the gateway sends a deadline the service honours).
#![allow(clippy::unwrap_used)]

mod alert_support;
mod common;

use std::time::Duration;

use alert_support::{
    Alert, Call, Options, call, delaying_front, demo_upstream, start, upstream_config,
};

fn switch_off() -> Call {
    Call::new(
        "CPT01",
        "Primary-01-pass",
        "setAlertActive",
        "<a:alertActive>false</a:alertActive>",
    )
}

/// A gateway whose alert service is at `upstream`, waited for `timeout`.
async fn start_on(upstream: String, timeout: &'static str) -> Alert {
    start(Options {
        upstream: Some(upstream),
        upstream_timeout: timeout,
        ..Options::default()
    })
    .await
}

#[tokio::test]
async fn upstream_down_is_a_503_fault() {
    let down = common::closed_port().await;
    let alert = start_on(format!("http://{down}"), "5s").await;
    let answer = call(&alert, &switch_off()).await;
    assert_eq!(answer.status, 503, "{}", answer.body);
    answer.assert_fault("soap:Server");
    assert!(answer.body.contains("nothing was changed"));
}

#[tokio::test]
async fn a_dead_upstream_does_not_count_as_a_login_failure() {
    let down = common::closed_port().await;
    let alert = start_on(format!("http://{down}"), "5s").await;
    assert_eq!(call(&alert, &switch_off()).await.status, 503);
    // Still 503 (the password was never judged), not the backoff's authentication fault.
    assert_eq!(call(&alert, &switch_off()).await.status, 503);
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_upstream_is_a_504_fault_and_the_change_is_never_applied() {
    let real = demo_upstream().await;
    // Every call to the service (the login check included) arrives 1.5 s late; the route waits
    // 700 ms. The login check times out first, so the change is not even sent.
    let slow = delaying_front(real.clone(), Duration::from_millis(1500), None).await;
    let alert = start_on(slow, "700ms").await;
    let answer = call(&alert, &switch_off()).await;
    assert_eq!(answer.status, 504, "{}", answer.body);
    answer.assert_fault("soap:Server");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        upstream_config(&real, "portal-a", "CPT01").await["alertActive"],
        true
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_arriving_after_the_gateway_gave_up_is_not_applied() {
    let real = demo_upstream().await;
    // Only the PATCH is late: the login check passes, the change reaches the service after
    // the gateway answered 504, and the service refuses it (deadline passed).
    let slow = delaying_front(
        real.clone(),
        Duration::from_millis(1500),
        Some(http::Method::PATCH),
    )
    .await;
    let alert = start_on(slow, "700ms").await;
    let answer = call(&alert, &switch_off()).await;
    assert_eq!(answer.status, 504, "{}", answer.body);
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert_eq!(
        upstream_config(&real, "portal-a", "CPT01").await["alertActive"],
        true,
        "the late change was applied"
    );
    // Once the service is fast again, the same change goes through.
    let fast = start_on(real.clone(), "5s").await;
    assert!(call(&fast, &switch_off()).await.is_success());
    assert_eq!(
        upstream_config(&real, "portal-a", "CPT01").await["alertActive"],
        false
    );
}
