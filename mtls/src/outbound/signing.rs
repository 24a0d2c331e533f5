//! Running remote signatures (CPS agent, PKCS#11 token) off the async workers.
//!
//! rustls asks for the CertificateVerify signature synchronously (`Signer::sign`), from inside
//! the future that drives the handshake, on one of the gateway's async workers. A card behind
//! an agent takes hundreds of milliseconds, a token tens: waiting there would stall every other
//! connection that worker serves.
//!
//! The choice made here: each remote identity owns a **signing pool**, one dedicated OS thread
//! running a small current-thread tokio runtime of its own (plus, for tokens, a few blocking
//! threads of that runtime, as many as concurrent signatures are allowed). All I/O with an
//! agent (HTTP client, connection pool) lives on that runtime, never on the caller's. A
//! signature is a job spawned there, bounded by a semaphore (max concurrent signatures) and a
//! timeout that covers the wait for a permit too. The handshake's thread waits for the job's
//! answer on a channel inside [`tokio::task::block_in_place`], which hands the worker's other
//! tasks to a fresh thread for the duration: the runtime keeps serving everything else.
//!
//! Where the handshake runs decides how it waits:
//! - on a multi-thread tokio runtime (the gateway): `block_in_place`, as above;
//! - outside any runtime (a blocking client, a plain thread): a plain blocking wait;
//! - on a current-thread runtime: `block_in_place` would panic and a plain wait would stall
//!   every task of that runtime (and deadlock if the agent were served by it), so the signature
//!   is refused with [`IdentityError::CurrentThreadRuntime`] before anything is sent.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::runtime::{Handle, RuntimeFlavor};
use tokio::sync::{Semaphore, oneshot};

use super::error::IdentityError;

/// A job for the signing pool.
pub(crate) type Job<T> = Pin<Box<dyn Future<Output = Result<T, IdentityError>> + Send>>;

/// Extra wait on the caller's side past the job's own timeout, so the job's typed answer
/// (usually a timeout too) wins over the caller giving up.
const GRACE: Duration = Duration::from_millis(250);

/// A dedicated thread with its own runtime, where one identity's signatures run.
#[derive(Debug)]
pub(crate) struct SigningPool {
    handle: Handle,
    permits: Arc<Semaphore>,
    /// Dropping it stops the thread.
    _stop: oneshot::Sender<()>,
}

// === impl SigningPool ===

impl SigningPool {
    /// Starts the pool's thread, named `name`, allowing `max_concurrent` signatures at once.
    pub(crate) fn start(name: &str, max_concurrent: usize) -> Result<Self, IdentityError> {
        let max = max_concurrent.max(1);
        let failed = |e: std::io::Error| IdentityError::SigningPool(e.to_string());
        // Built here (building is allowed in async code), run and dropped on its own thread
        // (dropping a runtime inside an async context would panic).
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .max_blocking_threads(max)
            .thread_name(format!("{name}-blocking"))
            .build()
            .map_err(failed)?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                runtime.block_on(async {
                    let _ = stopped.await;
                });
                // A token call in progress cannot be interrupted: do not wait for it long.
                runtime.shutdown_timeout(Duration::from_secs(1));
            })
            .map_err(failed)?;
        Ok(Self {
            handle,
            permits: Arc::new(Semaphore::new(max)),
            _stop: stop,
        })
    }

    /// Runs `job` on the pool, from async code (fetching a certificate). No permit is taken.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        job: Job<T>,
        timeout: Duration,
        on_timeout: impl FnOnce() -> IdentityError + Send + 'static,
    ) -> Result<T, IdentityError> {
        let task = self.handle.spawn(async move {
            tokio::time::timeout(timeout, job)
                .await
                .unwrap_or_else(|_| Err(on_timeout()))
        });
        task.await.unwrap_or(Err(IdentityError::SigningPoolStopped))
    }

    /// Runs a signature `job` on the pool and waits for it from synchronous code (rustls'
    /// `Signer::sign`) without stalling the caller's async runtime (see the module docs).
    /// The timeout covers the wait for a permit and the signature.
    pub(crate) fn sign<T: Send + 'static>(
        &self,
        job: Job<T>,
        timeout: Duration,
        on_timeout: impl FnOnce() -> IdentityError + Send + 'static,
    ) -> Result<T, IdentityError> {
        // Decide how to wait before starting anything: a refusal sends nothing to the signer.
        let wait = Wait::here()?;
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let permits = self.permits.clone();
        self.handle.spawn(async move {
            let limited = async move {
                let _permit = permits
                    .acquire_owned()
                    .await
                    .map_err(|_| IdentityError::SigningPoolStopped)?;
                job.await
            };
            let result = tokio::time::timeout(timeout, limited)
                .await
                .unwrap_or_else(|_| Err(on_timeout()));
            let _ = tx.send(result);
        });
        let receive = move || match rx.recv_timeout(timeout + GRACE) {
            Ok(result) => Some(result),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => None,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                Some(Err(IdentityError::SigningPoolStopped))
            }
        };
        // `None`: the pool did not answer even its own timeout (its thread is stuck).
        wait.run(receive)
            .unwrap_or(Err(IdentityError::SigningPoolStopped))
    }
}

/// How the current thread may block.
enum Wait {
    /// Outside any tokio runtime.
    Plain,
    /// On a multi-thread runtime: `block_in_place`.
    BlockInPlace,
}

impl Wait {
    fn here() -> Result<Self, IdentityError> {
        match Handle::try_current() {
            Err(_) => Ok(Self::Plain),
            Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => Ok(Self::BlockInPlace),
            // Current-thread (and any future flavor): see the module docs.
            Ok(_) => Err(IdentityError::CurrentThreadRuntime),
        }
    }

    fn run<T>(self, f: impl FnOnce() -> T) -> T {
        match self {
            Self::Plain => f(),
            Self::BlockInPlace => tokio::task::block_in_place(f),
        }
    }
}

/// Counters of an identity's signatures, for the gateway's metrics (mtls has no metrics
/// dependency: the gateway reads [`SignatureCounts`] snapshots when it is scraped).
#[derive(Debug, Default)]
pub(crate) struct SignatureStats {
    started: AtomicU64,
    succeeded: AtomicU64,
    failed: AtomicU64,
    timed_out: AtomicU64,
    bad_signatures: AtomicU64,
    micros: AtomicU64,
}

/// A snapshot of an identity's signature counters (monotonic since the identity was built).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SignatureCounts {
    /// Signatures asked for.
    pub started: u64,
    /// Signatures produced, verified and handed to rustls.
    pub succeeded: u64,
    /// Signatures that failed, whatever the reason (timeouts and bad signatures included).
    pub failed: u64,
    /// Of the failures: timeouts.
    pub timed_out: u64,
    /// Of the failures: signatures that did not verify with the certificate (never sent).
    pub bad_signatures: u64,
    /// Signatures in progress now.
    pub in_flight: u64,
    /// Time spent in finished signatures, added up.
    pub total_time: Duration,
}

// === impl SignatureStats ===

impl SignatureStats {
    pub(crate) fn begin(&self) -> Instant {
        self.started.fetch_add(1, Ordering::Relaxed);
        Instant::now()
    }

    pub(crate) fn end<T>(&self, started: Instant, result: &Result<T, IdentityError>) {
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.micros.fetch_add(micros, Ordering::Relaxed);
        let counter = match result {
            Ok(_) => &self.succeeded,
            Err(e) => {
                match e {
                    IdentityError::Timeout { .. } => {
                        self.timed_out.fetch_add(1, Ordering::Relaxed);
                    }
                    IdentityError::BadSignature { .. } => {
                        self.bad_signatures.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {}
                }
                &self.failed
            }
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> SignatureCounts {
        let succeeded = self.succeeded.load(Ordering::Relaxed);
        let failed = self.failed.load(Ordering::Relaxed);
        let started = self.started.load(Ordering::Relaxed);
        SignatureCounts {
            started,
            succeeded,
            failed,
            timed_out: self.timed_out.load(Ordering::Relaxed),
            bad_signatures: self.bad_signatures.load(Ordering::Relaxed),
            in_flight: started.saturating_sub(succeeded + failed),
            total_time: Duration::from_micros(self.micros.load(Ordering::Relaxed)),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn job(delay: Duration) -> Job<u8> {
        Box::pin(async move {
            tokio::time::sleep(delay).await;
            Ok(7)
        })
    }

    fn timeout() -> IdentityError {
        IdentityError::Timeout {
            signer: "test".into(),
            operation: "signature",
            after: Duration::ZERO,
        }
    }

    #[test]
    fn outside_a_runtime_the_wait_is_plain() {
        let pool = SigningPool::start("test-signer", 1).unwrap();
        assert_eq!(
            pool.sign(job(Duration::ZERO), Duration::from_secs(5), timeout)
                .unwrap(),
            7
        );
        let slow = pool.sign(
            job(Duration::from_secs(5)),
            Duration::from_millis(50),
            timeout,
        );
        assert!(matches!(slow, Err(IdentityError::Timeout { .. })));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_current_thread_runtime_is_refused_without_panicking() {
        let pool = SigningPool::start("test-signer", 1).unwrap();
        let r = pool.sign(job(Duration::ZERO), Duration::from_secs(5), timeout);
        assert!(
            matches!(r, Err(IdentityError::CurrentThreadRuntime)),
            "{r:?}"
        );
        // Async use (the certificate fetch) works on any runtime.
        let r = pool
            .run(job(Duration::ZERO), Duration::from_secs(5), timeout)
            .await;
        assert_eq!(r.unwrap(), 7);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_multi_thread_runtime_waits_in_place() {
        let pool = SigningPool::start("test-signer", 2).unwrap();
        let r = pool.sign(
            job(Duration::from_millis(10)),
            Duration::from_secs(5),
            timeout,
        );
        assert_eq!(r.unwrap(), 7);
    }

    #[test]
    fn counters() {
        let stats = SignatureStats::default();
        let t = stats.begin();
        stats.end::<()>(t, &Err(timeout()));
        let t = stats.begin();
        stats.end(t, &Ok(()));
        let _in_flight = stats.begin();
        let c = stats.snapshot();
        assert_eq!(
            (c.started, c.succeeded, c.failed, c.timed_out, c.in_flight),
            (3, 1, 1, 1, 1)
        );
    }
}
