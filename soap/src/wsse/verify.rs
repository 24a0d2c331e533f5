//! Checks and crypto of a UsernameToken: format, freshness, password.

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use jiff::Timestamp;
use sha1::{Digest as _, Sha1};
use sha2::Sha256;
use subtle::{Choice, ConstantTimeEq as _};

use crate::Secret;
use crate::envelope_error::echo;
use crate::wsse::datetime;
use crate::wsse::token::{TokenFields, Valued, password_kind};
use crate::wsse::{BASE64_BINARY_URI, PasswordKind, SecurityPolicy, WsSecurityError};

/// Base64 as clients write it: standard alphabet, with or without padding.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Compared against when the username is unknown, so that an unknown user costs
/// the same work as a wrong password.
const DUMMY_SECRET: &[u8] = b"unknown-user-dummy-secret-0123456789";

/// Where the gateway finds a partner's secret.
pub trait Credentials {
    /// The password of `username`, or `None` if the username is unknown.
    fn secret_for(&self, username: &str) -> Option<Secret>;
}

impl<F> Credentials for F
where
    F: Fn(&str) -> Option<Secret>,
{
    fn secret_for(&self, username: &str) -> Option<Secret> {
        self(username)
    }
}

// === impl VerifiedToken ===

/// An authenticated UsernameToken. The nonce is still to be checked for replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    username: String,
    nonce: Vec<u8>,
    created: Option<Timestamp>,
    kind: PasswordKind,
}

impl VerifiedToken {
    /// The authenticated username.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The decoded nonce (empty for a PasswordText token sent without one).
    pub fn nonce(&self) -> &[u8] {
        &self.nonce
    }

    /// The token's `Created` instant, if it had one.
    pub fn created(&self) -> Option<Timestamp> {
        self.created
    }

    /// The password form that was used.
    pub fn password_kind(&self) -> PasswordKind {
        self.kind
    }

    /// The key under which to remember the nonce, or `None` if there is no nonce
    /// (a PasswordText token without one cannot be checked for replay).
    pub fn replay_key(&self) -> Option<String> {
        (!self.nonce.is_empty()).then(|| replay_key(&self.username, &self.nonce))
    }
}

/// Replay-cache key of a nonce: lowercase hex SHA-256 of `username ‖ 0x00 ‖ nonce`.
///
/// Hashing keeps keys short and free of the nonce itself; the NUL separator (which
/// XML text cannot contain) keeps `("ab", "c…")` and `("a", "bc…")` apart.
pub fn replay_key(username: &str, nonce: &[u8]) -> String {
    let mut hash = Sha256::new();
    hash.update(username.as_bytes());
    hash.update([0u8]);
    hash.update(nonce);
    hex::encode(hash.finalize())
}

// === verification ===

pub(crate) fn verify(
    fields: &TokenFields<'_>,
    policy: &SecurityPolicy,
    credentials: &dyn Credentials,
    now: Timestamp,
) -> Result<VerifiedToken, WsSecurityError> {
    check_timestamp(fields, policy, now)?;
    let kind = password_kind(fields.password.attribute, policy)?;
    if !policy.allows(kind) {
        return Err(WsSecurityError::PasswordTypeNotAllowed { kind });
    }
    let nonce = fields.nonce.map(|n| decode_nonce(n, policy)).transpose()?;
    let created = fields
        .created
        .map(|c| check_fresh(c, "Created", policy, now))
        .transpose()?;

    let matches = match kind {
        PasswordKind::Digest => {
            let nonce = nonce
                .as_deref()
                .ok_or(WsSecurityError::MissingElement { element: "Nonce" })?;
            let created_literal = fields
                .created
                .ok_or(WsSecurityError::MissingElement { element: "Created" })?;
            let secret = credentials.secret_for(fields.username);
            let key = secret.as_ref().map_or(DUMMY_SECRET, Secret::expose_secret);
            let ok = digest_matches(fields.password.value, nonce, created_literal, key);
            (secret.is_some(), ok)
        }
        PasswordKind::Text => {
            let secret = credentials.secret_for(fields.username);
            let key = secret.as_ref().map_or(DUMMY_SECRET, Secret::expose_secret);
            // Hash both sides so that the comparison is fixed-length and its time
            // says nothing about the password's length.
            let given = Sha256::digest(fields.password.value.as_bytes());
            let expected = Sha256::digest(key);
            (secret.is_some(), bool::from(given.ct_eq(&expected)))
        }
    };
    match matches {
        (false, _) => Err(WsSecurityError::UnknownUser {
            username: echo(fields.username),
        }),
        (true, false) => Err(WsSecurityError::WrongPassword {
            username: echo(fields.username),
            kind,
        }),
        (true, true) => Ok(VerifiedToken {
            username: fields.username.to_owned(),
            nonce: nonce.unwrap_or_default(),
            created,
            kind,
        }),
    }
}

/// PasswordDigest = Base64(SHA-1(nonce ‖ Created-literal ‖ password)), compared in
/// constant time. A digest that is not 20 bytes of base64 is compared against zeros
/// so that the same work is done.
fn digest_matches(given_b64: &str, nonce: &[u8], created_literal: &str, secret: &[u8]) -> bool {
    let mut hash = Sha1::new();
    hash.update(nonce);
    hash.update(created_literal.as_bytes());
    hash.update(secret);
    let expected = hash.finalize();
    let decoded = decode_base64(given_b64);
    let (given, well_formed) = match decoded.as_deref().map(<[u8; 20]>::try_from) {
        Some(Ok(bytes)) => (bytes, Choice::from(1)),
        _ => ([0u8; 20], Choice::from(0)),
    };
    bool::from(expected.as_slice().ct_eq(&given) & well_formed)
}

fn decode_base64(text: &str) -> Option<Vec<u8>> {
    // Line-wrapped base64 is legal in xs:base64Binary.
    let compact: Vec<u8> = text
        .bytes()
        .filter(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        .collect();
    BASE64.decode(compact).ok()
}

fn decode_nonce(nonce: Valued<'_>, policy: &SecurityPolicy) -> Result<Vec<u8>, WsSecurityError> {
    match nonce.attribute.map(str::trim) {
        None if policy.is_strict() => return Err(WsSecurityError::MissingNonceEncoding),
        None | Some(BASE64_BINARY_URI) => {}
        Some(other) if !policy.is_strict() && other.ends_with("#Base64Binary") => {}
        Some(other) => {
            return Err(WsSecurityError::UnsupportedNonceEncoding {
                encoding_type: echo(other),
            });
        }
    }
    let bytes = decode_base64(nonce.value).ok_or(WsSecurityError::NonceNotBase64)?;
    if bytes.len() < policy.min_nonce_len {
        return Err(WsSecurityError::NonceTooShort {
            len: bytes.len(),
            min: policy.min_nonce_len,
        });
    }
    Ok(bytes)
}

/// Parses a date-time under the policy's format rules.
fn parse_time(
    text: &str,
    element: &'static str,
    policy: &SecurityPolicy,
) -> Result<Timestamp, WsSecurityError> {
    let bad = |problem| WsSecurityError::BadDateTime { element, problem };
    let parsed = datetime::parse(text).map_err(bad)?;
    if policy.is_strict() && !parsed.is_utc() {
        return Err(bad(
            "not in UTC (Z or +00:00), as the strict policy requires",
        ));
    }
    if policy.require_fraction && !parsed.has_fraction {
        return Err(bad("no fractional seconds, which the policy requires"));
    }
    parsed
        .to_timestamp(policy.z_zone())
        .ok_or_else(|| bad("outside the supported range"))
}

/// Parses a creation time and checks it against the freshness window.
fn check_fresh(
    text: &str,
    element: &'static str,
    policy: &SecurityPolicy,
    now: Timestamp,
) -> Result<Timestamp, WsSecurityError> {
    let created = parse_time(text, element, policy)?;
    let age_ms = now.duration_since(created).as_millis();
    if age_ms > millis(policy.max_age) {
        return Err(WsSecurityError::TooOld {
            element,
            age_secs: secs(age_ms),
            max_secs: policy.max_age.as_secs(),
        });
    }
    if -age_ms > millis(policy.future_skew) {
        return Err(WsSecurityError::InFuture {
            element,
            ahead_secs: secs(-age_ms),
            skew_secs: policy.future_skew.as_secs(),
        });
    }
    Ok(created)
}

fn check_timestamp(
    fields: &TokenFields<'_>,
    policy: &SecurityPolicy,
    now: Timestamp,
) -> Result<(), WsSecurityError> {
    let created = fields
        .ts_created
        .map(|c| check_fresh(c, "Timestamp/Created", policy, now))
        .transpose()?;
    if let Some(expires) = fields.ts_expires {
        let expires = parse_time(expires, "Timestamp/Expires", policy)?;
        if policy.is_strict() && created.is_some_and(|c| expires <= c) {
            return Err(WsSecurityError::TimestampInverted);
        }
        if expires <= now {
            return Err(WsSecurityError::TimestampExpired {
                ago_secs: secs(now.duration_since(expires).as_millis()),
            });
        }
    }
    Ok(())
}

fn millis(d: std::time::Duration) -> i128 {
    i128::try_from(d.as_millis()).unwrap_or(i128::MAX)
}

fn secs(ms: i128) -> i64 {
    i64::try_from(ms / 1000).unwrap_or(i64::MAX)
}
