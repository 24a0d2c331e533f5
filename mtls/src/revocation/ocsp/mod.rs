//! OCSP: asking the responder about a client certificate, checking the answer, caching it per
//! (issuer key hash, serial), and coalescing concurrent questions about one certificate.

mod request;
mod response;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jiff::Timestamp;

pub(crate) use request::CertKey;

use super::OcspSettings;
use super::schedule::until;
use super::source::error_chain;

/// Largest OCSP response accepted (a real one is a few kilobytes).
const MAX_RESPONSE_BYTES: usize = 256 * 1024;

/// A verified answer of a responder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    Good,
    /// With the reason and time, for the log.
    Revoked(String),
    Unknown,
}

/// Why no verified answer could be had: each check of RFC 6960 has its own variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum OcspFailure {
    #[error("no OCSP responder: the certificate has no AIA OCSP URL and no override is set")]
    NoResponder,
    #[error("issuer certificate not found among the anchors and the presented chain")]
    NoIssuer,
    #[error("no cached OCSP answer (cache-only check)")]
    NotCached,
    #[error("OCSP responder {url} did not answer within {millis} ms")]
    Timeout { url: String, millis: u128 },
    #[error("OCSP responder {url} unreachable: {reason}")]
    Network { url: String, reason: String },
    #[error("OCSP responder {url} answered HTTP {status}")]
    HttpStatus { url: String, status: u16 },
    #[error("OCSP response malformed: {0}")]
    Malformed(String),
    #[error("OCSP responseStatus {0} (not successful)")]
    Status(&'static str),
    #[error("OCSP response type {0} is not id-pkix-ocsp-basic")]
    NotBasic(String),
    #[error("OCSP response signature does not verify: {0}")]
    BadSignature(String),
    #[error("OCSP responder not authorized: {0}")]
    Unauthorized(String),
    #[error("OCSP response is for another certificate (CertID mismatch)")]
    CertIdMismatch,
    #[error("OCSP response thisUpdate {0} is in the future (beyond the clock skew)")]
    NotYetValid(String),
    #[error("OCSP response expired: nextUpdate {0} is past (beyond the clock skew)")]
    Expired(String),
    #[error("OCSP response nonce does not match the request's")]
    NonceMismatch,
    #[error("OCSP internal error: {0}")]
    Internal(String),
}

// === impl OcspFailure ===

impl OcspFailure {
    /// Stable metric label.
    pub(crate) fn label(&self) -> &'static str {
        match self {
            Self::NoResponder => "no_responder",
            Self::NoIssuer => "no_issuer",
            Self::NotCached => "not_cached",
            Self::Timeout { .. } => "timeout",
            Self::Network { .. } => "network",
            Self::HttpStatus { .. } => "http_status",
            Self::Malformed(_) => "malformed",
            Self::Status(_) => "status",
            Self::NotBasic(_) => "not_basic",
            Self::BadSignature(_) => "bad_signature",
            Self::Unauthorized(_) => "unauthorized_responder",
            Self::CertIdMismatch => "certid_mismatch",
            Self::NotYetValid(_) => "not_yet_valid",
            Self::Expired(_) => "expired",
            Self::NonceMismatch => "nonce_mismatch",
            Self::Internal(_) => "internal",
        }
    }
}

type Outcome = Result<Answer, OcspFailure>;

#[derive(Debug)]
struct Cached {
    answer: Answer,
    until: Instant,
}

/// Cache key: (issuer key hash, serial).
type Key = ([u8; 20], Vec<u8>);

/// The OCSP client of one trust store.
#[derive(Debug)]
pub(crate) struct OcspChecker {
    settings: OcspSettings,
    http: reqwest::Client,
    cache: Mutex<HashMap<Key, Cached>>,
    in_flight: Mutex<HashMap<Key, Arc<tokio::sync::OnceCell<Outcome>>>>,
}

// === impl OcspChecker ===

impl OcspChecker {
    pub(crate) fn new(settings: OcspSettings, http: reqwest::Client) -> Self {
        Self {
            settings,
            http,
            cache: Mutex::new(HashMap::new()),
            in_flight: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn cache_size(&self) -> usize {
        lock(&self.cache).len()
    }

    /// The answer for one certificate: from the cache, else (when `network`) from the responder,
    /// one request per certificate however many callers ask at once.
    pub(crate) async fn answer(
        &self,
        key: &CertKey,
        issuer_der: &[u8],
        aia: &[String],
        network: bool,
    ) -> Outcome {
        let cache_key: Key = (key.issuer_key_hash, key.serial.clone());
        if let Some(answer) = self.cached(&cache_key) {
            metrics::counter!("gateway_ocsp_cache_hits_total").increment(1);
            return Ok(answer);
        }
        if !network {
            return Err(OcspFailure::NotCached);
        }
        let cell = Arc::clone(lock(&self.in_flight).entry(cache_key.clone()).or_default());
        let outcome = cell
            .get_or_init(|| async {
                // A caller that waited on another's request finds the answer cached.
                if let Some(answer) = self.cached(&cache_key) {
                    return Ok(answer);
                }
                self.ask(key, issuer_der, aia, &cache_key).await
            })
            .await
            .clone();
        {
            let mut in_flight = lock(&self.in_flight);
            if in_flight
                .get(&cache_key)
                .is_some_and(|c| Arc::ptr_eq(c, &cell))
            {
                in_flight.remove(&cache_key);
            }
        }
        outcome
    }

    fn cached(&self, key: &Key) -> Option<Answer> {
        let mut cache = lock(&self.cache);
        match cache.get(key) {
            Some(c) if c.until > Instant::now() => Some(c.answer.clone()),
            Some(_) => {
                cache.remove(key);
                None
            }
            None => None,
        }
    }

    async fn ask(
        &self,
        key: &CertKey,
        issuer_der: &[u8],
        aia: &[String],
        cache_key: &Key,
    ) -> Outcome {
        let url = self
            .settings
            .responder_override
            .clone()
            .or_else(|| aia.first().cloned())
            .ok_or(OcspFailure::NoResponder)?;
        let nonce = self.settings.send_nonce.then(|| {
            use rand::RngCore;
            let mut n = [0u8; 16];
            rand::rng().fill_bytes(&mut n);
            n
        });
        let body = request::encode(key, nonce.as_ref().map(|n| n.as_slice()))?;
        let outcome = self.exchange(&url, body).await.and_then(|bytes| {
            let now = Timestamp::now();
            let checked = response::check(
                &bytes,
                &response::Expected {
                    key,
                    issuer_der,
                    nonce: nonce.as_ref().map(|n| n.as_slice()),
                    now,
                    skew: self.settings.clock_skew,
                },
            )?;
            // Cached until min(nextUpdate, now + max age); no nextUpdate means "newer
            // information is always available": max age only.
            let mut ttl = self.settings.max_cache_age;
            if let Some(next) = checked.next_update {
                ttl = ttl.min(until(now, next));
            }
            lock(&self.cache).insert(
                cache_key.clone(),
                Cached {
                    answer: checked.answer.clone(),
                    until: Instant::now() + ttl,
                },
            );
            Ok(checked.answer)
        });
        let label = match &outcome {
            Ok(Answer::Good) => "good",
            Ok(Answer::Revoked(_)) => "revoked",
            Ok(Answer::Unknown) => "unknown",
            Err(e) => e.label(),
        };
        metrics::counter!("gateway_ocsp_requests_total", "outcome" => label).increment(1);
        outcome
    }

    async fn exchange(&self, url: &str, body: Vec<u8>) -> Result<Vec<u8>, OcspFailure> {
        let timeout = self.settings.timeout;
        let work = async {
            let network = |e: reqwest::Error| {
                if e.is_timeout() {
                    OcspFailure::Timeout {
                        url: url.to_owned(),
                        millis: timeout.as_millis(),
                    }
                } else {
                    OcspFailure::Network {
                        url: url.to_owned(),
                        reason: error_chain(&e),
                    }
                }
            };
            let mut response = self
                .http
                .post(url)
                .header(reqwest::header::CONTENT_TYPE, "application/ocsp-request")
                .header(reqwest::header::ACCEPT, "application/ocsp-response")
                .body(body)
                .send()
                .await
                .map_err(network)?;
            if !response.status().is_success() {
                return Err(OcspFailure::HttpStatus {
                    url: url.to_owned(),
                    status: response.status().as_u16(),
                });
            }
            let mut bytes = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(network)? {
                if bytes.len() + chunk.len() > MAX_RESPONSE_BYTES {
                    return Err(OcspFailure::Malformed(format!(
                        "larger than {MAX_RESPONSE_BYTES} bytes"
                    )));
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok(bytes)
        };
        // One deadline for connect, send and body: the SAS platform drops answers after 7 s.
        tokio::time::timeout(timeout, work)
            .await
            .map_err(|_| OcspFailure::Timeout {
                url: url.to_owned(),
                millis: timeout.as_millis(),
            })?
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The HTTP client of OCSP exchanges.
///
/// # Errors
/// [`super::RevocationError::HttpClient`].
pub(crate) fn ocsp_client(timeout: Duration) -> Result<reqwest::Client, super::RevocationError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .build()
        .map_err(|e| super::RevocationError::HttpClient(error_chain(&e)))
}
