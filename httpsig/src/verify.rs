//! Verifying one signature of a request (RFC 9421 §3.2).

use hmac::{Hmac, Mac};
use sfv::{Dictionary, InnerList, ListEntry, Parameters, Parser};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::base::{self, BaseError};
use crate::component::{self, Component, ComponentError, MAX_COMPONENTS};
use crate::policy::{self, Keys, Policy};
use crate::request::RequestParts;

/// The only algorithm this crate implements (RFC 9421 §3.3.3).
pub const HMAC_SHA256: &str = "hmac-sha256";

/// Why a request's signature was not accepted.
///
/// Messages repeat only what the caller sent (labels, `keyid`, `alg`, component
/// identifiers, timestamps) or the policy: never a key, a MAC or an expected
/// value, so they can go into a `401` problem+json as they are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// No `Signature-Input` or `Signature`, or not the label asked for.
    #[error("no signature: {reason}")]
    Missing {
        /// What is missing.
        reason: String,
    },
    /// The signature fields or parameters do not follow RFC 9421 / RFC 9651.
    #[error("malformed signature: {reason}")]
    Malformed {
        /// What is wrong, with the structured field parser's byte index if any.
        reason: String,
    },
    /// No key for the `keyid` the signature names (or none named at all).
    #[error("unknown keyid {keyid:?}")]
    UnknownKey {
        /// The `keyid` as sent.
        keyid: String,
    },
    /// The `alg` parameter names another algorithm than `hmac-sha256`.
    #[error("unsupported signature algorithm {alg:?} (supported: hmac-sha256)")]
    UnsupportedAlgorithm {
        /// The `alg` as sent.
        alg: String,
    },
    /// A covered component this crate cannot compute (see [`ComponentError`]).
    #[error("covered component {component} is not supported")]
    UnsupportedComponent {
        /// The identifier as sent.
        component: String,
    },
    /// The signature does not cover everything the policy requires.
    #[error("required components not covered: {}", missing.join(", "))]
    ComponentsNotCovered {
        /// The required components it leaves out, in policy order.
        missing: Vec<String>,
    },
    /// A covered header field, dictionary member or query parameter is not in
    /// the request (it was removed on the way, or never sent).
    #[error("covered component {component} is absent from the request")]
    ComponentAbsent {
        /// The identifier.
        component: String,
    },
    /// A parameter the policy requires (`created`, `expires`, `nonce`, `keyid`)
    /// is not there.
    #[error("signature has no {parameter} parameter")]
    ParameterMissing {
        /// Which one.
        parameter: &'static str,
    },
    /// The `tag` parameter is absent or not the one the policy requires.
    #[error("signature tag does not match this service")]
    WrongTag,
    /// `expires` has passed (beyond the clock skew).
    #[error("signature expired at {expires}")]
    Expired {
        /// The `expires` parameter.
        expires: i64,
    },
    /// `created` is in the future (beyond the clock skew).
    #[error("signature created in the future, at {created}")]
    NotYetValid {
        /// The `created` parameter.
        created: i64,
    },
    /// `created` is older than the policy's `max_age` (plus the clock skew).
    #[error("signature created too long ago, at {created}")]
    TooOld {
        /// The `created` parameter.
        created: i64,
    },
    /// The MAC does not match: wrong key, or the request or the signature
    /// parameters were changed after signing.
    #[error("signature does not match")]
    BadSignature,
}

impl Refusal {
    /// A stable slug for metrics, logs and problem types.
    #[must_use]
    pub fn class(&self) -> &'static str {
        match self {
            Self::Missing { .. } => "missing",
            Self::Malformed { .. } => "malformed",
            Self::UnknownKey { .. } => "unknown_key",
            Self::UnsupportedAlgorithm { .. } => "unsupported_algorithm",
            Self::UnsupportedComponent { .. } => "unsupported_component",
            Self::ComponentsNotCovered { .. } => "not_covered",
            Self::ComponentAbsent { .. } => "component_absent",
            Self::ParameterMissing { .. } => "missing_parameter",
            Self::WrongTag => "wrong_tag",
            Self::Expired { .. } => "expired",
            Self::NotYetValid { .. } => "not_yet_valid",
            Self::TooOld { .. } => "too_old",
            Self::BadSignature => "bad_signature",
        }
    }
}

/// A signature that verified, with what it says. Check `nonce` for replay
/// before trusting the request, and the body against `Content-Digest` if
/// `content-digest` is covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The label of the signature that was checked (`sig1`).
    pub label: String,
    /// Whose key verified it.
    pub keyid: String,
    /// `created`, Unix seconds.
    pub created: Option<i64>,
    /// `expires`, Unix seconds.
    pub expires: Option<i64>,
    /// `nonce`, for the caller's replay check.
    pub nonce: Option<String>,
    /// `tag`.
    pub tag: Option<String>,
    /// The covered components, in signature order.
    pub covered: Vec<Component>,
}

impl Verified {
    /// Whether the signature covers the component `name` without parameters
    /// (`"content-digest"`, `"@method"`).
    #[must_use]
    pub fn covers(&self, name: &str) -> bool {
        self.covered
            .iter()
            .any(|component| component.name() == name && component.item().params.is_empty())
    }
}

/// Verifies the request's `hmac-sha256` signature under `policy`, at `now` (Unix
/// seconds).
///
/// Checks are made in this order, cheapest and least revealing first: the
/// fields parse; the signature to check is chosen (see [`Policy::label`]); its
/// `alg`, `keyid` (a key must be known), `tag`, covered components (valid, each
/// once, everything the policy requires) and `created` / `expires` / `nonce`;
/// then the signature base is built from the request and its MAC compared in
/// constant time.
///
/// # Errors
/// The first [`Refusal`] met.
pub fn verify(
    request: &RequestParts<'_>,
    policy: &Policy,
    keys: &(impl Keys + ?Sized),
    now: i64,
) -> Result<Verified, Refusal> {
    let inputs = dictionary(request, "signature-input", "Signature-Input")?;
    let signatures = dictionary(request, "signature", "Signature")?;
    let (label, entry) = select(&inputs, policy, keys)?;
    let signature = match signatures.get(label) {
        Some(ListEntry::Item(item)) => item
            .bare_item
            .as_byte_sequence()
            .ok_or_else(|| malformed(format!("Signature member {label} is not a byte sequence")))?,
        Some(ListEntry::InnerList(_)) => {
            return Err(malformed(format!(
                "Signature member {label} is not a byte sequence"
            )));
        }
        None => {
            return Err(Refusal::Missing {
                reason: format!("no Signature member labelled {label}"),
            });
        }
    };
    let ListEntry::InnerList(inner) = entry else {
        return Err(malformed(format!(
            "Signature-Input member {label} is not an inner list"
        )));
    };
    let params = Params::parse(&inner.params)?;
    if let Some(alg) = params.alg.filter(|alg| *alg != HMAC_SHA256) {
        return Err(Refusal::UnsupportedAlgorithm {
            alg: alg.to_owned(),
        });
    }
    let keyid = params
        .keyid
        .ok_or(Refusal::ParameterMissing { parameter: "keyid" })?;
    let key = policy::key_for(keys, keyid).ok_or_else(|| Refusal::UnknownKey {
        keyid: keyid.to_owned(),
    })?;
    if policy.tag.is_some() && policy.tag.as_deref() != params.tag {
        return Err(Refusal::WrongTag);
    }
    let covered = covered(inner)?;
    let missing = policy.missing(&covered);
    if !missing.is_empty() {
        return Err(Refusal::ComponentsNotCovered { missing });
    }
    params.check(policy, now)?;

    let base = base::signature_base(request, &covered, &base::serialize_params(entry)).map_err(
        |error| match error {
            BaseError::Absent { component } => Refusal::ComponentAbsent { component },
            BaseError::Value { component, reason } => {
                malformed(format!("component {component}: {reason}"))
            }
        },
    )?;
    let expected = mac(key, &base).ok_or(Refusal::BadSignature)?;
    if !bool::from(expected.as_slice().ct_eq(signature)) {
        return Err(Refusal::BadSignature);
    }
    Ok(Verified {
        label: label.to_owned(),
        keyid: keyid.to_owned(),
        created: params.created,
        expires: params.expires,
        nonce: params.nonce.map(str::to_owned),
        tag: params.tag.map(str::to_owned),
        covered,
    })
}

/// HMAC-SHA256 of the signature base (RFC 9421 §3.3.3). `None` cannot happen
/// (`Hmac` takes keys of any length, hashing long ones per RFC 2104 §3), but the
/// API is fallible and a refusal is the safe reading.
pub(crate) fn mac(key: &[u8], base: &str) -> Option<[u8; 32]> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).ok()?;
    mac.update(base.as_bytes());
    Some(mac.finalize().into_bytes().into())
}

/// Parses `Signature-Input` or `Signature`: all its lines as one Dictionary.
fn dictionary(request: &RequestParts<'_>, name: &str, shown: &str) -> Result<Dictionary, Refusal> {
    let missing = || Refusal::Missing {
        reason: format!("no {shown} field"),
    };
    let value = request.field(name).ok_or_else(missing)?;
    let dictionary: Dictionary = Parser::new(&value)
        .parse()
        .map_err(|error: sfv::Error| malformed(format!("{shown}: {error}")))?;
    if dictionary.is_empty() {
        return Err(missing());
    }
    Ok(dictionary)
}

/// The signature to check: the policy's label, or else the first with a known
/// key (and the policy's tag); if none qualifies, the first one, so that the
/// refusal is about something the caller actually sent.
fn select<'d>(
    inputs: &'d Dictionary,
    policy: &Policy,
    keys: &(impl Keys + ?Sized),
) -> Result<(&'d str, &'d ListEntry), Refusal> {
    if let Some(label) = &policy.label {
        return inputs
            .get_key_value(label.as_str())
            .map(|(key, entry)| (key.as_str(), entry))
            .ok_or_else(|| Refusal::Missing {
                reason: format!("no signature labelled {label}"),
            });
    }
    let usable = |entry: &ListEntry| {
        let ListEntry::InnerList(inner) = entry else {
            return false;
        };
        let param = |name: &str| inner.params.get(name).and_then(|value| value.as_string());
        let known =
            param("keyid").is_some_and(|keyid| policy::key_for(keys, keyid.as_str()).is_some());
        let tagged = policy
            .tag
            .as_deref()
            .is_none_or(|tag| param("tag").is_some_and(|sent| sent.as_str() == tag));
        known && tagged
    };
    inputs
        .iter()
        .find(|(_, entry)| usable(entry))
        .or_else(|| inputs.first())
        .map(|(key, entry)| (key.as_str(), entry))
        .ok_or_else(|| Refusal::Missing {
            reason: "empty Signature-Input".to_owned(),
        })
}

/// The covered components, validated as a list.
fn covered(inner: &InnerList) -> Result<Vec<Component>, Refusal> {
    if inner.items.len() > MAX_COMPONENTS {
        return Err(malformed("too many covered components".to_owned()));
    }
    let covered = inner
        .items
        .iter()
        .map(Component::from_item)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| match error {
            ComponentError::Unsupported { component } => {
                Refusal::UnsupportedComponent { component }
            }
            other => malformed(other.to_string()),
        })?;
    component::check_list(&covered).map_err(|reason| malformed(reason.to_owned()))?;
    Ok(covered)
}

/// The signature parameters RFC 9421 §2.3 defines, borrowed from the field.
/// Others are allowed and ignored: they are covered by the MAC anyway.
#[derive(Default)]
struct Params<'p> {
    created: Option<i64>,
    expires: Option<i64>,
    nonce: Option<&'p str>,
    alg: Option<&'p str>,
    keyid: Option<&'p str>,
    tag: Option<&'p str>,
}

impl<'p> Params<'p> {
    fn parse(params: &'p Parameters) -> Result<Self, Refusal> {
        let mut parsed = Self::default();
        for (key, value) in params {
            let integer = || {
                value
                    .as_integer()
                    .map(i64::from)
                    .ok_or_else(|| malformed(format!("{} must be an integer", key.as_str())))
            };
            let string = || {
                value
                    .as_string()
                    .map(|string| string.as_str())
                    .ok_or_else(|| malformed(format!("{} must be a string", key.as_str())))
            };
            match key.as_str() {
                "created" => parsed.created = Some(integer()?),
                "expires" => parsed.expires = Some(integer()?),
                "nonce" => parsed.nonce = Some(string()?),
                "alg" => parsed.alg = Some(string()?),
                "keyid" => parsed.keyid = Some(string()?),
                "tag" => parsed.tag = Some(string()?),
                _ => {}
            }
        }
        Ok(parsed)
    }

    /// Presence and time checks. Arithmetic is in i128: every operand is an i64
    /// or a clamped duration, so nothing can overflow whatever the caller sends.
    fn check(&self, policy: &Policy, now: i64) -> Result<(), Refusal> {
        for (required, present, parameter) in [
            (policy.require_created, self.created.is_some(), "created"),
            (policy.require_expires, self.expires.is_some(), "expires"),
            (policy.require_nonce, self.nonce.is_some(), "nonce"),
        ] {
            if required && !present {
                return Err(Refusal::ParameterMissing { parameter });
            }
        }
        let seconds = |duration: std::time::Duration| i128::from(duration.as_secs());
        let now = i128::from(now);
        let skew = seconds(policy.clock_skew);
        if let Some(created) = self.created {
            if i128::from(created) > now + skew {
                return Err(Refusal::NotYetValid { created });
            }
            if let Some(max_age) = policy.max_age
                && now - i128::from(created) > seconds(max_age) + skew
            {
                return Err(Refusal::TooOld { created });
            }
        }
        if let Some(expires) = self.expires
            && now > i128::from(expires) + skew
        {
            return Err(Refusal::Expired { expires });
        }
        Ok(())
    }
}

fn malformed(reason: String) -> Refusal {
    Refusal::Malformed { reason }
}
