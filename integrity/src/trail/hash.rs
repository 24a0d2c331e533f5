//! The two primitives of the trail: the hash linking lines and the MAC key.

use std::fmt;
use std::str::FromStr;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

/// SHA-256 of one line's bytes (without its newline): what the next record's
/// `prev` holds. Written as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct LineHash([u8; 32]);

/// A string that is not 64 lowercase hex digits, given where a [`LineHash`] is
/// expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a line hash is 64 lowercase hex digits, got {len} characters")]
pub struct BadLineHash {
    /// Length of the string given.
    pub len: usize,
}

impl LineHash {
    /// The `prev` of the first record of a new chain: 64 zeros.
    pub const GENESIS: LineHash = LineHash([0; 32]);

    /// Hashes one line (without its trailing newline).
    #[must_use]
    pub fn of(line: &str) -> Self {
        Self(Sha256::digest(line.as_bytes()).into())
    }

    /// The raw hash.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl FromStr for LineHash {
    type Err = BadLineHash;

    /// Only lowercase hex is accepted: it is the one spelling the writer uses,
    /// so any other would be a different line.
    fn from_str(hex: &str) -> Result<Self, BadLineHash> {
        let bad = BadLineHash { len: hex.len() };
        if !is_lower_hex(hex.as_bytes()) {
            return Err(bad);
        }
        let mut bytes = [0; 32];
        hex::decode_to_slice(hex, &mut bytes).map_err(|_| bad)?;
        Ok(Self(bytes))
    }
}

impl fmt::Display for LineHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for LineHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LineHash({self})")
    }
}

impl Serialize for LineHash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for LineHash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let hex = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        hex.parse().map_err(serde::de::Error::custom)
    }
}

/// Whether `bytes` are exactly 64 characters of `[0-9a-f]`.
pub(crate) fn is_lower_hex(bytes: &[u8]) -> bool {
    bytes.len() == 64 && bytes.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The HMAC-SHA256 key of a trail. `Debug` never shows it.
#[derive(Clone)]
pub struct Key {
    /// Keyed once: every line then clones the prepared state.
    mac: Hmac<Sha256>,
}

/// Why a key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Shorter than [`Key::MIN_LEN`].
    #[error("trail key is {len} bytes, at least {min} are required")]
    TooShort {
        /// Length given.
        len: usize,
        /// [`Key::MIN_LEN`].
        min: usize,
    },
}

impl Key {
    /// Minimum key length: RFC 2104 §3 advises against keys shorter than the
    /// hash output (32 bytes for SHA-256), which would weaken the MAC.
    pub const MIN_LEN: usize = 32;

    /// A key from raw bytes (e.g. 32 random bytes).
    ///
    /// # Errors
    /// [`KeyError::TooShort`] below [`Key::MIN_LEN`] bytes.
    pub fn new(bytes: &[u8]) -> Result<Self, KeyError> {
        let too_short = KeyError::TooShort {
            len: bytes.len(),
            min: Self::MIN_LEN,
        };
        if bytes.len() < Self::MIN_LEN {
            return Err(too_short);
        }
        // HMAC takes keys of any length, so this error cannot occur.
        let mac = Hmac::<Sha256>::new_from_slice(bytes).map_err(|_| too_short)?;
        Ok(Self { mac })
    }

    /// HMAC-SHA256 over the concatenation of `parts`.
    pub(crate) fn tag(&self, parts: &[&[u8]]) -> [u8; 32] {
        self.keyed(parts).finalize().into_bytes().into()
    }

    /// Whether `tag` is the HMAC of the concatenation of `parts` (constant time).
    pub(crate) fn verify(&self, parts: &[&[u8]], tag: &[u8]) -> bool {
        self.keyed(parts).verify_slice(tag).is_ok()
    }

    fn keyed(&self, parts: &[&[u8]]) -> Hmac<Sha256> {
        let mut mac = self.mac.clone();
        for part in parts {
            mac.update(part);
        }
        mac
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_hash_is_sha_256_in_lowercase_hex() {
        let hash = LineHash::of("abc");
        let hex = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(hash.to_string(), hex);
        assert_eq!(hex.parse::<LineHash>(), Ok(hash));
        assert_eq!(LineHash::GENESIS.to_string(), "0".repeat(64));
        assert_eq!(
            hex.to_uppercase().parse::<LineHash>(),
            Err(BadLineHash { len: 64 })
        );
        let error = "abc".parse::<LineHash>().expect_err("short");
        assert_eq!(
            error.to_string(),
            "a line hash is 64 lowercase hex digits, got 3 characters"
        );
    }

    #[test]
    fn key_hmac_matches_rfc_4231_test_case_6() {
        // RFC 4231 test case 2 uses a 4-byte key, below our minimum, so check the
        // HMAC wiring against test case 6 (131-byte key) instead.
        let key = Key::new(&[0xaa; 131]).expect("long enough");
        let tag = key.tag(&[
            b"Test Using Larger Than Block-Size Key - ",
            b"Hash Key First",
        ]);
        assert_eq!(
            hex::encode(tag),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
        assert!(key.verify(
            &[b"Test Using Larger Than Block-Size Key - Hash Key First"],
            &tag
        ));
        assert!(!key.verify(
            &[b"Test Using Larger Than Block-Size Key - Hash Key Firs"],
            &tag
        ));
    }

    #[test]
    fn short_keys_are_refused_and_keys_never_print() {
        let error = Key::new(&[7; 31]).expect_err("short");
        assert_eq!(error, KeyError::TooShort { len: 31, min: 32 });
        assert_eq!(
            error.to_string(),
            "trail key is 31 bytes, at least 32 are required"
        );
        let key = Key::new(&[7; 32]).expect("ok");
        assert_eq!(format!("{key:?}"), "Key(..)");
    }
}
