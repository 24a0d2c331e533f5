//! Signing a request (RFC 9421 §3.1), for tests and for the demo's clients.

use sfv::{BareItem, Dictionary, FieldType, InnerList, Item, Key, KeyRef, ListEntry, Parameters};

use crate::base::{self, BaseError};
use crate::component::{self, Component};
use crate::request::RequestParts;
use crate::verify::{HMAC_SHA256, mac};

/// The signature parameters to write (RFC 9421 §2.3), in this order: `created`,
/// `expires`, `keyid`, `alg`, `nonce`, `tag`. The order is part of what is
/// signed, and the verifier reproduces whatever order it receives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignatureParams {
    /// Creation time, Unix seconds; should be set (most verifiers require it).
    pub created: Option<i64>,
    /// Expiry time, Unix seconds.
    pub expires: Option<i64>,
    /// Names the key for the verifier.
    pub keyid: String,
    /// Write `alg="hmac-sha256"`. Optional in RFC 9421: the verifier knows the
    /// algorithm from the key.
    pub alg: bool,
    /// A value used once, for the verifier's replay check.
    pub nonce: Option<String>,
    /// The application the signature is meant for.
    pub tag: Option<String>,
}

/// The two field values of one signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// The `Signature-Input` value: `label=("@method" …);created=…;keyid="…"`.
    pub signature_input: String,
    /// The `Signature` value: `label=:base64:`.
    pub signature: String,
}

/// Why a request could not be signed as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// The label is not an RFC 9651 key (lowercase letter or `*`, then
    /// lowercase letters, digits, `_`, `-`, `.`, `*`).
    #[error("label is not a structured field key")]
    Label,
    /// A parameter cannot be written: a string with characters outside
    /// printable ASCII, or a time outside ±999,999,999,999,999.
    #[error("{parameter} parameter cannot be serialised")]
    Parameter {
        /// Which one.
        parameter: String,
    },
    /// The component list covers one component twice, or too many.
    #[error("covered components: {reason}")]
    Components {
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// A component to cover is not in the request.
    #[error("component {component} is absent from the request")]
    Absent {
        /// The identifier.
        component: String,
    },
    /// A component's value cannot go into a signature base.
    #[error("component {component}: {reason}")]
    Value {
        /// The identifier.
        component: String,
        /// Why.
        reason: &'static str,
    },
    /// An empty key would sign with no secret at all.
    #[error("empty key")]
    EmptyKey,
}

/// Signs `covered` components of `request` with `hmac-sha256` under `key`, as
/// signature `label`.
///
/// # Errors
/// [`SignError`] for an invalid label, parameter or component list, or a
/// component the request does not have.
pub fn sign(
    request: &RequestParts<'_>,
    label: &str,
    covered: &[Component],
    params: &SignatureParams,
    key: &[u8],
) -> Result<Signed, SignError> {
    if key.is_empty() {
        return Err(SignError::EmptyKey);
    }
    let label = Key::from_string(label.to_owned()).map_err(|_| SignError::Label)?;
    component::check_list(covered).map_err(|reason| SignError::Components { reason })?;
    let items: Vec<Item> = covered.iter().map(|c| c.item().clone()).collect();
    let entry = ListEntry::InnerList(InnerList::with_params(items, parameters(params)?));
    let base = base::signature_base(request, covered, &base::serialize_params(&entry)).map_err(
        |error| match error {
            BaseError::Absent { component } => SignError::Absent { component },
            BaseError::Value { component, reason } => SignError::Value { component, reason },
        },
    )?;
    let mac = mac(key, &base).ok_or(SignError::EmptyKey)?;
    Ok(Signed {
        signature_input: member(&label, entry),
        signature: member(&label, ListEntry::Item(Item::new(mac.to_vec()))),
    })
}

fn parameters(params: &SignatureParams) -> Result<Parameters, SignError> {
    // Checked at compile time (`key_ref` is const), so no runtime failure path.
    const CREATED: &KeyRef = sfv::key_ref("created");
    const EXPIRES: &KeyRef = sfv::key_ref("expires");
    const KEYID: &KeyRef = sfv::key_ref("keyid");
    const ALG: &KeyRef = sfv::key_ref("alg");
    const NONCE: &KeyRef = sfv::key_ref("nonce");
    const TAG: &KeyRef = sfv::key_ref("tag");

    let mut parameters = Parameters::new();
    for (name, value) in [(CREATED, params.created), (EXPIRES, params.expires)] {
        if let Some(value) = value {
            let value = sfv::Integer::try_from(value).map_err(|_| invalid(name))?;
            parameters.insert(name.to_owned(), BareItem::Integer(value));
        }
    }
    for (name, value) in [
        (KEYID, Some(params.keyid.as_str())),
        (ALG, params.alg.then_some(HMAC_SHA256)),
        (NONCE, params.nonce.as_deref()),
        (TAG, params.tag.as_deref()),
    ] {
        if let Some(value) = value {
            let value = sfv::String::from_string(value.to_owned()).map_err(|_| invalid(name))?;
            parameters.insert(name.to_owned(), BareItem::String(value));
        }
    }
    Ok(parameters)
}

fn invalid(name: &KeyRef) -> SignError {
    SignError::Parameter {
        parameter: name.as_str().to_owned(),
    }
}

/// `label=value` as a one-member Dictionary.
fn member(label: &Key, value: ListEntry) -> String {
    let mut dictionary = Dictionary::new();
    dictionary.insert(label.clone(), value);
    // A non-empty dictionary always serialises.
    dictionary.serialize().unwrap_or_default()
}
