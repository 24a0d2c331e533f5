//! The one conformance suite every `StateStore` must pass. Each test gets a fresh
//! store (a new `MemoryStore`, or a `RedisStore` with a random key prefix).
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::time::Duration;

use state::{FailureRecord, StateError, StateStore};

const LONG: Duration = Duration::from_secs(60);

/// Runs every check that needs no waiting.
pub async fn run_fast(store: &dyn StateStore) {
    nonce_replay(store).await;
    failure_counters(store).await;
    tables_are_separate(store).await;
    concurrent_nonce(store).await;
    concurrent_failures(store).await;
    invalid_arguments(store).await;
}

/// Runs the expiry checks (about 2.5 s of sleeping).
pub async fn run_expiry(store: &dyn StateStore) {
    nonce_expiry(store).await;
    failure_expiry_and_refresh(store).await;
}

pub async fn nonce_replay(store: &dyn StateStore) {
    assert!(
        !store.seen_or_insert("nonce-a", LONG).await.unwrap(),
        "first sighting"
    );
    assert!(
        store.seen_or_insert("nonce-a", LONG).await.unwrap(),
        "replay"
    );
    assert!(
        store.seen_or_insert("nonce-a", LONG).await.unwrap(),
        "replay again"
    );
    assert!(
        !store.seen_or_insert("nonce-b", LONG).await.unwrap(),
        "other nonce"
    );
}

pub async fn failure_counters(store: &dyn StateStore) {
    assert_eq!(store.failures("login-a").await.unwrap(), None);
    let r1 = store.record_failure("login-a", 1_000, LONG).await.unwrap();
    assert_eq!(
        r1,
        FailureRecord {
            count: 1,
            last_failure_unix_ms: 1_000
        }
    );
    let r2 = store.record_failure("login-a", 5_000, LONG).await.unwrap();
    assert_eq!(
        r2,
        FailureRecord {
            count: 2,
            last_failure_unix_ms: 5_000
        }
    );
    // A late report from a skewed instance counts but does not move `last` back.
    let r3 = store.record_failure("login-a", 4_000, LONG).await.unwrap();
    assert_eq!(
        r3,
        FailureRecord {
            count: 3,
            last_failure_unix_ms: 5_000
        }
    );
    assert_eq!(store.failures("login-a").await.unwrap(), Some(r3));
    assert_eq!(store.failures("login-b").await.unwrap(), None);
    store.reset("login-a").await.unwrap();
    assert_eq!(store.failures("login-a").await.unwrap(), None);
    store.reset("login-a").await.unwrap();
    let again = store.record_failure("login-a", 9_000, LONG).await.unwrap();
    assert_eq!(again.count, 1);
}

pub async fn tables_are_separate(store: &dyn StateStore) {
    assert!(!store.seen_or_insert("shared-name", LONG).await.unwrap());
    assert_eq!(store.failures("shared-name").await.unwrap(), None);
    store
        .record_failure("shared-name-2", 1, LONG)
        .await
        .unwrap();
    assert!(!store.seen_or_insert("shared-name-2", LONG).await.unwrap());
    // Resetting failures never forgets a nonce.
    store.reset("shared-name").await.unwrap();
    assert!(store.seen_or_insert("shared-name", LONG).await.unwrap());
}

pub async fn concurrent_nonce(store: &dyn StateStore) {
    let attempts = (0..32).map(|_| store.seen_or_insert("race-nonce", LONG));
    let results: Vec<bool> = futures_join_all(attempts).await;
    assert_eq!(
        results.iter().filter(|seen| !**seen).count(),
        1,
        "exactly one winner"
    );
}

pub async fn concurrent_failures(store: &dyn StateStore) {
    let attempts = (0..32).map(|i| store.record_failure("race-login", i, LONG));
    let mut counts: Vec<u64> = futures_join_all(attempts)
        .await
        .iter()
        .map(|r| r.count)
        .collect();
    counts.sort_unstable();
    assert_eq!(
        counts,
        (1..=32).collect::<Vec<u64>>(),
        "no lost or duplicated count"
    );
    let record = store.failures("race-login").await.unwrap().unwrap();
    assert_eq!(
        record,
        FailureRecord {
            count: 32,
            last_failure_unix_ms: 31
        }
    );
}

pub async fn invalid_arguments(store: &dyn StateStore) {
    let empty = store.seen_or_insert("", LONG).await.unwrap_err();
    assert!(
        matches!(empty, StateError::InvalidKey { len: 0, .. }),
        "{empty}"
    );
    let long = "k".repeat(state::MAX_KEY_LEN + 1);
    assert!(matches!(
        store.failures(&long).await.unwrap_err(),
        StateError::InvalidKey { .. }
    ));
    let zero = store
        .record_failure("k", 0, Duration::ZERO)
        .await
        .unwrap_err();
    assert_eq!(
        zero.to_string(),
        "record_failure needs a TTL of at least 1 ms"
    );
    let sub_ms = store
        .seen_or_insert("k", Duration::from_micros(10))
        .await
        .unwrap_err();
    assert!(matches!(sub_ms, StateError::InvalidTtl { .. }));
}

pub async fn nonce_expiry(store: &dyn StateStore) {
    let ttl = Duration::from_secs(1);
    assert!(!store.seen_or_insert("short-nonce", ttl).await.unwrap());
    assert!(store.seen_or_insert("short-nonce", ttl).await.unwrap());
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(
        !store.seen_or_insert("short-nonce", ttl).await.unwrap(),
        "expired after its TTL"
    );
}

pub async fn failure_expiry_and_refresh(store: &dyn StateStore) {
    let ttl = Duration::from_secs(1);
    store.record_failure("short-login", 1, ttl).await.unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    // A new failure pushes the expiry back.
    store.record_failure("short-login", 2, ttl).await.unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        store
            .failures("short-login")
            .await
            .unwrap()
            .map(|r| r.count),
        Some(2)
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        store.failures("short-login").await.unwrap(),
        None,
        "expired after its TTL"
    );
}

/// Awaits all futures concurrently and unwraps their results.
pub async fn futures_join_all<T, F>(futures: impl IntoIterator<Item = F>) -> Vec<T>
where
    F: std::future::Future<Output = Result<T, StateError>>,
{
    futures_util::future::join_all(futures)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect()
}
