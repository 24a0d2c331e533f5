//! One CRL source: fetching (HTTP with conditional requests, or a file), verifying, and the
//! atomic replacement of the CRL in use.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use jiff::Timestamp;
use sha2::{Digest, Sha256};

use super::chain::Anchor;
use super::crl::LoadedCrl;
use super::{CrlSource, RevocationError};

/// Largest CRL accepted: a publisher (or whoever answers in its place) must not exhaust memory.
const MAX_CRL_BYTES: usize = 64 * 1024 * 1024;

/// What a successful refresh did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refreshed {
    /// A new CRL is in use.
    Replaced,
    /// The publisher answered 304, or the bytes are the ones in use.
    Unchanged,
}

#[derive(Debug, Default)]
pub(crate) struct SourceMeta {
    pub(crate) last_fetch: Option<Timestamp>,
    pub(crate) last_error: Option<String>,
    pub(crate) next_fetch: Option<Timestamp>,
    etag: Option<String>,
    last_modified: Option<String>,
    raw_sha256: Option<[u8; 32]>,
}

/// A CRL source and the CRL it currently provides.
#[derive(Debug)]
pub(crate) struct SourceState {
    pub(crate) name: String,
    source: CrlSource,
    /// Read on every handshake without locking; replaced whole by a refresh.
    pub(crate) current: ArcSwapOption<LoadedCrl>,
    pub(crate) meta: Mutex<SourceMeta>,
    /// One fetch at a time per source (the schedule and `refresh_now` may meet).
    fetching: tokio::sync::Mutex<()>,
}

// === impl SourceState ===

impl SourceState {
    pub(crate) fn new(source: CrlSource) -> Self {
        let name = match &source {
            CrlSource::Url(u) => u.clone(),
            CrlSource::File(p) => p.display().to_string(),
        };
        Self {
            name,
            source,
            current: ArcSwapOption::empty(),
            meta: Mutex::new(SourceMeta::default()),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    fn meta(&self) -> std::sync::MutexGuard<'_, SourceMeta> {
        // A poisoned lock only means a panic elsewhere mid-update of plain data: keep going.
        self.meta
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Fetches, verifies and installs the CRL. On any failure the CRL in use stays.
    ///
    /// # Errors
    /// The download, parse or signature error, also recorded as `last_error`.
    pub(crate) async fn refresh(
        &self,
        http: &reqwest::Client,
        anchors: &[Anchor],
    ) -> Result<Refreshed, RevocationError> {
        let _one_at_a_time = self.fetching.lock().await;
        let result = self.fetch_and_install(http, anchors).await;
        let now = Timestamp::now();
        let mut meta = self.meta();
        match &result {
            Ok(_) => {
                meta.last_fetch = Some(now);
                meta.last_error = None;
            }
            Err(e) => {
                meta.last_error = Some(e.to_string());
                metrics::counter!("gateway_crl_fetch_failures_total", "source" => self.metric_label())
                    .increment(1);
                tracing::warn!(source = %self.metric_label(), path = %self.name, error = %e, "CRL refresh failed; keeping the CRL in use");
            }
        }
        drop(meta);
        self.update_gauges(now);
        result
    }

    async fn fetch_and_install(
        &self,
        http: &reqwest::Client,
        anchors: &[Anchor],
    ) -> Result<Refreshed, RevocationError> {
        let Some(bytes) = self.fetch(http).await? else {
            tracing::debug!(source = %self.metric_label(), "CRL not modified");
            return Ok(Refreshed::Unchanged);
        };
        let digest: [u8; 32] = Sha256::digest(&bytes).into();
        if self.current.load().is_some() && self.meta().raw_sha256 == Some(digest) {
            return Ok(Refreshed::Unchanged);
        }
        // Parsing and the signature check of a big CRL take milliseconds: off the runtime.
        let anchors = anchors.to_vec();
        let name = self.name.clone();
        let crl = tokio::task::spawn_blocking(move || LoadedCrl::parse(&bytes, &name, &anchors))
            .await
            .map_err(|e| RevocationError::BadCrl {
                source_name: self.name.clone(),
                reason: format!("parser task failed: {e}"),
            })??;
        if let Some(current) = self.current.load_full()
            && crl.this_update < current.this_update
        {
            return Err(RevocationError::OlderCrl {
                source_name: self.name.clone(),
                new: crl.this_update.to_string(),
                current: current.this_update.to_string(),
            });
        }
        tracing::info!(
            source = %self.metric_label(), issuer = %crl.issuer, entries = crl.entries(),
            this_update = %crl.this_update, next_update = crl.next_update.map(tracing::field::display),
            "CRL installed"
        );
        self.current.store(Some(Arc::new(crl)));
        self.meta().raw_sha256 = Some(digest);
        Ok(Refreshed::Replaced)
    }

    /// `Ok(None)` when the publisher says the CRL has not changed.
    async fn fetch(&self, http: &reqwest::Client) -> Result<Option<Vec<u8>>, RevocationError> {
        match &self.source {
            CrlSource::File(path) => {
                let path = path.clone();
                tokio::fs::read(&path)
                    .await
                    .map(Some)
                    .map_err(|e| RevocationError::ReadFile {
                        path,
                        reason: e.to_string(),
                    })
            }
            CrlSource::Url(url) => self.download(http, url).await,
        }
    }

    async fn download(
        &self,
        http: &reqwest::Client,
        url: &str,
    ) -> Result<Option<Vec<u8>>, RevocationError> {
        let failed = |reason: String| RevocationError::Download {
            source_name: self.name.clone(),
            reason,
        };
        let mut request = http.get(url);
        // Validators only make sense while we hold the CRL they describe.
        if self.current.load().is_some() {
            let meta = self.meta();
            if let Some(etag) = &meta.etag {
                request = request.header(reqwest::header::IF_NONE_MATCH, etag);
            }
            if let Some(lm) = &meta.last_modified {
                request = request.header(reqwest::header::IF_MODIFIED_SINCE, lm);
            }
        }
        let mut response = request.send().await.map_err(|e| failed(error_chain(&e)))?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(failed(format!("HTTP status {status}")));
        }
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                .map(str::to_owned)
        };
        let etag = header(reqwest::header::ETAG);
        let last_modified = header(reqwest::header::LAST_MODIFIED);
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| failed(error_chain(&e)))?
        {
            if body.len() + chunk.len() > MAX_CRL_BYTES {
                return Err(failed(format!("larger than {MAX_CRL_BYTES} bytes")));
            }
            body.extend_from_slice(&chunk);
        }
        let mut meta = self.meta();
        meta.etag = etag;
        meta.last_modified = last_modified;
        Ok(Some(body))
    }

    /// Sets the age and time-to-nextUpdate gauges of this source.
    pub(crate) fn update_gauges(&self, now: Timestamp) {
        if let Some(crl) = self.current.load().as_deref() {
            let age = now.duration_since(crl.this_update).as_secs_f64();
            metrics::gauge!("gateway_crl_age_seconds", "source" => self.metric_label()).set(age);
            if let Some(next) = crl.next_update {
                let left = next.duration_since(now).as_secs_f64();
                metrics::gauge!("gateway_crl_seconds_to_next_update", "source" => self.metric_label())
                    .set(left);
            }
        }
    }

    /// The `source` of the CRL metrics and log lines: a URL as configured, a file by its name
    /// (not its absolute path, which depends on where the gateway was built or installed; the
    /// failure warnings give the path as a field of its own).
    pub(crate) fn metric_label(&self) -> String {
        match &self.source {
            CrlSource::Url(u) => u.clone(),
            CrlSource::File(p) => p
                .file_name()
                .map_or_else(|| self.name.clone(), |n| n.to_string_lossy().into_owned()),
        }
    }

    pub(crate) fn set_next_fetch(&self, at: Timestamp) {
        self.meta().next_fetch = Some(at);
    }

    pub(crate) fn snapshot(&self) -> (Option<Timestamp>, Option<String>, Option<Timestamp>) {
        let meta = self.meta();
        (meta.last_fetch, meta.last_error.clone(), meta.next_fetch)
    }
}

/// An error with its causes: reqwest's own message ("error sending request") says little.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// The HTTP client of CRL downloads: closes its connection after each download, as ANS asks.
///
/// # Errors
/// [`RevocationError::HttpClient`] when reqwest cannot build it.
pub(crate) fn crl_client(timeout: Duration) -> Result<reqwest::Client, RevocationError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .pool_max_idle_per_host(0)
        .build()
        .map_err(|e| RevocationError::HttpClient(error_chain(&e)))
}
