//! Who may hold a connection: at most `max_connections_per_address` from one client IP address,
//! and at most `max_connections_without_certificate` connections that presented no certificate,
//! so that a single address or a crowd of anonymous probes cannot fill `max_connections`.
//!
//! Refused connections are closed at once and counted in
//! `gateway_connections_refused_total{listener,reason}`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::ConnectionCaps;

/// One listener's connection accounting.
#[derive(Debug)]
pub(crate) struct Admission {
    per_address: Mutex<HashMap<IpAddr, usize>>,
    max_per_address: usize,
    anonymous: Arc<Semaphore>,
}

/// Held while a connection from an address is open; the address's entry goes when its last
/// connection closes, so the table never outgrows the connections.
#[derive(Debug)]
pub(crate) struct AddressSlot {
    admission: Arc<Admission>,
    ip: IpAddr,
}

// === impl Admission ===

impl Admission {
    pub(crate) fn new(caps: &ConnectionCaps) -> Arc<Self> {
        Arc::new(Self {
            per_address: Mutex::new(HashMap::new()),
            max_per_address: caps.max_connections_per_address,
            anonymous: Arc::new(Semaphore::new(caps.max_connections_without_certificate)),
        })
    }

    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, usize>> {
        // Counting never panics while holding the lock; a poisoned table is still whole.
        self.per_address
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A slot for one more connection from `ip`, or `None` when it has its share already.
    pub(crate) fn admit_address(self: &Arc<Self>, ip: IpAddr) -> Option<AddressSlot> {
        let mut table = self.table();
        let count = table.entry(ip).or_insert(0);
        if *count >= self.max_per_address {
            return None;
        }
        *count += 1;
        Some(AddressSlot {
            admission: Arc::clone(self),
            ip,
        })
    }

    /// A slot for one more connection without a client certificate, or `None` when they hold
    /// their share already.
    pub(crate) fn admit_anonymous(&self) -> Option<OwnedSemaphorePermit> {
        Arc::clone(&self.anonymous).try_acquire_owned().ok()
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut table = self.admission.table();
        if let Some(count) = table.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                table.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn caps(per_address: usize, anonymous: usize) -> ConnectionCaps {
        ConnectionCaps {
            max_connections: 100,
            max_connections_per_address: per_address,
            max_connections_without_certificate: anonymous,
        }
    }

    #[test]
    fn one_address_gets_its_share_and_no_more() {
        let a = Admission::new(&caps(2, 10));
        let ip: IpAddr = [127, 0, 0, 1].into();
        let other: IpAddr = [127, 0, 0, 2].into();
        let first = a.admit_address(ip);
        let second = a.admit_address(ip);
        assert!(first.is_some() && second.is_some());
        assert!(
            a.admit_address(ip).is_none(),
            "a third from the same address"
        );
        assert!(
            a.admit_address(other).is_some(),
            "another address is not affected"
        );
        drop(first);
        assert!(
            a.admit_address(ip).is_some(),
            "a closed connection frees its slot"
        );
    }

    #[test]
    fn the_table_forgets_addresses_without_connections() {
        let a = Admission::new(&caps(2, 10));
        for i in 0..100u8 {
            drop(a.admit_address([10, 0, 0, i].into()));
        }
        assert!(a.table().is_empty());
    }

    #[test]
    fn anonymous_connections_have_their_own_cap() {
        let a = Admission::new(&caps(10, 1));
        let first = a.admit_anonymous();
        assert!(first.is_some());
        assert!(a.admit_anonymous().is_none());
        drop(first);
        assert!(a.admit_anonymous().is_some());
    }
}
