//! Signature schemes of a token key, and the PKCS#11 mechanism and input for each.

use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsPssParams};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::types::Ulong;
use rustls::{SignatureAlgorithm, SignatureScheme};
use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::outbound::error::{CertificateProblem, IdentityError};
use crate::outbound::schemes::KeyKind;

/// What the key can sign with on this token, most preferred first.
pub(super) fn schemes_for(
    kind: KeyKind,
    mechanisms: &[MechanismType],
    signer: &str,
) -> Result<(Vec<SignatureScheme>, SignatureAlgorithm), IdentityError> {
    use SignatureScheme as S;
    let has = |m: MechanismType| mechanisms.contains(&m);
    let (schemes, algorithm) = match kind {
        KeyKind::Rsa { .. } => {
            let mut s = Vec::new();
            if has(MechanismType::RSA_PKCS_PSS) {
                s.extend([S::RSA_PSS_SHA256, S::RSA_PSS_SHA384, S::RSA_PSS_SHA512]);
            }
            if has(MechanismType::RSA_PKCS) {
                s.extend([
                    S::RSA_PKCS1_SHA256,
                    S::RSA_PKCS1_SHA384,
                    S::RSA_PKCS1_SHA512,
                ]);
            }
            (s, SignatureAlgorithm::RSA)
        }
        KeyKind::EcP256 if has(MechanismType::ECDSA) => {
            (vec![S::ECDSA_NISTP256_SHA256], SignatureAlgorithm::ECDSA)
        }
        KeyKind::EcP384 if has(MechanismType::ECDSA) => {
            (vec![S::ECDSA_NISTP384_SHA384], SignatureAlgorithm::ECDSA)
        }
        KeyKind::EcP256 | KeyKind::EcP384 => (Vec::new(), SignatureAlgorithm::ECDSA),
    };
    if schemes.is_empty() {
        return Err(IdentityError::WrongCertificate {
            signer: signer.to_owned(),
            problem: CertificateProblem::KeyTypeUnsupported(
                "the token has no mechanism to sign with this key type".into(),
            ),
        });
    }
    Ok((schemes, algorithm))
}

const DIGEST_INFO_SHA256: &[u8] = &[
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];
const DIGEST_INFO_SHA384: &[u8] = &[
    0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05,
    0x00, 0x04, 0x30,
];
const DIGEST_INFO_SHA512: &[u8] = &[
    0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05,
    0x00, 0x04, 0x40,
];

/// The mechanism, its input, and whether the output is a raw ECDSA `r || s`.
pub(super) fn prepare(
    scheme: SignatureScheme,
    message: &[u8],
) -> Result<(Mechanism<'static>, Vec<u8>, bool), IdentityError> {
    use SignatureScheme as S;
    let pss = |hash_alg, mgf, len: u8| {
        Mechanism::RsaPkcsPss(PkcsPssParams {
            hash_alg,
            mgf,
            s_len: Ulong::from(std::ffi::c_ulong::from(len)),
        })
    };
    let digest_info = |prefix: &[u8], digest: &[u8]| [prefix, digest].concat();
    Ok(match scheme {
        S::RSA_PKCS1_SHA256 => (
            Mechanism::RsaPkcs,
            digest_info(DIGEST_INFO_SHA256, &Sha256::digest(message)),
            false,
        ),
        S::RSA_PKCS1_SHA384 => (
            Mechanism::RsaPkcs,
            digest_info(DIGEST_INFO_SHA384, &Sha384::digest(message)),
            false,
        ),
        S::RSA_PKCS1_SHA512 => (
            Mechanism::RsaPkcs,
            digest_info(DIGEST_INFO_SHA512, &Sha512::digest(message)),
            false,
        ),
        S::RSA_PSS_SHA256 => (
            pss(MechanismType::SHA256, PkcsMgfType::MGF1_SHA256, 32),
            Sha256::digest(message).to_vec(),
            false,
        ),
        S::RSA_PSS_SHA384 => (
            pss(MechanismType::SHA384, PkcsMgfType::MGF1_SHA384, 48),
            Sha384::digest(message).to_vec(),
            false,
        ),
        S::RSA_PSS_SHA512 => (
            pss(MechanismType::SHA512, PkcsMgfType::MGF1_SHA512, 64),
            Sha512::digest(message).to_vec(),
            false,
        ),
        S::ECDSA_NISTP256_SHA256 => (Mechanism::Ecdsa, Sha256::digest(message).to_vec(), true),
        S::ECDSA_NISTP384_SHA384 => (Mechanism::Ecdsa, Sha384::digest(message).to_vec(), true),
        // Unreachable: `schemes_for` offers only the schemes above, and rustls picks one of
        // those. An error rather than a panic all the same.
        other => {
            return Err(IdentityError::WrongCertificate {
                signer: "PKCS#11 token".into(),
                problem: CertificateProblem::KeyTypeUnsupported(format!(
                    "no PKCS#11 mechanism for {other:?}"
                )),
            });
        }
    })
}

/// `r || s` (each half the length) as the DER `SEQUENCE { INTEGER r, INTEGER s }` of TLS.
pub(super) fn ecdsa_der(raw: &[u8]) -> Vec<u8> {
    fn integer(bytes: &[u8]) -> Vec<u8> {
        let trimmed: &[u8] = match bytes.iter().position(|b| *b != 0) {
            Some(i) => &bytes[i..],
            None => &[0],
        };
        let pad = trimmed[0] & 0x80 != 0;
        let mut out = vec![0x02, (trimmed.len() + usize::from(pad)) as u8];
        if pad {
            out.push(0);
        }
        out.extend_from_slice(trimmed);
        out
    }
    let (r, s) = raw.split_at(raw.len() / 2);
    let body = [integer(r), integer(s)].concat();
    // P-256 and P-384 signatures are at most 104 bytes: short-form lengths suffice.
    let mut out = vec![0x30, body.len() as u8];
    out.extend(body);
    out
}

#[cfg(test)]
mod tests {
    use super::ecdsa_der;

    #[test]
    fn ecdsa_signatures_are_der_encoded() {
        let mut raw = vec![0u8; 64];
        raw[0] = 0x80; // r needs a pad byte
        raw[63] = 0x01; // s is 1
        let der = ecdsa_der(&raw);
        assert_eq!(&der[..4], &[0x30, 0x26, 0x02, 0x21]);
        assert_eq!(&der[der.len() - 3..], &[0x02, 0x01, 0x01]);
    }
}
