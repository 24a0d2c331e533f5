//! Revocation settings of one trust store, as plain structs (the gateway maps its YAML onto them).

use std::path::PathBuf;
use std::time::Duration;

/// Everything a [`Revocation`](super::Revocation) handle is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationSettings {
    /// CRL checking; `None` turns CRLs off.
    pub crl: Option<CrlSettings>,
    /// OCSP checking.
    pub ocsp: OcspSettings,
    /// Which certificates of the chain are checked.
    pub scope: RevocationScope,
    /// How CRL and OCSP verdicts combine.
    pub combine: Combine,
}

/// Which certificates of a client chain are checked for revocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RevocationScope {
    /// Only the client certificate, against its issuer's CRL. The root's CRL is never required
    /// (the trap nginx and Envoy fall into when they demand a CRL for every CA).
    LeafOnly,
    /// The client certificate and every intermediate, each against its issuer's CRL.
    WholeChain,
}

/// How the CRL and OCSP verdicts combine in [`Revocation::check_connection`](super::Revocation::check_connection).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Combine {
    /// Ask OCSP only when no loaded CRL covers the certificate's issuer.
    OcspWhenNoCrl,
    /// Both must accept: the CRL first (no I/O), then OCSP.
    Both,
    /// CRLs only; OCSP is never asked, whatever its mode.
    CrlOnly,
}

/// Where one CRL comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrlSource {
    /// An `http://` or `https://` URL (IGC Santé publishes at `http://igc-sante.esante.gouv.fr/CRL/<CA>.crl`).
    Url(String),
    /// A local file, DER or PEM (refreshed by re-reading it).
    File(PathBuf),
}

/// What to do when a CRL cannot be had at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissingAtStart {
    /// [`Revocation::start`](super::Revocation::start) fails: the listener does not start.
    Refuse,
    /// Start anyway; the stale policy then applies until a fetch succeeds.
    StartDegraded,
}

/// What to do with a certificate when the CRL that covers it is expired or missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StalePolicy {
    /// Refuse the certificate, and report not ready. The default.
    Hard,
    /// Accept, log a warning and count it: the "débrayage" ANS tolerates.
    Soft,
}

/// CRL settings of one trust store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlSettings {
    /// Explicit sources.
    pub sources: Vec<CrlSource>,
    /// Also fetch the CRL distribution points found in the trust anchors' certificates (each
    /// names the CRL of that certificate's issuer). Only used with [`RevocationScope::WholeChain`]:
    /// in leaf scope those point at CRLs that are never consulted.
    pub use_distribution_points: bool,
    /// Daily refresh time, local hour and minute in `time_zone`.
    pub refresh_at: (u8, u8),
    /// IANA time zone of `refresh_at`.
    pub time_zone: String,
    /// The daily refresh is delayed by a random time in `[0, jitter)`, so that many instances
    /// do not hit the publisher at once.
    pub jitter: Duration,
    /// First retry delay after a failed fetch; doubled at each failure.
    pub retry_initial: Duration,
    /// Longest retry delay.
    pub retry_max: Duration,
    /// Fetch early when the CRL's nextUpdate is less than this away.
    pub refresh_before_next_update: Duration,
    /// Timeout of one CRL download (a big CA's CRL can weigh megabytes).
    pub fetch_timeout: Duration,
    /// Behaviour when a CRL cannot be had at start.
    pub on_missing_at_start: MissingAtStart,
    /// Behaviour when a CRL is expired or missing.
    pub on_stale: StalePolicy,
}

impl Default for CrlSettings {
    fn default() -> Self {
        Self {
            sources: Vec::new(),
            use_distribution_points: false,
            // ANS publishes from 07:00 Paris time.
            refresh_at: (7, 15),
            time_zone: "Europe/Paris".to_owned(),
            jitter: Duration::from_secs(15 * 60),
            retry_initial: Duration::from_secs(30),
            retry_max: Duration::from_secs(30 * 60),
            refresh_before_next_update: Duration::from_secs(6 * 3600),
            fetch_timeout: Duration::from_secs(30),
            on_missing_at_start: MissingAtStart::Refuse,
            on_stale: StalePolicy::Hard,
        }
    }
}

/// OCSP mode of a trust store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OcspMode {
    /// OCSP is never asked.
    Off,
    /// Responder failures (network, timeout, bad answer other than "revoked") let the client in,
    /// with a warning and a count.
    Soft,
    /// Any answer but a verified "good" refuses.
    Hard,
}

/// OCSP settings of one trust store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcspSettings {
    /// Off, soft or hard.
    pub mode: OcspMode,
    /// Responder URL used instead of the certificate's AIA (`http://ocsp.esante.gouv.fr`).
    pub responder_override: Option<String>,
    /// Send a nonce extension (its absence in the answer is tolerated, a mismatch is not).
    pub send_nonce: bool,
    /// Timeout of one OCSP exchange (the SAS platform gives up after 7 s in all).
    pub timeout: Duration,
    /// Longest time a response stays cached, whatever its nextUpdate.
    pub max_cache_age: Duration,
    /// Tolerated clock difference with the responder for thisUpdate and nextUpdate.
    pub clock_skew: Duration,
    /// Whether a connection waits for the responder on a cache miss.
    pub fetch: OcspFetch,
}

/// When the responder is asked about a certificate the cache does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OcspFetch {
    /// Before the connection's first request: the connection waits (up to the timeout).
    #[default]
    Inline,
    /// In the background: the connection gets the cache's answer at once (on a miss, the
    /// mode's verdict for "not cached": soft accepts, hard refuses) and a fetch fills the cache
    /// for the next connection. For callers with a hard deadline, such as the SAS platform,
    /// which drops answers after 7 s: their requests never wait on the network.
    Background,
}

impl Default for OcspSettings {
    fn default() -> Self {
        Self {
            mode: OcspMode::Off,
            responder_override: None,
            send_nonce: false,
            timeout: Duration::from_secs(2),
            max_cache_age: Duration::from_secs(3600),
            clock_skew: Duration::from_secs(300),
            fetch: OcspFetch::Inline,
        }
    }
}

impl Default for RevocationSettings {
    fn default() -> Self {
        Self {
            crl: Some(CrlSettings::default()),
            ocsp: OcspSettings::default(),
            scope: RevocationScope::LeafOnly,
            combine: Combine::OcspWhenNoCrl,
        }
    }
}
