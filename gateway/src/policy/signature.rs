//! Signed requests (RFC 9421, `hmac-sha256`) as a caller authentication, alone or on top of
//! mutual TLS: the signature is checked on the headers before anything else is read; its
//! `nonce` is refused a second time through the shared state store (every instance sees it);
//! when it covers `content-digest`, the body is checked against that digest while it streams,
//! and a mismatch is this policy's refusal (401), not a plain 400. The verified `keyid` is the
//! caller's identity for the upstream (`X-Gateway-Client`), the logs and the trail.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use http::Request;
use sha2::{Digest as _, Sha256};

use crate::config::SignatureSettings;
use crate::problem::GatewayError;

/// The original request target, when routing made the path canonical: a signature covers what
/// the caller sent.
#[derive(Debug, Clone)]
pub(crate) struct OriginalTarget(pub(crate) String);

/// One route's signature policy.
pub(crate) struct Signatures {
    policy: httpsig::Policy,
    keys: BTreeMap<String, Vec<u8>>,
    store: Arc<dyn state::StateStore>,
    nonce_ttl: Duration,
    route: String,
}

/// What a verified signature says about the caller.
#[derive(Debug, Clone)]
pub(crate) struct Signer {
    pub(crate) keyid: String,
    /// Whether the signature covers `content-digest` (the body must then match it).
    pub(crate) covers_digest: bool,
}

impl Signatures {
    pub(crate) fn new(
        settings: &SignatureSettings,
        route: &str,
        store: Arc<dyn state::StateStore>,
    ) -> Self {
        let policy = httpsig::Policy {
            // Validated when the file was loaded.
            required_components: settings
                .components
                .iter()
                .filter_map(|c| c.parse().ok())
                .collect(),
            require_created: true,
            max_age: Some(settings.max_age),
            clock_skew: settings.clock_skew,
            require_expires: false,
            require_nonce: settings.require_nonce,
            label: None,
            tag: settings.tag.clone(),
        };
        Self {
            policy,
            keys: settings.keys.clone(),
            store,
            // A nonce must be remembered as long as its signature could be accepted.
            nonce_ttl: settings.max_age + settings.clock_skew * 2,
            route: route.to_owned(),
        }
    }

    /// Verifies the request's signature and refuses a replayed nonce.
    ///
    /// # Errors
    /// 401 naming the class; 503 when the nonce store cannot answer.
    pub(crate) async fn check<B>(&self, req: &Request<B>) -> Result<Signer, GatewayError> {
        let headers: Vec<(&str, &[u8])> = req
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_bytes()))
            .collect();
        let target = req.extensions().get::<OriginalTarget>().map_or_else(
            || req.uri().path_and_query().map_or("/", |p| p.as_str()),
            |t| t.0.as_str(),
        );
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (target, None),
        };
        let authority = req
            .uri()
            .authority()
            .map(http::uri::Authority::as_str)
            .or_else(|| {
                req.headers()
                    .get(http::header::HOST)
                    .and_then(|h| h.to_str().ok())
            })
            .unwrap_or_default();
        let parts = httpsig::RequestParts {
            method: req.method().as_str(),
            scheme: "https",
            authority,
            path,
            query,
            headers: &headers,
        };
        let now = jiff::Timestamp::now().as_second();
        let verified = httpsig::verify(&parts, &self.policy, &self.keys, now).map_err(|r| {
            let class = r.class();
            metrics::counter!("gateway_signature_refusals_total", "route" => self.route.clone(), "class" => class)
                .increment(1);
            refused(class, r.to_string())
        })?;
        if let Some(nonce) = &verified.nonce {
            // Hashed: the key's length is bounded whatever the caller sent.
            let digest = Sha256::digest(format!("{}\n{}\n{nonce}", self.route, verified.keyid));
            let key = format!("sig-nonce:{}", hex::encode(digest));
            let replay = self
                .store
                .seen_or_insert(&key, self.nonce_ttl)
                .await
                .map_err(|e| GatewayError::PolicyUnavailable {
                    what: "the signature nonce store",
                    reason: e.to_string(),
                })?;
            if replay {
                metrics::counter!("gateway_signature_refusals_total", "route" => self.route.clone(), "class" => "replay")
                    .increment(1);
                return Err(refused(
                    "replay",
                    "this signature's nonce was already used".into(),
                ));
            }
        }
        Ok(Signer {
            covers_digest: verified.covers("content-digest"),
            keyid: verified.keyid,
        })
    }
}

/// A refusal of this policy: 401 with the class in the problem's type.
pub(crate) fn refused(class: &'static str, detail: String) -> GatewayError {
    GatewayError::SignatureRefused { class, detail }
}
