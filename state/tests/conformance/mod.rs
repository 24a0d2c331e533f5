//! The one conformance suite every `StateStore` must pass. Each test gets a fresh
//! store (a new `MemoryStore`, or a `RedisStore` with a random key prefix).
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use state::{FailureRecord, QuotaOutcome, StateError, StateStore};

const LONG: Duration = Duration::from_secs(60);

/// Runs every check that needs no waiting.
pub async fn run_fast(store: &dyn StateStore) {
    nonce_replay(store).await;
    failure_counters(store).await;
    tables_are_separate(store).await;
    concurrent_nonce(store).await;
    concurrent_failures(store).await;
    invalid_arguments(store).await;
    quota_consume_within_limit(store).await;
    quota_refusal_changes_nothing(store).await;
    quota_refund(store).await;
    quota_exact_at_the_top(store).await;
    quota_keeps_its_first_window(store).await;
    quota_namespace_is_separate(store).await;
    concurrent_quota(store).await;
    quota_invalid_arguments(store).await;
}

/// Runs the expiry checks (about 3 s of sleeping).
pub async fn run_expiry(store: &dyn StateStore) {
    nonce_expiry(store).await;
    failure_expiry_and_refresh(store).await;
    quota_expiry(store).await;
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

/// Now, plus `ahead`, in Unix milliseconds.
pub fn unix_ms_in(ahead: Duration) -> i64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    i64::try_from((now + ahead).as_millis()).unwrap()
}

/// The expiry a store reports for an existing counter: exact in memory, computed
/// from the remaining TTL by Redis (so within a few ms).
fn assert_resets_at(outcome: QuotaOutcome, window_end: i64) {
    assert!(
        (outcome.resets_at_unix_ms - window_end).abs() <= 5,
        "resets at {} instead of {window_end}",
        outcome.resets_at_unix_ms
    );
}

/// The counter's current usage, read with a zero-amount consume.
async fn quota_used(store: &dyn StateStore, key: &str, window_end: i64) -> u64 {
    store
        .consume(key, 0, u64::MAX, window_end)
        .await
        .unwrap()
        .used
}

pub async fn quota_consume_within_limit(store: &dyn StateStore) {
    let end = unix_ms_in(LONG);
    let first = store.consume("quota-a", 40, 100, end).await.unwrap();
    assert_eq!(
        first,
        QuotaOutcome {
            allowed: true,
            used: 40,
            resets_at_unix_ms: end
        }
    );
    let second = store.consume("quota-a", 60, 100, end).await.unwrap();
    assert_eq!(
        (second.allowed, second.used),
        (true, 100),
        "up to the limit"
    );
    assert_resets_at(second, end);
    // Amount 0 reads the usage and is allowed while within the limit.
    let read = store.consume("quota-a", 0, 100, end).await.unwrap();
    assert_eq!((read.allowed, read.used), (true, 100));
    assert_resets_at(read, end);
    let over = store.consume("quota-a", 1, 100, end).await.unwrap();
    assert_eq!(
        (over.allowed, over.used),
        (false, 100),
        "one past the limit"
    );
    // A read on a key that has no counter yet.
    let fresh = store.consume("quota-b", 0, 100, end).await.unwrap();
    assert_eq!(
        fresh,
        QuotaOutcome {
            allowed: true,
            used: 0,
            resets_at_unix_ms: end
        }
    );
    // An amount equal to the limit fits in an empty window.
    let whole = store.consume("quota-b", 100, 100, end).await.unwrap();
    assert_eq!((whole.allowed, whole.used), (true, 100));
}

pub async fn quota_refusal_changes_nothing(store: &dyn StateStore) {
    let end = unix_ms_in(LONG);
    store.consume("quota-r", 30, 100, end).await.unwrap();
    let refused = store.consume("quota-r", 80, 100, end).await.unwrap();
    assert_eq!((refused.allowed, refused.used), (false, 30));
    assert_resets_at(refused, end);
    assert_eq!(quota_used(store, "quota-r", end).await, 30);
    // What does fit is still accepted after a refusal.
    let rest = store.consume("quota-r", 70, 100, end).await.unwrap();
    assert_eq!((rest.allowed, rest.used), (true, 100));
    // An amount above the limit is refused even on an empty counter, and creates none.
    let too_big = store.consume("quota-big", 200, 100, end).await.unwrap();
    assert_eq!(
        too_big,
        QuotaOutcome {
            allowed: false,
            used: 0,
            resets_at_unix_ms: end
        }
    );
    let later_end = end + 1_000;
    let after = store.consume("quota-big", 0, 100, later_end).await.unwrap();
    assert_eq!(
        (after.used, after.resets_at_unix_ms),
        (0, later_end),
        "no counter was created"
    );
    // A limit lowered below the usage refuses even a read's "allowed".
    let lowered = store.consume("quota-r", 0, 50, end).await.unwrap();
    assert_eq!((lowered.allowed, lowered.used), (false, 100));
    // Limits beyond any count are fine (no overflow).
    let huge = store.consume("quota-r", 1, u64::MAX, end).await.unwrap();
    assert_eq!((huge.allowed, huge.used), (true, 101));
    let too_huge = store
        .consume("quota-r", u64::MAX, u64::MAX, end)
        .await
        .unwrap();
    assert_eq!((too_huge.allowed, too_huge.used), (false, 101));
}

pub async fn quota_refund(store: &dyn StateStore) {
    let end = unix_ms_in(LONG);
    store.consume("quota-f", 50, 100, end).await.unwrap();
    store.refund("quota-f", 20).await.unwrap();
    let after = store.consume("quota-f", 0, 100, end + 5_000).await.unwrap();
    assert_eq!(after.used, 30);
    assert_resets_at(after, end);
    store.refund("quota-f", 0).await.unwrap();
    assert_eq!(quota_used(store, "quota-f", end).await, 30);
    // Refunds saturate at 0, and the counter keeps its window.
    store.refund("quota-f", 1_000).await.unwrap();
    let emptied = store.consume("quota-f", 0, 100, end + 5_000).await.unwrap();
    assert_eq!(emptied.used, 0);
    assert_resets_at(emptied, end);
    store.refund("quota-f", u64::MAX).await.unwrap();
    assert_eq!(quota_used(store, "quota-f", end).await, 0);
    // The refunded room can be consumed again.
    let again = store.consume("quota-f", 100, 100, end).await.unwrap();
    assert_eq!((again.allowed, again.used), (true, 100));
    // A refund for a counter that does not exist creates none.
    store.refund("quota-none", 10).await.unwrap();
    let none = store.consume("quota-none", 0, 100, end).await.unwrap();
    assert_eq!((none.used, none.resets_at_unix_ms), (0, end));
}

pub async fn quota_exact_at_the_top(store: &dyn StateStore) {
    let end = unix_ms_in(LONG);
    let max = state::MAX_QUOTA;
    // Beyond 2^53 (where doubles lose units) every unit still counts.
    let big = store
        .consume("quota-top", max - 2, u64::MAX, end)
        .await
        .unwrap();
    assert_eq!((big.allowed, big.used), (true, max - 2));
    let one = store.consume("quota-top", 1, max - 1, end).await.unwrap();
    assert_eq!((one.allowed, one.used), (true, max - 1));
    let over = store.consume("quota-top", 1, max - 1, end).await.unwrap();
    assert_eq!((over.allowed, over.used), (false, max - 1));
    let last = store.consume("quota-top", 1, u64::MAX, end).await.unwrap();
    assert_eq!(
        (last.allowed, last.used),
        (true, max),
        "limits above MAX_QUOTA count as it"
    );
    let full = store.consume("quota-top", 1, u64::MAX, end).await.unwrap();
    assert_eq!((full.allowed, full.used), (false, max));
    store.refund("quota-top", max - 3).await.unwrap();
    assert_eq!(quota_used(store, "quota-top", end).await, 3);
}

pub async fn quota_keeps_its_first_window(store: &dyn StateStore) {
    let end = unix_ms_in(LONG);
    store.consume("quota-w", 10, 100, end).await.unwrap();
    // A later call passing another window end (a skewed instance) keeps the expiry.
    let other = store
        .consume("quota-w", 10, 100, end + 3_600_000)
        .await
        .unwrap();
    assert_eq!((other.allowed, other.used), (true, 20));
    assert_resets_at(other, end);
}

pub async fn quota_namespace_is_separate(store: &dyn StateStore) {
    let end = unix_ms_in(LONG);
    store.consume("shared-quota", 10, 100, end).await.unwrap();
    assert!(
        !store.seen_or_insert("shared-quota", LONG).await.unwrap(),
        "a quota is not a nonce"
    );
    assert_eq!(store.failures("shared-quota").await.unwrap(), None);
    store.record_failure("shared-quota", 1, LONG).await.unwrap();
    store.reset("shared-quota").await.unwrap();
    assert_eq!(quota_used(store, "shared-quota", end).await, 10);
    // Nonces and failures first: the quota still starts from 0.
    assert!(!store.seen_or_insert("shared-quota-2", LONG).await.unwrap());
    store
        .record_failure("shared-quota-2", 1, LONG)
        .await
        .unwrap();
    let fresh = store.consume("shared-quota-2", 7, 10, end).await.unwrap();
    assert_eq!((fresh.allowed, fresh.used), (true, 7));
    store.refund("shared-quota-2", 7).await.unwrap();
    assert_eq!(
        store
            .failures("shared-quota-2")
            .await
            .unwrap()
            .map(|r| r.count),
        Some(1),
        "a refund touches no failure counter"
    );
    assert!(store.seen_or_insert("shared-quota-2", LONG).await.unwrap());
}

pub async fn concurrent_quota(store: &dyn StateStore) {
    let end = unix_ms_in(LONG);
    let attempts = (0..20).map(|_| store.consume("race-quota", 10, 100, end));
    let outcomes: Vec<QuotaOutcome> = futures_join_all(attempts).await;
    let mut accepted: Vec<u64> = outcomes
        .iter()
        .filter(|o| o.allowed)
        .map(|o| o.used)
        .collect();
    accepted.sort_unstable();
    assert_eq!(
        accepted,
        (1..=10).map(|i| i * 10).collect::<Vec<u64>>(),
        "exactly 10 accepted, each seeing its own total"
    );
    assert!(
        outcomes
            .iter()
            .filter(|o| !o.allowed)
            .all(|o| o.used == 100),
        "refusals report the full counter"
    );
    assert_eq!(quota_used(store, "race-quota", end).await, 100);
    // Concurrent refunds never lose an update either.
    let refunds = (0..10).map(|_| store.refund("race-quota", 10));
    futures_join_all(refunds).await;
    assert_eq!(quota_used(store, "race-quota", end).await, 0);
}

pub async fn quota_invalid_arguments(store: &dyn StateStore) {
    let past = unix_ms_in(Duration::ZERO) - 1_000;
    let err = store.consume("quota-x", 1, 10, past).await.unwrap_err();
    assert!(matches!(err, StateError::InvalidTtl { .. }), "{err}");
    assert_eq!(err.to_string(), "consume needs a TTL of at least 1 ms");
    let err = store.consume("quota-x", 0, 10, i64::MIN).await.unwrap_err();
    assert!(matches!(err, StateError::InvalidTtl { .. }), "{err}");
    let end = unix_ms_in(LONG);
    assert!(matches!(
        store.consume("", 1, 10, end).await.unwrap_err(),
        StateError::InvalidKey { len: 0, .. }
    ));
    let long = "k".repeat(state::MAX_KEY_LEN + 1);
    assert!(matches!(
        store.refund(&long, 1).await.unwrap_err(),
        StateError::InvalidKey { .. }
    ));
    assert!(matches!(
        store.refund("", 1).await.unwrap_err(),
        StateError::InvalidKey { .. }
    ));
    assert_eq!(quota_used(store, "quota-x", end).await, 0, "nothing stored");
}

pub async fn quota_expiry(store: &dyn StateStore) {
    let end = unix_ms_in(Duration::from_millis(300));
    let first = store.consume("short-quota", 10, 10, end).await.unwrap();
    assert_eq!((first.allowed, first.resets_at_unix_ms), (true, end));
    assert!(
        !store
            .consume("short-quota", 1, 10, end)
            .await
            .unwrap()
            .allowed
    );
    tokio::time::sleep(Duration::from_millis(450)).await;
    // The window has ended: a refund for it changes nothing, and a new window starts
    // from 0 with its own expiry.
    store.refund("short-quota", 5).await.unwrap();
    let next_end = unix_ms_in(LONG);
    let next = store
        .consume("short-quota", 10, 10, next_end)
        .await
        .unwrap();
    assert_eq!(
        next,
        QuotaOutcome {
            allowed: true,
            used: 10,
            resets_at_unix_ms: next_end
        },
        "expired at the window's end"
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
