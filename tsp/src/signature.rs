//! The SignerInfo's signature, verified with `rustls-webpki` (aws-lc-rs), the
//! same verifier the gateway's TLS stack uses.

use const_oid::db::rfc5912::{
    ECDSA_WITH_SHA_256, ECDSA_WITH_SHA_384, ECDSA_WITH_SHA_512, ID_EC_PUBLIC_KEY, RSA_ENCRYPTION,
    SHA_256_WITH_RSA_ENCRYPTION, SHA_384_WITH_RSA_ENCRYPTION, SHA_512_WITH_RSA_ENCRYPTION,
};
use const_oid::db::rfc8410::ID_ED_25519;
use rustls_pki_types::SignatureVerificationAlgorithm;
use webpki::EndEntityCert;
use webpki::aws_lc_rs as alg;
use x509_cert::spki::AlgorithmIdentifierOwned;

use crate::TspError;
use crate::hash::{CmsHash, null_or_absent};

type Candidates = &'static [&'static dyn SignatureVerificationAlgorithm];

static ED25519: [&dyn SignatureVerificationAlgorithm; 1] = [alg::ED25519];
static RSA_SHA256: [&dyn SignatureVerificationAlgorithm; 1] = [alg::RSA_PKCS1_2048_8192_SHA256];
static RSA_SHA384: [&dyn SignatureVerificationAlgorithm; 1] = [alg::RSA_PKCS1_2048_8192_SHA384];
static RSA_SHA512: [&dyn SignatureVerificationAlgorithm; 1] = [alg::RSA_PKCS1_2048_8192_SHA512];
static ECDSA_SHA256: [&dyn SignatureVerificationAlgorithm; 3] = [
    alg::ECDSA_P256_SHA256,
    alg::ECDSA_P384_SHA256,
    alg::ECDSA_P521_SHA256,
];
static ECDSA_SHA384: [&dyn SignatureVerificationAlgorithm; 3] = [
    alg::ECDSA_P256_SHA384,
    alg::ECDSA_P384_SHA384,
    alg::ECDSA_P521_SHA384,
];
static ECDSA_SHA512: [&dyn SignatureVerificationAlgorithm; 3] = [
    alg::ECDSA_P256_SHA512,
    alg::ECDSA_P384_SHA512,
    alg::ECDSA_P521_SHA512,
];

/// Verifies `signature` over `message` (the re-tagged signed attributes) with
/// the signer certificate's key.
///
/// CMS names the algorithm in two fields: RSA signers usually write
/// `rsaEncryption` and leave the hash to digestAlgorithm (RFC 3370 §3.2), ECDSA
/// signers write `ecdsa-with-SHAx` (RFC 5753 §2.1.1), which says nothing about
/// the curve. So each pair maps to the webpki algorithms it could be, and the
/// one whose key type and curve fit the certificate's key decides.
pub(crate) fn verify(
    signer: &EndEntityCert<'_>,
    digest: CmsHash,
    signature_algorithm: &AlgorithmIdentifierOwned,
    message: &[u8],
    signature: &[u8],
) -> Result<(), TspError> {
    for &candidate in candidates(digest, signature_algorithm)? {
        match signer.verify_signature(candidate, message, signature) {
            Ok(()) => return Ok(()),
            // Another curve or key type: try the next candidate.
            #[allow(deprecated)]
            Err(
                webpki::Error::UnsupportedSignatureAlgorithmForPublicKeyContext(_)
                | webpki::Error::UnsupportedSignatureAlgorithmForPublicKey,
            ) => {}
            Err(_) => {
                return Err(TspError::BadSignature {
                    reason: "the signature does not verify with the signer certificate's key",
                });
            }
        }
    }
    Err(TspError::bad_signer(format!(
        "signature algorithm {} does not fit the signer certificate's key",
        signature_algorithm.oid
    )))
}

fn candidates(
    digest: CmsHash,
    signature_algorithm: &AlgorithmIdentifierOwned,
) -> Result<Candidates, TspError> {
    let oid = signature_algorithm.oid;
    let unsupported = || TspError::UnsupportedAlgorithm {
        what: "signature",
        oid: oid.to_string(),
    };
    // The hash a combined OID fixes must be the digestAlgorithm's: otherwise
    // the message-digest attribute and the signature use different hashes.
    let fixed = |hash: CmsHash| -> Result<CmsHash, TspError> {
        if hash == digest {
            Ok(hash)
        } else {
            Err(TspError::structure(
                "SignerInfo",
                format!(
                    "signature algorithm {oid} with digest algorithm {}",
                    digest.oid()
                ),
            ))
        }
    };
    if oid == ID_ED_25519 {
        // Pure EdDSA: no hash of its own; RFC 8419 §3 pairs it with SHA-512.
        return if signature_algorithm.parameters.is_none() {
            Ok(&ED25519)
        } else {
            Err(unsupported())
        };
    }
    if !null_or_absent(signature_algorithm) {
        // RSASSA-PSS carries its hash in parameters; it is not supported.
        return Err(unsupported());
    }
    // SHA-1 never gets here (`CmsHash::sha2` refuses it as digestAlgorithm).
    let rsa = |hash| -> Result<Candidates, TspError> {
        match hash {
            CmsHash::Sha256 => Ok(&RSA_SHA256),
            CmsHash::Sha384 => Ok(&RSA_SHA384),
            CmsHash::Sha512 => Ok(&RSA_SHA512),
            CmsHash::Sha1 => Err(unsupported()),
        }
    };
    let ecdsa = |hash| -> Result<Candidates, TspError> {
        match hash {
            CmsHash::Sha256 => Ok(&ECDSA_SHA256),
            CmsHash::Sha384 => Ok(&ECDSA_SHA384),
            CmsHash::Sha512 => Ok(&ECDSA_SHA512),
            CmsHash::Sha1 => Err(unsupported()),
        }
    };
    match oid {
        RSA_ENCRYPTION => rsa(digest),
        SHA_256_WITH_RSA_ENCRYPTION => rsa(fixed(CmsHash::Sha256)?),
        SHA_384_WITH_RSA_ENCRYPTION => rsa(fixed(CmsHash::Sha384)?),
        SHA_512_WITH_RSA_ENCRYPTION => rsa(fixed(CmsHash::Sha512)?),
        // Some signers name only the key type, like rsaEncryption.
        ID_EC_PUBLIC_KEY => ecdsa(digest),
        ECDSA_WITH_SHA_256 => ecdsa(fixed(CmsHash::Sha256)?),
        ECDSA_WITH_SHA_384 => ecdsa(fixed(CmsHash::Sha384)?),
        ECDSA_WITH_SHA_512 => ecdsa(fixed(CmsHash::Sha512)?),
        _ => Err(unsupported()),
    }
}

#[cfg(test)]
mod tests {
    use const_oid::ObjectIdentifier;

    use super::*;

    fn candidate_count(digest: CmsHash, oid: ObjectIdentifier) -> Result<usize, TspError> {
        candidates(
            digest,
            &AlgorithmIdentifierOwned {
                oid,
                parameters: None,
            },
        )
        .map(<[_]>::len)
    }

    #[test]
    fn algorithm_pairs() {
        assert_eq!(candidate_count(CmsHash::Sha256, RSA_ENCRYPTION), Ok(1));
        assert_eq!(
            candidate_count(CmsHash::Sha384, SHA_384_WITH_RSA_ENCRYPTION),
            Ok(1)
        );
        assert_eq!(candidate_count(CmsHash::Sha256, ECDSA_WITH_SHA_256), Ok(3));
        assert_eq!(candidate_count(CmsHash::Sha512, ID_EC_PUBLIC_KEY), Ok(3));
        assert_eq!(candidate_count(CmsHash::Sha512, ID_ED_25519), Ok(1));
        assert!(matches!(
            candidate_count(CmsHash::Sha256, ECDSA_WITH_SHA_384),
            Err(TspError::Malformed { .. })
        ));
        let pss = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
        assert!(matches!(
            candidate_count(CmsHash::Sha256, pss),
            Err(TspError::UnsupportedAlgorithm { .. })
        ));
    }
}
