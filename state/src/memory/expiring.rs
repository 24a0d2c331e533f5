//! The bounded, expiring map each of the memory store's tables is.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A map whose entries expire, bounded in size.
///
/// Expired entries are purged on every insert (cheaply: `by_expiry` is ordered by
/// deadline). When the map is still full, the entry closest to expiry is evicted:
/// with one TTL per use that is the oldest entry, and it is the one whose loss
/// weakens protection the least.
#[derive(Debug)]
pub(super) struct ExpiringMap<V> {
    // Keys are shared between the two indexes: one allocation per entry.
    entries: HashMap<Arc<str>, Entry<V>>,
    by_expiry: BTreeMap<(Instant, u64), Arc<str>>,
    capacity: usize,
    next_seq: u64,
    /// What the map holds, for the operator's warning.
    what: &'static str,
    /// Entries forgotten before their deadline since the last warning, and when it was given.
    forgotten: u64,
    warned: Option<Instant>,
}

/// At most one "table full" warning a minute per map: under sustained load every insert evicts.
const WARNING_INTERVAL: Duration = Duration::from_secs(60);

#[derive(Debug)]
struct Entry<V> {
    deadline: Instant,
    seq: u64,
    value: V,
}

impl<V> ExpiringMap<V> {
    pub(super) fn new(capacity: usize, what: &'static str) -> Self {
        Self {
            entries: HashMap::new(),
            by_expiry: BTreeMap::new(),
            capacity: capacity.max(1),
            next_seq: 0,
            what,
            forgotten: 0,
            warned: None,
        }
    }

    /// The live value of `key`, dropping it if it has expired.
    pub(super) fn get(&mut self, key: &str, now: Instant) -> Option<&V> {
        if self.entries.get(key).is_some_and(|e| e.deadline <= now) {
            self.remove(key);
        }
        self.entries.get(key).map(|e| &e.value)
    }

    /// The live value of `key`, to update in place (its deadline is kept).
    pub(super) fn get_mut(&mut self, key: &str, now: Instant) -> Option<&mut V> {
        if self.entries.get(key).is_some_and(|e| e.deadline <= now) {
            self.remove(key);
        }
        self.entries.get_mut(key).map(|e| &mut e.value)
    }

    pub(super) fn insert(&mut self, key: &str, value: V, ttl: Duration, now: Instant) {
        self.purge_expired(now);
        self.remove(key);
        while self.entries.len() >= self.capacity {
            let Some((_, oldest)) = self.by_expiry.pop_first() else {
                break;
            };
            self.entries.remove(&oldest);
            // Expired entries were purged above: this one was still live.
            self.forgotten += 1;
        }
        if self.forgotten > 0 && self.warned.is_none_or(|at| now >= at + WARNING_INTERVAL) {
            // For nonces this is a hole in replay protection: a replay of a forgotten nonce,
            // still inside its window, would be accepted. The operator must know.
            tracing::warn!(
                table = self.what,
                capacity = self.capacity,
                forgotten = self.forgotten,
                "state table full: entries still inside their lifetime were forgotten (a replay \
                 of a forgotten nonce would not be seen); raise state.max_entries or use Redis"
            );
            self.forgotten = 0;
            self.warned = Some(now);
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

    pub(super) fn remove(&mut self, key: &str) {
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

    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgetting_live_entries_warns_at_most_once_a_minute() {
        let mut map = ExpiringMap::new(2, "nonces");
        let now = Instant::now();
        let ttl = Duration::from_secs(300);
        map.insert("a", (), ttl, now);
        map.insert("b", (), ttl, now);
        assert!(map.warned.is_none(), "nothing forgotten yet");
        // A third live entry: "a" is forgotten inside its lifetime, and the operator warned.
        map.insert("c", (), ttl, now);
        assert_eq!((map.warned, map.forgotten), (Some(now), 0));
        // More within the minute are counted for the next warning, not warned one by one.
        map.insert("d", (), ttl, now + Duration::from_secs(1));
        assert_eq!((map.warned, map.forgotten), (Some(now), 1));
        let later = now + WARNING_INTERVAL + Duration::from_secs(1);
        map.insert("e", (), ttl, later);
        assert_eq!((map.warned, map.forgotten), (Some(later), 0));
        // Expired entries are purged, not forgotten: no warning for them.
        let mut map = ExpiringMap::new(1, "nonces");
        map.insert("x", (), Duration::from_secs(1), now);
        map.insert("y", (), ttl, now + Duration::from_secs(2));
        assert!(map.warned.is_none());
    }
}
