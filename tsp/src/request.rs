//! Encoding a `TimeStampReq` (RFC 3161 §2.4.1).

use der::Encode;
use der::asn1::{Int, OctetString};
use x509_tsp::{MessageImprint, TimeStampReq, TspVersion};

use crate::{HashAlg, PolicyId, RequestError};

/// The media type of a DER `TimeStampReq` body (RFC 3161 §3.4).
pub const REQUEST_CONTENT_TYPE: &str = "application/timestamp-query";
/// The media type of a DER `TimeStampResp` body (RFC 3161 §3.4).
pub const RESPONSE_CONTENT_TYPE: &str = "application/timestamp-reply";

/// Encodes a DER `TimeStampReq` for `digest`, to POST with content type
/// [`REQUEST_CONTENT_TYPE`].
///
/// `nonce` must be fresh and random for every request (the caller draws it, so
/// that this crate stays pure); [`verify_response`](crate::verify_response)
/// requires the token to echo it, which binds the answer to this request. It is
/// 64 bits because that is what `openssl ts` and most TSAs handle; some TSAs
/// choke on longer nonces and 64 random bits are plenty for a one-shot match.
///
/// `policy` asks for a specific TSA policy; `None` lets the TSA pick its
/// default. `cert_req` asks the TSA to include its certificate in the token;
/// leave it `true` unless the caller supplies the certificate some other way:
/// `verify_response` takes the signer certificate from the token.
///
/// # Errors
/// [`RequestError::WrongDigestLength`] if `digest` is not `alg`'s length.
pub fn request(
    digest: &[u8],
    alg: HashAlg,
    nonce: u64,
    policy: Option<&PolicyId>,
    cert_req: bool,
) -> Result<Vec<u8>, RequestError> {
    if digest.len() != alg.output_len() {
        return Err(RequestError::WrongDigestLength {
            alg,
            len: digest.len(),
            expected: alg.output_len(),
        });
    }
    let encode = |error: der::Error| RequestError::Encode {
        reason: error.to_string(),
    };
    let request = TimeStampReq {
        version: TspVersion::V1,
        message_imprint: MessageImprint {
            hash_algorithm: alg.algorithm_identifier(),
            hashed_message: OctetString::new(digest).map_err(encode)?,
        },
        req_policy: policy.map(|policy| policy.0),
        nonce: Some(nonce_integer(nonce).map_err(encode)?),
        cert_req,
        extensions: None,
    };
    request.to_der().map_err(encode)
}

/// The DER INTEGER contents octets of a non-negative `u64`: big-endian, no
/// redundant leading zero, a 0x00 prefix when the top bit is set. The token's
/// nonce is compared with these bytes, which DER makes unique.
pub(crate) fn nonce_octets(nonce: u64) -> Vec<u8> {
    let bytes = nonce.to_be_bytes();
    let first = bytes
        .iter()
        .position(|&byte| byte != 0)
        .unwrap_or(bytes.len() - 1);
    let mut octets = Vec::with_capacity(9);
    if bytes[first] & 0x80 != 0 {
        octets.push(0);
    }
    octets.extend_from_slice(&bytes[first..]);
    octets
}

fn nonce_integer(nonce: u64) -> der::Result<Int> {
    Int::new(&nonce_octets(nonce))
}

#[cfg(test)]
mod tests {
    use der::Decode;

    use super::*;

    #[test]
    fn nonce_octets_are_minimal_positive_integers() {
        assert_eq!(nonce_octets(0), [0]);
        assert_eq!(nonce_octets(0x7f), [0x7f]);
        assert_eq!(nonce_octets(0x80), [0, 0x80]);
        assert_eq!(nonce_octets(0x0100), [1, 0]);
        assert_eq!(
            nonce_octets(u64::MAX),
            [0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
        );
        for nonce in [0, 1, 0x80, 0xff_ff, u64::MAX >> 1, u64::MAX] {
            let integer = nonce_integer(nonce).expect("encodes");
            let again = Int::from_der(&integer.to_der().expect("encodes")).expect("decodes");
            assert_eq!(again.as_bytes(), nonce_octets(nonce));
        }
    }

    #[test]
    fn request_matches_openssl_ts_query() {
        // `openssl ts -query -digest <sha-256 of "abc"> -sha256` with nonce
        // 0x314CFCE4E0651827 (the example in x509-tsp's tests).
        let digest = HashAlg::Sha256.digest(b"abc");
        let der =
            request(&digest, HashAlg::Sha256, 0x314c_fce4_e065_1827, None, false).expect("encodes");
        let expected = [
            "30400201013031300d060960864801650304020105000420",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            "0208314cfce4e0651827",
        ]
        .concat();
        assert_eq!(hex(&der), expected);
    }

    #[test]
    fn request_with_policy_and_cert_req_round_trips() {
        let digest = [7u8; 64];
        let policy: PolicyId = "1.2.3.4.5".parse().expect("valid");
        let der =
            request(&digest, HashAlg::Sha512, u64::MAX, Some(&policy), true).expect("encodes");
        let decoded = TimeStampReq::from_der(&der).expect("decodes");
        assert_eq!(
            decoded.req_policy.map(|oid| oid.to_string()).as_deref(),
            Some("1.2.3.4.5")
        );
        assert!(decoded.cert_req);
        assert_eq!(decoded.message_imprint.hashed_message.as_bytes(), digest);
        assert_eq!(
            decoded.nonce.as_ref().map(Int::as_bytes),
            Some(nonce_octets(u64::MAX).as_slice())
        );
    }

    #[test]
    fn wrong_digest_length_is_refused() {
        assert_eq!(
            request(&[0; 32], HashAlg::Sha512, 1, None, true),
            Err(RequestError::WrongDigestLength {
                alg: HashAlg::Sha512,
                len: 32,
                expected: 64
            })
        );
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|byte| format!("{byte:02x}")).collect()
    }
}
