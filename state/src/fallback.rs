//! What to do when the shared store is unreachable.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::store::BoxFuture;
use crate::{FailureRecord, MemoryStore, QuotaOutcome, StateError, StateStore};

/// Behaviour when the shared store is unreachable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnUnavailable {
    /// Surface [`StateError::Unavailable`]; the gateway answers 503 (the default:
    /// no request is accepted without shared replay protection).
    #[default]
    Refuse,
    /// Use an in-memory store instead, with a loud warning each time. Replay
    /// protection, login backoff and volume quotas then only cover this instance,
    /// and only what it saw during the outage (a client may spend its quota again
    /// on each instance).
    FallbackToMemory,
}

// === impl FallbackStore ===

/// Wraps a shared store with an [`OnUnavailable`] policy.
#[derive(Debug)]
pub struct FallbackStore<S> {
    primary: S,
    memory: MemoryStore,
    mode: OnUnavailable,
    fallbacks: AtomicU64,
}

impl<S: StateStore> FallbackStore<S> {
    /// Wraps `primary`; the fallback memory store has the default capacity.
    pub fn new(primary: S, mode: OnUnavailable) -> Self {
        Self::with_memory(primary, mode, MemoryStore::default())
    }

    /// Wraps `primary` with a given fallback memory store.
    pub fn with_memory(primary: S, mode: OnUnavailable, memory: MemoryStore) -> Self {
        Self {
            primary,
            memory,
            mode,
            fallbacks: AtomicU64::new(0),
        }
    }

    /// How many operations were served from memory because the primary store
    /// was unreachable (for a metric).
    pub fn fallback_count(&self) -> u64 {
        self.fallbacks.load(Ordering::Relaxed)
    }

    /// The policy in force.
    pub fn mode(&self) -> OnUnavailable {
        self.mode
    }

    /// The wrapped store.
    pub fn primary(&self) -> &S {
        &self.primary
    }

    /// Whether to serve this failed primary call from memory; counts and warns.
    fn use_memory(&self, error: &StateError) -> bool {
        if self.mode != OnUnavailable::FallbackToMemory || !error.is_unavailable() {
            return false;
        }
        let total = self.fallbacks.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::warn!(
            %error,
            fallbacks_total = total,
            "shared state store unreachable: using the in-memory fallback; replay \
             protection, login backoff and quotas now cover this instance only"
        );
        true
    }
}

impl<S: StateStore> StateStore for FallbackStore<S> {
    fn seen_or_insert<'a>(
        &'a self,
        key: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StateError>> {
        Box::pin(async move {
            match self.primary.seen_or_insert(key, ttl).await {
                Err(e) if self.use_memory(&e) => self.memory.seen_or_insert_sync(key, ttl),
                other => other,
            }
        })
    }

    fn record_failure<'a>(
        &'a self,
        key: &'a str,
        at_unix_ms: i64,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<FailureRecord, StateError>> {
        Box::pin(async move {
            match self.primary.record_failure(key, at_unix_ms, ttl).await {
                Err(e) if self.use_memory(&e) => {
                    self.memory.record_failure_sync(key, at_unix_ms, ttl)
                }
                other => other,
            }
        })
    }

    fn failures<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<FailureRecord>, StateError>> {
        Box::pin(async move {
            match self.primary.failures(key).await {
                Err(e) if self.use_memory(&e) => self.memory.failures_sync(key),
                other => other,
            }
        })
    }

    fn reset<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StateError>> {
        Box::pin(async move {
            match self.primary.reset(key).await {
                Err(e) if self.use_memory(&e) => self.memory.reset_sync(key),
                other => other,
            }
        })
    }

    fn consume<'a>(
        &'a self,
        key: &'a str,
        amount: u64,
        limit: u64,
        window_end_unix_ms: i64,
    ) -> BoxFuture<'a, Result<QuotaOutcome, StateError>> {
        Box::pin(async move {
            match self
                .primary
                .consume(key, amount, limit, window_end_unix_ms)
                .await
            {
                Err(e) if self.use_memory(&e) => {
                    self.memory
                        .consume_sync(key, amount, limit, window_end_unix_ms)
                }
                other => other,
            }
        })
    }

    fn refund<'a>(&'a self, key: &'a str, amount: u64) -> BoxFuture<'a, Result<(), StateError>> {
        Box::pin(async move {
            match self.primary.refund(key, amount).await {
                Err(e) if self.use_memory(&e) => self.memory.refund_sync(key, amount),
                other => other,
            }
        })
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), StateError>> {
        // Readiness reports the primary's health even when falling back: the
        // operator must see the outage.
        self.primary.ping()
    }
}
