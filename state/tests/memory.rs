//! The conformance suite on `MemoryStore`, and the fallback policy with a fake
//! unreachable primary.
#![allow(clippy::unwrap_used)]

mod conformance;

use std::time::Duration;

use state::{
    BoxFuture, FailureRecord, FallbackStore, MemoryStore, OnUnavailable, QuotaOutcome, StateError,
    StateStore,
};

#[tokio::test]
async fn memory_store_conformance() {
    let store = MemoryStore::default();
    conformance::run_fast(&store).await;
    store.ping().await.unwrap();
}

#[tokio::test]
async fn memory_store_expiry() {
    conformance::run_expiry(&MemoryStore::default()).await;
}

#[tokio::test]
async fn usable_as_a_trait_object() {
    let store: std::sync::Arc<dyn StateStore> = std::sync::Arc::new(MemoryStore::default());
    assert!(
        !store
            .seen_or_insert("k", Duration::from_secs(5))
            .await
            .unwrap()
    );
    conformance::run_fast(&store).await;
}

/// A primary store that is always unreachable.
struct Down;

fn down<T: Send + 'static>(operation: &'static str) -> BoxFuture<'static, Result<T, StateError>> {
    Box::pin(std::future::ready(Err(StateError::Unavailable {
        operation,
        reason: "connection refused".into(),
    })))
}

impl StateStore for Down {
    fn seen_or_insert<'a>(
        &'a self,
        _: &'a str,
        _: Duration,
    ) -> BoxFuture<'a, Result<bool, StateError>> {
        down("seen_or_insert")
    }
    fn record_failure<'a>(
        &'a self,
        _: &'a str,
        _: i64,
        _: Duration,
    ) -> BoxFuture<'a, Result<FailureRecord, StateError>> {
        down("record_failure")
    }
    fn failures<'a>(
        &'a self,
        _: &'a str,
    ) -> BoxFuture<'a, Result<Option<FailureRecord>, StateError>> {
        down("failures")
    }
    fn reset<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<(), StateError>> {
        down("reset")
    }
    fn consume<'a>(
        &'a self,
        _: &'a str,
        _: u64,
        _: u64,
        _: i64,
    ) -> BoxFuture<'a, Result<QuotaOutcome, StateError>> {
        down("consume")
    }
    fn refund<'a>(&'a self, _: &'a str, _: u64) -> BoxFuture<'a, Result<(), StateError>> {
        down("refund")
    }
    fn ping(&self) -> BoxFuture<'_, Result<(), StateError>> {
        down("ping")
    }
}

#[tokio::test]
async fn refuse_surfaces_unavailable() {
    let store = FallbackStore::new(Down, OnUnavailable::default());
    assert_eq!(store.mode(), OnUnavailable::Refuse);
    let err = store
        .seen_or_insert("k", Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "state store unavailable during seen_or_insert: connection refused"
    );
    assert!(err.is_unavailable());
    let end = conformance::unix_ms_in(Duration::from_secs(60));
    let err = store.consume("q", 1, 10, end).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "state store unavailable during consume: connection refused"
    );
    assert!(store.refund("q", 1).await.unwrap_err().is_unavailable());
    assert_eq!(store.fallback_count(), 0);
}

#[tokio::test]
async fn fallback_serves_from_memory_and_counts() {
    let store = FallbackStore::new(Down, OnUnavailable::FallbackToMemory);
    conformance::run_fast(&store).await;
    assert!(store.fallback_count() > 100, "{}", store.fallback_count());
    // Readiness still reports the outage.
    assert!(store.ping().await.unwrap_err().is_unavailable());
}

#[tokio::test]
async fn fallback_does_not_hide_misuse() {
    let store = FallbackStore::new(MemoryStore::default(), OnUnavailable::FallbackToMemory);
    let err = store
        .seen_or_insert("", Duration::from_secs(1))
        .await
        .unwrap_err();
    assert!(matches!(err, StateError::InvalidKey { .. }));
    let err = store.consume("q", 1, 10, 0).await.unwrap_err();
    assert!(matches!(err, StateError::InvalidTtl { .. }), "{err}");
    assert!(matches!(
        store.refund("", 1).await.unwrap_err(),
        StateError::InvalidKey { .. }
    ));
    assert_eq!(store.fallback_count(), 0);
}

#[tokio::test]
async fn fallback_quota_expiry() {
    let store = FallbackStore::new(Down, OnUnavailable::FallbackToMemory);
    conformance::quota_expiry(&store).await;
    assert!(store.fallback_count() >= 4, "{}", store.fallback_count());
}
