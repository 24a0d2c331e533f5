//! WS-Security UsernameToken (OASIS UsernameToken Profile 1.1), verified the way
//! Apache WSS4J does, minus the nonce cache, which lives in the `state` crate.

mod datetime;
mod error;
mod policy;
mod token;
mod verify;

pub use error::{SecurityFault, WsSecurityError};
pub use policy::{PasswordKind, Profile, SecurityPolicy};
pub use token::SecurityHeader;
pub use verify::{Credentials, VerifiedToken, replay_key};

/// WS-Security secext namespace (`wsse`).
pub const WSSE_NS: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
/// WS-Security utility namespace (`wsu`).
pub const WSU_NS: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";
/// `Password/@Type` of a digest password.
pub const PASSWORD_DIGEST_URI: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest";
/// `Password/@Type` of a clear-text password.
pub const PASSWORD_TEXT_URI: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText";
/// `Nonce/@EncodingType` of a base64 nonce.
pub const BASE64_BINARY_URI: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary";
