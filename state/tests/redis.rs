//! The conformance suite on a real Redis, plus what only a shared store can do.
//!
//! Needs Redis at `redis://127.0.0.1:6379` (or `$REDIS_URL`); CI starts one. These
//! tests FAIL when Redis is unreachable rather than skip: a silently skipped test
//! would hide a broken replay cache. Each test uses its own random key prefix and
//! short TTLs, so nothing is flushed and nothing lingers.
#![allow(clippy::unwrap_used)]

mod conformance;

use std::time::{Duration, Instant};

use state::{FallbackStore, OnUnavailable, RedisConfig, RedisStore, StateError, StateStore};

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

fn random_prefix() -> String {
    format!("test-{:016x}", rand::random::<u64>())
}

/// A store on the test Redis under `prefix`; fails loudly if Redis is down.
async fn store(prefix: &str) -> RedisStore {
    let url = redis_url();
    let store = RedisStore::new(RedisConfig::new(url.clone(), prefix))
        .await
        .unwrap();
    if let Err(e) = store.ping().await {
        panic!(
            "Redis is not reachable at {url} ({e}). These tests need a real Redis: \
             start one with `redis-server --daemonize yes` or \
             `docker run -d -p 6379:6379 redis:7`, or set REDIS_URL."
        );
    }
    store
}

#[tokio::test]
async fn redis_store_conformance() {
    conformance::run_fast(&store(&random_prefix()).await).await;
}

#[tokio::test]
async fn redis_store_expiry() {
    conformance::run_expiry(&store(&random_prefix()).await).await;
}

#[tokio::test]
async fn replay_is_caught_across_two_gateway_instances() {
    let prefix = random_prefix();
    let (a, b) = (store(&prefix).await, store(&prefix).await);
    let ttl = Duration::from_secs(30);
    assert!(!a.seen_or_insert("nonce-1", ttl).await.unwrap());
    assert!(
        b.seen_or_insert("nonce-1", ttl).await.unwrap(),
        "instance B sees A's nonce"
    );
    assert!(!b.seen_or_insert("nonce-2", ttl).await.unwrap());
    assert!(
        a.seen_or_insert("nonce-2", ttl).await.unwrap(),
        "instance A sees B's nonce"
    );
    // Racing instances: exactly one of them accepts a given nonce.
    let racers = (0..16).map(|i| {
        if i % 2 == 0 {
            a.seen_or_insert("nonce-3", ttl)
        } else {
            b.seen_or_insert("nonce-3", ttl)
        }
    });
    let results = conformance::futures_join_all(racers).await;
    assert_eq!(results.iter().filter(|seen| !**seen).count(), 1);
    // Another deployment (prefix) does not see them.
    let other = store(&random_prefix()).await;
    assert!(!other.seen_or_insert("nonce-1", ttl).await.unwrap());
}

#[tokio::test]
async fn failure_counters_are_shared_by_two_instances() {
    let prefix = random_prefix();
    let (a, b) = (store(&prefix).await, store(&prefix).await);
    let ttl = Duration::from_secs(30);
    a.record_failure("jdupont", 1_000, ttl).await.unwrap();
    a.record_failure("jdupont", 2_000, ttl).await.unwrap();
    let third = b.record_failure("jdupont", 3_000, ttl).await.unwrap();
    assert_eq!((third.count, third.last_failure_unix_ms), (3, 3_000));
    assert_eq!(a.failures("jdupont").await.unwrap(), Some(third));
    let racers = (0..20).map(|i| {
        if i % 2 == 0 {
            a.record_failure("jdupont", 4_000 + i, ttl)
        } else {
            b.record_failure("jdupont", 4_000 + i, ttl)
        }
    });
    conformance::futures_join_all(racers).await;
    let record = b.failures("jdupont").await.unwrap().unwrap();
    assert_eq!((record.count, record.last_failure_unix_ms), (23, 4_019));
    b.reset("jdupont").await.unwrap();
    assert_eq!(
        a.failures("jdupont").await.unwrap(),
        None,
        "a success on B resets A's view"
    );
}

#[tokio::test]
async fn quotas_are_shared_by_two_instances() {
    let prefix = random_prefix();
    let (a, b) = (store(&prefix).await, store(&prefix).await);
    let end = conformance::unix_ms_in(Duration::from_secs(30));
    assert!(
        a.consume("client-x", 600, 1_000, end)
            .await
            .unwrap()
            .allowed
    );
    let refused = b.consume("client-x", 600, 1_000, end).await.unwrap();
    assert_eq!(
        (refused.allowed, refused.used),
        (false, 600),
        "B sees what A counted"
    );
    a.refund("client-x", 600).await.unwrap();
    assert!(
        b.consume("client-x", 600, 1_000, end)
            .await
            .unwrap()
            .allowed
    );
    // Racing instances never overshoot together: 40 × 50 against a limit of 1,000.
    let racers = (0..40).map(|i| {
        if i % 2 == 0 {
            a.consume("client-y", 50, 1_000, end)
        } else {
            b.consume("client-y", 50, 1_000, end)
        }
    });
    let outcomes = conformance::futures_join_all(racers).await;
    assert_eq!(outcomes.iter().filter(|o| o.allowed).count(), 20);
    assert_eq!(
        a.consume("client-y", 0, 1_000, end).await.unwrap().used,
        1_000
    );
    // Another deployment (prefix) has its own counters.
    let other = store(&random_prefix()).await;
    assert_eq!(
        other.consume("client-x", 0, 1_000, end).await.unwrap().used,
        0
    );
}

/// A raw connection to the test Redis, to look at the keys themselves.
async fn raw_connection() -> redis::aio::MultiplexedConnection {
    redis::Client::open(redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

#[tokio::test]
async fn quota_key_layout_and_expiry_in_redis() {
    let prefix = random_prefix();
    let store = store(&prefix).await;
    let end = conformance::unix_ms_in(Duration::from_secs(30));
    store.consume("client-z", 1_234, 10_000, end).await.unwrap();
    let mut conn = raw_connection().await;
    let key = format!("gw:{prefix}:quota:client-z");
    let value: String = redis::cmd("GET")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(value, "1234");
    let pttl: i64 = redis::cmd("PTTL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!((25_000..=30_000).contains(&pttl), "{pttl}");
    // A refund keeps the expiry (DECRBY does not touch it).
    store.refund("client-z", 234).await.unwrap();
    let (value, pttl): (String, i64) = redis::pipe()
        .cmd("GET")
        .arg(&key)
        .cmd("PTTL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(value, "1000");
    assert!((25_000..=30_000).contains(&pttl), "{pttl}");
    // A counter that is not a count (written by something else) is an error, not a
    // silent reset.
    let _: () = redis::cmd("SET")
        .arg(&key)
        .arg("lots")
        .arg("PX")
        .arg(30_000)
        .query_async(&mut conn)
        .await
        .unwrap();
    let err = store.consume("client-z", 1, 10, end).await.unwrap_err();
    assert!(matches!(err, StateError::Backend { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("quota counter is not a non-negative integer"),
        "{err}"
    );
    assert!(matches!(
        store.refund("client-z", 1).await.unwrap_err(),
        StateError::Backend { .. }
    ));
    // A counter without expiry gets its window's.
    let _: () = redis::cmd("SET")
        .arg(&key)
        .arg("5")
        .query_async(&mut conn)
        .await
        .unwrap();
    let outcome = store.consume("client-z", 1, 10, end).await.unwrap();
    assert_eq!((outcome.used, outcome.resets_at_unix_ms), (6, end));
    let pttl: i64 = redis::cmd("PTTL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(pttl > 0, "{pttl}");
    let _: i64 = redis::cmd("DEL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
}

/// A closed port: nothing listens on 127.0.0.1:1.
async fn unreachable_store() -> RedisStore {
    RedisStore::new(RedisConfig::new("redis://127.0.0.1:1", random_prefix()))
        .await
        .unwrap()
}

#[tokio::test]
async fn unreachable_redis_refuses_quickly() {
    let store = FallbackStore::new(unreachable_store().await, OnUnavailable::Refuse);
    for _ in 0..3 {
        let started = Instant::now();
        let err = store
            .seen_or_insert("n", Duration::from_secs(5))
            .await
            .unwrap_err();
        assert!(err.is_unavailable(), "{err}");
        assert!(
            err.to_string()
                .starts_with("state store unavailable during seen_or_insert"),
            "{err}"
        );
        assert!(
            started.elapsed() < Duration::from_millis(700),
            "{:?}",
            started.elapsed()
        );
    }
    assert!(store.ping().await.unwrap_err().is_unavailable());
    assert!(
        store
            .record_failure("u", 1, Duration::from_secs(5))
            .await
            .unwrap_err()
            .is_unavailable()
    );
    let end = conformance::unix_ms_in(Duration::from_secs(60));
    let err = store.consume("q", 1, 10, end).await.unwrap_err();
    assert!(
        err.to_string()
            .starts_with("state store unavailable during consume"),
        "{err}"
    );
    assert!(store.refund("q", 1).await.unwrap_err().is_unavailable());
    assert_eq!(store.fallback_count(), 0);
}

#[tokio::test]
async fn unreachable_redis_falls_back_to_memory_and_counts() {
    let store = FallbackStore::new(unreachable_store().await, OnUnavailable::FallbackToMemory);
    let ttl = Duration::from_secs(5);
    assert!(!store.seen_or_insert("n", ttl).await.unwrap());
    assert!(
        store.seen_or_insert("n", ttl).await.unwrap(),
        "replay caught by the fallback"
    );
    assert_eq!(store.record_failure("u", 7, ttl).await.unwrap().count, 1);
    assert_eq!(store.failures("u").await.unwrap().unwrap().count, 1);
    store.reset("u").await.unwrap();
    let end = conformance::unix_ms_in(Duration::from_secs(60));
    assert!(store.consume("q", 8, 10, end).await.unwrap().allowed);
    assert!(
        !store.consume("q", 8, 10, end).await.unwrap().allowed,
        "quota enforced by the fallback"
    );
    store.refund("q", 8).await.unwrap();
    assert_eq!(store.consume("q", 0, 10, end).await.unwrap().used, 0);
    assert_eq!(store.fallback_count(), 9);
    assert!(
        store.ping().await.unwrap_err().is_unavailable(),
        "readiness still shows the outage"
    );
}

#[tokio::test]
async fn configuration_errors() {
    let err = RedisStore::new(RedisConfig::new("redis://127.0.0.1:6379", "bad prefix!"))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"invalid state store configuration: key prefix "bad prefix!" must be 1-64 of [A-Za-z0-9_.-]"#
    );
    let err = RedisStore::new(RedisConfig::new("http://nope", "p"))
        .await
        .unwrap_err();
    assert!(matches!(err, StateError::Config { .. }), "{err}");
    assert!(!err.to_string().contains("nope"), "{err}");
}
