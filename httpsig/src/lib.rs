//! RFC 9421 HTTP Message Signatures for requests, `hmac-sha256` only (pure, no I/O).
//!
//! The gateway uses this to authenticate callers of internal services with a
//! shared secret per caller. Everything here is a function of its inputs: the
//! caller describes the request ([`RequestParts`], no HTTP crate needed), passes
//! the keys ([`Keys`]) and the current time, and gets either what the signature
//! says ([`Verified`]) or why it was refused ([`Refusal`], each with a stable
//! [`Refusal::class`] slug). There is no clock, runtime, socket or replay store:
//! checking [`Verified::nonce`] against replay, and the body against
//! `Content-Digest` (RFC 9530, the `integrity` crate), is the caller's job; this
//! crate only makes sure such components are covered when the [`Policy`] says so.
//!
//! `Signature-Input` and `Signature` are parsed with an RFC 9651 Structured Field
//! parser, and the `@signature-params` line of the signature base is the
//! canonical re-serialisation of the chosen signature's parameters, so that
//! optional whitespace in the field cannot change what is MACed. The base is
//! built exactly as RFC 9421 §2.5 describes for the derived components
//! `@method`, `@target-uri`, `@authority`, `@scheme`, `@request-target`,
//! `@path`, `@query` and `@query-param`, and for header fields as they are or
//! with `;bs`, `;key` and (for fields of known type) `;sf`. Anything else
//! (`;req`, `;tr`, response components, other algorithms) is refused, never
//! skipped. The MAC is compared in constant time.
//!
//! [`sign`] produces the two field values for tests and demo clients.

#![forbid(unsafe_code)]

mod base;
mod component;
mod policy;
mod query;
mod request;
mod sign;
mod verify;

pub use component::{Component, ComponentError, MAX_COMPONENTS};
pub use policy::{Keys, Policy};
pub use request::RequestParts;
pub use sign::{SignError, SignatureParams, Signed, sign};
pub use verify::{HMAC_SHA256, Refusal, Verified, verify};
