//! In-process state: bounded, expiring maps behind a mutex.

mod expiring;

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use expiring::ExpiringMap;

use crate::store::{BoxFuture, check_key, check_ttl, check_window};
use crate::{FailureRecord, MAX_QUOTA, QuotaOutcome, StateError, StateStore};

// === impl MemoryStore ===

/// State kept in this process only: for tests, single-instance deployments, and
/// as the fallback when Redis is unreachable.
///
/// Each of the three tables (nonces, failure counters, quota counters) holds at
/// most `capacity` entries; see [`MemoryStore::new`] for what happens when one is
/// full.
#[derive(Debug)]
pub struct MemoryStore {
    inner: Mutex<Tables>,
}

#[derive(Debug)]
struct Tables {
    nonces: ExpiringMap<()>,
    failures: ExpiringMap<FailureRecord>,
    quotas: ExpiringMap<QuotaCounter>,
}

/// One quota counter; it lives in the table until `resets_at_unix_ms`.
#[derive(Debug, Clone, Copy)]
struct QuotaCounter {
    used: u64,
    resets_at_unix_ms: i64,
}

impl MemoryStore {
    /// Default capacity of each table: 100,000 entries (a few tens of MB at most).
    pub const DEFAULT_CAPACITY: usize = 100_000;

    /// A store holding at most `capacity` entries per table.
    ///
    /// When a table is full after purging expired entries, the entry closest to
    /// expiry is evicted. For the nonce table this means a replay of that (oldest)
    /// nonce would go unnoticed, so size the capacity above the number of requests
    /// expected within one replay window. For the quota table it means that key's
    /// usage is forgotten (its quota starts again from 0), so size it above the
    /// number of quota keys active within one window.
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Mutex::new(Tables {
                nonces: ExpiringMap::new(capacity, "nonces"),
                failures: ExpiringMap::new(capacity, "login failures"),
                quotas: ExpiringMap::new(capacity, "quotas"),
            }),
        }
    }

    fn tables(&self) -> MutexGuard<'_, Tables> {
        // A panic while holding the lock cannot leave a table half-updated in a way
        // that matters (each operation is a few map calls); keep serving.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Synchronous [`StateStore::seen_or_insert`], for callers (and benchmarks)
    /// that hold a `MemoryStore` directly.
    ///
    /// # Errors
    ///
    /// [`StateError::InvalidKey`] or [`StateError::InvalidTtl`].
    pub fn seen_or_insert_sync(&self, key: &str, ttl: Duration) -> Result<bool, StateError> {
        check_key(key)?;
        check_ttl(ttl, "seen_or_insert")?;
        let now = Instant::now();
        let mut tables = self.tables();
        if tables.nonces.get(key, now).is_some() {
            return Ok(true);
        }
        tables.nonces.insert(key, (), ttl, now);
        Ok(false)
    }

    /// Synchronous [`StateStore::record_failure`].
    ///
    /// # Errors
    ///
    /// [`StateError::InvalidKey`] or [`StateError::InvalidTtl`].
    pub fn record_failure_sync(
        &self,
        key: &str,
        at_unix_ms: i64,
        ttl: Duration,
    ) -> Result<FailureRecord, StateError> {
        check_key(key)?;
        check_ttl(ttl, "record_failure")?;
        let now = Instant::now();
        let mut tables = self.tables();
        let record = match tables.failures.get(key, now) {
            Some(old) => FailureRecord {
                count: old.count.saturating_add(1),
                last_failure_unix_ms: old.last_failure_unix_ms.max(at_unix_ms),
            },
            None => FailureRecord {
                count: 1,
                last_failure_unix_ms: at_unix_ms,
            },
        };
        tables.failures.insert(key, record, ttl, now);
        Ok(record)
    }

    /// Synchronous [`StateStore::failures`].
    ///
    /// # Errors
    ///
    /// [`StateError::InvalidKey`].
    pub fn failures_sync(&self, key: &str) -> Result<Option<FailureRecord>, StateError> {
        check_key(key)?;
        Ok(self.tables().failures.get(key, Instant::now()).copied())
    }

    /// Synchronous [`StateStore::reset`].
    ///
    /// # Errors
    ///
    /// [`StateError::InvalidKey`].
    pub fn reset_sync(&self, key: &str) -> Result<(), StateError> {
        check_key(key)?;
        self.tables().failures.remove(key);
        Ok(())
    }

    /// Synchronous [`StateStore::consume`]. The window end is compared with this
    /// host's clock once, to set the counter's deadline; from then on the counter
    /// expires on the monotonic clock.
    ///
    /// # Errors
    ///
    /// [`StateError::InvalidKey`] or [`StateError::InvalidTtl`] (a window end not in
    /// the future).
    pub fn consume_sync(
        &self,
        key: &str,
        amount: u64,
        limit: u64,
        window_end_unix_ms: i64,
    ) -> Result<QuotaOutcome, StateError> {
        check_key(key)?;
        let ttl = check_window(window_end_unix_ms, "consume")?;
        // `used + amount <= limit`, without overflow.
        let room = limit.min(MAX_QUOTA).checked_sub(amount);
        let fits = |used: u64| room.is_some_and(|room| used <= room);
        let now = Instant::now();
        let mut tables = self.tables();
        if let Some(counter) = tables.quotas.get_mut(key, now) {
            let allowed = fits(counter.used);
            if allowed {
                counter.used += amount;
            }
            return Ok(QuotaOutcome {
                allowed,
                used: counter.used,
                resets_at_unix_ms: counter.resets_at_unix_ms,
            });
        }
        let allowed = fits(0);
        // Neither a read (amount 0) nor a refusal creates a counter.
        if allowed && amount > 0 {
            let counter = QuotaCounter {
                used: amount,
                resets_at_unix_ms: window_end_unix_ms,
            };
            tables.quotas.insert(key, counter, ttl, now);
        }
        Ok(QuotaOutcome {
            allowed,
            used: if allowed { amount } else { 0 },
            resets_at_unix_ms: window_end_unix_ms,
        })
    }

    /// Synchronous [`StateStore::refund`].
    ///
    /// # Errors
    ///
    /// [`StateError::InvalidKey`].
    pub fn refund_sync(&self, key: &str, amount: u64) -> Result<(), StateError> {
        check_key(key)?;
        if let Some(counter) = self.tables().quotas.get_mut(key, Instant::now()) {
            counter.used = counter.used.saturating_sub(amount);
        }
        Ok(())
    }

    /// Number of entries currently held (nonces, failure counters), expired ones
    /// not yet purged included. Quota counters: [`MemoryStore::quotas_len`].
    pub fn len(&self) -> (usize, usize) {
        let tables = self.tables();
        (tables.nonces.len(), tables.failures.len())
    }

    /// Number of quota counters currently held, expired ones not yet purged
    /// included.
    pub fn quotas_len(&self) -> usize {
        self.tables().quotas.len()
    }

    /// Whether all three tables are empty.
    pub fn is_empty(&self) -> bool {
        self.len() == (0, 0) && self.quotas_len() == 0
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new(Self::DEFAULT_CAPACITY)
    }
}

impl StateStore for MemoryStore {
    fn seen_or_insert<'a>(
        &'a self,
        key: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StateError>> {
        Box::pin(std::future::ready(self.seen_or_insert_sync(key, ttl)))
    }

    fn record_failure<'a>(
        &'a self,
        key: &'a str,
        at_unix_ms: i64,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<FailureRecord, StateError>> {
        Box::pin(std::future::ready(
            self.record_failure_sync(key, at_unix_ms, ttl),
        ))
    }

    fn failures<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<FailureRecord>, StateError>> {
        Box::pin(std::future::ready(self.failures_sync(key)))
    }

    fn reset<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StateError>> {
        Box::pin(std::future::ready(self.reset_sync(key)))
    }

    fn consume<'a>(
        &'a self,
        key: &'a str,
        amount: u64,
        limit: u64,
        window_end_unix_ms: i64,
    ) -> BoxFuture<'a, Result<QuotaOutcome, StateError>> {
        Box::pin(std::future::ready(self.consume_sync(
            key,
            amount,
            limit,
            window_end_unix_ms,
        )))
    }

    fn refund<'a>(&'a self, key: &'a str, amount: u64) -> BoxFuture<'a, Result<(), StateError>> {
        Box::pin(std::future::ready(self.refund_sync(key, amount)))
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), StateError>> {
        Box::pin(std::future::ready(Ok(())))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn full_table_evicts_the_entry_closest_to_expiry() {
        let store = MemoryStore::new(3);
        let long = Duration::from_secs(60);
        store.seen_or_insert_sync("a", long).unwrap();
        store
            .seen_or_insert_sync("b", Duration::from_secs(30))
            .unwrap();
        store.seen_or_insert_sync("c", long).unwrap();
        store.seen_or_insert_sync("d", long).unwrap();
        assert_eq!(store.len(), (3, 0));
        // "b" expired soonest, so it went; the others are still remembered.
        assert!(!store.seen_or_insert_sync("b", long).unwrap());
        assert!(store.seen_or_insert_sync("d", long).unwrap());
    }

    #[test]
    fn expired_entries_are_purged_on_insert() {
        let store = MemoryStore::new(10);
        for key in ["a", "b", "c"] {
            store
                .seen_or_insert_sync(key, Duration::from_millis(20))
                .unwrap();
        }
        std::thread::sleep(Duration::from_millis(40));
        store
            .seen_or_insert_sync("d", Duration::from_secs(60))
            .unwrap();
        assert_eq!(store.len(), (1, 0));
    }

    fn unix_ms_in(d: Duration) -> i64 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        i64::try_from((now + d).as_millis()).unwrap()
    }

    #[test]
    fn full_quota_table_evicts_the_counter_closest_to_expiry() {
        let store = MemoryStore::new(2);
        let soon = unix_ms_in(Duration::from_secs(30));
        let late = unix_ms_in(Duration::from_secs(60));
        store.consume_sync("a", 10, 100, late).unwrap();
        store.consume_sync("b", 20, 100, soon).unwrap();
        store.consume_sync("c", 30, 100, late).unwrap();
        assert_eq!(store.quotas_len(), 2);
        assert_eq!(store.len(), (0, 0), "other tables untouched");
        // "b" ended soonest, so it went (its usage starts again from 0).
        assert_eq!(store.consume_sync("b", 0, 100, soon).unwrap().used, 0);
        assert_eq!(store.consume_sync("a", 0, 100, late).unwrap().used, 10);
        assert_eq!(store.consume_sync("c", 0, 100, late).unwrap().used, 30);
    }

    #[test]
    fn expired_quota_counters_are_purged_on_insert() {
        let store = MemoryStore::new(10);
        let soon = unix_ms_in(Duration::from_millis(30));
        for key in ["a", "b", "c"] {
            store.consume_sync(key, 1, 10, soon).unwrap();
        }
        assert_eq!(store.quotas_len(), 3);
        std::thread::sleep(Duration::from_millis(60));
        store
            .consume_sync("d", 1, 10, unix_ms_in(Duration::from_secs(60)))
            .unwrap();
        assert_eq!(store.quotas_len(), 1);
    }

    #[test]
    fn reads_refusals_and_refunds_create_no_counter() {
        let store = MemoryStore::default();
        let end = unix_ms_in(Duration::from_secs(60));
        assert!(store.consume_sync("q", 0, 10, end).unwrap().allowed);
        assert!(!store.consume_sync("q", 11, 10, end).unwrap().allowed);
        store.refund_sync("q", 5).unwrap();
        assert!(store.is_empty());
    }

    #[test]
    fn huge_limits_and_amounts_do_not_overflow() {
        let store = MemoryStore::default();
        let end = unix_ms_in(Duration::from_secs(60));
        let first = store
            .consume_sync("q", MAX_QUOTA - 1, u64::MAX, end)
            .unwrap();
        assert_eq!((first.allowed, first.used), (true, MAX_QUOTA - 1));
        let full = store.consume_sync("q", 1, u64::MAX, end).unwrap();
        assert_eq!((full.allowed, full.used), (true, MAX_QUOTA));
        let over = store.consume_sync("q", 1, u64::MAX, end).unwrap();
        assert_eq!((over.allowed, over.used), (false, MAX_QUOTA));
        let huge = store.consume_sync("r", u64::MAX, u64::MAX, end).unwrap();
        assert_eq!((huge.allowed, huge.used), (false, 0));
        store.refund_sync("q", u64::MAX).unwrap();
        assert_eq!(store.consume_sync("q", 0, 1, end).unwrap().used, 0);
    }

    #[test]
    fn bad_arguments() {
        let store = MemoryStore::default();
        assert_eq!(
            store
                .seen_or_insert_sync("", Duration::from_secs(1))
                .unwrap_err()
                .to_string(),
            "invalid state key of 0 bytes: empty"
        );
        let long = "k".repeat(513);
        assert_eq!(
            store.failures_sync(&long).unwrap_err().to_string(),
            "invalid state key of 513 bytes: longer than 512 bytes"
        );
        assert_eq!(
            store
                .seen_or_insert_sync("k", Duration::ZERO)
                .unwrap_err()
                .to_string(),
            "seen_or_insert needs a TTL of at least 1 ms"
        );
        assert!(store.is_empty());
    }
}
