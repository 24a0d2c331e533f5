//! `Want-Content-Digest` / `Want-Repr-Digest`: which algorithm the peer asks for.

use sfv::{DictSerializer, ListEntry};

use super::algorithm::Algorithm;
use super::fields::key;

/// Highest preference RFC 9530 §4 allows.
const MAX_PREFERENCE: u8 = 10;

/// Why a `Want-Content-Digest` or `Want-Repr-Digest` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WantDigestError {
    /// Not a Structured Field Dictionary (RFC 9651 §4.2.2).
    #[error("not a structured field dictionary: {reason}")]
    Syntax {
        /// What the parser expected, with the byte index if it has one.
        reason: String,
        /// Byte index into the value where parsing failed, if known.
        position: Option<usize>,
    },
    /// A supported algorithm's preference is not an Integer from 0 to 10.
    #[error("{algorithm} preference is not an integer from 0 to 10")]
    BadPreference {
        /// The algorithm whose member is malformed.
        algorithm: Algorithm,
    },
}

/// The preferences of a `Want-Content-Digest` / `Want-Repr-Digest` field for the
/// supported algorithms (RFC 9530 §4): 1 (least) to 10 (most preferred), 0 for
/// "not acceptable".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WantDigest {
    /// At most one entry per algorithm, in field order.
    preferences: Vec<(Algorithm, u8)>,
}

impl WantDigest {
    /// Parses a field value. Members naming unsupported algorithms are ignored
    /// whatever their value (RFC 9530 §5); a supported algorithm's member must be
    /// an Integer from 0 to 10. A key given twice keeps its last value
    /// (RFC 9651 §4.2.2). An empty value means no preference at all.
    ///
    /// # Errors
    /// [`WantDigestError`] for malformed syntax or a bad preference of a
    /// supported algorithm.
    pub fn parse(value: &(impl AsRef<[u8]> + ?Sized)) -> Result<Self, WantDigestError> {
        let dictionary: sfv::Dictionary =
            sfv::Parser::new(value)
                .parse()
                .map_err(|error: sfv::Error| WantDigestError::Syntax {
                    reason: error.to_string(),
                    position: error.index(),
                })?;
        let mut preferences = Vec::with_capacity(Algorithm::ALL.len());
        for (key, entry) in &dictionary {
            let Some(algorithm) = Algorithm::from_name(key.as_str()) else {
                continue;
            };
            let preference = match entry {
                ListEntry::Item(item) => item.bare_item.as_integer(),
                ListEntry::InnerList(_) => None,
            }
            .and_then(|integer| u8::try_from(i64::from(integer)).ok())
            .filter(|preference| *preference <= MAX_PREFERENCE)
            .ok_or(WantDigestError::BadPreference { algorithm })?;
            preferences.push((algorithm, preference));
        }
        Ok(Self { preferences })
    }

    /// Preferences to send, e.g. in a response refusing a body whose digest used no
    /// supported algorithm. An algorithm given twice keeps its first preference.
    ///
    /// # Errors
    /// [`WantDigestError::BadPreference`] for a preference above 10.
    pub fn new(
        preferences: impl IntoIterator<Item = (Algorithm, u8)>,
    ) -> Result<Self, WantDigestError> {
        let mut kept: Vec<(Algorithm, u8)> = Vec::with_capacity(Algorithm::ALL.len());
        for (algorithm, preference) in preferences {
            if preference > MAX_PREFERENCE {
                return Err(WantDigestError::BadPreference { algorithm });
            }
            if kept.iter().all(|(seen, _)| *seen != algorithm) {
                kept.push((algorithm, preference));
            }
        }
        Ok(Self { preferences: kept })
    }

    /// The preference given to `algorithm`, if the field names it.
    #[must_use]
    pub fn preference(&self, algorithm: Algorithm) -> Option<u8> {
        self.preferences
            .iter()
            .find(|(named, _)| *named == algorithm)
            .map(|(_, preference)| *preference)
    }

    /// The algorithm to answer with: the supported one with the highest non-zero
    /// preference, or `None` if none is acceptable (then no digest is sent).
    ///
    /// Ties go to `sha-256`: both algorithms are equally fit for integrity, and
    /// `sha-256` is the one the gateway computes anyway for its audit trail, so
    /// the value can be reused instead of hashing the body twice.
    #[must_use]
    pub fn choose(&self) -> Option<Algorithm> {
        let mut best: Option<(Algorithm, u8)> = None;
        // `Algorithm::ALL` is in tie-break order and only a strictly higher
        // preference replaces the current best.
        for algorithm in Algorithm::ALL {
            match self.preference(algorithm) {
                Some(preference)
                    if preference > 0 && best.is_none_or(|(_, top)| preference > top) =>
                {
                    best = Some((algorithm, preference));
                }
                _ => {}
            }
        }
        best.map(|(algorithm, _)| algorithm)
    }

    /// The field value, e.g. `sha-256=10, sha-512=3`; `None` when there are no
    /// preferences (an empty dictionary must not be sent, RFC 9651 §4.1).
    #[must_use]
    pub fn to_field_value(&self) -> Option<String> {
        let mut serializer = DictSerializer::new();
        for (algorithm, preference) in &self.preferences {
            serializer.bare_item(key(*algorithm), sfv::Integer::from(*preference));
        }
        serializer.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choose(value: &str) -> Option<Algorithm> {
        WantDigest::parse(value).expect(value).choose()
    }

    #[test]
    fn rfc_9530_examples() {
        // RFC 9530 §4 and Appendix C.
        assert_eq!(choose("sha-256=1"), Some(Algorithm::Sha256));
        assert_eq!(
            choose("sha-512=3, sha-256=10, unixsum=0"),
            Some(Algorithm::Sha256)
        );
        assert_eq!(choose("sha-512=10, sha-256=3"), Some(Algorithm::Sha512));
        let want = WantDigest::parse("sha-512=3, sha-256=10, unixsum=0").expect("parses");
        assert_eq!(want.preference(Algorithm::Sha512), Some(3));
        assert_eq!(want.preference(Algorithm::Sha256), Some(10));
    }

    #[test]
    fn ties_go_to_sha_256_and_zero_means_not_acceptable() {
        assert_eq!(choose("sha-512=5, sha-256=5"), Some(Algorithm::Sha256));
        assert_eq!(choose("sha-256=0, sha-512=1"), Some(Algorithm::Sha512));
        assert_eq!(choose("sha-256=0, sha-512=0"), None);
        assert_eq!(choose("md5=10, unixsum=9"), None);
        assert_eq!(choose(""), None);
        // Last value wins for a repeated key.
        assert_eq!(
            choose("sha-256=9, sha-512=5, sha-256=0"),
            Some(Algorithm::Sha512)
        );
    }

    #[test]
    fn unsupported_members_are_ignored_whatever_their_value() {
        assert_eq!(
            choose("md5=99, crc32c=(a b), adler=?1, sha-512=2"),
            Some(Algorithm::Sha512)
        );
    }

    #[test]
    fn bad_preferences_of_supported_algorithms_are_refused() {
        for value in [
            "sha-256=11",
            "sha-256=-1",
            "sha-256=1.5",
            "sha-256",
            "sha-256=(1)",
            "sha-256=a",
        ] {
            let error = WantDigest::parse(value).expect_err(value);
            assert_eq!(
                error,
                WantDigestError::BadPreference {
                    algorithm: Algorithm::Sha256
                },
                "{value}"
            );
        }
        assert_eq!(
            WantDigest::parse("sha-512=1000")
                .expect_err("too high")
                .to_string(),
            "sha-512 preference is not an integer from 0 to 10"
        );
    }

    #[test]
    fn malformed_syntax_is_refused() {
        let error = WantDigest::parse("sha-256=1,").expect_err("trailing comma");
        assert_eq!(
            error,
            WantDigestError::Syntax {
                reason: "trailing comma at index 9".to_owned(),
                position: Some(9)
            }
        );
        assert_eq!(
            error.to_string(),
            "not a structured field dictionary: trailing comma at index 9"
        );
        assert!(WantDigest::parse("sha-256=1;;").is_err());
    }

    #[test]
    fn new_and_to_field_value_round_trip() {
        let want = WantDigest::new([
            (Algorithm::Sha256, 10),
            (Algorithm::Sha512, 3),
            (Algorithm::Sha256, 1),
        ])
        .expect("valid");
        let value = want.to_field_value().expect("non-empty");
        assert_eq!(value, "sha-256=10, sha-512=3");
        assert_eq!(WantDigest::parse(&value).expect("round trip"), want);
        assert_eq!(WantDigest::default().to_field_value(), None);
        assert_eq!(
            WantDigest::new([(Algorithm::Sha512, 11)]),
            Err(WantDigestError::BadPreference {
                algorithm: Algorithm::Sha512
            })
        );
    }
}
