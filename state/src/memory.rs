//! In-process state: bounded, expiring maps behind a mutex.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::store::{BoxFuture, check_key, check_ttl};
use crate::{FailureRecord, StateError, StateStore};

// === impl ExpiringMap ===

/// A map whose entries expire, bounded in size.
///
/// Expired entries are purged on every insert (cheaply: `by_expiry` is ordered by
/// deadline). When the map is still full, the entry closest to expiry is evicted:
/// with one TTL per use that is the oldest entry, and it is the one whose loss
/// weakens protection the least.
#[derive(Debug)]
struct ExpiringMap<V> {
    // Keys are shared between the two indexes: one allocation per entry.
    entries: HashMap<Arc<str>, Entry<V>>,
    by_expiry: BTreeMap<(Instant, u64), Arc<str>>,
    capacity: usize,
    next_seq: u64,
}

#[derive(Debug)]
struct Entry<V> {
    deadline: Instant,
    seq: u64,
    value: V,
}

impl<V> ExpiringMap<V> {
    fn new(capacity: usize) -> Self {
        Self {
            entries: HashMap::new(),
            by_expiry: BTreeMap::new(),
            capacity: capacity.max(1),
            next_seq: 0,
        }
    }

    /// The live value of `key`, dropping it if it has expired.
    fn get(&mut self, key: &str, now: Instant) -> Option<&V> {
        if self.entries.get(key).is_some_and(|e| e.deadline <= now) {
            self.remove(key);
        }
        self.entries.get(key).map(|e| &e.value)
    }

    fn insert(&mut self, key: &str, value: V, ttl: Duration, now: Instant) {
        self.purge_expired(now);
        self.remove(key);
        while self.entries.len() >= self.capacity {
            let Some((_, oldest)) = self.by_expiry.pop_first() else {
                break;
            };
            self.entries.remove(&oldest);
        }
        // A TTL too large for `Instant` means "as long as the process lives".
        let deadline = now
            .checked_add(ttl)
            .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 86_400)))
            .unwrap_or(now);
        let seq = self.next_seq;
        self.next_seq += 1;
        let key: Arc<str> = Arc::from(key);
        self.by_expiry.insert((deadline, seq), Arc::clone(&key));
        self.entries.insert(
            key,
            Entry {
                deadline,
                seq,
                value,
            },
        );
    }

    fn remove(&mut self, key: &str) {
        if let Some(entry) = self.entries.remove(key) {
            self.by_expiry.remove(&(entry.deadline, entry.seq));
        }
    }

    fn purge_expired(&mut self, now: Instant) {
        while let Some(entry) = self.by_expiry.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let key = entry.remove();
            self.entries.remove(&key);
        }
    }

    fn len(&self) -> usize {
        self.entries.len()
    }
}

// === impl MemoryStore ===

/// State kept in this process only: for tests, single-instance deployments, and
/// as the fallback when Redis is unreachable.
///
/// Each of the two tables (nonces, failure counters) holds at most `capacity`
/// entries; see [`MemoryStore::new`] for what happens when one is full.
#[derive(Debug)]
pub struct MemoryStore {
    inner: Mutex<Tables>,
}

#[derive(Debug)]
struct Tables {
    nonces: ExpiringMap<()>,
    failures: ExpiringMap<FailureRecord>,
}

impl MemoryStore {
    /// Default capacity of each table: 100,000 entries (a few tens of MB at most).
    pub const DEFAULT_CAPACITY: usize = 100_000;

    /// A store holding at most `capacity` entries per table.
    ///
    /// When a table is full after purging expired entries, the entry closest to
    /// expiry is evicted. For the nonce table this means a replay of that (oldest)
    /// nonce would go unnoticed, so size the capacity above the number of requests
    /// expected within one replay window.
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Mutex::new(Tables {
                nonces: ExpiringMap::new(capacity),
                failures: ExpiringMap::new(capacity),
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

    /// Number of entries currently held (nonces, failure counters), expired ones
    /// not yet purged included.
    pub fn len(&self) -> (usize, usize) {
        let tables = self.tables();
        (tables.nonces.len(), tables.failures.len())
    }

    /// Whether both tables are empty.
    pub fn is_empty(&self) -> bool {
        self.len() == (0, 0)
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
