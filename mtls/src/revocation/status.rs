//! What the admin endpoint shows about revocation.

use jiff::Timestamp;

use super::source::SourceState;
use super::{Combine, OcspMode, RevocationScope, RevocationSettings, StalePolicy};

/// The state of one trust store's revocation checking.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RevocationStatus {
    /// Leaf only or whole chain.
    pub scope: RevocationScope,
    /// How CRL and OCSP combine.
    pub combine: Combine,
    /// Hard or soft, when CRLs are on.
    pub crl_on_stale: Option<StalePolicy>,
    /// Off, soft or hard.
    pub ocsp_mode: OcspMode,
    /// Number of cached OCSP answers.
    pub ocsp_cache_size: usize,
    /// One entry per CRL source.
    pub crls: Vec<CrlStatus>,
}

/// The state of one CRL source.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CrlStatus {
    /// URL or file.
    pub source: String,
    /// Issuer of the CRL in use (none before the first successful fetch).
    pub issuer: Option<String>,
    /// thisUpdate of the CRL in use, RFC 3339.
    pub this_update: Option<String>,
    /// nextUpdate of the CRL in use, RFC 3339.
    pub next_update: Option<String>,
    /// CRL number, decimal.
    pub crl_number: Option<String>,
    /// Number of revoked serials.
    pub entries: Option<usize>,
    /// Last successful fetch (a 304 counts), RFC 3339.
    pub last_fetch: Option<String>,
    /// Error of the last fetch, if it failed.
    pub last_error: Option<String>,
    /// When the next fetch is scheduled, RFC 3339.
    pub next_fetch: Option<String>,
    /// Seconds since thisUpdate.
    pub age_seconds: Option<i64>,
    /// Whether nextUpdate is past.
    pub expired: bool,
    /// SHA-256 of the CRL's DER, lowercase hex.
    pub sha256: Option<String>,
    /// Memory of the serial index, bytes (estimated from its capacity).
    pub index_bytes: Option<usize>,
}

pub(crate) fn build(
    settings: &RevocationSettings,
    sources: &[SourceState],
    ocsp_cache_size: usize,
) -> RevocationStatus {
    let now = Timestamp::now();
    let crls = sources
        .iter()
        .map(|s| {
            s.update_gauges(now);
            let crl = s.current.load_full();
            let (last_fetch, last_error, next_fetch) = s.snapshot();
            let crl = crl.as_deref();
            CrlStatus {
                source: s.name.clone(),
                issuer: crl.map(|c| c.issuer.clone()),
                this_update: crl.map(|c| c.this_update.to_string()),
                next_update: crl.and_then(|c| c.next_update).map(|t| t.to_string()),
                crl_number: crl.and_then(|c| c.crl_number.clone()),
                entries: crl.map(super::crl::LoadedCrl::entries),
                last_fetch: last_fetch.map(|t| t.to_string()),
                last_error,
                next_fetch: next_fetch.map(|t| t.to_string()),
                age_seconds: crl.map(|c| now.duration_since(c.this_update).as_secs()),
                expired: crl.is_some_and(|c| c.expired(now)),
                sha256: crl.map(|c| c.sha256.clone()),
                index_bytes: crl.map(super::crl::LoadedCrl::index_bytes),
            }
        })
        .collect();
    RevocationStatus {
        scope: settings.scope,
        combine: settings.combine,
        crl_on_stale: settings.crl.as_ref().map(|c| c.on_stale),
        ocsp_mode: settings.ocsp.mode,
        ocsp_cache_size,
        crls,
    }
}
