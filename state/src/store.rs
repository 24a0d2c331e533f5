//! The one trait every state backend implements.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::StateError;

/// A boxed, `Send` future, so that [`StateStore`] can be used as `Arc<dyn StateStore>`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Longest accepted key, in bytes. Callers hash anything unbounded (the replay key
/// is a SHA-256 hex string); logins are far shorter.
pub const MAX_KEY_LEN: usize = 512;

/// Consecutive login failures for one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureRecord {
    /// Consecutive failures since the last reset (or expiry).
    pub count: u64,
    /// Time of the latest failure, Unix milliseconds (the largest reported, so
    /// that instances with slightly skewed clocks never move it backwards).
    pub last_failure_unix_ms: i64,
}

/// State shared by every gateway instance: the nonce replay cache and login
/// failure counters.
///
/// Nonce keys and failure keys live in separate namespaces: the same string can be
/// used for both without collision.
pub trait StateStore: Send + Sync {
    /// Atomically remembers `key` for `ttl` and says whether it was already there.
    ///
    /// Returns `Ok(true)` for a replay (the key was present and unexpired), `Ok(false)`
    /// when the key was new and is now stored.
    ///
    /// # Errors
    ///
    /// [`StateError::Unavailable`] if the store cannot answer; [`StateError::InvalidKey`]
    /// or [`StateError::InvalidTtl`] for unusable arguments.
    fn seen_or_insert<'a>(
        &'a self,
        key: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StateError>>;

    /// Atomically counts one more failure for `key` at `at_unix_ms` and (re)sets the
    /// counter's lifetime to `ttl`; returns the updated record.
    ///
    /// # Errors
    ///
    /// As [`StateStore::seen_or_insert`].
    fn record_failure<'a>(
        &'a self,
        key: &'a str,
        at_unix_ms: i64,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<FailureRecord, StateError>>;

    /// The failure record for `key`, if any failure is still remembered.
    ///
    /// # Errors
    ///
    /// As [`StateStore::seen_or_insert`].
    fn failures<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<FailureRecord>, StateError>>;

    /// Forgets the failures of `key` (after a successful login).
    ///
    /// # Errors
    ///
    /// As [`StateStore::seen_or_insert`].
    fn reset<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StateError>>;

    /// Checks that the store answers, for readiness probes.
    ///
    /// # Errors
    ///
    /// [`StateError::Unavailable`] if it does not.
    fn ping(&self) -> BoxFuture<'_, Result<(), StateError>>;
}

impl<T: StateStore + ?Sized> StateStore for Arc<T> {
    fn seen_or_insert<'a>(
        &'a self,
        key: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StateError>> {
        (**self).seen_or_insert(key, ttl)
    }

    fn record_failure<'a>(
        &'a self,
        key: &'a str,
        at_unix_ms: i64,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<FailureRecord, StateError>> {
        (**self).record_failure(key, at_unix_ms, ttl)
    }

    fn failures<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<FailureRecord>, StateError>> {
        (**self).failures(key)
    }

    fn reset<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StateError>> {
        (**self).reset(key)
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), StateError>> {
        (**self).ping()
    }
}

/// Refuses empty and over-long keys.
pub(crate) fn check_key(key: &str) -> Result<(), StateError> {
    let reason = if key.is_empty() {
        "empty"
    } else if key.len() > MAX_KEY_LEN {
        "longer than 512 bytes"
    } else {
        return Ok(());
    };
    Err(StateError::InvalidKey {
        len: key.len(),
        reason,
    })
}

/// Refuses a TTL that rounds to zero milliseconds.
pub(crate) fn check_ttl(ttl: Duration, operation: &'static str) -> Result<u64, StateError> {
    match u64::try_from(ttl.as_millis()) {
        Ok(0) => Err(StateError::InvalidTtl { operation }),
        Ok(ms) => Ok(ms),
        Err(_) => Ok(u64::MAX),
    }
}
