//! The typed error of revocation material: CRL fetching and parsing, OCSP exchanges.

use std::path::PathBuf;

/// Why a CRL or an OCSP response could not be used. Every variant names what failed, so the
/// operator can tell a forged CRL from an unreachable publisher in the logs.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RevocationError {
    /// The time zone of the refresh schedule is unknown.
    #[error("unknown time zone {zone:?} for the CRL refresh schedule: {reason}")]
    BadTimeZone {
        /// The configured zone.
        zone: String,
        /// What the time zone database said.
        reason: String,
    },
    /// The refresh time is not a valid hour and minute.
    #[error("invalid CRL refresh time {hour:02}:{minute:02}")]
    BadRefreshTime {
        /// Configured hour.
        hour: u8,
        /// Configured minute.
        minute: u8,
    },
    /// An HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    HttpClient(String),
    /// A CRL file could not be read.
    #[error("CRL {path}: cannot read: {reason}")]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        reason: String,
    },
    /// A CRL download failed (connection, timeout or HTTP status).
    #[error("CRL {source_name}: download failed: {reason}")]
    Download {
        /// The URL.
        source_name: String,
        /// What went wrong.
        reason: String,
    },
    /// The bytes are not a CRL.
    #[error("CRL {source_name}: not a valid CRL (DER or PEM): {reason}")]
    BadCrl {
        /// Where it came from.
        source_name: String,
        /// What the parser said.
        reason: String,
    },
    /// No trust anchor has the CRL's issuer name.
    #[error("CRL {source_name}: issuer {issuer} is not one of the trust anchors")]
    UnknownCrlIssuer {
        /// Where it came from.
        source_name: String,
        /// The CRL's issuer name.
        issuer: String,
    },
    /// The CRL's signature does not verify with its issuer's key (forged or corrupted).
    #[error("CRL {source_name}: signature does not verify with the key of {issuer}: {reason}")]
    BadCrlSignature {
        /// Where it came from.
        source_name: String,
        /// The CRL's issuer name.
        issuer: String,
        /// What the verifier said.
        reason: String,
    },
    /// The new CRL is older than the one in use (a replayed CRL); the current one is kept.
    #[error(
        "CRL {source_name}: thisUpdate {new} is older than the CRL in use ({current}); kept the current one"
    )]
    OlderCrl {
        /// Where it came from.
        source_name: String,
        /// thisUpdate of the refused CRL.
        new: String,
        /// thisUpdate of the CRL in use.
        current: String,
    },
    /// A CRL could not be had at start and the settings say to refuse.
    #[error("CRL {source_name} unavailable at start (on_missing_at_start = refuse): {reason}")]
    MissingAtStart {
        /// Where it should have come from.
        source_name: String,
        /// Why it failed.
        reason: String,
    },
}
