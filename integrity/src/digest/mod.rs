//! RFC 9530 Digest Fields: `Content-Digest`, `Repr-Digest` and their `Want-` fields.
//!
//! Parsing goes through the `sfv` Structured Field Values parser (RFC 9651) rather
//! than string splitting, so that quoting, whitespace, parameters and duplicate
//! keys are handled exactly as the RFC says. Only `sha-256` and `sha-512` are
//! supported; other algorithms are ignored as RFC 9530 §5 requires.

mod algorithm;
mod fields;
mod stream;
mod want;

pub use algorithm::{Algorithm, Digest};
pub use fields::{DigestFieldError, format_digest_field, parse_digest_field};
pub use stream::{Mismatch, StreamDigest};
pub use want::{WantDigest, WantDigestError};

/// `Content-Digest` (RFC 9530 §2): digest of the message content as sent.
pub const CONTENT_DIGEST: &str = "content-digest";
/// `Repr-Digest` (RFC 9530 §3): digest of the selected representation.
pub const REPR_DIGEST: &str = "repr-digest";
/// `Want-Content-Digest` (RFC 9530 §4).
pub const WANT_CONTENT_DIGEST: &str = "want-content-digest";
/// `Want-Repr-Digest` (RFC 9530 §4).
pub const WANT_REPR_DIGEST: &str = "want-repr-digest";
