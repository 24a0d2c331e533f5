//! SOAP 1.1/1.2 envelopes, faults, WS-Security UsernameToken and SSO tokens (pure, no I/O).
//!
//! Everything here is a pure function of its inputs: no sockets, no runtime, no
//! clock reads (callers pass `now`), so that the gateway's security decisions can be
//! tested exhaustively and fuzzed. Untrusted XML is parsed under [`Limits`] into a
//! small namespace-resolved [`Element`] tree: DOCTYPEs, processing instructions and
//! undeclared entities are refused outright. [`Envelope`] adds the SOAP structure,
//! [`check_must_understand`] the header-processing rule, [`Fault`] and
//! [`write_response`] the way back. [`SecurityHeader`] verifies a WS-Security
//! UsernameToken under a per-partner [`SecurityPolicy`] and maps every failure to
//! a fault in one place ([`WsSecurityError::to_fault`]); nonce replay is left to the
//! caller's shared store through [`replay_key`]. [`SsoPolicy`] checks ASPOne SSO
//! tokens and [`Backoff`] computes the brute-force wait.

#![forbid(unsafe_code)]

mod backoff;
mod element;
mod envelope;
mod envelope_error;
mod escape;
mod fault;
mod limits;
mod must_understand;
mod ns;
mod secret;
mod sso;
mod tree;
mod wsse;
mod xmlchars;

pub use backoff::Backoff;
pub use element::{Attribute, Element};
pub use envelope::{
    CONTENT_TYPE_SOAP11, CONTENT_TYPE_SOAP12, Envelope, HeaderBlock, SOAP11_NS, SOAP12_NS,
    SoapVersion,
};
pub use envelope_error::EnvelopeError;
pub use escape::{push_attr, push_text};
pub use fault::{Fault, FaultCode, Subcode, write_response};
pub use limits::Limits;
pub use must_understand::{NotUnderstood, check_must_understand};
pub use secret::Secret;
pub use sso::{SsoError, SsoPolicy, UserRole, is_sso_form};
pub use wsse::{
    BASE64_BINARY_URI, Credentials, PASSWORD_DIGEST_URI, PASSWORD_TEXT_URI, PasswordKind, Profile,
    SecurityFault, SecurityHeader, SecurityPolicy, VerifiedToken, WSSE_NS, WSU_NS, WsSecurityError,
    replay_key,
};
