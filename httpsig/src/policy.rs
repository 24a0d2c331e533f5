//! What a verifier requires of a signature, and where its keys come from.

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;
use std::time::Duration;

use crate::component::{Component, Derived, Kind};

/// What a signature must cover and carry to be accepted by [`verify`].
///
/// [`Default`] is a strict starting point: `@method`, `@authority`, `@path` and
/// `@query` covered, `created` required and at most five minutes old (30 s of
/// skew either way), first signature with a known key. Add `content-digest` to
/// `required_components` for requests with a body, and `require_nonce` where the
/// caller keeps a replay store.
///
/// [`verify`]: crate::verify
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Components every accepted signature must cover. A derived component is
    /// also satisfied by one whose value contains it verbatim: `@target-uri`
    /// covers `@scheme`, `@authority`, `@path`, `@query` and `@request-target`;
    /// `@request-target` covers `@path` and `@query`.
    pub required_components: Vec<Component>,
    /// Refuse signatures without a `created` parameter.
    pub require_created: bool,
    /// Refuse signatures whose `created` is older than this (plus
    /// `clock_skew`). `None`: no limit beyond `expires`.
    pub max_age: Option<Duration>,
    /// Tolerated clock difference with signers, applied to `created` in the
    /// future, to `max_age` and to `expires`.
    pub clock_skew: Duration,
    /// Refuse signatures without an `expires` parameter.
    pub require_expires: bool,
    /// Refuse signatures without a `nonce` parameter. This crate does not check
    /// replay: the caller looks [`Verified::nonce`](crate::Verified::nonce) up in
    /// its own store.
    pub require_nonce: bool,
    /// Check only the signature with this label (`sig1` in
    /// `Signature-Input: sig1=…`). `None`: the first one, in field order, whose
    /// `keyid` is known (and whose `tag` matches, if `tag` is set).
    pub label: Option<String>,
    /// Refuse signatures whose `tag` parameter is not this value, so that a
    /// signature made for another application is not accepted here (RFC 9421
    /// §2.3).
    pub tag: Option<String>,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            required_components: [
                Derived::Method,
                Derived::Authority,
                Derived::Path,
                Derived::Query,
            ]
            .into_iter()
            .map(Component::derived)
            .collect(),
            require_created: true,
            max_age: Some(Duration::from_secs(300)),
            clock_skew: Duration::from_secs(30),
            require_expires: false,
            require_nonce: false,
            label: None,
            tag: None,
        }
    }
}

impl Policy {
    /// The required components that `covered` leaves out, in policy order.
    pub(crate) fn missing(&self, covered: &[Component]) -> Vec<String> {
        self.required_components
            .iter()
            .filter(|required| {
                !covered
                    .iter()
                    .any(|component| component == *required || implies(component, required))
            })
            .map(ToString::to_string)
            .collect()
    }
}

/// Whether covering `component` also signs every byte of `required`'s value.
fn implies(component: &Component, required: &Component) -> bool {
    use Derived::{Authority, Path, Query, RequestTarget, Scheme, TargetUri};
    let (Kind::Derived(covered), Kind::Derived(required)) = (component.kind(), required.kind())
    else {
        return false;
    };
    matches!(
        (covered, required),
        (TargetUri, Scheme | Authority | Path | Query | RequestTarget)
            | (RequestTarget, Path | Query)
    )
}

/// Where the verifier finds the shared secret named by a signature's `keyid`.
///
/// An empty key is treated as no key, so that a blank configuration entry can
/// never verify anything.
pub trait Keys {
    /// The HMAC-SHA256 key for `keyid`, if there is one.
    fn hmac_key(&self, keyid: &str) -> Option<&[u8]>;
}

impl<K: Keys + ?Sized> Keys for &K {
    fn hmac_key(&self, keyid: &str) -> Option<&[u8]> {
        (**self).hmac_key(keyid)
    }
}

impl<S: BuildHasher> Keys for HashMap<String, Vec<u8>, S> {
    fn hmac_key(&self, keyid: &str) -> Option<&[u8]> {
        self.get(keyid).map(Vec::as_slice)
    }
}

impl Keys for BTreeMap<String, Vec<u8>> {
    fn hmac_key(&self, keyid: &str) -> Option<&[u8]> {
        self.get(keyid).map(Vec::as_slice)
    }
}

/// [`Keys::hmac_key`], with an empty key read as none.
pub(crate) fn key_for<'k>(keys: &'k (impl Keys + ?Sized), keyid: &str) -> Option<&'k [u8]> {
    keys.hmac_key(keyid).filter(|key| !key.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn components(list: &[&str]) -> Vec<Component> {
        list.iter().map(|text| text.parse().expect(text)).collect()
    }

    #[test]
    fn target_uri_and_request_target_cover_their_parts() {
        let policy = Policy::default();
        assert_eq!(
            policy.missing(&components(&["@method", "@target-uri"])),
            Vec::<String>::new()
        );
        assert_eq!(
            policy.missing(&components(&["@request-target", "@method", "@authority"])),
            Vec::<String>::new()
        );
        assert_eq!(
            policy.missing(&components(&["@method", "@path", "@authority"])),
            ["@query"]
        );
        assert_eq!(
            policy.missing(&components(&["@request-target"])),
            ["@method", "@authority"]
        );
        assert_eq!(
            policy.missing(&[]),
            ["@method", "@authority", "@path", "@query"]
        );
    }

    #[test]
    fn fields_must_be_covered_with_the_same_parameters() {
        let policy = Policy {
            required_components: components(&["content-digest"]),
            ..Policy::default()
        };
        assert!(policy.missing(&components(&["content-digest"])).is_empty());
        assert_eq!(
            policy.missing(&components(&["content-digest;bs"])),
            ["content-digest"]
        );
    }

    #[test]
    fn empty_keys_are_no_keys() {
        let keys = HashMap::from([
            ("a".to_owned(), vec![1_u8]),
            ("blank".to_owned(), Vec::new()),
        ]);
        assert_eq!(key_for(&keys, "a"), Some([1_u8].as_slice()));
        assert_eq!(key_for(&keys, "blank"), None);
        assert_eq!(key_for(&&keys, "nope"), None);
    }
}
