//! Every way a signed request is refused, through the public API.

mod common;

use std::time::Duration;

use common::*;
use httpsig::{Policy, Refusal, RequestParts, SignatureParams, verify};

#[test]
fn tampering_with_a_covered_component_breaks_the_signature() {
    let covered = [
        "@method",
        "@path",
        "@query",
        "@authority",
        "content-digest",
        "@query-param;name=\"Pet\"",
    ];
    let signed = signed(&covered, &params("test-shared-secret"), "sig1");
    let policy = Policy::default();
    let owned = with_signature(&signed.signature_input, &signed.signature);
    let headers = borrowed(&owned);
    let original = request(&headers);
    verify(&original, &policy, &keys(), CREATED).expect("untouched request verifies");

    let tampered_digest = {
        let mut owned = owned.clone();
        owned[3].1 = b"sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:".to_vec();
        owned
    };
    let tampered_headers = borrowed(&tampered_digest);
    let cases = [
        RequestParts {
            method: "PUT",
            ..original
        },
        RequestParts {
            method: "post",
            ..original
        },
        RequestParts {
            path: "/foo/",
            ..original
        },
        RequestParts {
            query: Some("param=Value&Pet=cat"),
            ..original
        },
        RequestParts {
            query: None,
            ..original
        },
        RequestParts {
            authority: "example.org",
            ..original
        },
        RequestParts {
            headers: &tampered_headers,
            ..original
        },
    ];
    for case in cases {
        let refusal = verify(&case, &policy, &keys(), CREATED).expect_err("tampered");
        match refusal {
            Refusal::BadSignature => assert_eq!(refusal.class(), "bad_signature"),
            // Removing the query also removes the covered query parameter.
            Refusal::ComponentAbsent { ref component } => {
                assert_eq!(component, "@query-param;name=\"Pet\"");
                assert!(case.query.is_none());
            }
            other => panic!("{case:?}: {other:?}"),
        }
    }
    // Uncovered headers, default ports and case in the authority are free to change.
    let mut extra = owned.clone();
    extra.push(("x-forwarded-for", b"10.0.0.1".to_vec()));
    let extra_headers = borrowed(&extra);
    for case in [
        RequestParts {
            headers: &extra_headers,
            ..original
        },
        RequestParts {
            authority: "EXAMPLE.com:443",
            ..original
        },
    ] {
        verify(&case, &policy, &keys(), CREATED).expect("still verifies");
    }
    // A tampered signature parameter is a different base.
    let input = signed.signature_input.replace("1618884473", "1618884474");
    assert_eq!(
        check(&input, &signed.signature, &policy, CREATED),
        Err(Refusal::BadSignature)
    );
}

#[test]
fn a_covered_header_removed_on_the_way_is_named() {
    let owned: Vec<(&str, Vec<u8>)> = with_signature(B25_INPUT, B25_SIGNATURE)
        .into_iter()
        .filter(|(name, _)| *name != "content-type")
        .collect();
    let headers = borrowed(&owned);
    let refusal = verify(&request(&headers), &b25_policy(), &keys(), CREATED).expect_err("absent");
    assert_eq!(
        refusal,
        Refusal::ComponentAbsent {
            component: "content-type".to_owned()
        }
    );
    assert_eq!(refusal.class(), "component_absent");
}

#[test]
fn created_and_expires_are_checked_against_now() {
    let policy = b25_policy();
    let max_age = 300 + 30;
    check(B25_INPUT, B25_SIGNATURE, &policy, CREATED + max_age).expect("at the edge");
    let refusal = check(B25_INPUT, B25_SIGNATURE, &policy, CREATED + max_age + 1).expect_err("old");
    assert_eq!(refusal, Refusal::TooOld { created: CREATED });
    assert_eq!(refusal.class(), "too_old");
    check(B25_INPUT, B25_SIGNATURE, &policy, CREATED - 30).expect("skew");
    let refusal = check(B25_INPUT, B25_SIGNATURE, &policy, CREATED - 31).expect_err("future");
    assert_eq!(refusal, Refusal::NotYetValid { created: CREATED });
    assert_eq!(refusal.class(), "not_yet_valid");
    let patient = Policy {
        max_age: None,
        ..b25_policy()
    };
    check(B25_INPUT, B25_SIGNATURE, &patient, i64::MAX).expect("no age limit");

    let expiring = SignatureParams {
        expires: Some(CREATED + 60),
        ..params("test-shared-secret")
    };
    let signed = signed(&["@authority", "date"], &expiring, "sig1");
    let strict = Policy {
        clock_skew: Duration::ZERO,
        ..b25_policy()
    };
    check(
        &signed.signature_input,
        &signed.signature,
        &strict,
        CREATED + 60,
    )
    .expect("not yet");
    let refusal = check(
        &signed.signature_input,
        &signed.signature,
        &strict,
        CREATED + 61,
    )
    .expect_err("expired");
    assert_eq!(
        refusal,
        Refusal::Expired {
            expires: CREATED + 60
        }
    );
    assert_eq!(refusal.class(), "expired");
    // Extreme values never overflow.
    for now in [i64::MIN, i64::MAX] {
        assert!(check(&signed.signature_input, &signed.signature, &strict, now).is_err());
    }
}

#[test]
fn required_parameters_and_tag() {
    let policy = Policy {
        require_nonce: true,
        ..b25_policy()
    };
    let refusal = check(B25_INPUT, B25_SIGNATURE, &policy, CREATED).expect_err("no nonce");
    assert_eq!(refusal, Refusal::ParameterMissing { parameter: "nonce" });
    assert_eq!(refusal.class(), "missing_parameter");
    let policy = Policy {
        require_expires: true,
        ..b25_policy()
    };
    assert_eq!(
        check(B25_INPUT, B25_SIGNATURE, &policy, CREATED),
        Err(Refusal::ParameterMissing {
            parameter: "expires"
        })
    );
    let no_created =
        "sig-b25=(\"date\" \"@authority\" \"content-type\");keyid=\"test-shared-secret\"";
    assert_eq!(
        check(no_created, B25_SIGNATURE, &b25_policy(), CREATED),
        Err(Refusal::ParameterMissing {
            parameter: "created"
        })
    );

    let full = SignatureParams {
        nonce: Some("b3k2pp5k7z-50gnwp.yemd".to_owned()),
        tag: Some("sealing".to_owned()),
        alg: true,
        ..params("test-shared-secret")
    };
    let signed = signed(&["@authority", "date"], &full, "sig1");
    assert_eq!(
        signed.signature_input,
        "sig1=(\"@authority\" \"date\");created=1618884473;keyid=\"test-shared-secret\";\
         alg=\"hmac-sha256\";nonce=\"b3k2pp5k7z-50gnwp.yemd\";tag=\"sealing\""
    );
    let policy = Policy {
        require_nonce: true,
        tag: Some("sealing".to_owned()),
        ..b25_policy()
    };
    let verified = check(&signed.signature_input, &signed.signature, &policy, CREATED).expect("ok");
    assert_eq!(verified.nonce.as_deref(), Some("b3k2pp5k7z-50gnwp.yemd"));
    assert_eq!(verified.tag.as_deref(), Some("sealing"));
    let other_app = Policy {
        tag: Some("billing".to_owned()),
        ..policy
    };
    let refusal = check(
        &signed.signature_input,
        &signed.signature,
        &other_app,
        CREATED,
    )
    .expect_err("tag");
    assert_eq!(refusal, Refusal::WrongTag);
    assert_eq!(refusal.class(), "wrong_tag");
}

#[test]
fn unknown_keys_and_algorithms() {
    let input = B25_INPUT.replace("test-shared-secret", "stranger");
    let refusal = check(&input, B25_SIGNATURE, &b25_policy(), CREATED).expect_err("unknown");
    assert_eq!(
        refusal,
        Refusal::UnknownKey {
            keyid: "stranger".to_owned()
        }
    );
    assert_eq!(refusal.class(), "unknown_key");
    assert_eq!(refusal.to_string(), "unknown keyid \"stranger\"");
    let no_keyid = "sig-b25=(\"date\");created=1618884473";
    assert_eq!(
        check(no_keyid, B25_SIGNATURE, &b25_policy(), CREATED),
        Err(Refusal::ParameterMissing { parameter: "keyid" })
    );
    let rsa = format!("{B25_INPUT};alg=\"rsa-pss-sha512\"");
    let refusal = check(&rsa, B25_SIGNATURE, &b25_policy(), CREATED).expect_err("alg");
    assert_eq!(
        refusal,
        Refusal::UnsupportedAlgorithm {
            alg: "rsa-pss-sha512".to_owned()
        }
    );
    assert_eq!(refusal.class(), "unsupported_algorithm");
    // Naming the right algorithm changes the base, so the published value fails.
    let hmac = format!("{B25_INPUT};alg=\"hmac-sha256\"");
    assert_eq!(
        check(&hmac, B25_SIGNATURE, &b25_policy(), CREATED),
        Err(Refusal::BadSignature)
    );
    // A valid signature under another client's key does not verify under ours.
    let input = B25_INPUT.replace("test-shared-secret", "other-client");
    assert_eq!(
        check(&input, B25_SIGNATURE, &b25_policy(), CREATED),
        Err(Refusal::BadSignature)
    );
}

#[test]
fn malformed_and_missing_fields() {
    let policy = b25_policy();
    for (input, signature) in [
        ("sig-b25=(\"date\"", B25_SIGNATURE),
        ("sig-b25=\"date\";created=1", B25_SIGNATURE),
        ("sig-b25=(date);keyid=\"test-shared-secret\"", B25_SIGNATURE),
        (
            "sig-b25=(\"Date\");keyid=\"test-shared-secret\"",
            B25_SIGNATURE,
        ),
        (
            "sig-b25=(\"date\" \"date\");keyid=\"test-shared-secret\"",
            B25_SIGNATURE,
        ),
        (
            "sig-b25=(\"date\");created=\"yesterday\";keyid=\"test-shared-secret\"",
            B25_SIGNATURE,
        ),
        (
            "sig-b25=(\"date\");created=1;keyid=test-shared-secret",
            B25_SIGNATURE,
        ),
        (
            "sig-b25=(\"@status\");keyid=\"test-shared-secret\"",
            B25_SIGNATURE,
        ),
        (
            B25_INPUT,
            "sig-b25=\"pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=\"",
        ),
        (
            B25_INPUT,
            "sig-b25=(:pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=:)",
        ),
        (B25_INPUT, "sig-b25=:not base64:"),
    ] {
        let refusal = check(input, signature, &policy, CREATED).expect_err(input);
        assert_eq!(
            refusal.class(),
            "malformed",
            "{input} / {signature}: {refusal}"
        );
    }
    let refusal = check(
        "sig-b25=(\"date\" \"@authority\";req);keyid=\"test-shared-secret\"",
        B25_SIGNATURE,
        &policy,
        CREATED,
    )
    .expect_err("req");
    assert_eq!(
        refusal,
        Refusal::UnsupportedComponent {
            component: "\"@authority\";req".to_owned()
        }
    );
    let many: Vec<String> = (0..65).map(|n| format!("\"x-{n}\"")).collect();
    let input = format!("sig-b25=({});keyid=\"test-shared-secret\"", many.join(" "));
    assert_eq!(
        check(&input, B25_SIGNATURE, &policy, CREATED),
        Err(Refusal::Malformed {
            reason: "too many covered components".to_owned()
        })
    );

    let headers = headers();
    let refusal = verify(&request(&headers), &policy, &keys(), CREATED).expect_err("unsigned");
    assert_eq!(
        refusal,
        Refusal::Missing {
            reason: "no Signature-Input field".to_owned()
        }
    );
    assert_eq!(refusal.class(), "missing");
    let refusal = check(B25_INPUT, "sig-other=:AAAA:", &policy, CREATED).expect_err("label");
    assert_eq!(refusal.class(), "missing");
    assert_eq!(
        check(" ", B25_SIGNATURE, &policy, CREATED).map_err(|r| r.class()),
        Err("missing")
    );
}

#[test]
fn refusals_never_repeat_the_expected_mac() {
    let expected = "pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=";
    let refusal = check(B25_INPUT, "sig-b25=:AAAA:", &b25_policy(), CREATED).expect_err("bad");
    assert_eq!(refusal, Refusal::BadSignature);
    let debug = format!("{refusal:?} {refusal}");
    assert!(
        !debug.contains(expected) && !debug.contains(SHARED_SECRET),
        "{debug}"
    );
}
