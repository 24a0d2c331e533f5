//! RFC 9421 through the public API: the Appendix B.2.5 `hmac-sha256` example,
//! label selection, and signing every supported component.

mod common;

use common::*;
use httpsig::{Policy, Refusal, SignError, SignatureParams, sign, verify};

#[test]
fn rfc_9421_b25_published_signature_verifies() {
    let verified = check(B25_INPUT, B25_SIGNATURE, &b25_policy(), CREATED + 10).expect("verifies");
    assert_eq!(verified.label, "sig-b25");
    assert_eq!(verified.keyid, "test-shared-secret");
    assert_eq!(verified.created, Some(CREATED));
    assert_eq!(verified.expires, None);
    assert_eq!(verified.nonce, None);
    assert_eq!(
        verified.covered,
        components(&["date", "@authority", "content-type"])
    );
    assert!(verified.covers("date"));
    assert!(!verified.covers("content-digest"));
}

#[test]
fn rfc_9421_b25_sign_reproduces_the_published_fields() {
    let signed = signed(
        &["date", "@authority", "content-type"],
        &params("test-shared-secret"),
        "sig-b25",
    );
    assert_eq!(signed.signature_input, B25_INPUT);
    assert_eq!(signed.signature, B25_SIGNATURE);
}

#[test]
fn optional_whitespace_in_signature_input_does_not_change_the_base() {
    let spaced = "sig-b25=( \"date\"  \"@authority\" \"content-type\" );  created=1618884473;keyid=\"test-shared-secret\"";
    check(spaced, B25_SIGNATURE, &b25_policy(), CREATED).expect("canonical form verifies");
    // Several field lines are one dictionary (RFC 9651 §4.2).
    let owned = {
        let mut owned = with_signature("other=()", B25_SIGNATURE);
        owned.push(("Signature-Input", B25_INPUT.as_bytes().to_vec()));
        owned
    };
    let headers = borrowed(&owned);
    let verified = verify(&request(&headers), &b25_policy(), &keys(), CREATED).expect("verifies");
    assert_eq!(verified.label, "sig-b25");
}

#[test]
fn the_default_policy_wants_the_target_covered() {
    let refusal =
        check(B25_INPUT, B25_SIGNATURE, &Policy::default(), CREATED).expect_err("refused");
    assert_eq!(
        refusal,
        Refusal::ComponentsNotCovered {
            missing: vec![
                "@method".to_owned(),
                "@path".to_owned(),
                "@query".to_owned()
            ]
        }
    );
    assert_eq!(refusal.class(), "not_covered");
    assert_eq!(
        refusal.to_string(),
        "required components not covered: @method, @path, @query"
    );
    let policy = Policy {
        required_components: components(&["content-digest"]),
        ..Policy::default()
    };
    assert!(matches!(
        check(B25_INPUT, B25_SIGNATURE, &policy, CREATED),
        Err(Refusal::ComponentsNotCovered { missing }) if missing == ["content-digest"]
    ));

    let full = ["@method", "@target-uri", "content-digest", "content-type"];
    let signed = signed(&full, &params("test-shared-secret"), "sig1");
    let policy = Policy {
        required_components: components(&[
            "@method",
            "@path",
            "@query",
            "@authority",
            "content-digest",
        ]),
        ..Policy::default()
    };
    let verified = check(&signed.signature_input, &signed.signature, &policy, CREATED).expect("ok");
    assert!(verified.covers("content-digest"));
}

#[test]
fn two_signatures_are_told_apart_by_label_and_key() {
    let ours = signed(
        &["@authority", "date"],
        &params("test-shared-secret"),
        "ours",
    );
    let input = format!(
        "proxy=(\"@authority\");created={CREATED};keyid=\"some-proxy\", {}",
        ours.signature_input
    );
    let signature = format!("proxy=:AAAA:, {}", ours.signature);
    // Without a label: the first whose key is known.
    let verified = check(&input, &signature, &b25_policy(), CREATED).expect("ours");
    assert_eq!(verified.label, "ours");
    // With a label: that one, whatever its key.
    let proxy = Policy {
        label: Some("proxy".to_owned()),
        ..b25_policy()
    };
    assert_eq!(
        check(&input, &signature, &proxy, CREATED),
        Err(Refusal::UnknownKey {
            keyid: "some-proxy".to_owned()
        })
    );
    let absent = Policy {
        label: Some("sig9".to_owned()),
        ..b25_policy()
    };
    assert_eq!(
        check(&input, &signature, &absent, CREATED),
        Err(Refusal::Missing {
            reason: "no signature labelled sig9".to_owned()
        })
    );
    // The Signature member must exist for the chosen label.
    assert_eq!(
        check(&input, "proxy=:AAAA:", &b25_policy(), CREATED).map_err(|r| r.class()),
        Err("missing")
    );
    // No known key at all: the refusal is about the first signature.
    let strangers = input.replace("test-shared-secret", "stranger");
    assert_eq!(
        check(&strangers, &signature, &b25_policy(), CREATED),
        Err(Refusal::UnknownKey {
            keyid: "some-proxy".to_owned()
        })
    );
}

#[test]
fn sign_round_trips_every_supported_component() {
    let covered = [
        "@method",
        "@target-uri",
        "@authority",
        "@scheme",
        "@request-target",
        "@path",
        "@query",
        "@query-param;name=\"param\"",
        "content-digest;sf",
        "content-digest;key=\"sha-512\"",
        "content-digest;bs",
        "content-digest",
        "date",
    ];
    let signed = signed(&covered, &params("test-shared-secret"), "sig1");
    let verified = check(
        &signed.signature_input,
        &signed.signature,
        &Policy::default(),
        CREATED,
    )
    .expect("verifies");
    assert_eq!(verified.covered, components(&covered));

    let headers = headers();
    let key = keys()["test-shared-secret"].clone();
    let request = request(&headers);
    let sign_with = |covered: &[&str], label: &str, key: &[u8]| {
        sign(&request, label, &components(covered), &params("k"), key)
    };
    assert_eq!(sign_with(&["date"], "Sig1", &key), Err(SignError::Label));
    assert_eq!(sign_with(&["date"], "sig1", &[]), Err(SignError::EmptyKey));
    assert_eq!(
        sign_with(&["x-absent"], "sig1", &key),
        Err(SignError::Absent {
            component: "x-absent".to_owned()
        })
    );
    assert!(matches!(
        sign_with(&["date", "date"], "sig1", &key),
        Err(SignError::Components { .. })
    ));
    let bad_keyid = SignatureParams {
        keyid: "clé".to_owned(),
        ..params("k")
    };
    assert_eq!(
        sign(&request, "sig1", &components(&["date"]), &bad_keyid, &key),
        Err(SignError::Parameter {
            parameter: "keyid".to_owned()
        })
    );
}
