//! The audit record: what the caller supplies ([`Entry`]) and what a line holds
//! ([`Record`]).

use serde::{Deserialize, Serialize};

use super::hash::LineHash;

/// Version of the line format written in `v`; a verifier refuses any other.
pub const FORMAT_VERSION: u32 = 1;

/// What the request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// A document was sent to the core.
    Upload,
    /// A document was fetched from the core.
    Download,
    /// Documents were listed.
    List,
    /// A document was deleted.
    Delete,
    /// Anything else; `route` says what.
    Other,
}

/// How the request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// An upload was accepted and stored by the core.
    Stored,
    /// A download was delivered to the client in full.
    Served,
    /// Any other operation succeeded (list, delete, …).
    Ok,
    /// The gateway refused the request before or instead of completing it
    /// (authorisation, digest mismatch, size limit, scan verdict…); `reason` says why.
    Refused,
    /// The transfer was cut short (client or core connection dropped, timeout).
    Aborted,
    /// The core answered with an error; `core_status` holds its HTTP status.
    CoreError,
}

/// Who called: the mTLS client certificate, or the key id of a signed request.
/// Every field is optional and omitted from the line when absent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Client {
    /// Subject common name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cn: Option<String>,
    /// Subject organisational unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ou: Option<String>,
    /// Issuer distinguished name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Certificate serial number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    /// Hex SHA-256 of the DER certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_sha256: Option<String>,
    /// Key id of a signed-request caller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyid: Option<String>,
}

/// The fields the caller supplies for one record; [`Chain::seal`] adds the
/// version, sequence number, instance, `prev` and `mac`.
///
/// [`Chain::seal`]: crate::Chain::seal
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// RFC 3339 UTC timestamp, e.g. `2025-01-31T12:00:00.123Z` (the crate reads no
    /// clock).
    pub time: String,
    /// The request id also found in the access log.
    pub request_id: String,
    /// The route that handled the request.
    pub route: String,
    /// What the request did.
    pub action: Action,
    /// Who called.
    pub client: Client,
    /// The document concerned, if any.
    pub document_id: Option<String>,
    /// Body size in bytes, if known.
    pub size: Option<u64>,
    /// Digest of the body, as a Digest Field member (`sha-256=:…:`).
    pub digest: Option<String>,
    /// How it ended.
    pub outcome: Outcome,
    /// Why it was refused or aborted.
    pub reason: Option<String>,
    /// HTTP status returned by the core, if it answered.
    pub core_status: Option<u16>,
    /// Markers such as `scan_skipped`.
    pub flags: Vec<String>,
}

impl Entry {
    /// An entry with the mandatory fields and every optional one empty.
    #[must_use]
    pub fn new(
        time: impl Into<String>,
        request_id: impl Into<String>,
        route: impl Into<String>,
        action: Action,
        outcome: Outcome,
    ) -> Self {
        Self {
            time: time.into(),
            request_id: request_id.into(),
            route: route.into(),
            action,
            client: Client::default(),
            document_id: None,
            size: None,
            digest: None,
            outcome,
            reason: None,
            core_status: None,
            flags: Vec::new(),
        }
    }
}

/// One line of the trail, field for field in the order they are written.
///
/// Serialising this struct with `serde_json` (compact) and `mac: None` gives the
/// bytes the MAC covers. The exact line format, and how to verify it without this
/// crate, is the `trail` module's documentation (`integrity/src/trail/mod.rs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// Format version, [`FORMAT_VERSION`].
    pub v: u32,
    /// Position in the chain: 1 for the first record ever, +1 per record, carried
    /// across rotated files.
    pub seq: u64,
    /// See [`Entry::time`].
    pub time: String,
    /// Id of the gateway instance writing this chain.
    pub instance: String,
    /// See [`Entry::request_id`].
    pub request_id: String,
    /// See [`Entry::route`].
    pub route: String,
    /// See [`Entry::action`].
    pub action: Action,
    /// See [`Entry::client`]; always present, possibly `{}`.
    pub client: Client,
    /// See [`Entry::document_id`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_id: Option<String>,
    /// See [`Entry::size`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// See [`Entry::digest`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// See [`Entry::outcome`].
    pub outcome: Outcome,
    /// See [`Entry::reason`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// See [`Entry::core_status`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub core_status: Option<u16>,
    /// See [`Entry::flags`]; omitted when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
    /// SHA-256 of the previous line, or [`LineHash::GENESIS`] for the first record
    /// of a new chain.
    pub prev: LineHash,
    /// Hex HMAC-SHA256 of the line without this field; `None` only while sealing.
    /// Always written last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
}

impl Record {
    /// The record for `entry` at position `seq`, not yet MACed.
    pub(crate) fn unsigned(entry: Entry, seq: u64, instance: &str, prev: LineHash) -> Self {
        let Entry {
            time,
            request_id,
            route,
            action,
            client,
            document_id,
            size,
            digest,
            outcome,
            reason,
            core_status,
            flags,
        } = entry;
        Self {
            v: FORMAT_VERSION,
            seq,
            time,
            instance: instance.to_owned(),
            request_id,
            route,
            action,
            client,
            document_id,
            size,
            digest,
            outcome,
            reason,
            core_status,
            flags,
            prev,
            mac: None,
        }
    }
}
