//! Hashing a body as it streams through, and checking it against the field.

use sha2::Digest as _;
use subtle::ConstantTimeEq;

use super::algorithm::{Algorithm, Digest};

/// Why a body does not match the digests its sender gave.
///
/// Deliberately names only the algorithm: echoing the expected or computed value
/// would hand a prober the correct digest of whatever it sent, and leak the
/// digest of a body that may be confidential into logs and responses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Mismatch {
    /// The body's digest differs from the one given.
    #[error("{algorithm} digest of the content does not match")]
    Differs {
        /// The algorithm whose values differ.
        algorithm: Algorithm,
    },
    /// A digest was given in an algorithm the [`StreamDigest`] was not computing:
    /// a caller error (build it with [`StreamDigest::for_expected`]), refused so
    /// that it cannot pass as verified.
    #[error("{algorithm} digest was given but not computed")]
    NotComputed {
        /// The algorithm that was not computed.
        algorithm: Algorithm,
    },
    /// No digest was given, so nothing was verified; refused rather than
    /// vacuously accepted.
    #[error("no digest to verify")]
    NothingToVerify,
}

/// One running hash.
#[derive(Clone)]
enum Hasher {
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
}

impl Hasher {
    fn new(algorithm: Algorithm) -> Self {
        match algorithm {
            Algorithm::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            Algorithm::Sha512 => Hasher::Sha512(sha2::Sha512::new()),
        }
    }

    fn algorithm(&self) -> Algorithm {
        match self {
            Hasher::Sha256(_) => Algorithm::Sha256,
            Hasher::Sha512(_) => Algorithm::Sha512,
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Sha256(hasher) => hasher.update(bytes),
            Hasher::Sha512(hasher) => hasher.update(bytes),
        }
    }

    fn finish(self) -> Vec<u8> {
        match self {
            Hasher::Sha256(hasher) => hasher.finalize().to_vec(),
            Hasher::Sha512(hasher) => hasher.finalize().to_vec(),
        }
    }
}

/// Hashes a body for one or more algorithms as its chunks are fed, so that a
/// streamed upload or download is never buffered just to check or compute its
/// digest.
///
/// ```
/// use integrity::{Algorithm, StreamDigest, parse_digest_field};
///
/// let expected = parse_digest_field("sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:")?;
/// let mut stream = StreamDigest::for_expected(&expected);
/// stream.update(br#"{"hello": "#);
/// stream.update(br#""world"}"#);
/// stream.verify(&expected)?;
/// assert_eq!(stream.bytes(), 18);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct StreamDigest {
    hashers: Vec<Hasher>,
    bytes: u64,
}

impl std::fmt::Debug for StreamDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let algorithms: Vec<Algorithm> = self.algorithms().collect();
        f.debug_struct("StreamDigest")
            .field("algorithms", &algorithms)
            .field("bytes", &self.bytes)
            .finish()
    }
}

impl StreamDigest {
    /// Hashes with each of `algorithms` (a repeated one is hashed once).
    #[must_use]
    pub fn new(algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        let mut hashers: Vec<Hasher> = Vec::with_capacity(Algorithm::ALL.len());
        for algorithm in algorithms {
            if hashers.iter().all(|hasher| hasher.algorithm() != algorithm) {
                hashers.push(Hasher::new(algorithm));
            }
        }
        Self { hashers, bytes: 0 }
    }

    /// Hashes with every algorithm of `expected`, i.e. what is needed to
    /// [`verify`](Self::verify) them all.
    #[must_use]
    pub fn for_expected(expected: &[Digest]) -> Self {
        Self::new(expected.iter().map(Digest::algorithm))
    }

    /// The algorithms being computed, in the order given.
    pub fn algorithms(&self) -> impl Iterator<Item = Algorithm> + '_ {
        self.hashers.iter().map(Hasher::algorithm)
    }

    /// Feeds the next chunk of the body.
    pub fn update(&mut self, bytes: &[u8]) {
        for hasher in &mut self.hashers {
            hasher.update(bytes);
        }
        // usize → u64 never truncates on supported targets; saturating keeps the
        // count meaningful instead of panicking on an absurd body.
        let len = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        self.bytes = self.bytes.saturating_add(len);
    }

    /// How many bytes have been fed so far.
    #[must_use]
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The digests of everything fed, one per algorithm, in the order given.
    #[must_use]
    pub fn finish(self) -> Vec<Digest> {
        self.hashers
            .into_iter()
            .filter_map(|hasher| {
                let algorithm = hasher.algorithm();
                Digest::new(algorithm, hasher.finish())
            })
            .collect()
    }

    /// Checks everything fed so far against **every** digest in `expected`, in
    /// constant time per value. The stream is left as it was, so the caller can
    /// still [`finish`](Self::finish) it to record the digests.
    ///
    /// # Errors
    /// [`Mismatch`] naming the first algorithm whose value differs (or was not
    /// computed), or [`Mismatch::NothingToVerify`] if `expected` is empty.
    pub fn verify(&self, expected: &[Digest]) -> Result<(), Mismatch> {
        if expected.is_empty() {
            return Err(Mismatch::NothingToVerify);
        }
        for digest in expected {
            let algorithm = digest.algorithm();
            let hasher = self
                .hashers
                .iter()
                .find(|hasher| hasher.algorithm() == algorithm)
                .ok_or(Mismatch::NotComputed { algorithm })?;
            // Finalising a clone keeps `self` usable for more input or `finish`.
            let computed = hasher.clone().finish();
            if !bool::from(computed.as_slice().ct_eq(digest.value())) {
                return Err(Mismatch::Differs { algorithm });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"hello": "world"}"#;

    fn fed_in_pieces(algorithms: &[Algorithm]) -> StreamDigest {
        let mut stream = StreamDigest::new(algorithms.iter().copied());
        for chunk in BODY.chunks(5) {
            stream.update(chunk);
        }
        stream
    }

    #[test]
    fn chunked_hashing_equals_one_shot_hashing() {
        let stream = fed_in_pieces(&[Algorithm::Sha512, Algorithm::Sha256, Algorithm::Sha512]);
        assert_eq!(stream.bytes(), 18);
        assert_eq!(
            stream.algorithms().collect::<Vec<_>>(),
            [Algorithm::Sha512, Algorithm::Sha256]
        );
        assert_eq!(
            stream.finish(),
            [
                Algorithm::Sha512.digest(BODY),
                Algorithm::Sha256.digest(BODY)
            ]
        );
        let empty = StreamDigest::new([Algorithm::Sha256]).finish();
        assert_eq!(
            empty[0].to_string(),
            "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"
        );
    }

    #[test]
    fn verify_checks_every_expected_digest() {
        let expected = [
            Algorithm::Sha256.digest(BODY),
            Algorithm::Sha512.digest(BODY),
        ];
        let stream = fed_in_pieces(&[Algorithm::Sha256, Algorithm::Sha512]);
        assert_eq!(stream.verify(&expected), Ok(()));
        // Verifying does not consume: the values can still be recorded.
        assert_eq!(stream.clone().finish(), expected);

        // One right and one wrong value is a mismatch, whichever comes first.
        let wrong_512 = [
            Algorithm::Sha256.digest(BODY),
            Algorithm::Sha512.digest(b"tampered"),
        ];
        assert_eq!(
            stream.verify(&wrong_512),
            Err(Mismatch::Differs {
                algorithm: Algorithm::Sha512
            })
        );
    }

    #[test]
    fn mismatch_names_the_algorithm_but_no_value() {
        let mut stream = StreamDigest::new([Algorithm::Sha256]);
        stream.update(b"tampered");
        let expected = [Algorithm::Sha256.digest(BODY)];
        let error = stream.verify(&expected).expect_err("differs");
        assert_eq!(
            error.to_string(),
            "sha-256 digest of the content does not match"
        );
        let rendered = format!("{error} {error:?}");
        let computed = stream.finish().remove(0);
        for digest in [&expected[0], &computed] {
            let member = digest.to_string();
            let base64 = member.trim_start_matches("sha-256=:").trim_end_matches(':');
            assert!(!rendered.contains(base64), "{rendered}");
            assert!(
                !rendered.contains(&hex::encode(digest.value())),
                "{rendered}"
            );
        }
    }

    #[test]
    fn nothing_or_an_uncomputed_algorithm_does_not_pass() {
        let stream = fed_in_pieces(&[Algorithm::Sha256]);
        assert_eq!(stream.verify(&[]), Err(Mismatch::NothingToVerify));
        assert_eq!(
            stream.verify(&[Algorithm::Sha512.digest(BODY)]),
            Err(Mismatch::NotComputed {
                algorithm: Algorithm::Sha512
            })
        );
        assert_eq!(
            Mismatch::NotComputed {
                algorithm: Algorithm::Sha512
            }
            .to_string(),
            "sha-512 digest was given but not computed"
        );
        assert_eq!(Mismatch::NothingToVerify.to_string(), "no digest to verify");
    }
}
