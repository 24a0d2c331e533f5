//! The one trait every state backend implements.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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

/// Largest quota count: Redis counters are signed 64-bit integers, so limits above
/// this are treated as this (8 EiB, far beyond any real quota).
pub const MAX_QUOTA: u64 = i64::MAX.unsigned_abs();

/// What [`StateStore::consume`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaOutcome {
    /// Whether `amount` was added (the total stays within the limit). When `false`,
    /// nothing changed.
    pub allowed: bool,
    /// The counter after the call: unchanged when refused, 0 when there is no
    /// counter (nothing consumed in this window yet).
    pub used: u64,
    /// When the counter expires, Unix milliseconds: the `window_end_unix_ms` it was
    /// created with, or the one that would be used when there is no counter yet.
    pub resets_at_unix_ms: i64,
}

/// State shared by every gateway instance: the nonce replay cache, login failure
/// counters and volume quotas.
///
/// Nonce keys, failure keys and quota keys live in separate namespaces: the same
/// string can be used for all three without collision.
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

    /// Atomically adds `amount` to the counter `key` if the result stays within `limit`, and
    /// returns the outcome. The counter lives until `window_end_unix_ms` (it is created with that
    /// expiry; adding to an existing counter keeps its expiry), so a daily quota passes its window's
    /// end as the expiry and the counter vanishes at midnight.
    ///
    /// `amount` 0 is allowed: it reads the current usage (`allowed` says whether the
    /// usage is still within `limit`) and creates no counter. An `amount` above
    /// `limit` is refused without any change. A `limit` above [`MAX_QUOTA`] counts as
    /// [`MAX_QUOTA`].
    ///
    /// # Errors
    ///
    /// [`StateError::InvalidTtl`] when `window_end_unix_ms` is not in the future (by
    /// this host's clock); otherwise as [`StateStore::seen_or_insert`].
    fn consume<'a>(
        &'a self,
        key: &'a str,
        amount: u64,
        limit: u64,
        window_end_unix_ms: i64,
    ) -> BoxFuture<'a, Result<QuotaOutcome, StateError>>;

    /// Gives back `amount` (saturating at 0) to the counter `key`, if it still exists: an upload that
    /// was refused or aborted after its bytes were counted.
    ///
    /// The counter keeps its expiry; a counter that has expired (or never existed)
    /// is not created.
    ///
    /// # Errors
    ///
    /// [`StateError::Unavailable`] if the store cannot answer; [`StateError::InvalidKey`].
    fn refund<'a>(&'a self, key: &'a str, amount: u64) -> BoxFuture<'a, Result<(), StateError>>;

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

    fn consume<'a>(
        &'a self,
        key: &'a str,
        amount: u64,
        limit: u64,
        window_end_unix_ms: i64,
    ) -> BoxFuture<'a, Result<QuotaOutcome, StateError>> {
        (**self).consume(key, amount, limit, window_end_unix_ms)
    }

    fn refund<'a>(&'a self, key: &'a str, amount: u64) -> BoxFuture<'a, Result<(), StateError>> {
        (**self).refund(key, amount)
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

/// The time left until `window_end_unix_ms` by this host's clock; refuses a window
/// that ends within the next millisecond (or has already ended).
pub(crate) fn check_window(
    window_end_unix_ms: i64,
    operation: &'static str,
) -> Result<Duration, StateError> {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    match u64::try_from(window_end_unix_ms.saturating_sub(now_ms)) {
        Ok(left_ms) if left_ms > 0 => Ok(Duration::from_millis(left_ms)),
        _ => Err(StateError::InvalidTtl { operation }),
    }
}
