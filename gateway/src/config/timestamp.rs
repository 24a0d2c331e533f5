//! `routes[].timestamp`: RFC 3161 timestamps of the upstream's answers.

use std::path::Path;
use std::time::Duration;

use rustls_pki_types::CertificateDer;
use serde::Deserialize;

use super::error::Collector;
use super::units::parse_size;

/// The block as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTimestamp {
    /// The TSA's URL (`http://…`: RFC 3161 over HTTP, RFC 3161 §3.4).
    pub(crate) tsa: String,
    /// `sha-256` (default) or `sha-512`.
    pub(crate) hash: Option<String>,
    /// The TSA policy the token must be issued under (an OID).
    pub(crate) policy: Option<String>,
    /// CA certificates the TSA's certificate must chain to.
    pub(crate) trust_anchors: Vec<String>,
    pub(crate) timeout: Option<String>,
    /// `required` (no token, no document: 502/504) or `best_effort`.
    pub(crate) mode: Option<TimestampMode>,
    /// Largest answer held while its token is obtained.
    pub(crate) max_response_size: Option<String>,
}

/// What happens when no token can be had.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum TimestampMode {
    /// The caller gets 502 (TSA failed or its token did not verify) or 504 (too slow), and no
    /// document.
    #[default]
    Required,
    /// The caller gets the document, with `Timestamp-Status` saying why there is no token.
    BestEffort,
}

/// A route's timestamp policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampSettings {
    /// The TSA.
    pub tsa: http::Uri,
    /// The digest algorithm.
    pub hash: tsp::HashAlg,
    /// The required policy.
    pub policy: Option<tsp::PolicyId>,
    /// The TSA's anchors.
    pub anchors: Vec<CertificateDer<'static>>,
    /// Longest exchange with the TSA.
    pub timeout: Duration,
    /// Required or best effort.
    pub mode: TimestampMode,
    /// Largest answer held.
    pub max_response_size: u64,
}

pub(super) fn timestamp(
    c: &mut Collector,
    key: &str,
    raw: Option<&RawTimestamp>,
    base: &Path,
) -> Option<Option<TimestampSettings>> {
    let Some(r) = raw else {
        return Some(None);
    };
    let key = format!("{key}.timestamp");
    let tsa = match r.tsa.parse::<http::Uri>() {
        Ok(u) if u.scheme_str() == Some("http") && u.host().is_some() => Some(u),
        _ => {
            c.push(
                format!("{key}.tsa"),
                format!("`{}` is not an http:// URL", r.tsa),
            );
            None
        }
    };
    let hash = match r.hash.as_deref().unwrap_or("sha-256") {
        "sha-256" => Some(tsp::HashAlg::Sha256),
        "sha-512" => Some(tsp::HashAlg::Sha512),
        other => {
            c.push(
                format!("{key}.hash"),
                format!("`{other}` is not `sha-256` or `sha-512`"),
            );
            None
        }
    };
    let policy = match &r.policy {
        None => Some(None),
        Some(p) => c
            .check(
                format!("{key}.policy"),
                p.parse::<tsp::PolicyId>().map_err(|e| e.to_string()),
            )
            .map(Some),
    };
    let anchors = if r.trust_anchors.is_empty() {
        c.push(
            format!("{key}.trust_anchors"),
            "the TSA's CA certificates are required",
        );
        None
    } else {
        let paths: Vec<_> = r.trust_anchors.iter().map(|p| base.join(p)).collect();
        c.check(
            format!("{key}.trust_anchors"),
            mtls::TrustAnchors::from_files(&paths)
                .map(|a| a.certificates().to_vec())
                .map_err(|e| e.to_string()),
        )
    };
    let timeout = c.timeout(
        format!("{key}.timeout"),
        r.timeout.as_deref(),
        Duration::from_secs(5),
    );
    let max = c.check(
        format!("{key}.max_response_size"),
        r.max_response_size
            .as_deref()
            .map_or(Ok(64 << 20), parse_size),
    );
    Some(Some(TimestampSettings {
        tsa: tsa?,
        hash: hash?,
        policy: policy?,
        anchors: anchors?,
        timeout: timeout?,
        mode: r.mode.unwrap_or_default(),
        max_response_size: max?,
    }))
}
