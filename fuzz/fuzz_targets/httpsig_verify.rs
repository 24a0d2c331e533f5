//! RFC 9421 verification on arbitrary header values: must never panic, refusals
//! must render without the key, and whatever `sign` accepts must verify.
//!
//! The input is split at `\n` into `Signature-Input`, `Signature`, a value for
//! the `x-extra` and `content-digest` fields, and the query.
#![no_main]

use httpsig::{Component, Policy, RequestParts, SignatureParams, sign, verify};
use libfuzzer_sys::fuzz_target;

const KEY: &[u8] = b"fuzz key: 32 bytes, not a secret";
const NOW: i64 = 1_618_884_473;

/// Component lists to sign with, each of which only some values allow.
const COVERED: &[&[&str]] = &[
    &["@method", "@target-uri", "x-extra"],
    &["x-extra;bs", "@request-target"],
    &["x-extra;key=\"a\"", "@authority"],
    &["@query-param;name=\"a\"", "@query", "@scheme", "@path"],
    &["content-digest;sf", "content-digest;key=\"sha-256\""],
];

fn request<'a>(headers: &'a [(&'a str, &'a [u8])], query: Option<&'a str>) -> RequestParts<'a> {
    RequestParts {
        method: "POST",
        scheme: "https",
        authority: "Example.com:443",
        path: "/seal",
        query,
        headers,
    }
}

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(4, |&byte| byte == b'\n');
    let input = parts.next().unwrap_or_default();
    let signature = parts.next().unwrap_or_default();
    let extra = parts.next().unwrap_or_default();
    let query = parts
        .next()
        .and_then(|query| std::str::from_utf8(query).ok());

    let keys = std::collections::HashMap::from([("k".to_owned(), KEY.to_vec())]);
    let lenient = Policy {
        required_components: Vec::new(),
        require_created: false,
        max_age: None,
        ..Policy::default()
    };
    let mut headers: Vec<(&str, &[u8])> = vec![
        ("x-extra", extra),
        ("content-digest", extra),
        ("signature-input", input),
        ("signature", signature),
    ];

    // Arbitrary signature fields.
    for policy in [&lenient, &Policy::default()] {
        if let Err(refusal) = verify(&request(&headers, query), policy, &keys, NOW) {
            assert!(!refusal.class().is_empty());
            let rendered = format!("{refusal} {refusal:?}");
            assert!(!rendered.contains("fuzz key"), "{rendered}");
        }
    }

    // The signature fields as identifiers: what parses survives a round trip.
    for text in [input, signature] {
        if let Ok(component) = std::str::from_utf8(text).unwrap_or("").parse::<Component>() {
            let again: Component = component.to_string().parse().expect("Display parses");
            assert_eq!(again, component);
            let quoted: Component = component.identifier().parse().expect("quoted parses");
            assert_eq!(quoted, component);
        }
    }

    // Whatever can be signed verifies, with the same covered list.
    headers.truncate(2);
    let params = SignatureParams {
        created: Some(NOW),
        keyid: "k".to_owned(),
        // A nonce the serialiser accepts (printable ASCII), when there is one.
        nonce: std::str::from_utf8(input)
            .ok()
            .filter(|nonce| nonce.bytes().all(|byte| (b' '..=b'~').contains(&byte)))
            .map(str::to_owned),
        ..SignatureParams::default()
    };
    for covered in COVERED {
        let covered: Vec<Component> = covered
            .iter()
            .map(|text| text.parse().expect("valid identifier"))
            .collect();
        let Ok(signed) = sign(&request(&headers, query), "sig1", &covered, &params, KEY) else {
            continue;
        };
        let mut with: Vec<(&str, &[u8])> = headers.clone();
        with.push(("signature-input", signed.signature_input.as_bytes()));
        with.push(("signature", signed.signature.as_bytes()));
        let verified = verify(&request(&with, query), &lenient, &keys, NOW).expect("own signature");
        assert_eq!(verified.covered, covered);
        assert_eq!(verified.nonce, params.nonce);
    }
});
