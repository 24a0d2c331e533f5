//! RFC 9530 digest fields: reading `Content-Digest` and `Want-Content-Digest` from a request,
//! writing `Content-Digest` on a download.
//!
//! Both fields are RFC 8941 dictionaries. The parser here is deliberately small: members are
//! split on commas (digest values are byte sequences, which never hold one), parameters after
//! a value are ignored, and only `sha-256` and `sha-512` are read. Other algorithms are
//! ignored as RFC 9530 §2 allows, but a `sha-256`/`sha-512` member that is not a byte sequence
//! of the right length is an error: a client that sent a digest expects it to be checked.

use axum::http::HeaderMap;
use axum::http::header::HeaderName;
use base64::Engine;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};

/// The request field carrying the digests of the content (RFC 9530 §2).
pub(crate) const CONTENT_DIGEST: HeaderName = HeaderName::from_static("content-digest");
/// The request field asking for digests in the response (RFC 9530 §4).
pub(crate) const WANT_CONTENT_DIGEST: HeaderName = HeaderName::from_static("want-content-digest");

/// RFC 8941 §4.2.7: parsers should not fail on missing `=` padding.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The digests a request declared for its content, to compare once the body has ended.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Declared {
    /// The SHA-256 of the content, when `sha-256` was given.
    pub(crate) sha256: Option<Vec<u8>>,
    /// The SHA-512 of the content, when `sha-512` was given.
    pub(crate) sha512: Option<Vec<u8>>,
}

/// The `Content-Digest` of a request (every field line, joined as RFC 9110 §5.3 says).
///
/// # Errors
/// A message for the 400 answer when a field is not ASCII, a member is malformed, or a
/// `sha-256`/`sha-512` value is not base64 of 32/64 bytes.
pub(crate) fn declared(headers: &HeaderMap) -> Result<Declared, String> {
    let mut declared = Declared::default();
    for value in headers.get_all(CONTENT_DIGEST) {
        let value = value
            .to_str()
            .map_err(|_| "Content-Digest is not ASCII".to_owned())?;
        for (key, rest) in members(value)? {
            let (slot, len) = match key {
                "sha-256" => (&mut declared.sha256, 32),
                "sha-512" => (&mut declared.sha512, 64),
                _ => continue,
            };
            let bytes = byte_sequence(rest)
                .ok_or_else(|| format!("{key} is not a byte sequence (:base64:)"))?;
            if bytes.len() != len {
                return Err(format!("{key} must be {len} bytes, not {}", bytes.len()));
            }
            // RFC 8941 §4.2.2: a repeated key keeps its last value.
            *slot = Some(bytes);
        }
    }
    Ok(declared)
}

/// Whether `Want-Content-Digest` asks for `sha-512` (a weight from 1 to 10). A malformed
/// field is only a preference, so it is ignored rather than refused.
pub(crate) fn wants_sha512(headers: &HeaderMap) -> bool {
    headers
        .get_all(WANT_CONTENT_DIGEST)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| members(v).ok())
        .flatten()
        .filter(|(key, _)| *key == "sha-512")
        .filter_map(|(_, rest)| {
            let weight = rest.split(';').next().unwrap_or_default();
            weight.parse::<u8>().ok()
        })
        .next_back()
        .is_some_and(|w| (1..=10).contains(&w))
}

/// A `Content-Digest` value for the given digests (`sha-512` only when given).
pub(crate) fn field(sha256: &[u8], sha512: Option<&[u8]>) -> String {
    let mut out = format!("sha-256=:{}:", STANDARD.encode(sha256));
    if let Some(sha512) = sha512 {
        out.push_str(&format!(", sha-512=:{}:", STANDARD.encode(sha512)));
    }
    out
}

/// The members of a dictionary field as `(key, text after '=')`; a key without `=` is a
/// boolean `true`, given as an empty text.
fn members(value: &str) -> Result<Vec<(&str, &str)>, String> {
    let value = value.trim_matches([' ', '\t']);
    if value.is_empty() {
        return Ok(Vec::new());
    }
    value
        .split(',')
        .map(|member| {
            let member = member.trim_matches([' ', '\t']);
            let (key, rest) = member.split_once('=').unwrap_or((member, ""));
            let mut chars = key.chars();
            let first_ok = chars
                .next()
                .is_some_and(|c| c.is_ascii_lowercase() || c == '*');
            let rest_ok = chars.all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '.' | '*')
            });
            if first_ok && rest_ok {
                Ok((key, rest))
            } else {
                Err(format!("malformed dictionary member {member:?}"))
            }
        })
        .collect()
}

/// The bytes of an RFC 8941 byte sequence (`:base64:`, optionally followed by parameters).
fn byte_sequence(text: &str) -> Option<Vec<u8>> {
    let inner = text.strip_prefix(':')?;
    let (b64, after) = inner.split_once(':')?;
    if !(after.is_empty() || after.starts_with(';')) {
        return None;
    }
    LENIENT.decode(b64).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use axum::http::HeaderValue;
    use sha2::{Digest, Sha256, Sha512};

    fn headers(name: HeaderName, values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(name.clone(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn reads_both_algorithms_and_ignores_others() {
        let s256 = Sha256::digest(b"hello").to_vec();
        let s512 = Sha512::digest(b"hello").to_vec();
        let value = format!(
            "md5=:AAAA:, sha-256=:{}:;p=1, sha-512=:{}:",
            STANDARD.encode(&s256),
            STANDARD.encode(&s512)
        );
        let d = declared(&headers(CONTENT_DIGEST, &[&value])).unwrap();
        assert_eq!(d.sha256, Some(s256));
        assert_eq!(d.sha512, Some(s512));
    }

    #[test]
    fn joins_field_lines_and_accepts_missing_padding() {
        let s256 = Sha256::digest(b"x").to_vec();
        let unpadded = STANDARD.encode(&s256).trim_end_matches('=').to_owned();
        let d = declared(&headers(
            CONTENT_DIGEST,
            &["unixsum=:AA==:", &format!("sha-256=:{unpadded}:")],
        ))
        .unwrap();
        assert_eq!(d.sha256, Some(s256));
        assert_eq!(d.sha512, None);
    }

    #[test]
    fn refuses_malformed_values() {
        for bad in [
            "sha-256=abc",
            "sha-256=:AAAA:",
            "sha-256=:not base64!:",
            "SHA-256=:AAAA:",
            "sha-256=:AA==:x",
            "sha-256=:AA==:,",
        ] {
            assert!(
                declared(&headers(CONTENT_DIGEST, &[bad])).is_err(),
                "{bad} accepted"
            );
        }
        assert_eq!(
            declared(&HeaderMap::new()).unwrap(),
            Declared::default(),
            "no field, nothing declared"
        );
    }

    #[test]
    fn want_sha512_needs_a_positive_weight() {
        assert!(wants_sha512(&headers(
            WANT_CONTENT_DIGEST,
            &["sha-256=10, sha-512=3"]
        )));
        assert!(!wants_sha512(&headers(WANT_CONTENT_DIGEST, &["sha-512=0"])));
        assert!(!wants_sha512(&headers(WANT_CONTENT_DIGEST, &["sha-256=1"])));
        assert!(!wants_sha512(&headers(WANT_CONTENT_DIGEST, &["sha-512=x"])));
        assert!(!wants_sha512(&HeaderMap::new()));
    }

    #[test]
    fn field_round_trips() {
        let s256 = Sha256::digest(b"doc").to_vec();
        let s512 = Sha512::digest(b"doc").to_vec();
        let value = field(&s256, Some(&s512));
        let d = declared(&headers(CONTENT_DIGEST, &[&value])).unwrap();
        assert_eq!((d.sha256, d.sha512), (Some(s256.clone()), Some(s512)));
        assert!(!field(&s256, None).contains("sha-512"));
    }
}
