//! The supported hash algorithms and one digest value.

use std::fmt;

use sha2::Digest as _;

/// A hash algorithm of the IANA "Hash Algorithms for HTTP Digest Fields" registry
/// that this crate computes.
///
/// Only the two algorithms RFC 9530 registers as "Active" are supported: the
/// registry's other entries (`md5`, `sha`, `unixsum`, `crc32c`, …) are either
/// deprecated or not collision resistant, so a digest in them proves nothing and
/// is ignored like any unknown algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    /// SHA-256, dictionary key `sha-256`.
    Sha256,
    /// SHA-512, dictionary key `sha-512`.
    Sha512,
}

impl Algorithm {
    /// Every supported algorithm, `sha-256` first (the order used to break ties,
    /// see [`WantDigest::choose`](crate::WantDigest::choose)).
    pub const ALL: [Algorithm; 2] = [Algorithm::Sha256, Algorithm::Sha512];

    /// The dictionary key naming the algorithm in a Digest Field (`sha-256`, `sha-512`).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha-256",
            Algorithm::Sha512 => "sha-512",
        }
    }

    /// The algorithm a dictionary key names, if it is supported. Keys are
    /// lowercase by Structured Field syntax, so the match is exact.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|algorithm| algorithm.name() == name)
    }

    /// Length of the algorithm's output in bytes (32 or 64).
    #[must_use]
    pub const fn output_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 32,
            Algorithm::Sha512 => 64,
        }
    }

    /// Hashes `data` in one go. For bodies that arrive in pieces use
    /// [`StreamDigest`](crate::StreamDigest).
    #[must_use]
    pub fn digest(self, data: &[u8]) -> Digest {
        let value = match self {
            Algorithm::Sha256 => sha2::Sha256::digest(data).to_vec(),
            Algorithm::Sha512 => sha2::Sha512::digest(data).to_vec(),
        };
        Digest {
            algorithm: self,
            value,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One digest: an algorithm and a value of exactly that algorithm's length.
///
/// `Display` renders it as a single Digest Field member, `sha-256=:…:`, which is
/// also how the audit trail records it. A digest of a body is not a secret, so
/// `Debug` shows the value too; it is only the verification error
/// ([`Mismatch`](crate::Mismatch)) that must not echo values back to a sender.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Digest {
    algorithm: Algorithm,
    value: Vec<u8>,
}

impl Digest {
    /// A digest from its raw bytes; `None` if they are not exactly
    /// [`Algorithm::output_len`] bytes long.
    #[must_use]
    pub fn new(algorithm: Algorithm, value: impl Into<Vec<u8>>) -> Option<Self> {
        let value = value.into();
        (value.len() == algorithm.output_len()).then_some(Self { algorithm, value })
    }

    /// The algorithm.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The raw digest bytes.
    #[must_use]
    pub fn value(&self) -> &[u8] {
        &self.value
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::digest::fields::member(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_none() {
        for algorithm in Algorithm::ALL {
            assert_eq!(Algorithm::from_name(algorithm.name()), Some(algorithm));
            assert_eq!(algorithm.to_string(), algorithm.name());
            assert_eq!(algorithm.digest(b"").value().len(), algorithm.output_len());
        }
        for name in ["md5", "sha", "SHA-256", "sha256", "id-sha-256", ""] {
            assert_eq!(Algorithm::from_name(name), None, "{name}");
        }
    }

    #[test]
    fn new_refuses_a_value_of_the_wrong_length() {
        assert!(Digest::new(Algorithm::Sha256, vec![0; 32]).is_some());
        assert!(Digest::new(Algorithm::Sha256, vec![0; 64]).is_none());
        assert!(Digest::new(Algorithm::Sha512, vec![0; 32]).is_none());
        assert!(Digest::new(Algorithm::Sha512, Vec::new()).is_none());
    }
}
