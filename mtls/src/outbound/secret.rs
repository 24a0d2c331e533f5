//! A secret string: a token PIN or a CPS agent session credential.

use std::fmt;

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// A secret value (a PKCS#11 PIN, a CPS agent session credential).
///
/// Its memory is wiped when the last copy is dropped, and it never appears in `Debug` output,
/// logs or error messages. The caller resolves where it comes from (for example the
/// environment variable a route names) and wraps the value at once.
#[derive(Clone)]
pub struct Secret(Zeroizing<String>);

// === impl Secret ===

impl Secret {
    /// Wraps a secret value.
    #[must_use]
    pub fn new(value: impl Into<String>) -> Self {
        Self(Zeroizing::new(value.into()))
    }

    /// The value, for the one place that must send it (a login, a request header).
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A digest that identifies the secret in a cache key without keeping it.
    pub(crate) fn digest(&self) -> [u8; 32] {
        Sha256::digest(self.0.as_bytes()).into()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::Secret;

    #[test]
    fn never_printed() {
        let s = Secret::new("1234");
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
        assert_eq!(s.expose(), "1234");
        assert_ne!(s.digest(), Secret::new("1235").digest());
    }
}
