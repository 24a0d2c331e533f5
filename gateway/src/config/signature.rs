//! `routes[].signature`: RFC 9421 HTTP Message Signatures as a caller authentication.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::Env;
use super::error::Collector;

/// The block as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSignature {
    /// `keyid` → the environment variable holding its HMAC secret.
    pub(crate) keys: BTreeMap<String, String>,
    /// Components every signature must cover.
    pub(crate) components: Option<Vec<String>>,
    /// Oldest accepted `created`.
    pub(crate) max_age: Option<String>,
    /// Tolerated clock difference with signers.
    pub(crate) clock_skew: Option<String>,
    /// Refuse signatures without a `nonce` (replays are refused through the state store).
    pub(crate) require_nonce: Option<bool>,
    /// Only signatures with this `tag` are accepted.
    pub(crate) tag: Option<String>,
}

/// A route's signed-request policy.
#[derive(Clone, PartialEq, Eq)]
pub struct SignatureSettings {
    /// `keyid` → HMAC secret.
    pub keys: BTreeMap<String, Vec<u8>>,
    /// What the verifier requires.
    pub components: Vec<String>,
    /// Oldest accepted `created`.
    pub max_age: Duration,
    /// Tolerated clock difference.
    pub clock_skew: Duration,
    /// Whether a `nonce` is required.
    pub require_nonce: bool,
    /// The required `tag`, if any.
    pub tag: Option<String>,
}

impl std::fmt::Debug for SignatureSettings {
    // The secrets are never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignatureSettings")
            .field("keyids", &self.keys.keys().collect::<Vec<_>>())
            .field("components", &self.components)
            .field("max_age", &self.max_age)
            .field("require_nonce", &self.require_nonce)
            .finish_non_exhaustive()
    }
}

/// At least the method, the target and the body's digest: what makes a signature bind one
/// request to one body.
const DEFAULT_COMPONENTS: &[&str] = &["@method", "@target-uri", "content-digest"];

pub(super) fn signature(
    c: &mut Collector,
    key: &str,
    raw: Option<&RawSignature>,
    env: &dyn Env,
) -> Option<Option<SignatureSettings>> {
    let Some(r) = raw else {
        return Some(None);
    };
    let key = format!("{key}.signature");
    let mut ok = true;
    if r.keys.is_empty() {
        c.push(
            format!("{key}.keys"),
            "at least one `keyid: ENV_VAR` is required",
        );
        ok = false;
    }
    let mut keys = BTreeMap::new();
    for (keyid, var) in &r.keys {
        // HMAC-SHA256 keys shorter than the hash are weak (RFC 2104 §3).
        let secret = c.secret(format!("{key}.keys.{keyid}"), env, var, |v| {
            if v.len() >= 32 {
                Ok(())
            } else {
                Err(format!("`{var}` holds fewer than 32 bytes"))
            }
        });
        match secret {
            Some(secret) => {
                keys.insert(keyid.clone(), secret.into_bytes());
            }
            None => ok = false,
        }
    }
    let components: Vec<String> = r
        .components
        .clone()
        .unwrap_or_else(|| DEFAULT_COMPONENTS.iter().map(|s| (*s).to_owned()).collect());
    for (j, comp) in components.iter().enumerate() {
        if let Err(e) = comp.parse::<httpsig::Component>() {
            c.push(format!("{key}.components[{j}]"), format!("`{comp}`: {e}"));
            ok = false;
        }
    }
    let duration = |c: &mut Collector, name: &str, v: Option<&str>, default: u64| {
        c.timeout(format!("{key}.{name}"), v, Duration::from_secs(default))
    };
    let max_age = duration(c, "max_age", r.max_age.as_deref(), 300);
    let clock_skew = duration(c, "clock_skew", r.clock_skew.as_deref(), 30);
    let settings = SignatureSettings {
        keys,
        components,
        max_age: max_age?,
        clock_skew: clock_skew?,
        require_nonce: r.require_nonce.unwrap_or(true),
        tag: r.tag.clone(),
    };
    ok.then_some(Some(settings))
}
