//! One line on its own: writing it with its MAC, and checking MAC and shape.

use serde::Deserialize;

use super::hash::{Key, LineHash, is_lower_hex};
use super::record::{FORMAT_VERSION, Record};

/// What every line ends with before the 64 hex digits of its MAC.
const MAC_OPEN: &[u8] = br#","mac":""#;
/// What every line ends with after them.
const MAC_CLOSE: &[u8] = br#""}"#;
/// `,"mac":"` + 64 hex digits + `"}`.
const MAC_SUFFIX_LEN: usize = MAC_OPEN.len() + 64 + MAC_CLOSE.len();

/// Why a line, or a line in its place in the chain, is not trustworthy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LineFault {
    /// There is no line at all: an empty trail, or a blank line inside it.
    #[error("no record (empty line or empty trail)")]
    Empty,
    /// The line does not end with `,"mac":"<64 lowercase hex>"}`: cut short
    /// (e.g. by a crash while writing) or not a trail record.
    #[error("no MAC at the end of the line (truncated, or not a trail record)")]
    MissingMac,
    /// The MAC does not match the line: it was altered, or written with another key.
    #[error("MAC does not match (line altered, or written with another key)")]
    BadMac,
    /// The MAC matches but the JSON is not a record of this format: a writer bug,
    /// since nobody without the key can produce such a line.
    #[error("not a valid record: {reason}")]
    BadRecord {
        /// The JSON parser's message.
        reason: String,
    },
    /// The record has a format version this verifier does not know.
    #[error("record format version {version} is not supported (expected {FORMAT_VERSION})")]
    UnsupportedVersion {
        /// The version found.
        version: u64,
    },
    /// The record belongs to another instance's chain.
    #[error("record of instance {found:?} in the chain of instance {expected:?}")]
    InstanceChanged {
        /// The chain's instance.
        expected: String,
        /// The record's instance.
        found: String,
    },
    /// The sequence number is not the expected one: records were removed
    /// (found > expected), or reordered or duplicated (found < expected, or the
    /// first of a swapped pair).
    #[error("expected seq {expected}, found {found} (records removed, reordered or duplicated)")]
    UnexpectedSeq {
        /// The sequence number this line should have.
        expected: u64,
        /// The one it has.
        found: u64,
    },
    /// `prev` is not the hash of the previous line: a line was replaced by one
    /// from elsewhere, or the previous line was altered.
    #[error("prev is not the hash of the previous line (chain broken)")]
    ChainBroken,
    /// `prev` of the first line is not the anchor the verifier was given: the file
    /// does not continue the one it was rotated from, or its head was cut off.
    #[error("prev of the first line is {found}, not the anchor {expected}")]
    AnchorMismatch {
        /// The anchor given.
        expected: LineHash,
        /// `prev` found.
        found: LineHash,
    },
}

/// Why a record could not be sealed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// The sequence number space is used up (`u64::MAX`); start a new chain.
    #[error("sequence numbers exhausted; start a new chain")]
    SeqExhausted,
    /// `serde_json` refused the record. Not expected with these plain fields, but
    /// its API is fallible and a lost audit line must be visible.
    #[error("record could not be encoded: {reason}")]
    Encode {
        /// The encoder's message.
        reason: String,
    },
}

/// Serialises `record` (whose `mac` is `None`), MACs those bytes and returns the
/// line with the MAC spliced in as the last member.
pub(crate) fn seal(key: &Key, record: &Record) -> Result<String, SealError> {
    let body = serde_json::to_string(record).map_err(|error| SealError::Encode {
        reason: error.to_string(),
    })?;
    // A struct always serialises as an object, so `body` ends with `}`; without
    // it the line is what a verifier sees before `,"mac":…`.
    let open = body.strip_suffix('}').ok_or_else(|| SealError::Encode {
        reason: "record did not serialise as a JSON object".to_owned(),
    })?;
    let tag = key.tag(&[open.as_bytes(), b"}"]);
    let mut line = String::with_capacity(open.len() + MAC_SUFFIX_LEN);
    line.push_str(open);
    line.push_str(r#","mac":""#);
    line.push_str(&hex::encode(tag));
    line.push_str(r#""}"#);
    Ok(line)
}

/// Checks one line on its own (MAC, JSON shape, version) and returns its record.
///
/// The MAC is checked on the raw bytes before anything is parsed, so tampering
/// is reported as such rather than as whatever parse error it happens to cause.
pub(crate) fn open(key: &Key, line: &str) -> Result<Record, LineFault> {
    if line.is_empty() {
        return Err(LineFault::Empty);
    }
    let bytes = line.as_bytes();
    let split = bytes
        .len()
        .checked_sub(MAC_SUFFIX_LEN)
        .ok_or(LineFault::MissingMac)?;
    let (signed, suffix) = bytes.split_at(split);
    let (open, rest) = suffix.split_at(MAC_OPEN.len());
    let (mac_hex, close) = rest.split_at(64);
    if open != MAC_OPEN || close != MAC_CLOSE || !is_lower_hex(mac_hex) {
        return Err(LineFault::MissingMac);
    }
    let mut tag = [0; 32];
    hex::decode_to_slice(mac_hex, &mut tag).map_err(|_| LineFault::MissingMac)?;
    if !key.verify(&[signed, b"}"], &tag) {
        return Err(LineFault::BadMac);
    }

    // The version is read on its own first so that a future format, whose other
    // fields this struct may not describe, is reported as such.
    #[derive(Deserialize)]
    struct Version {
        v: u64,
    }
    let bad_record = |error: serde_json::Error| LineFault::BadRecord {
        reason: error.to_string(),
    };
    let Version { v } = serde_json::from_str(line).map_err(bad_record)?;
    if v != u64::from(FORMAT_VERSION) {
        return Err(LineFault::UnsupportedVersion { version: v });
    }
    serde_json::from_str(line).map_err(bad_record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trail::record::{Action, Entry, Outcome};

    fn key() -> Key {
        Key::new(&[0x42; 32]).expect("key")
    }

    fn record() -> Record {
        let entry = Entry::new(
            "2025-01-31T12:00:00Z",
            "req-1",
            "/documents",
            Action::Upload,
            Outcome::Stored,
        );
        Record::unsigned(entry, 1, "gw-a", LineHash::GENESIS)
    }

    #[test]
    fn a_sealed_line_opens_to_its_record_with_the_mac() {
        let line = seal(&key(), &record()).expect("seals");
        assert!(line.ends_with(r#""}"#) && !line.contains('\n'));
        let opened = open(&key(), &line).expect("opens");
        let mac = opened.mac.clone().expect("mac read back");
        assert_eq!(mac.len(), 64);
        assert_eq!(
            Record {
                mac: None,
                ..opened
            },
            record()
        );
        // The MAC covers the line minus its mac member, as documented.
        let unsigned = serde_json::to_string(&record()).expect("json");
        assert_eq!(
            line,
            format!("{},\"mac\":\"{mac}\"}}", &unsigned[..unsigned.len() - 1])
        );
        assert_eq!(hex::encode(key().tag(&[unsigned.as_bytes()])), mac);
    }

    #[test]
    fn shape_and_mac_faults() {
        let line = seal(&key(), &record()).expect("seals");
        assert_eq!(open(&key(), ""), Err(LineFault::Empty));
        assert_eq!(open(&key(), "{}"), Err(LineFault::MissingMac));
        assert_eq!(
            open(&key(), &line[..line.len() - 1]),
            Err(LineFault::MissingMac)
        );
        let upper = format!(
            "{}{}",
            &line[..line.len() - 66],
            line[line.len() - 66..].to_uppercase()
        );
        assert_eq!(open(&key(), &upper), Err(LineFault::MissingMac));
        let other = Key::new(&[0x43; 32]).expect("key");
        assert_eq!(open(&other, &line), Err(LineFault::BadMac));
        let altered = line.replace("req-1", "req-2");
        assert_eq!(open(&key(), &altered), Err(LineFault::BadMac));
    }

    #[test]
    fn a_well_maced_line_must_still_be_a_current_record() {
        let forge = |json: &str| {
            let open = json.strip_suffix('}').expect("object");
            let tag = hex::encode(key().tag(&[json.as_bytes()]));
            format!("{open},\"mac\":\"{tag}\"}}")
        };
        let future = forge(r#"{"v":2,"whatever":true}"#);
        assert_eq!(
            open(&key(), &future),
            Err(LineFault::UnsupportedVersion { version: 2 })
        );
        let fault = open(&key(), &forge(r#"{"v":1,"seq":1}"#)).expect_err("incomplete");
        assert!(
            matches!(&fault, LineFault::BadRecord { reason } if reason.contains("missing field")),
            "{fault:?}"
        );
        assert!(
            fault
                .to_string()
                .starts_with("not a valid record: missing field")
        );
    }
}
