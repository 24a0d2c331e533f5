//! Revocation checking of client certificates: CRLs fetched at start and refreshed on a daily
//! schedule, OCSP with verified responses and a cache, soft and hard failure modes.
//!
//! How revoked certificates are kept out, including on connections that outlive a revocation:
//! - a full handshake runs [`Revocation::wrap_verifier`]'s CRL check, so a revoked client gets a
//!   `certificate_revoked` alert;
//! - a resumed session skips the verifier, so the gateway calls [`Revocation::check_crl`] on the
//!   session's peer certificates after every handshake, and again before every request: a
//!   certificate revoked after its connection was opened is refused at its next request (the
//!   connection is then closed by the gateway). The check is a hash lookup with no I/O;
//! - OCSP runs after the handshake ([`Revocation::check_connection`], async, cached), and its
//!   verdict travels with the identity.

mod chain;
mod check;
mod crl;
mod error;
mod ocsp;
mod schedule;
mod settings;
mod source;
mod status;
mod verdict;
mod verifier;

use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use rustls_pki_types::CertificateDer;

pub use error::RevocationError;
pub use settings::{
    Combine, CrlSettings, CrlSource, MissingAtStart, OcspFetch, OcspMode, OcspSettings,
    RevocationScope, RevocationSettings, StalePolicy,
};
pub use status::{CrlStatus, RevocationStatus};
pub use verdict::Verdict;

use chain::Anchor;
use ocsp::OcspChecker;
use schedule::DailyAt;
use source::SourceState;

use crate::TrustAnchors;

/// The revocation state of one trust store: its CRLs, its OCSP cache, and the tasks that keep
/// the CRLs fresh. Dropping the last handle (or calling [`Revocation::shutdown`]) stops them.
#[derive(Debug)]
pub struct Revocation {
    inner: Arc<Inner>,
    tasks: Mutex<Vec<tokio::task::AbortHandle>>,
}

#[derive(Debug)]
struct Inner {
    settings: RevocationSettings,
    anchors: Vec<Anchor>,
    sources: Vec<SourceState>,
    daily: Option<DailyAt>,
    http: reqwest::Client,
    ocsp: OcspChecker,
    /// Leaf serials whose background OCSP fetch started recently.
    prefetches: Mutex<std::collections::HashMap<Vec<u8>, std::time::Instant>>,
}

/// Least time between two background OCSP fetches for one certificate.
const PREFETCH_INTERVAL: std::time::Duration = std::time::Duration::from_secs(10);

/// A client chain digested by [`Revocation::prepare`]: the certificates to check with their
/// issuers. Only meaningful for the handle that prepared it (its scope and anchors).
#[derive(Debug, Clone)]
pub struct PreparedChain {
    subjects: Vec<(chain::Subject, Option<Vec<u8>>)>,
}

/// A verdict with a stable label for metrics.
struct Labelled {
    verdict: Verdict,
    label: &'static str,
}

impl Labelled {
    fn good() -> Self {
        Self {
            verdict: Verdict::Good,
            label: "good",
        }
    }
}

// === impl Revocation ===

impl Revocation {
    /// Loads every CRL source once, then spawns the refresh tasks (on the current tokio runtime).
    ///
    /// # Errors
    /// A bad schedule setting, an HTTP client that cannot be built, or (with
    /// [`MissingAtStart::Refuse`]) a CRL that cannot be fetched and verified.
    pub async fn start(
        settings: RevocationSettings,
        anchors: &TrustAnchors,
    ) -> Result<Arc<Self>, RevocationError> {
        let anchors: Vec<Anchor> = anchors
            .certificates()
            .iter()
            .filter_map(Anchor::new)
            .collect();
        let (daily, http, sources) = match &settings.crl {
            Some(crl) => {
                let daily = DailyAt::new(crl.refresh_at.0, crl.refresh_at.1, &crl.time_zone)?;
                let mut list = crl.sources.clone();
                if crl.use_distribution_points && settings.scope == RevocationScope::WholeChain {
                    for url in anchors.iter().flat_map(|a| a.crl_urls.iter()) {
                        let source = CrlSource::Url(url.clone());
                        if !list.contains(&source) {
                            list.push(source);
                        }
                    }
                }
                let sources = list.into_iter().map(SourceState::new).collect();
                (Some(daily), source::crl_client(crl.fetch_timeout)?, sources)
            }
            None => (
                None,
                source::crl_client(std::time::Duration::from_secs(30))?,
                Vec::new(),
            ),
        };
        let ocsp = OcspChecker::new(
            settings.ocsp.clone(),
            ocsp::ocsp_client(settings.ocsp.timeout)?,
        );
        let inner = Arc::new(Inner {
            settings,
            anchors,
            sources,
            daily,
            http,
            ocsp,
            prefetches: Mutex::new(std::collections::HashMap::new()),
        });
        let mut first_ok = Vec::new();
        for source in &inner.sources {
            let result = source.refresh(&inner.http, &inner.anchors).await;
            if let Err(e) = &result {
                let refuse = inner
                    .settings
                    .crl
                    .as_ref()
                    .is_some_and(|c| c.on_missing_at_start == MissingAtStart::Refuse);
                if refuse {
                    return Err(RevocationError::MissingAtStart {
                        source_name: source.name.clone(),
                        reason: e.to_string(),
                    });
                }
                tracing::warn!(source = %source.metric_label(), path = %source.name, error = %e, "starting degraded without this CRL");
            }
            first_ok.push(result.is_ok());
        }
        let tasks = (0..inner.sources.len())
            .zip(first_ok)
            .map(|(index, ok)| {
                tokio::spawn(Arc::clone(&inner).refresh_loop(index, ok)).abort_handle()
            })
            .collect();
        Ok(Arc::new(Self {
            inner,
            tasks: Mutex::new(tasks),
        }))
    }

    /// Stops the refresh tasks; the CRLs in use stay usable.
    pub fn shutdown(&self) {
        let tasks = std::mem::take(
            &mut *self
                .tasks
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for task in tasks {
            task.abort();
        }
    }

    /// Wraps a client certificate verifier: after `inner` has verified the chain, the CRL check
    /// runs (no I/O), and a revoked certificate gets `CertificateError::Revoked`, a stale or
    /// missing CRL in hard mode `ExpiredRevocationList` or `UnknownRevocationStatus`.
    #[must_use]
    pub fn wrap_verifier(
        self: &Arc<Self>,
        inner: Arc<dyn rustls::server::danger::ClientCertVerifier>,
    ) -> Arc<dyn rustls::server::danger::ClientCertVerifier> {
        Arc::new(verifier::RevocationVerifier::new(inner, Arc::clone(self)))
    }

    /// Digests a chain (leaf first, as presented) once: the certificates to check under this
    /// handle's scope, each with its issuer. A connection keeps it, so that the checks it
    /// repeats (on every request) do no parsing and no allocation.
    #[must_use]
    pub fn prepare(&self, chain: &[CertificateDer<'_>]) -> PreparedChain {
        self.inner.prepare(chain)
    }

    /// The CRL verdict of a chain: hash lookups, no I/O. Used during the handshake, after every
    /// resumed handshake, and before every request.
    pub fn check_crl(&self, chain: &[CertificateDer<'_>]) -> Verdict {
        self.check_crl_prepared(&self.prepare(chain))
    }

    /// [`Revocation::check_crl`] on a chain digested by [`Revocation::prepare`].
    pub fn check_crl_prepared(&self, chain: &PreparedChain) -> Verdict {
        let checked = self.inner.crl(chain, Timestamp::now());
        self.record(&checked, "crl");
        checked.verdict
    }

    /// The OCSP verdict of the leaf: from the cache, else (when `network`) from the responder.
    /// `network = false` never waits on I/O. [`OcspMode::Off`] always says good.
    pub async fn check_ocsp(&self, chain: &[CertificateDer<'_>], network: bool) -> Verdict {
        let checked = self.inner.ocsp(&self.prepare(chain), network).await;
        self.record(&checked, "ocsp");
        checked.verdict
    }

    /// CRL and OCSP combined per [`RevocationSettings::combine`].
    pub async fn check_connection(&self, chain: &[CertificateDer<'_>], network: bool) -> Verdict {
        self.check_connection_prepared(&self.prepare(chain), network)
            .await
    }

    /// [`Revocation::check_connection`] on a chain digested by [`Revocation::prepare`].
    ///
    /// With [`OcspFetch::Background`] the check itself never waits on the network: a cache miss
    /// (when `network` allows asking at all) starts a background fetch instead.
    pub async fn check_connection_prepared(&self, chain: &PreparedChain, network: bool) -> Verdict {
        let background = self.inner.settings.ocsp.fetch == OcspFetch::Background;
        let checked = self.inner.combined(chain, network && !background).await;
        if background && network && checked.label == "ocsp_not_cached" {
            self.prefetch(chain);
        }
        self.record(&checked, "connection");
        checked.verdict
    }

    /// Asks the responder about the chain's leaf in the background, at most once per
    /// [`PREFETCH_INTERVAL`] per certificate, so that a failing responder is not asked again by
    /// every connection.
    fn prefetch(&self, chain: &PreparedChain) {
        let Some((leaf, _)) = chain.subjects.first() else {
            return;
        };
        let now = std::time::Instant::now();
        {
            let mut attempts = self
                .inner
                .prefetches
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            attempts.retain(|_, at| now.duration_since(*at) < PREFETCH_INTERVAL);
            if attempts.contains_key(&leaf.serial) {
                return;
            }
            attempts.insert(leaf.serial.clone(), now);
        }
        let inner = Arc::clone(&self.inner);
        let chain = chain.clone();
        tokio::spawn(async move {
            let checked = inner.ocsp(&chain, true).await;
            tracing::debug!(verdict = %checked.verdict, "background OCSP fetch");
        });
    }

    /// What the admin endpoint shows.
    #[must_use]
    pub fn status(&self) -> RevocationStatus {
        status::build(
            &self.inner.settings,
            &self.inner.sources,
            self.inner.ocsp.cache_size(),
        )
    }

    /// `Err` (with the reasons) when a CRL is missing or expired and the stale policy is hard.
    ///
    /// # Errors
    /// The list of stale or missing CRLs, for `/readyz`.
    pub fn readiness(&self) -> Result<(), String> {
        let Some(crl) = &self.inner.settings.crl else {
            return Ok(());
        };
        if crl.on_stale == StalePolicy::Soft {
            return Ok(());
        }
        let now = Timestamp::now();
        let problems: Vec<String> = self
            .inner
            .sources
            .iter()
            .filter_map(|s| match s.current.load().as_deref() {
                None => Some(format!("CRL {} missing", s.name)),
                Some(c) if c.expired(now) => Some(format!(
                    "CRL {} expired (nextUpdate {})",
                    s.name,
                    c.next_update.map(|t| t.to_string()).unwrap_or_default()
                )),
                Some(_) => None,
            })
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }

    /// Fetches every CRL source now (all are tried).
    ///
    /// # Errors
    /// The first source's error, when any failed (each one is also in [`Revocation::status`]).
    pub async fn refresh_now(&self) -> Result<(), RevocationError> {
        let mut first = None;
        for source in &self.inner.sources {
            if let Err(e) = source.refresh(&self.inner.http, &self.inner.anchors).await {
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), Err)
    }

    fn record(&self, checked: &Labelled, stage: &'static str) {
        match &checked.verdict {
            Verdict::Good => {}
            Verdict::Unknown {
                reason,
                hard: false,
            } => {
                tracing::warn!(stage, %reason, "revocation status unknown: accepted (soft policy)");
                metrics::counter!("gateway_revocation_soft_failures_total", "reason" => checked.label)
                    .increment(1);
            }
            v => {
                // INFO, as the handshake refusals of untrusted or expired certificates: the
                // caller's problem, counted by reason in the metric. At WARN one revoked client
                // retrying in a loop filled the operators' WARN log (147,425 lines in the
                // 30-minute soak).
                tracing::info!(stage, verdict = %v, "client certificate refused");
                metrics::counter!("gateway_revocation_rejections_total", "reason" => checked.label)
                    .increment(1);
            }
        }
    }
}

impl Drop for Revocation {
    fn drop(&mut self) {
        self.shutdown();
    }
}

// === impl Inner (refresh) ===

impl Inner {
    async fn refresh_loop(self: Arc<Self>, index: usize, first_ok: bool) {
        let (Some(source), Some(daily), Some(crl)) =
            (self.sources.get(index), &self.daily, &self.settings.crl)
        else {
            return;
        };
        let mut failures: u32 = u32::from(!first_ok);
        loop {
            let now = Timestamp::now();
            let next = if failures == 0 {
                let next_update = source.current.load().as_deref().and_then(|c| c.next_update);
                schedule::next_refresh(
                    now,
                    daily,
                    schedule::random_jitter(crl.jitter),
                    next_update,
                    crl.refresh_before_next_update,
                    crl.retry_max,
                )
            } else {
                schedule::add(
                    now,
                    schedule::backoff(failures, crl.retry_initial, crl.retry_max),
                )
            };
            source.set_next_fetch(next);
            // Wake at least every minute so that the age gauges move.
            loop {
                let now = Timestamp::now();
                if now >= next {
                    break;
                }
                let nap = schedule::until(now, next).min(std::time::Duration::from_secs(60));
                tokio::time::sleep(nap).await;
                source.update_gauges(Timestamp::now());
            }
            match source.refresh(&self.http, &self.anchors).await {
                Ok(_) => failures = 0,
                Err(_) => failures = failures.saturating_add(1),
            }
        }
    }
}
