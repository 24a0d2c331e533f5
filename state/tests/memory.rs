//! The conformance suite on `MemoryStore`, and the fallback policy with a fake
//! unreachable primary.
#![allow(clippy::unwrap_used)]

mod conformance;

use std::time::Duration;

use state::{
    BoxFuture, FailureRecord, FallbackStore, MemoryStore, OnUnavailable, StateError, StateStore,
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
    assert_eq!(store.fallback_count(), 0);
}

#[tokio::test]
async fn fallback_serves_from_memory_and_counts() {
    let store = FallbackStore::new(Down, OnUnavailable::FallbackToMemory);
    conformance::run_fast(&store).await;
    assert!(store.fallback_count() > 50, "{}", store.fallback_count());
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
    assert_eq!(store.fallback_count(), 0);
}
