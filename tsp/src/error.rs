//! Errors: one variant per class of failure the gateway logs and maps.
//!
//! The classes separate who is at fault: the TSA said no ([`TspError::Rejected`]),
//! the answer is garbage ([`TspError::Malformed`]), the answer is authentic but
//! not for this request ([`TspError::ImprintMismatch`], [`TspError::NonceMismatch`],
//! [`TspError::PolicyMismatch`]), or it cannot be shown to come from a trusted TSA
//! ([`TspError::BadSigner`], [`TspError::NoTimeStampingEku`],
//! [`TspError::UntrustedChain`], [`TspError::BadSignature`]). None of the values
//! involved is secret, so the messages show them.

use std::fmt;

use jiff::Timestamp;

use crate::{HashAlg, PolicyId};

/// Why a time-stamp response was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TspError {
    /// Not a DER `TimeStampResp` of the shape RFC 3161 and RFC 5652 require:
    /// undecodable, no token despite a granted status, not `SignedData`, not
    /// exactly one signer, missing signed attributes, …
    #[error("malformed time-stamp response: {what}: {reason}")]
    Malformed {
        /// The structure that is wrong (`TimeStampResp`, `TSTInfo`, …).
        what: &'static str,
        /// What is wrong with it, or the decoder's message.
        reason: String,
    },
    /// The TSA answered with a status other than granted / grantedWithMods.
    #[error("the TSA rejected the request: status {status}{}{}", fail_info.map(|f| format!(", failInfo {f}")).unwrap_or_default(), text.as_deref().map(|t| format!(", text {t:?}")).unwrap_or_default())]
    Rejected {
        /// The `PKIStatus`.
        status: Status,
        /// The `PKIFailureInfo` bits, if the TSA sent any.
        fail_info: Option<FailInfo>,
        /// The `PKIFreeText` lines, joined with `"; "`.
        text: Option<String>,
    },
    /// A hash or signature algorithm this crate does not verify.
    #[error("unsupported {what} algorithm {oid}")]
    UnsupportedAlgorithm {
        /// Which algorithm field (`digest`, `signature`, `ESSCertIDv2 hash`).
        what: &'static str,
        /// Its object identifier, dotted.
        oid: String,
    },
    /// The token time-stamps something else than the expected digest.
    #[error("messageImprint mismatch: expected a {expected} digest, the token has {found}")]
    ImprintMismatch {
        /// The algorithm of the expected digest.
        expected: HashAlg,
        /// The token's hash algorithm (name or OID) and whether only the value differs.
        found: String,
    },
    /// The token's nonce is absent or not the one of the request: a replayed or
    /// misrouted answer.
    #[error("nonce mismatch: expected {expected:#x}, the token has {}", found.as_deref().map(hex).unwrap_or_else(|| "none".to_owned()))]
    NonceMismatch {
        /// The nonce sent in the request.
        expected: u64,
        /// The token's nonce INTEGER content octets, if any.
        found: Option<Vec<u8>>,
    },
    /// The token was issued under another policy than the one required.
    #[error("policy mismatch: expected {expected}, the token has {found}")]
    PolicyMismatch {
        /// The required policy.
        expected: PolicyId,
        /// The token's policy.
        found: PolicyId,
    },
    /// The signer certificate is missing from the token, does not match the
    /// `SignerInfo` or the ESS signing-certificate attribute, or cannot be parsed.
    #[error("bad signer: {reason}")]
    BadSigner {
        /// What is wrong.
        reason: String,
    },
    /// The signer certificate lacks the critical extended key usage
    /// id-kp-timeStamping, as the only purpose, that RFC 3161 §2.3 requires.
    #[error("the signer certificate is not a TSA certificate: {reason}")]
    NoTimeStampingEku {
        /// What is wrong with its extendedKeyUsage extension.
        reason: &'static str,
    },
    /// The signer certificate does not chain to a trust anchor at the token's
    /// genTime (unknown issuer, expired, bad CA signature, …).
    #[error("untrusted TSA certificate chain: {reason}")]
    UntrustedChain {
        /// The path builder's error.
        reason: String,
    },
    /// The signature does not cover this content: the signature value is wrong,
    /// or the signed message-digest / content-type attribute does not match the
    /// encapsulated `TSTInfo`. An altered token ends here.
    #[error("bad signature: {reason}")]
    BadSignature {
        /// Which check failed.
        reason: &'static str,
    },
    /// genTime is later than the caller's `now` plus [`MAX_CLOCK_SKEW`]: a
    /// TSA (or local) clock that is off.
    ///
    /// [`MAX_CLOCK_SKEW`]: crate::MAX_CLOCK_SKEW
    #[error("genTime {gen_time} is in the future (now {now})")]
    GenTimeInFuture {
        /// The token's genTime.
        gen_time: Timestamp,
        /// The caller's `now`.
        now: Timestamp,
    },
}

impl TspError {
    pub(crate) fn malformed(what: &'static str) -> impl FnOnce(der::Error) -> TspError {
        move |error| TspError::Malformed {
            what,
            reason: error.to_string(),
        }
    }

    pub(crate) fn structure(what: &'static str, reason: impl Into<String>) -> TspError {
        TspError::Malformed {
            what,
            reason: reason.into(),
        }
    }

    pub(crate) fn bad_signer(reason: impl Into<String>) -> TspError {
        TspError::BadSigner {
            reason: reason.into(),
        }
    }
}

/// Why a request could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The digest is not as long as the algorithm's output.
    #[error("a {alg} digest is {expected} bytes, got {len}")]
    WrongDigestLength {
        /// The algorithm named.
        alg: HashAlg,
        /// The length given.
        len: usize,
        /// The algorithm's output length.
        expected: usize,
    },
    /// The DER encoder failed (cannot happen for valid digests; kept typed so
    /// that the library never panics).
    #[error("cannot encode the TimeStampReq: {reason}")]
    Encode {
        /// The encoder's message.
        reason: String,
    },
}

/// A string that is not a dotted object identifier, given as a policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an object identifier: {value:?}")]
pub struct InvalidPolicyId {
    /// The string given.
    pub value: String,
}

/// `PKIStatus` (RFC 3161 §2.4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Status {
    /// `granted` (0): a token follows.
    Granted,
    /// `grantedWithMods` (1): a token follows, with modifications the TSA chose.
    GrantedWithMods,
    /// `rejection` (2).
    Rejection,
    /// `waiting` (3): the request is queued; this client does not poll.
    Waiting,
    /// `revocationWarning` (4): a revocation of the TSA certificate is imminent.
    RevocationWarning,
    /// `revocationNotification` (5): the TSA certificate was revoked.
    RevocationNotification,
    /// Any other value.
    Unknown(u8),
}

impl Status {
    pub(crate) fn from_code(code: u8) -> Self {
        match code {
            0 => Status::Granted,
            1 => Status::GrantedWithMods,
            2 => Status::Rejection,
            3 => Status::Waiting,
            4 => Status::RevocationWarning,
            5 => Status::RevocationNotification,
            other => Status::Unknown(other),
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Status::Granted => f.write_str("granted"),
            Status::GrantedWithMods => f.write_str("grantedWithMods"),
            Status::Rejection => f.write_str("rejection"),
            Status::Waiting => f.write_str("waiting"),
            Status::RevocationWarning => f.write_str("revocationWarning"),
            Status::RevocationNotification => f.write_str("revocationNotification"),
            Status::Unknown(code) => write!(f, "unknown({code})"),
        }
    }
}

/// `PKIFailureInfo` (RFC 3161 §2.4.2): bit `n` of the BIT STRING is bit `n` here.
///
/// Decoded by this crate rather than through `cmpv2` because cmpv2 0.2 stores it
/// in a `u16` flag set whose values are bit numbers, not masks: `systemFailure`
/// (bit 25) fails to decode and `unacceptedPolicy` (bit 15) is truncated away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FailInfo(u32);

impl FailInfo {
    /// `badAlg`: unrecognized or unsupported algorithm identifier.
    pub const BAD_ALG: u32 = 1 << 0;
    /// `badRequest`: transaction not permitted or supported.
    pub const BAD_REQUEST: u32 = 1 << 2;
    /// `badDataFormat`: the data submitted has the wrong format.
    pub const BAD_DATA_FORMAT: u32 = 1 << 5;
    /// `timeNotAvailable`: the TSA's time source is not available.
    pub const TIME_NOT_AVAILABLE: u32 = 1 << 14;
    /// `unacceptedPolicy`: the requested policy is not supported by the TSA.
    pub const UNACCEPTED_POLICY: u32 = 1 << 15;
    /// `unacceptedExtension`: the requested extension is not supported.
    pub const UNACCEPTED_EXTENSION: u32 = 1 << 16;
    /// `addInfoNotAvailable`: the additional information requested is not available.
    pub const ADD_INFO_NOT_AVAILABLE: u32 = 1 << 17;
    /// `systemFailure`: the request cannot be handled due to system failure.
    pub const SYSTEM_FAILURE: u32 = 1 << 25;

    const NAMES: [(u32, &'static str); 8] = [
        (Self::BAD_ALG, "badAlg"),
        (Self::BAD_REQUEST, "badRequest"),
        (Self::BAD_DATA_FORMAT, "badDataFormat"),
        (Self::TIME_NOT_AVAILABLE, "timeNotAvailable"),
        (Self::UNACCEPTED_POLICY, "unacceptedPolicy"),
        (Self::UNACCEPTED_EXTENSION, "unacceptedExtension"),
        (Self::ADD_INFO_NOT_AVAILABLE, "addInfoNotAvailable"),
        (Self::SYSTEM_FAILURE, "systemFailure"),
    ];

    /// From the bits of a BIT STRING, first bit first; bits past 31 are dropped
    /// (RFC 3161 and RFC 4210 define none).
    pub(crate) fn from_bits(bits: impl Iterator<Item = bool>) -> Self {
        Self(
            bits.take(32)
                .enumerate()
                .filter(|&(_, set)| set)
                .fold(0, |mask, (bit, _)| mask | 1 << bit),
        )
    }

    /// The raw mask: bit `n` set if BIT STRING bit `n` is.
    #[must_use]
    pub fn bits(self) -> u32 {
        self.0
    }

    /// Whether every bit of `mask` (one of the constants) is set.
    #[must_use]
    pub fn contains(self, mask: u32) -> bool {
        self.0 & mask == mask
    }
}

impl fmt::Display for FailInfo {
    /// The RFC 3161 names of the set bits, comma separated; other bits as `bitN`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for bit in 0..32 {
            let mask = 1u32 << bit;
            if self.0 & mask == 0 {
                continue;
            }
            if !first {
                f.write_str(",")?;
            }
            first = false;
            match Self::NAMES.iter().find(|(known, _)| *known == mask) {
                Some((_, name)) => f.write_str(name)?,
                None => write!(f, "bit{bit}")?,
            }
        }
        if first {
            f.write_str("none")?;
        }
        Ok(())
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::from("0x");
    for byte in bytes {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_info_names_known_and_unknown_bits() {
        let info = FailInfo::from_bits([true, false, false, true].into_iter());
        assert_eq!(info.bits(), 0b1001);
        assert!(info.contains(FailInfo::BAD_ALG));
        assert_eq!(info.to_string(), "badAlg,bit3");
        let mut bits = [false; 26];
        bits[15] = true;
        bits[25] = true;
        let info = FailInfo::from_bits(bits.into_iter());
        assert!(info.contains(FailInfo::UNACCEPTED_POLICY | FailInfo::SYSTEM_FAILURE));
        assert_eq!(info.to_string(), "unacceptedPolicy,systemFailure");
        assert_eq!(FailInfo::from_bits(std::iter::empty()).to_string(), "none");
    }

    #[test]
    fn rejected_renders_all_parts() {
        let error = TspError::Rejected {
            status: Status::Rejection,
            fail_info: Some(FailInfo(FailInfo::UNACCEPTED_POLICY)),
            text: Some("no".to_owned()),
        };
        assert_eq!(
            error.to_string(),
            "the TSA rejected the request: status rejection, failInfo unacceptedPolicy, text \"no\""
        );
        let error = TspError::NonceMismatch {
            expected: 0xab,
            found: Some(vec![0, 0xcd]),
        };
        assert_eq!(
            error.to_string(),
            "nonce mismatch: expected 0xab, the token has 0x00cd"
        );
    }
}
