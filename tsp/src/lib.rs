//! RFC 3161 Time-Stamp Protocol client: request encoding and response
//! verification (pure, no I/O).
//!
//! The gateway time-stamps the SHA-256 of a sealed PDF with a Time-Stamping
//! Authority: [`request`] encodes the `TimeStampReq` it POSTs
//! (`application/timestamp-query`), and [`verify_response`] checks the
//! `TimeStampResp` that comes back against what was asked ([`Expected`]) and
//! the TSA trust anchors, and returns the [`Token`] to embed or archive. The
//! caller does the HTTP, draws the nonce and reads the clock, so that every
//! check here is a function of its inputs and can be tested and fuzzed.
//!
//! Verification follows RFC 3161 §2.4.2 with RFC 5652 (CMS) and RFC 5816
//! (ESSCertIDv2); the list of checks is on [`verify_response`]. Each failure is
//! one [`TspError`] variant, a class the gateway can log and map. Messages are
//! decoded with RustCrypto's `x509-tsp`, `cms` and `x509-cert` on `der` 0.7
//! (see `src/messages.rs` for the two structures decoded here instead);
//! signatures and the certificate path are checked by `rustls-webpki`, as in
//! the TLS stack. Signatures: RSA PKCS#1 v1.5 and ECDSA (P-256, P-384, P-521)
//! with SHA-256/384/512, and Ed25519 (mapped, but not exercised by the tests:
//! OpenSSL 3.0 cannot produce an Ed25519 token). RSASSA-PSS is refused as
//! [`TspError::UnsupportedAlgorithm`].

#![forbid(unsafe_code)]

mod attrs;
mod chain;
mod error;
mod hash;
mod messages;
mod oid;
mod raw;
mod request;
mod signature;
mod signer;
mod verify;

pub use error::{FailInfo, InvalidPolicyId, RequestError, Status, TspError};
pub use hash::HashAlg;
pub use oid::PolicyId;
pub use request::{REQUEST_CONTENT_TYPE, RESPONSE_CONTENT_TYPE, request};
pub use verify::{Expected, MAX_CLOCK_SKEW, Token, verify_response};
