//! Brute-force backoff (seed 004 §1.3) through the gateway: after a failure an immediate retry
//! with the right password is refused like a wrong one; after the wait it succeeds; and the
//! count (and the nonce cache) is shared by two gateway instances on the same Redis
//! (127.0.0.1:6379, one key prefix per test). The route's `backoff_step` is 1 s here.
#![allow(clippy::unwrap_used)]

mod alert_support;
mod common;

use std::time::Duration;

use alert_support::{Call, Options, call, post, start, unique_prefix};

fn get(login: &str, password: &str) -> Call {
    Call::new(login, password, "getAlertConfig", "")
}

#[tokio::test]
async fn retry_refused_during_the_wait_then_accepted() {
    let alert = start(Options::default()).await;
    let wrong = call(&alert, &get("CPT02", "wrong")).await;
    assert_eq!(
        wrong.faultcode().as_deref(),
        Some("tns:UserAuthenticationFailed")
    );
    let during = call(&alert, &get("CPT02", "Primary-02-pass")).await;
    // Refused exactly like a wrong password, without looking at it.
    assert_eq!((during.status, &during.body), (wrong.status, &wrong.body));
    // Another login of the same partner is not affected.
    assert!(
        call(&alert, &get("CPT01", "Primary-01-pass"))
            .await
            .is_success()
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let after = call(&alert, &get("CPT02", "Primary-02-pass")).await;
    assert!(after.is_success(), "{}", after.body);
}

#[tokio::test]
async fn the_wait_grows_with_consecutive_failures() {
    let alert = start(Options::default()).await;
    assert!(
        call(&alert, &get("CPT02", "wrong"))
            .await
            .faultcode()
            .is_some()
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(
        call(&alert, &get("CPT02", "wrong-again"))
            .await
            .faultcode()
            .is_some()
    );
    // Two failures: 2 s. After 1.1 s the right password is still refused.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(
        call(&alert, &get("CPT02", "Primary-02-pass"))
            .await
            .faultcode()
            .is_some()
    );
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(
        call(&alert, &get("CPT02", "Primary-02-pass"))
            .await
            .is_success()
    );
    // The success reset the count: one failure waits 1 s again.
    assert!(
        call(&alert, &get("CPT02", "wrong"))
            .await
            .faultcode()
            .is_some()
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(
        call(&alert, &get("CPT02", "Primary-02-pass"))
            .await
            .is_success()
    );
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
    assert_eq!(
        wrong.faultcode().as_deref(),
        Some("tns:UserAuthenticationFailed")
    );
    let other_instance = call(&second, &get("CPT01", "Primary-01-pass")).await;
    assert_eq!(
        other_instance.faultcode().as_deref(),
        Some("tns:UserAuthenticationFailed"),
        "the second instance did not see the failure"
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(
        call(&second, &get("CPT01", "Primary-01-pass"))
            .await
            .is_success()
    );

    // The nonce cache is shared too: a message accepted by one instance is a replay for the other.
    let xml = get("CPT01", "Primary-01-pass").xml();
    assert!(post(first.addr, xml.clone()).await.is_success());
    let replay = post(second.addr, xml).await;
    assert_eq!(replay.faultcode().as_deref(), Some("wsse:InvalidSecurity"));
}
