//! `tsp::verify_response` on arbitrary bytes: must never panic, every refusal
//! renders, and a response it accepts hands out the token exactly as received
//! with the expected values.
//!
//! Input: a big-endian u16 length, that many bytes of trust anchor (a CA
//! certificate), then the DER TimeStampResp. When the length does not fit, the
//! whole input is the response and there is no anchor (so a bare response, which
//! starts with 0x30 0x82 and a length, is also a valid input). The seeds in
//! `seeds/tsp_response` are `openssl ts -reply` responses for [`DIGEST`] and
//! [`NONCE`], prefixed with their CA, so that mutations start past the signature.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rustls_pki_types::{CertificateDer, UnixTime};
use tsp::{Expected, HashAlg, PolicyId, verify_response};

/// The imprint and nonce the seeds were requested with.
const DIGEST: [u8; 32] = [0x5a; 32];
const NONCE: u64 = 0x0123_4567_89ab_cdef;
/// 2100-01-01: genTime is never in the future; chains are checked at genTime.
const NOW: u64 = 4_102_444_800;

fn split(data: &[u8]) -> (Vec<CertificateDer<'_>>, &[u8]) {
    if let [high, low, rest @ ..] = data {
        let len = usize::from(u16::from_be_bytes([*high, *low]));
        if len <= rest.len() {
            let (anchor, response) = rest.split_at(len);
            return (vec![CertificateDer::from(anchor)], response);
        }
    }
    (Vec::new(), data)
}

fuzz_target!(|data: &[u8]| {
    let (anchors, response) = split(data);
    let now = UnixTime::since_unix_epoch(std::time::Duration::from_secs(NOW));
    let expected = Expected {
        digest: &DIGEST,
        alg: HashAlg::Sha256,
        nonce: NONCE,
        policy: None,
    };
    let result = verify_response(response, &expected, &anchors, now);
    match &result {
        Ok(token) => {
            assert!(
                response
                    .windows(token.der.len())
                    .any(|window| window == token.der),
                "the token must be the bytes as received"
            );
            assert!(!token.serial.is_empty());
            let _ = (token.tsa_name.as_deref(), token.policy.to_string(), &token.signer);
        }
        Err(error) => {
            let _ = error.to_string();
        }
    }

    // Requiring the token's own policy changes nothing; requiring another one
    // turns an acceptance into a PolicyMismatch and nothing else.
    if let Ok(token) = &result {
        let own = Expected {
            policy: Some(&token.policy),
            ..expected
        };
        assert_eq!(verify_response(response, &own, &anchors, now).as_ref(), Ok(token));
        let other: PolicyId = "1.3.6.1.4.1.99999.1".parse().expect("valid OID");
        if token.policy != other {
            let other = Expected {
                policy: Some(&other),
                ..expected
            };
            assert!(matches!(
                verify_response(response, &other, &anchors, now),
                Err(tsp::TspError::PolicyMismatch { .. })
            ));
        }
    }
});
