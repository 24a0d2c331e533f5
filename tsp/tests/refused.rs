//! Responses from the test TSA that must be refused, each with its error class.

mod support;

use rcgen::PKCS_ECDSA_P256_SHA256;
use rustls_pki_types::{CertificateDer, UnixTime};
use support::{Cert, Eku, FIRST_SERIAL, Tsa, now};
use tsp::{Expected, FailInfo, HashAlg, PolicyId, Status, TspError, request, verify_response};

const NONCE: u64 = 0x0123_4567_89ab_cdef;

/// A PKI with a proper TSA, one good request and its response.
struct Fixture {
    tsa: Tsa,
    signer: Cert,
    digest: Vec<u8>,
    request: Vec<u8>,
    response: Vec<u8>,
}

impl Fixture {
    fn new() -> Self {
        Self::with_cert_req(true)
    }

    fn with_cert_req(cert_req: bool) -> Self {
        let tsa = Tsa::new();
        let signer = tsa.time_stamping_leaf();
        let digest = HashAlg::Sha256.digest(b"sealed PDF bytes");
        let request = request(&digest, HashAlg::Sha256, NONCE, None, cert_req).expect("request");
        let response = tsa.reply(&request, &signer, &[], "tsa_default");
        Self {
            tsa,
            signer,
            digest,
            request,
            response,
        }
    }

    fn expected(&self) -> Expected<'_> {
        Expected {
            digest: &self.digest,
            alg: HashAlg::Sha256,
            nonce: NONCE,
            policy: None,
        }
    }

    fn anchors(&self) -> Vec<CertificateDer<'static>> {
        vec![self.tsa.ca.der.clone()]
    }

    fn verify(&self, response: &[u8]) -> Result<tsp::Token, TspError> {
        verify_response(response, &self.expected(), &self.anchors(), now())
    }
}

#[test]
fn the_fixture_itself_verifies() {
    let fixture = Fixture::new();
    let token = fixture.verify(&fixture.response).expect("good token");
    assert_eq!(token.serial, FIRST_SERIAL);
}

#[test]
fn another_nonce_is_a_nonce_mismatch() {
    let fixture = Fixture::new();
    let expected = Expected {
        nonce: NONCE + 1,
        ..fixture.expected()
    };
    let error = verify_response(&fixture.response, &expected, &fixture.anchors(), now())
        .expect_err("other nonce");
    assert_eq!(
        error,
        TspError::NonceMismatch {
            expected: NONCE + 1,
            found: Some(NONCE.to_be_bytes().to_vec()),
        }
    );
}

#[test]
fn another_digest_or_algorithm_is_an_imprint_mismatch() {
    let fixture = Fixture::new();
    let other = HashAlg::Sha256.digest(b"another document");
    let expected = Expected {
        digest: &other,
        ..fixture.expected()
    };
    let error = verify_response(&fixture.response, &expected, &fixture.anchors(), now());
    assert!(
        matches!(error, Err(TspError::ImprintMismatch { .. })),
        "{error:?}"
    );

    let sha512 = HashAlg::Sha512.digest(b"sealed PDF bytes");
    let expected = Expected {
        digest: &sha512,
        alg: HashAlg::Sha512,
        ..fixture.expected()
    };
    let error = verify_response(&fixture.response, &expected, &fixture.anchors(), now())
        .expect_err("other algorithm");
    assert_eq!(
        error.to_string(),
        "messageImprint mismatch: expected a sha-512 digest, the token has a sha-256 digest"
    );
}

#[test]
fn another_policy_is_a_policy_mismatch() {
    let fixture = Fixture::new();
    let required: PolicyId = support::OTHER_POLICY.parse().expect("valid");
    let expected = Expected {
        policy: Some(&required),
        ..fixture.expected()
    };
    let error = verify_response(&fixture.response, &expected, &fixture.anchors(), now());
    assert!(
        matches!(error, Err(TspError::PolicyMismatch { .. })),
        "{error:?}"
    );
}

#[test]
fn unknown_policy_is_rejected_by_the_tsa() {
    let fixture = Fixture::new();
    let policy: PolicyId = "1.2.3.9".parse().expect("valid");
    let request =
        request(&fixture.digest, HashAlg::Sha256, NONCE, Some(&policy), true).expect("request");
    let response = fixture
        .tsa
        .reply(&request, &fixture.signer, &[], "tsa_default");
    match fixture.verify(&response) {
        Err(TspError::Rejected {
            status: Status::Rejection,
            fail_info: Some(fail_info),
            text: Some(text),
        }) => {
            assert!(
                fail_info.contains(FailInfo::UNACCEPTED_POLICY),
                "{fail_info}"
            );
            assert!(text.contains("policy"), "{text}");
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn signer_without_the_critical_time_stamping_eku() {
    // `openssl ts -reply` refuses such signers, so these tokens are signed
    // with `openssl cms -sign -cades` around the good token's TSTInfo.
    let fixture = Fixture::new();
    let tst_info = support::tst_info(&fixture.response);
    for (name, eku, why) in [
        ("no-eku", Eku::Absent, "no extendedKeyUsage extension"),
        (
            "non-critical",
            Eku::NonCritical,
            "extendedKeyUsage is not critical",
        ),
    ] {
        let leaf = fixture
            .tsa
            .leaf(name, &fixture.tsa.ca, &PKCS_ECDSA_P256_SHA256, eku, false);
        let response = fixture.tsa.cms_response(&tst_info, &leaf);
        let error = fixture.verify(&response);
        assert_eq!(
            error,
            Err(TspError::NoTimeStampingEku { reason: why }),
            "{name}"
        );
        assert!(
            !fixture
                .tsa
                .openssl_verifies(&fixture.request, &response, &[&leaf]),
            "{name}"
        );
    }
}

#[test]
fn another_ca_as_anchor_is_an_untrusted_chain() {
    let fixture = Fixture::new();
    let other = fixture.tsa.ca("other-ca", None);
    for (anchors, why) in [
        (vec![other.der.clone()], "UnknownIssuer"),
        (vec![], "no trust anchors"),
    ] {
        let error = verify_response(&fixture.response, &fixture.expected(), &anchors, now());
        assert!(
            matches!(&error, Err(TspError::UntrustedChain { reason }) if reason.contains(why)),
            "{error:?}"
        );
    }
    let error = verify_response(
        &fixture.response,
        &fixture.expected(),
        &[CertificateDer::from(&b"not a certificate"[..])],
        now(),
    );
    assert!(
        matches!(error, Err(TspError::UntrustedChain { .. })),
        "{error:?}"
    );
}

#[test]
fn missing_intermediate_or_expired_tsa_is_an_untrusted_chain() {
    let fixture = Fixture::new();
    let tsa = &fixture.tsa;
    let intermediate = tsa.ca("intermediate", Some(&tsa.ca));
    let under = tsa.leaf(
        "tsa-under",
        &intermediate,
        &PKCS_ECDSA_P256_SHA256,
        Eku::TimeStamping,
        false,
    );
    let expired = tsa.leaf(
        "tsa-expired",
        &tsa.ca,
        &PKCS_ECDSA_P256_SHA256,
        Eku::TimeStamping,
        true,
    );
    for (signer, why) in [(&under, "UnknownIssuer"), (&expired, "CertExpired")] {
        let response = tsa.reply(&fixture.request, signer, &[], "tsa_default");
        let error = fixture.verify(&response);
        assert!(
            matches!(&error, Err(TspError::UntrustedChain { reason }) if reason.contains(why)),
            "{}: {error:?}",
            signer.name
        );
    }
}

#[test]
fn a_changed_byte_in_the_tst_info_or_the_signature_is_a_bad_signature() {
    let fixture = Fixture::new();
    // The TSTInfo's serialNumber INTEGER, 0x7F3A5D → 0x7F3A5E.
    let tampered = support::replace_once(
        &fixture.response,
        &[0x02, 0x03, 0x7f, 0x3a, 0x5d],
        &[0x02, 0x03, 0x7f, 0x3a, 0x5e],
    );
    let error = fixture.verify(&tampered);
    assert!(
        matches!(error, Err(TspError::BadSignature { reason }) if reason.contains("message-digest")),
        "{error:?}"
    );
    assert!(
        !fixture
            .tsa
            .openssl_verifies(&fixture.request, &tampered, &[&fixture.signer])
    );

    // The signature is the last element of the response: change its last byte.
    let mut tampered = fixture.response.clone();
    *tampered.last_mut().expect("non-empty") ^= 0x01;
    let error = fixture.verify(&tampered);
    assert!(
        matches!(error, Err(TspError::BadSignature { reason }) if reason.contains("does not verify")),
        "{error:?}"
    );
}

#[test]
fn token_without_certificates_has_no_signer() {
    let fixture = Fixture::with_cert_req(false);
    let error = fixture.verify(&fixture.response);
    assert!(
        matches!(&error, Err(TspError::BadSigner { reason }) if reason.contains("no certificate")),
        "{error:?}"
    );
}

#[test]
fn gen_time_after_now_plus_skew_is_refused() {
    let fixture = Fixture::new();
    let token = fixture.verify(&fixture.response).expect("good token");
    let hour_before = u64::try_from(token.gen_time.as_second() - 3600).expect("after 1970");
    let error = verify_response(
        &fixture.response,
        &fixture.expected(),
        &fixture.anchors(),
        UnixTime::since_unix_epoch(std::time::Duration::from_secs(hour_before)),
    );
    assert!(
        matches!(error, Err(TspError::GenTimeInFuture { .. })),
        "{error:?}"
    );
}

#[test]
fn truncated_or_foreign_bytes_are_malformed() {
    let fixture = Fixture::new();
    let response = &fixture.response;
    for bytes in [
        &response[..response.len() - 1],
        &[],
        b"HTTP/1.1 200 OK",
        &fixture.request,
    ] {
        let error = fixture.verify(bytes);
        assert!(
            matches!(error, Err(TspError::Malformed { .. })),
            "{error:?}"
        );
    }
    // A bare token (ContentInfo) is not a TimeStampResp either.
    let token = fixture.tsa.openssl_token(response);
    assert!(matches!(
        fixture.verify(&token),
        Err(TspError::Malformed { .. })
    ));
}
