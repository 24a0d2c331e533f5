//! Tokens from the test TSA (`openssl ts -reply`) that must verify, each
//! cross-checked with `openssl ts -verify`.

mod support;

use std::time::Duration;

use rcgen::{PKCS_ECDSA_P256_SHA256, PKCS_ECDSA_P384_SHA384, PKCS_RSA_SHA256};
use support::{Cert, DEFAULT_POLICY, Eku, FIRST_SERIAL, OTHER_POLICY, Tsa, now};
use tsp::{Expected, HashAlg, PolicyId, Token, request, verify_response};

/// A nonce with the top bit set, so that its INTEGER needs a 0x00 prefix.
const NONCE: u64 = 0x8123_4567_89ab_cdef;

/// Requests a token for `document` from `signer` and verifies it.
fn stamp(
    tsa: &Tsa,
    signer: &Cert,
    chain: &[&Cert],
    section: &str,
    alg: HashAlg,
    policy: Option<&PolicyId>,
) -> (Vec<u8>, Vec<u8>, Token) {
    let digest = alg.digest(b"sealed PDF bytes");
    let request = request(&digest, alg, NONCE, policy, true).expect("request");
    let response = tsa.reply(&request, signer, chain, section);
    let expected = Expected {
        digest: &digest,
        alg,
        nonce: NONCE,
        policy,
    };
    let token = verify_response(
        &response,
        &expected,
        std::slice::from_ref(&tsa.ca.der),
        now(),
    )
    .unwrap_or_else(|error| panic!("{} token must verify: {error}", signer.name));
    (request, response, token)
}

#[test]
fn good_token_has_the_tsa_values_and_passes_openssl() {
    let tsa = Tsa::new();
    let signer = tsa.time_stamping_leaf();
    let before = jiff::Timestamp::now();
    let (request, response, token) =
        stamp(&tsa, &signer, &[], "tsa_default", HashAlg::Sha256, None);
    let after = jiff::Timestamp::now();

    // genTime is whole seconds (clock_precision_digits = 0), so it may be up
    // to a second before `before`.
    assert!(
        token.gen_time >= before - Duration::from_secs(1),
        "{}",
        token.gen_time
    );
    assert!(token.gen_time <= after, "{}", token.gen_time);
    assert_eq!(token.serial, FIRST_SERIAL);
    assert_eq!(token.policy.to_string(), DEFAULT_POLICY);
    assert_eq!(token.accuracy, Some(Duration::from_micros(1_500_100)));
    let tsa_name = token.tsa_name.as_deref().expect("tsa_name = yes");
    assert!(tsa_name.contains("CN=tsa"), "{tsa_name}");
    assert!(token.signer.contains("CN=tsa"), "{}", token.signer);

    // The token handed out is exactly the one openssl finds in the response.
    assert_eq!(token.der, tsa.openssl_token(&response));
    // And openssl agrees that the response answers the request.
    assert!(tsa.openssl_verifies(&request, &response, &[&signer]));
}

#[test]
fn rsa_p384_and_sha512_signers_verify() {
    let tsa = Tsa::new();
    let rsa = tsa.leaf(
        "tsa-rsa",
        &tsa.ca,
        &PKCS_RSA_SHA256,
        Eku::TimeStamping,
        false,
    );
    let p384 = tsa.leaf(
        "tsa-p384",
        &tsa.ca,
        &PKCS_ECDSA_P384_SHA384,
        Eku::TimeStamping,
        false,
    );
    for signer in [&rsa, &p384] {
        for section in ["tsa_default", "tsa_v1"] {
            for alg in [HashAlg::Sha256, HashAlg::Sha512] {
                let (request, response, token) = stamp(&tsa, signer, &[], section, alg, None);
                assert_eq!(token.policy.to_string(), DEFAULT_POLICY);
                assert!(
                    tsa.openssl_verifies(&request, &response, &[signer]),
                    "{} {section} {alg}",
                    signer.name
                );
            }
        }
    }
}

#[test]
fn ess_cert_id_v1_and_fractional_gen_time() {
    let tsa = Tsa::new();
    let signer = tsa.time_stamping_leaf();
    let before = jiff::Timestamp::now();
    let (request, response, token) = stamp(&tsa, &signer, &[], "tsa_v1", HashAlg::Sha256, None);
    let after = jiff::Timestamp::now();
    // Milliseconds: within the wall-clock window up to the TSA's precision.
    assert!(
        token.gen_time >= before - Duration::from_millis(1),
        "{}",
        token.gen_time
    );
    assert!(token.gen_time <= after, "{}", token.gen_time);
    assert_eq!(token.tsa_name, None);
    assert!(tsa.openssl_verifies(&request, &response, &[&signer]));
}

#[test]
fn requested_policy_is_honoured_and_checked() {
    let tsa = Tsa::new();
    let signer = tsa.time_stamping_leaf();
    let policy: PolicyId = OTHER_POLICY.parse().expect("valid");
    let (_, _, token) = stamp(
        &tsa,
        &signer,
        &[],
        "tsa_default",
        HashAlg::Sha256,
        Some(&policy),
    );
    assert_eq!(token.policy, policy);
}

#[test]
fn tsa_under_an_intermediate_without_eku() {
    let tsa = Tsa::new();
    let intermediate = tsa.ca("intermediate", Some(&tsa.ca));
    let signer = tsa.leaf(
        "tsa",
        &intermediate,
        &PKCS_ECDSA_P256_SHA256,
        Eku::TimeStamping,
        false,
    );
    let (request, response, token) = stamp(
        &tsa,
        &signer,
        &[&intermediate],
        "tsa_default",
        HashAlg::Sha256,
        None,
    );
    assert_eq!(token.serial, FIRST_SERIAL);
    assert!(tsa.openssl_verifies(&request, &response, &[&signer, &intermediate]));
}

#[test]
fn token_signed_by_openssl_cms_with_cades_attributes() {
    // Another producer (`openssl cms -sign -cades`: signing-time, ESSCertIDv2
    // with issuerSerial) around the same TSTInfo verifies too; the error tests
    // rely on this route.
    let tsa = Tsa::new();
    let signer = tsa.time_stamping_leaf();
    let (_, response, _) = stamp(&tsa, &signer, &[], "tsa_default", HashAlg::Sha256, None);
    let resigned = tsa.cms_response(&support::tst_info(&response), &signer);
    let digest = HashAlg::Sha256.digest(b"sealed PDF bytes");
    let expected = Expected {
        digest: &digest,
        alg: HashAlg::Sha256,
        nonce: NONCE,
        policy: None,
    };
    let token = verify_response(
        &resigned,
        &expected,
        std::slice::from_ref(&tsa.ca.der),
        now(),
    )
    .expect("cms-signed token verifies");
    assert_eq!(token.serial, FIRST_SERIAL);
}
