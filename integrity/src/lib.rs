//! RFC 9530 Digest Fields and the HMAC-chained audit trail record format (pure, no I/O).
//!
//! Both halves are pure functions of their inputs, with no sockets, files, runtime
//! or clock, so that what the gateway checks and records can be tested
//! exhaustively and fuzzed. The digest half parses `Content-Digest` /
//! `Repr-Digest` ([`parse_digest_field`]) and `Want-Content-Digest` /
//! `Want-Repr-Digest` ([`WantDigest`]) with an RFC 9651 Structured Field parser,
//! writes them back ([`format_digest_field`]), and hashes a streamed body in
//! `sha-256` and/or `sha-512` ([`StreamDigest`]), checking every digest the sender
//! gave in constant time and naming only the algorithm on a [`Mismatch`]. The
//! trail half turns an [`Entry`] into one JSON line whose `mac` (HMAC-SHA256 under
//! a [`Key`]) covers the line and whose `prev` is the SHA-256 of the line before
//! ([`Chain::seal`]); [`verify`] walks a file and names the first line that was
//! altered, removed, reordered or written with another key ([`Broken`]). The
//! gateway does the file I/O and rotation ([`Anchor`]); the exact line format is
//! documented in `src/trail/mod.rs` so that an operator can verify without Rust.

#![forbid(unsafe_code)]

mod digest;
mod trail;

pub use digest::{
    Algorithm, CONTENT_DIGEST, Digest, DigestFieldError, Mismatch, REPR_DIGEST, StreamDigest,
    WANT_CONTENT_DIGEST, WANT_REPR_DIGEST, WantDigest, WantDigestError, format_digest_field,
    parse_digest_field,
};
pub use trail::{
    Action, Anchor, BadLineHash, Broken, Chain, Client, Entry, FORMAT_VERSION, Key, KeyError,
    LineFault, LineHash, Outcome, Record, SealError, Summary, verify,
};
