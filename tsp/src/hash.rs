//! Hash algorithms: the ones a caller time-stamps with ([`HashAlg`]) and the ones
//! a TSA may use inside the CMS structure ([`CmsHash`]).

use std::fmt;

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912::{ID_SHA_1, ID_SHA_256, ID_SHA_384, ID_SHA_512};
use der::Any;
use sha2::Digest as _;
use x509_cert::spki::AlgorithmIdentifierOwned;

use crate::TspError;

/// The hash algorithm of the digest that is time-stamped (the `messageImprint`).
///
/// SHA-256 and SHA-512 only: the same pair the gateway's Digest Fields support,
/// and ones every TSA accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashAlg {
    /// SHA-256 (2.16.840.1.101.3.4.2.1).
    Sha256,
    /// SHA-512 (2.16.840.1.101.3.4.2.3).
    Sha512,
}

impl HashAlg {
    /// Length of a digest in bytes (32 or 64).
    #[must_use]
    pub const fn output_len(self) -> usize {
        match self {
            HashAlg::Sha256 => 32,
            HashAlg::Sha512 => 64,
        }
    }

    /// Hashes `data`, for callers that hold the whole document.
    #[must_use]
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            HashAlg::Sha256 => sha2::Sha256::digest(data).to_vec(),
            HashAlg::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }

    pub(crate) const fn oid(self) -> ObjectIdentifier {
        match self {
            HashAlg::Sha256 => ID_SHA_256,
            HashAlg::Sha512 => ID_SHA_512,
        }
    }

    /// The AlgorithmIdentifier sent in a request. Parameters are an explicit
    /// NULL, as `openssl ts -query` and Windows' signtool send them: RFC 5754
    /// lets both forms be, and a TSA copies the request's form into the token.
    pub(crate) fn algorithm_identifier(self) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned {
            oid: self.oid(),
            parameters: Some(Any::null()),
        }
    }
}

impl fmt::Display for HashAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HashAlg::Sha256 => "sha-256",
            HashAlg::Sha512 => "sha-512",
        })
    }
}

/// A hash a TSA may use inside the token: the SignerInfo's digestAlgorithm and
/// the ESSCertID(v2) certificate hash. SHA-1 is only accepted for the
/// certificate hash of the version 1 ESSCertID, which RFC 2634 fixes to SHA-1
/// and where it only names a certificate that is verified anyway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmsHash {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl CmsHash {
    /// The SHA-2 algorithm an AlgorithmIdentifier names. Its parameters must be
    /// absent or NULL (RFC 5754 §2).
    pub(crate) fn sha2(
        algorithm: &AlgorithmIdentifierOwned,
        what: &'static str,
    ) -> Result<Self, TspError> {
        let hash = match algorithm.oid {
            ID_SHA_256 => CmsHash::Sha256,
            ID_SHA_384 => CmsHash::Sha384,
            ID_SHA_512 => CmsHash::Sha512,
            other => {
                return Err(TspError::UnsupportedAlgorithm {
                    what,
                    oid: other.to_string(),
                });
            }
        };
        if !null_or_absent(algorithm) {
            return Err(TspError::structure(
                "AlgorithmIdentifier",
                format!("{what} algorithm {} has parameters", algorithm.oid),
            ));
        }
        Ok(hash)
    }

    pub(crate) fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            CmsHash::Sha1 => sha1::Sha1::digest(data).to_vec(),
            CmsHash::Sha256 => sha2::Sha256::digest(data).to_vec(),
            CmsHash::Sha384 => sha2::Sha384::digest(data).to_vec(),
            CmsHash::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }

    pub(crate) fn oid(self) -> ObjectIdentifier {
        match self {
            CmsHash::Sha1 => ID_SHA_1,
            CmsHash::Sha256 => ID_SHA_256,
            CmsHash::Sha384 => ID_SHA_384,
            CmsHash::Sha512 => ID_SHA_512,
        }
    }
}

/// Whether an AlgorithmIdentifier has no parameters or a NULL one.
pub(crate) fn null_or_absent(algorithm: &AlgorithmIdentifierOwned) -> bool {
    algorithm
        .parameters
        .as_ref()
        .is_none_or(|parameters| parameters.is_null())
}

/// The name of a time-stamp imprint algorithm, or its OID if it is not one of
/// [`HashAlg`], for error messages.
pub(crate) fn imprint_alg_name(oid: ObjectIdentifier) -> String {
    match oid {
        ID_SHA_256 => HashAlg::Sha256.to_string(),
        ID_SHA_512 => HashAlg::Sha512.to_string(),
        ID_SHA_384 => "sha-384".to_owned(),
        ID_SHA_1 => "sha-1".to_owned(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_and_oids() {
        for alg in [HashAlg::Sha256, HashAlg::Sha512] {
            assert_eq!(alg.digest(b"abc").len(), alg.output_len());
            assert!(null_or_absent(&alg.algorithm_identifier()));
        }
        assert_eq!(HashAlg::Sha256.oid().to_string(), "2.16.840.1.101.3.4.2.1");
        assert_eq!(HashAlg::Sha512.oid().to_string(), "2.16.840.1.101.3.4.2.3");
    }

    #[test]
    fn cms_hash_rejects_sha1_and_parameters() {
        let sha1 = AlgorithmIdentifierOwned {
            oid: ID_SHA_1,
            parameters: None,
        };
        assert!(matches!(
            CmsHash::sha2(&sha1, "digest"),
            Err(TspError::UnsupportedAlgorithm { .. })
        ));
        let with_parameters = AlgorithmIdentifierOwned {
            oid: ID_SHA_256,
            parameters: Some(Any::from(
                der::asn1::OctetStringRef::new(b"x").expect("short"),
            )),
        };
        assert!(matches!(
            CmsHash::sha2(&with_parameters, "digest"),
            Err(TspError::Malformed { .. })
        ));
        let absent = AlgorithmIdentifierOwned {
            oid: ID_SHA_384,
            parameters: None,
        };
        assert_eq!(CmsHash::sha2(&absent, "digest"), Ok(CmsHash::Sha384));
        assert_eq!(CmsHash::Sha384.digest(b"").len(), 48);
    }
}
