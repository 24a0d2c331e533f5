//! The RFC 9421 §B.2 test request and key, and shortcuts to sign and verify it.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use httpsig::{
    Component, Policy, Refusal, RequestParts, SignatureParams, Signed, Verified, sign, verify,
};

/// RFC 9421 §B.1.5 `test-shared-secret`.
pub(crate) const SHARED_SECRET: &str =
    "uzvJfB4u3N0Jy4T7NZ75MDVcr8zSTInedJtkgcu46YW4XByzNJjxBdtjUkdJPBtbmHhIDi6pcl8jsasjlTMtDQ==";
/// RFC 9421 §B.2.5, as published.
pub(crate) const B25_INPUT: &str = "sig-b25=(\"date\" \"@authority\" \"content-type\");created=1618884473;keyid=\"test-shared-secret\"";
pub(crate) const B25_SIGNATURE: &str = "sig-b25=:pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=:";
pub(crate) const CREATED: i64 = 1_618_884_473;
pub(crate) const CONTENT_DIGEST: &[u8] = b"sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:";

pub(crate) fn keys() -> HashMap<String, Vec<u8>> {
    let secret = STANDARD.decode(SHARED_SECRET).expect("base64");
    HashMap::from([
        ("test-shared-secret".to_owned(), secret),
        (
            "other-client".to_owned(),
            b"another secret, 32 bytes long...".to_vec(),
        ),
    ])
}

/// The RFC 9421 §B.2 test request, without a signature.
pub(crate) fn headers() -> Vec<(&'static str, &'static [u8])> {
    vec![
        ("host", b"example.com"),
        ("date", b"Tue, 20 Apr 2021 02:07:55 GMT"),
        ("content-type", b"application/json"),
        ("content-digest", CONTENT_DIGEST),
        ("content-length", b"18"),
    ]
}

pub(crate) fn request<'a>(headers: &'a [(&'a str, &'a [u8])]) -> RequestParts<'a> {
    RequestParts {
        method: "POST",
        scheme: "https",
        authority: "example.com",
        path: "/foo",
        query: Some("param=Value&Pet=dog"),
        headers,
    }
}

pub(crate) fn with_signature(input: &str, signature: &str) -> Vec<(&'static str, Vec<u8>)> {
    let mut all: Vec<(&str, Vec<u8>)> = headers()
        .into_iter()
        .map(|(name, value)| (name, value.to_vec()))
        .collect();
    all.push(("signature-input", input.as_bytes().to_vec()));
    all.push(("signature", signature.as_bytes().to_vec()));
    all
}

pub(crate) fn borrowed<'a>(owned: &'a [(&'a str, Vec<u8>)]) -> Vec<(&'a str, &'a [u8])> {
    owned
        .iter()
        .map(|(name, value)| (*name, value.as_slice()))
        .collect()
}

pub(crate) fn components(list: &[&str]) -> Vec<Component> {
    list.iter().map(|text| text.parse().expect(text)).collect()
}

/// A policy the B.2.5 signature satisfies when checked at its `created` time.
pub(crate) fn b25_policy() -> Policy {
    Policy {
        required_components: components(&["@authority", "date"]),
        ..Policy::default()
    }
}

/// Runs `verify` on the test request plus the given signature fields.
pub(crate) fn check(
    input: &str,
    signature: &str,
    policy: &Policy,
    now: i64,
) -> Result<Verified, Refusal> {
    let owned = with_signature(input, signature);
    let headers = borrowed(&owned);
    verify(&request(&headers), policy, &keys(), now)
}

pub(crate) fn params(keyid: &str) -> SignatureParams {
    SignatureParams {
        created: Some(CREATED),
        keyid: keyid.to_owned(),
        ..SignatureParams::default()
    }
}

/// Signs the test request and returns the two field values.
pub(crate) fn signed(covered: &[&str], params: &SignatureParams, label: &str) -> Signed {
    let headers = headers();
    let key = keys()["test-shared-secret"].clone();
    sign(
        &request(&headers),
        label,
        &components(covered),
        params,
        &key,
    )
    .expect("sign")
}
