//! `Content-Digest` / `Repr-Digest`: parsing and serialising the dictionary.

use sfv::{DictSerializer, KeyRef, ListEntry};

use super::algorithm::{Algorithm, Digest};

/// Why a `Content-Digest` or `Repr-Digest` value was refused.
///
/// No variant carries a digest value or a piece of the field: the error may be
/// logged or sent back, and only structure and supported algorithm names are safe
/// to repeat.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DigestFieldError {
    /// Not a Structured Field Dictionary (RFC 9651 §4.2.2).
    #[error("not a structured field dictionary: {reason}")]
    Syntax {
        /// What the parser expected, with the byte index if it has one.
        reason: String,
        /// Byte index into the value where parsing failed, if known.
        position: Option<usize>,
    },
    /// The field is present but has no member at all.
    #[error("empty digest field")]
    Empty,
    /// Every member names an algorithm that is not supported; per RFC 9530 §5
    /// they are ignored, which leaves nothing to verify.
    #[error(
        "no supported digest algorithm (supported: sha-256, sha-512; {ignored} other member(s) ignored)"
    )]
    NoSupportedAlgorithm {
        /// How many members were ignored.
        ignored: usize,
    },
    /// A supported algorithm's value is not a byte sequence (`:base64:`).
    #[error("{algorithm} value is not a byte sequence")]
    NotByteSequence {
        /// The algorithm whose member is malformed.
        algorithm: Algorithm,
    },
    /// A supported algorithm's byte sequence has the wrong length, so it cannot be
    /// that algorithm's output.
    #[error("{algorithm} value is {len} bytes long, expected {expected}")]
    WrongLength {
        /// The algorithm whose member is malformed.
        algorithm: Algorithm,
        /// Decoded length.
        len: usize,
        /// [`Algorithm::output_len`].
        expected: usize,
    },
}

/// Parses a `Content-Digest` or `Repr-Digest` field value (RFC 9530 §2, §3) into
/// the digests it gives in supported algorithms, in field order.
///
/// Members naming other algorithms are skipped whatever their value (RFC 9530 §5:
/// a recipient ignores algorithms it does not support); a supported algorithm's
/// member must be a byte sequence of that algorithm's length. A key given twice
/// keeps its last value (RFC 9651 §4.2.2), so each algorithm appears at most
/// once. On success the list is never empty; a field without any supported
/// algorithm is [`DigestFieldError::NoSupportedAlgorithm`], so that the caller can
/// answer with `Want-Content-Digest` instead of treating the body as verified.
///
/// All returned digests should be checked ([`StreamDigest::verify`] does): a
/// sender that bothered to send two is owed a check of both, and checking only the
/// "strongest" would let a wrong value in the other one pass unnoticed.
///
/// [`StreamDigest::verify`]: crate::StreamDigest::verify
///
/// # Errors
/// [`DigestFieldError`] for malformed syntax, malformed supported members, an
/// empty field or a field with no supported algorithm.
pub fn parse_digest_field(
    value: &(impl AsRef<[u8]> + ?Sized),
) -> Result<Vec<Digest>, DigestFieldError> {
    let dictionary: sfv::Dictionary = sfv::Parser::new(value).parse().map_err(syntax)?;
    if dictionary.is_empty() {
        return Err(DigestFieldError::Empty);
    }
    let mut digests = Vec::with_capacity(Algorithm::ALL.len());
    let mut ignored = 0;
    for (key, entry) in &dictionary {
        let Some(algorithm) = Algorithm::from_name(key.as_str()) else {
            ignored += 1;
            continue;
        };
        // Parameters on the item are not defined by RFC 9530 and are ignored.
        let bytes = match entry {
            ListEntry::Item(item) => item.bare_item.as_byte_sequence(),
            ListEntry::InnerList(_) => None,
        }
        .ok_or(DigestFieldError::NotByteSequence { algorithm })?;
        let digest = Digest::new(algorithm, bytes).ok_or(DigestFieldError::WrongLength {
            algorithm,
            len: bytes.len(),
            expected: algorithm.output_len(),
        })?;
        digests.push(digest);
    }
    if digests.is_empty() {
        return Err(DigestFieldError::NoSupportedAlgorithm { ignored });
    }
    Ok(digests)
}

/// Serialises digests as a `Content-Digest` / `Repr-Digest` value, e.g.
/// `sha-256=:X48E…BPE=:, sha-512=:WZDP…ew==:`.
///
/// An algorithm given twice is written once, with its first value (a dictionary
/// cannot hold both). `None` for an empty slice: an empty dictionary must not be
/// sent at all (RFC 9651 §4.1).
#[must_use]
pub fn format_digest_field(digests: &[Digest]) -> Option<String> {
    let mut serializer = DictSerializer::new();
    let mut written: Vec<Algorithm> = Vec::with_capacity(Algorithm::ALL.len());
    for digest in digests {
        if written.contains(&digest.algorithm()) {
            continue;
        }
        written.push(digest.algorithm());
        serializer.bare_item(key(digest.algorithm()), digest.value());
    }
    serializer.finish()
}

/// One dictionary member, `sha-256=:…:` (what `Display` for [`Digest`] writes).
pub(crate) fn member(digest: &Digest) -> String {
    let mut buffer = String::new();
    DictSerializer::with_buffer(&mut buffer).bare_item(key(digest.algorithm()), digest.value());
    buffer
}

/// The dictionary key of a supported algorithm.
pub(crate) fn key(algorithm: Algorithm) -> &'static KeyRef {
    // Checked at compile time (`key_ref` is const), so no runtime failure path.
    const SHA256: &KeyRef = sfv::key_ref("sha-256");
    const SHA512: &KeyRef = sfv::key_ref("sha-512");
    match algorithm {
        Algorithm::Sha256 => SHA256,
        Algorithm::Sha512 => SHA512,
    }
}

/// The parser's message is kept (it names the expected token and a byte index,
/// never input text), with the index separately for callers that want it.
fn syntax(error: sfv::Error) -> DigestFieldError {
    DigestFieldError::Syntax {
        reason: error.to_string(),
        position: error.index(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 9530 §2 / Appendix D: the body `{"hello": "world"}` (no newline).
    const BODY: &[u8] = br#"{"hello": "world"}"#;
    const SHA256: &str = "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:";
    const SHA512: &str = "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:";

    #[test]
    fn rfc_9530_examples_parse_to_the_hash_of_the_body() {
        let digests = parse_digest_field(SHA256).expect("sha-256");
        assert_eq!(digests, [Algorithm::Sha256.digest(BODY)]);
        let digests = parse_digest_field(SHA512).expect("sha-512");
        assert_eq!(digests, [Algorithm::Sha512.digest(BODY)]);
        assert_eq!(Algorithm::Sha256.digest(BODY).to_string(), SHA256);
        assert_eq!(Algorithm::Sha512.digest(BODY).to_string(), SHA512);
    }

    #[test]
    fn several_members_keep_field_order_and_unknown_ones_are_skipped() {
        let value = format!("{SHA512}, unixsum=30637, md5=:AAAAAAAAAAAAAAAAAAAAAA==:,{SHA256}");
        let digests = parse_digest_field(&value).expect("parses");
        assert_eq!(
            digests,
            [
                Algorithm::Sha512.digest(BODY),
                Algorithm::Sha256.digest(BODY)
            ]
        );
        // An unknown algorithm may have any value, even an inner list.
        let value = format!("crc32c=(1 2);x, {SHA256}");
        assert_eq!(parse_digest_field(&value).expect("parses").len(), 1);
    }

    #[test]
    fn a_duplicate_key_keeps_its_last_value() {
        let zeros = format!("sha-256=:{}:", "A".repeat(43) + "=");
        let value = format!("{zeros}, {SHA256}");
        assert_eq!(
            parse_digest_field(&value).expect("parses"),
            [Algorithm::Sha256.digest(BODY)]
        );
        let value = format!("{SHA256}, {zeros}");
        assert_eq!(
            parse_digest_field(&value).expect("parses")[0].value(),
            [0; 32]
        );
    }

    #[test]
    fn no_supported_algorithm_is_its_own_error() {
        let error = parse_digest_field("md5=:AAAAAAAAAAAAAAAAAAAAAA==:, unixsum=30637")
            .expect_err("nothing supported");
        assert_eq!(error, DigestFieldError::NoSupportedAlgorithm { ignored: 2 });
        assert_eq!(
            error.to_string(),
            "no supported digest algorithm (supported: sha-256, sha-512; 2 other member(s) ignored)"
        );
        assert_eq!(
            parse_digest_field("").expect_err("empty"),
            DigestFieldError::Empty
        );
        assert_eq!(
            parse_digest_field("   ").expect_err("blank"),
            DigestFieldError::Empty
        );
    }

    #[test]
    fn malformed_syntax_is_refused_with_a_position() {
        for value in [
            "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=",
            "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:,",
            "SHA-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:",
            "sha-256=:not base64!:",
            "sha-256 :AAAA:",
        ] {
            let error = parse_digest_field(value).expect_err(value);
            assert!(
                matches!(
                    error,
                    DigestFieldError::Syntax {
                        position: Some(_),
                        ..
                    }
                ),
                "{value}: {error:?}"
            );
        }
        let error = parse_digest_field("sha-256=:AA==:,").expect_err("trailing comma");
        assert_eq!(
            error.to_string(),
            "not a structured field dictionary: trailing comma at index 14"
        );
        assert!(parse_digest_field(b"sha-256=:\xff:".as_slice()).is_err());
    }

    #[test]
    fn a_supported_member_of_the_wrong_shape_is_refused() {
        let error = parse_digest_field("sha-256=:AAAA:").expect_err("3 bytes");
        assert_eq!(
            error,
            DigestFieldError::WrongLength {
                algorithm: Algorithm::Sha256,
                len: 3,
                expected: 32
            }
        );
        assert_eq!(
            error.to_string(),
            "sha-256 value is 3 bytes long, expected 32"
        );
        let value = format!("sha-512=:{}:", "A".repeat(43) + "=");
        assert!(matches!(
            parse_digest_field(&value),
            Err(DigestFieldError::WrongLength {
                algorithm: Algorithm::Sha512,
                len: 32,
                expected: 64
            })
        ));
        for value in [
            "sha-256=1",
            "sha-256",
            "sha-256=(:AAAA:)",
            "sha-256=\"X48E\"",
        ] {
            let error = parse_digest_field(value).expect_err(value);
            assert_eq!(
                error,
                DigestFieldError::NotByteSequence {
                    algorithm: Algorithm::Sha256
                },
                "{value}"
            );
        }
        assert_eq!(
            DigestFieldError::NotByteSequence {
                algorithm: Algorithm::Sha512
            }
            .to_string(),
            "sha-512 value is not a byte sequence"
        );
    }

    #[test]
    fn format_writes_a_dictionary_that_parses_back() {
        let both = [
            Algorithm::Sha256.digest(BODY),
            Algorithm::Sha512.digest(BODY),
        ];
        let value = format_digest_field(&both).expect("non-empty");
        assert_eq!(value, format!("{SHA256}, {SHA512}"));
        assert_eq!(parse_digest_field(&value).expect("round trip"), both);
        let twice = [both[0].clone(), Algorithm::Sha256.digest(b"other")];
        assert_eq!(format_digest_field(&twice).as_deref(), Some(SHA256));
        assert_eq!(format_digest_field(&[]), None);
    }
}
