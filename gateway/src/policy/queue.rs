//! A concurrency limit with a bounded queue in front of an upstream that can only do a few
//! things at once (a sealer on one USB token: `max_in_flight: 1`).
//!
//! Requests beyond `max_in_flight` wait in order (tokio's semaphore is fair); beyond `max_queue`
//! waiting, or after `queue_timeout`, they get 503 with a `Retry-After` computed from the
//! observed service time and the queue ahead, not a constant. A caller that disconnects drops its
//! request, and with it its place in the queue. A slot is held until the response has been sent
//! whole (the upstream is busy until then). The queue belongs to the upstream: every route to it
//! shares it, and it lives across reloads (a reload that changes it needs a restart).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

// tokio's clock: the queue's timing is tested with paused time.
use tokio::time::Instant;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::QueueSettings;
use crate::problem::GatewayError;

/// One upstream's queue.
#[derive(Debug)]
pub(crate) struct Queue {
    upstream: String,
    settings: QueueSettings,
    slots: Arc<Semaphore>,
    waiting: AtomicUsize,
    /// Exponentially weighted mean service time, microseconds (0: nothing observed yet).
    service_us: AtomicU64,
}

/// A slot: the upstream is busy with this request until it drops.
#[derive(Debug)]
pub(crate) struct Slot {
    queue: Arc<Queue>,
    started: Instant,
    _permit: OwnedSemaphorePermit,
}

/// Leaves the waiting count however the wait ends (slot, timeout, or the caller gone).
struct Waiting<'a>(&'a Queue);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let left = self.0.waiting.fetch_sub(1, Ordering::Relaxed) - 1;
        metrics::gauge!("gateway_upstream_queue_depth", "upstream" => self.0.upstream.clone())
            .set(left as f64);
    }
}

// === impl Queue ===

impl Queue {
    pub(crate) fn new(upstream: &str, settings: QueueSettings) -> Arc<Self> {
        Arc::new(Self {
            upstream: upstream.to_owned(),
            settings,
            slots: Arc::new(Semaphore::new(settings.max_in_flight)),
            waiting: AtomicUsize::new(0),
            service_us: AtomicU64::new(0),
        })
    }

    /// Waits for a slot.
    ///
    /// # Errors
    /// 503 with `Retry-After` when the queue is full or the wait too long.
    pub(crate) async fn enter(self: &Arc<Self>) -> Result<Slot, GatewayError> {
        // The fast path: a free slot, no waiting.
        if let Ok(permit) = Arc::clone(&self.slots).try_acquire_owned() {
            return Ok(self.slot(permit, Duration::ZERO));
        }
        let ahead = self.waiting.fetch_add(1, Ordering::Relaxed);
        let waiting = Waiting(self);
        metrics::gauge!("gateway_upstream_queue_depth", "upstream" => self.upstream.clone())
            .set((ahead + 1) as f64);
        if ahead >= self.settings.max_queue {
            drop(waiting);
            return Err(self.busy("the queue is full", ahead));
        }
        let started = Instant::now();
        let acquired = tokio::time::timeout(
            self.settings.queue_timeout,
            Arc::clone(&self.slots).acquire_owned(),
        )
        .await;
        drop(waiting);
        match acquired {
            Ok(Ok(permit)) => Ok(self.slot(permit, started.elapsed())),
            Ok(Err(_)) => Err(GatewayError::Internal(
                "the upstream's queue is closed".into(),
            )),
            Err(_) => Err(self.busy(
                "the wait for a slot timed out",
                self.waiting.load(Ordering::Relaxed),
            )),
        }
    }

    fn slot(self: &Arc<Self>, permit: OwnedSemaphorePermit, waited: Duration) -> Slot {
        metrics::histogram!("gateway_upstream_queue_wait_duration_seconds", "upstream" => self.upstream.clone())
            .record(waited.as_secs_f64());
        self.gauge_in_flight();
        Slot {
            queue: Arc::clone(self),
            started: Instant::now(),
            _permit: permit,
        }
    }

    fn gauge_in_flight(&self) {
        let in_flight = self.settings.max_in_flight - self.slots.available_permits();
        metrics::gauge!("gateway_upstream_in_flight", "upstream" => self.upstream.clone())
            .set(in_flight as f64);
    }

    fn busy(&self, why: &'static str, ahead: usize) -> GatewayError {
        metrics::counter!("gateway_upstream_queue_refusals_total", "upstream" => self.upstream.clone())
            .increment(1);
        GatewayError::UpstreamBusy {
            why,
            retry_after: self.retry_after(ahead),
        }
    }

    /// How long until a request arriving now would likely get a slot: the requests ahead, each
    /// taking the mean observed service time, served `max_in_flight` at a time. Before anything
    /// was observed, the queue timeout stands in for the service time.
    pub(crate) fn retry_after(&self, ahead: usize) -> Duration {
        let service = match self.service_us.load(Ordering::Relaxed) {
            0 => self.settings.queue_timeout,
            us => Duration::from_micros(us),
        };
        let rounds = (ahead + 1).div_ceil(self.settings.max_in_flight.max(1));
        service.saturating_mul(u32::try_from(rounds).unwrap_or(u32::MAX))
    }

    fn observe(&self, took: Duration) {
        let sample = u64::try_from(took.as_micros()).unwrap_or(u64::MAX).max(1);
        // Weight 1/4: follows a signer that slows down within a few requests.
        let _ = self
            .service_us
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| {
                Some(if old == 0 {
                    sample
                } else {
                    (old * 3 + sample) / 4
                })
            });
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.queue.observe(self.started.elapsed());
        // The permit is released after this body; count it as free already.
        let in_flight =
            self.queue.settings.max_in_flight - self.queue.slots.available_permits() - 1;
        metrics::gauge!("gateway_upstream_in_flight", "upstream" => self.queue.upstream.clone())
            .set(in_flight as f64);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn queue(max_queue: usize) -> Arc<Queue> {
        Queue::new(
            "signer",
            QueueSettings {
                max_in_flight: 1,
                max_queue,
                queue_timeout: Duration::from_secs(5),
            },
        )
    }

    #[tokio::test(start_paused = true)]
    async fn one_at_a_time_in_order_and_a_full_queue_refuses() {
        let q = queue(2);
        let first = q.enter().await.unwrap();
        let (a, b) = (Arc::clone(&q), Arc::clone(&q));
        let second = tokio::spawn(async move { a.enter().await.map(|_| ()) });
        let third = tokio::spawn(async move { b.enter().await.map(|_| ()) });
        tokio::task::yield_now().await;
        let refused = q.enter().await.unwrap_err();
        assert!(
            matches!(
                refused,
                GatewayError::UpstreamBusy {
                    why: "the queue is full",
                    ..
                }
            ),
            "{refused}"
        );
        drop(first);
        assert!(second.await.unwrap().is_ok());
        assert!(third.await.unwrap().is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_past_the_timeout_is_refused() {
        let q = queue(5);
        let _busy = q.enter().await.unwrap();
        let refused = q.enter().await.unwrap_err();
        assert!(matches!(
            refused,
            GatewayError::UpstreamBusy {
                why: "the wait for a slot timed out",
                ..
            }
        ));
        assert_eq!(
            q.waiting.load(Ordering::Relaxed),
            0,
            "a refused waiter left the queue"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_follows_the_observed_service_time_and_the_queue() {
        let q = queue(10);
        for _ in 0..3 {
            let slot = q.enter().await.unwrap();
            tokio::time::sleep(Duration::from_secs(1)).await;
            drop(slot);
        }
        assert_eq!(q.retry_after(0).as_secs(), 1);
        assert_eq!(q.retry_after(4).as_secs(), 5);
    }

    #[tokio::test(start_paused = true)]
    async fn a_caller_that_goes_away_leaves_the_queue() {
        let q = queue(1);
        let _busy = q.enter().await.unwrap();
        let waiter = {
            let q = Arc::clone(&q);
            tokio::spawn(async move { q.enter().await.map(|_| ()) })
        };
        tokio::task::yield_now().await;
        assert_eq!(q.waiting.load(Ordering::Relaxed), 1);
        waiter.abort();
        let _ = waiter.await;
        assert_eq!(q.waiting.load(Ordering::Relaxed), 0);
    }
}
