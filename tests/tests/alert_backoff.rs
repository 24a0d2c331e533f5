//! Brute-force backoff (seed 004 §1.3) through the gateway: after a failure an immediate retry
//! with the right password is refused like a wrong one; after the wait it succeeds; and the
//! count (and the nonce cache) is shared by two gateway instances on the same Redis
//! (127.0.0.1:6379, one key prefix per test). The route's `backoff_step` is 1 s here.
#![allow(clippy::unwrap_used)]

mod alert_support;
mod common;

use std::time::Duration;

use alert_support::{Alert, Call, Options, call, post, start, unique_prefix};

fn get(login: &str, password: &str) -> Call {
    Call::new(login, password, "getAlertConfig", "")
}

/// Asserts the login is refused with the user authentication fault.
async fn assert_refused(alert: &Alert, login: &str, password: &str) {
    call(alert, &get(login, password))
        .await
        .assert_fault("tns:UserAuthenticationFailed");
}

/// Asserts the call succeeds.
async fn assert_accepted(alert: &Alert, login: &str, password: &str) {
    let answer = call(alert, &get(login, password)).await;
    assert!(answer.is_success(), "{}", answer.body);
}

#[tokio::test]
async fn retry_refused_during_the_wait_then_accepted() {
    let alert = start(Options::default()).await;
    let wrong = call(&alert, &get("CPT02", "wrong")).await;
    wrong.assert_fault("tns:UserAuthenticationFailed");
    let during = call(&alert, &get("CPT02", "Primary-02-pass")).await;
    // Refused exactly like a wrong password, without looking at it.
    assert_eq!((during.status, &during.body), (wrong.status, &wrong.body));
    // Another login of the same partner is not affected.
    assert_accepted(&alert, "CPT01", "Primary-01-pass").await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_accepted(&alert, "CPT02", "Primary-02-pass").await;
}

#[tokio::test]
async fn the_wait_grows_with_consecutive_failures() {
    let alert = start(Options::default()).await;
    assert_refused(&alert, "CPT02", "wrong").await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_refused(&alert, "CPT02", "wrong-again").await;
    // Two failures: 2 s. After 1.1 s the right password is still refused.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_refused(&alert, "CPT02", "Primary-02-pass").await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_accepted(&alert, "CPT02", "Primary-02-pass").await;
    // The success reset the count: one failure waits 1 s again.
    assert_refused(&alert, "CPT02", "wrong").await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_accepted(&alert, "CPT02", "Primary-02-pass").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_count_is_shared_by_two_instances_on_redis() {
    let prefix = unique_prefix("backoff");
    let first = start(Options {
        redis_prefix: Some(prefix.clone()),
        ..Options::default()
    })
    .await;
    let second = start(Options {
        redis_prefix: Some(prefix),
        upstream: Some(first.upstream.clone()),
        ..Options::default()
    })
    .await;
    let wrong = call(&first, &get("CPT01", "wrong")).await;
    wrong.assert_fault("tns:UserAuthenticationFailed");
    let other_instance = call(&second, &get("CPT01", "Primary-01-pass")).await;
    assert_eq!(
        other_instance.faultcode().as_deref(),
        Some("tns:UserAuthenticationFailed"),
        "the second instance did not see the failure"
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_accepted(&second, "CPT01", "Primary-01-pass").await;

    // The nonce cache is shared too: a message accepted by one instance is a replay for the other.
    let xml = get("CPT01", "Primary-01-pass").xml();
    assert!(post(first.addr, xml.clone()).await.is_success());
    let replay = post(second.addr, xml).await;
    replay.assert_fault("wsse:InvalidSecurity");
}
