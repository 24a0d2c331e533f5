//! The `outbound` handler: internal applications call the gateway (inbound mTLS, pinned as
//! any route) and the gateway forwards, streaming and byte for byte, to an external HTTPS
//! partner (the DMP) with the route's client identity (`mtls::OutboundIdentity`: a file, a
//! PKCS#11 token, or a practitioner's CPS card through the agent on their workstation).
//!
//! A CPS call names its agent in `X-CPS-Agent: https://<ip>:<port>` and the agent's session in
//! `X-CPS-Session`; the agent must be in the route's `agent_networks` and `agent_ports`, checked
//! before any connection, so the gateway can never be aimed elsewhere. Connections are pooled
//! per identity: a connection opened with one practitioner's card is never used for another's
//! call (one HTTP client, hence one pool, per agent and session). Neither header, nor any of
//! the gateway's own identity headers, reaches the partner.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Body;
use http::{HeaderMap, Request, Response, StatusCode};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::config::{AgentPolicy, OutboundSettings};
use crate::problem::GatewayError;
use crate::routing::{RequestContext, Route};

/// The header naming a call's CPS agent.
pub(crate) const AGENT_HEADER: &str = "x-cps-agent";
/// The header carrying the agent's session credential.
pub(crate) const SESSION_HEADER: &str = "x-cps-session";
/// Agents (practitioners' workstations) whose pools are kept at once.
const MAX_AGENT_POOLS: usize = 1024;

type HttpsClient = Client<HttpsConnector<HttpConnector>, Body>;

/// One outbound route's partner, identity and pools.
pub(crate) struct Outbound {
    settings: OutboundSettings,
    tls: mtls::OutboundTls,
    fixed: Option<HttpsClient>,
    /// Per agent and session: the client (its pool) and when it was made. A pool lives no
    /// longer than the card's `certificate_ttl`: a card swapped behind the same agent is seen
    /// then, as the certificate cache below it would see it.
    pools: Mutex<HashMap<mtls::AgentTarget, (HttpsClient, Instant)>>,
    pool_ttl: std::time::Duration,
}

impl Outbound {
    /// Builds the identity (a PKCS#11 identity logs in to its token here).
    ///
    /// # Errors
    /// Unusable trust anchors or identity, with the route's key.
    pub(crate) fn build(
        settings: &OutboundSettings,
        route: &str,
    ) -> Result<Self, adapters::BuildError> {
        let fail = |e: mtls::IdentityError| adapters::BuildError {
            key: format!("route `{route}`: outbound"),
            reason: e.to_string(),
        };
        let tls = mtls::OutboundTlsBuilder::from_files(&settings.trust_anchors)
            .map_err(fail)?
            .versions(settings.versions)
            .build(&settings.identity)
            .map_err(fail)?;
        let fixed = tls.fixed().map(|config| client(config, settings));
        let pool_ttl = match &settings.identity {
            mtls::OutboundIdentity::CpsAgent(agent) => agent.certificate_ttl,
            _ => std::time::Duration::MAX,
        };
        Ok(Self {
            settings: settings.clone(),
            tls,
            fixed,
            pools: Mutex::new(HashMap::new()),
            pool_ttl,
        })
    }

    async fn client_for(
        &self,
        target: Option<&mtls::AgentTarget>,
    ) -> Result<HttpsClient, GatewayError> {
        if let Some(fixed) = &self.fixed {
            return Ok(fixed.clone());
        }
        let Some(target) = target else {
            return Err(identity_error(&mtls::IdentityError::NoAgentTarget));
        };
        if let Some((client, made)) = self.lock().get(target)
            && made.elapsed() < self.pool_ttl
        {
            return Ok(client.clone());
        }
        let config = self
            .tls
            .config(Some(target))
            .await
            .map_err(|e| identity_error(&e))?;
        let client = client(&config, &self.settings);
        let mut pools = self.lock();
        if pools.len() >= MAX_AGENT_POOLS
            && let Some(oldest) = pools
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(t, _)| t.clone())
        {
            pools.remove(&oldest);
        }
        pools.insert(target.clone(), (client.clone(), Instant::now()));
        Ok(client)
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<mtls::AgentTarget, (HttpsClient, Instant)>> {
        self.pools
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn client(config: &Arc<rustls::ClientConfig>, settings: &OutboundSettings) -> HttpsClient {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(settings.connect_timeout));
    // hyper-rustls sets ALPN itself (`enable_http1`) and asserts that none is set before.
    let mut config = (**config).clone();
    config.alpn_protocols.clear();
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_only()
        .enable_http1()
        .wrap_connector(http);
    Client::builder(TokioExecutor::new()).build(https)
}

/// Forwards one call to the partner.
pub(crate) async fn forward(
    req: Request<Body>,
    route: &Route,
    outbound: &Outbound,
    ctx: &RequestContext,
) -> Result<Response<Body>, GatewayError> {
    let target = match &outbound.settings.agents {
        Some(policy) => Some(agent_target(req.headers(), policy)?),
        None => None,
    };
    let client = outbound.client_for(target.as_ref()).await?;
    let (mut parts, body) = req.into_parts();
    parts.uri =
        crate::proxy::upstream_uri(&outbound.settings.base_url, &route.settings, &parts.uri)?;
    parts.version = http::Version::HTTP_11;
    crate::headers::prepare_outbound(&mut parts.headers);
    let sent = tokio::time::timeout(
        route.settings.timeout,
        client.request(Request::from_parts(parts, body)),
    )
    .await;
    if let Some(fault) = ctx.tally.fault() {
        return Err(fault.clone().into());
    }
    let partner = format!("outbound:{}", route.settings.name);
    let counts = outbound.tls.signatures();
    metrics::gauge!("gateway_outbound_signatures", "route" => route.settings.name.clone(), "outcome" => "succeeded")
        .set(counts.succeeded as f64);
    metrics::gauge!("gateway_outbound_signatures", "route" => route.settings.name.clone(), "outcome" => "failed")
        .set(counts.failed as f64);
    let response = match sent {
        Err(_) => {
            return Err(GatewayError::UpstreamTimeout {
                upstream: partner,
                after: route.settings.timeout,
            });
        }
        Ok(Err(e)) => {
            if let Some(identity) = mtls::signing_failure(&e) {
                // The card failed: its pool and cached certificate go, the next call starts over.
                if let Some(target) = &target {
                    outbound.lock().remove(target);
                    if let Some(agent) = outbound.tls.agent() {
                        agent.forget(target);
                    }
                }
                return Err(identity_error(identity));
            }
            return Err(crate::proxy::classify(
                &partner,
                outbound.settings.connect_timeout,
                &e,
            ));
        }
        Ok(Ok(response)) => response,
    };
    if let Some(target) = &target {
        tracing::info!(route = %route.settings.name, request_id = %ctx.request_id, agent = target.base_url(),
            signatures_succeeded = counts.succeeded, "outbound call with a CPS card");
    }
    let (mut parts, body) = response.into_parts();
    crate::headers::prepare_response(&mut parts.headers);
    Ok(Response::from_parts(parts, Body::new(body)))
}

/// The agent a call names, if the route allows it: an `https://<ip>:<port>` in the route's
/// networks and ports (a host name is refused: what it resolves to is not the route's to
/// check).
fn agent_target(
    headers: &HeaderMap,
    policy: &AgentPolicy,
) -> Result<mtls::AgentTarget, GatewayError> {
    let refuse = |why: &'static str| GatewayError::Outbound {
        status: StatusCode::BAD_REQUEST,
        slug: "agent-not-allowed",
        reason: why.to_owned(),
    };
    let named = headers
        .get(AGENT_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| GatewayError::Outbound {
            status: StatusCode::BAD_REQUEST,
            slug: "agent-missing",
            reason: "the call must name its CPS agent in X-CPS-Agent".into(),
        })?;
    let uri: http::Uri = named
        .parse()
        .map_err(|_| refuse("X-CPS-Agent is not a URL"))?;
    if uri.scheme_str() != Some("https") {
        return Err(refuse("the agent must be reached over https"));
    }
    let host = uri
        .host()
        .unwrap_or_default()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let ip: IpAddr = host
        .parse()
        .map_err(|_| refuse("the agent must be named by its IP address"))?;
    if !policy.networks.iter().any(|n| n.contains(&ip)) {
        return Err(refuse("the agent is not in a network this route allows"));
    }
    if !uri.port_u16().is_some_and(|p| policy.ports.contains(&p)) {
        return Err(refuse("the agent is not on a port this route allows"));
    }
    let session = headers
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(mtls::Secret::new);
    mtls::AgentTarget::new(named, session).map_err(|e| identity_error(&e))
}

/// An identity failure as the caller sees it: the class in the slug, never a PIN, a session or
/// the signed data (the log gets the error's own text, which carries none of them either).
fn identity_error(e: &mtls::IdentityError) -> GatewayError {
    use mtls::IdentityError as E;
    let (status, slug) = match e {
        E::InvalidAgentTarget { .. } => (StatusCode::BAD_REQUEST, "agent-not-allowed"),
        E::NoAgentTarget => (StatusCode::BAD_REQUEST, "agent-missing"),
        E::AgentUnreachable { .. } => (StatusCode::BAD_GATEWAY, "agent-unreachable"),
        E::AgentUntrusted { .. } => (StatusCode::BAD_GATEWAY, "agent-untrusted"),
        E::AgentRefused { .. } => (StatusCode::BAD_GATEWAY, "agent-refused"),
        E::AgentFailed { .. } | E::AgentAnswer { .. } => (StatusCode::BAD_GATEWAY, "agent-failed"),
        E::Timeout { .. } => (StatusCode::GATEWAY_TIMEOUT, "signature-timeout"),
        E::WrongCertificate { .. } => (StatusCode::BAD_GATEWAY, "wrong-certificate"),
        E::BadSignature { .. } => (StatusCode::BAD_GATEWAY, "bad-signature"),
        E::PinIncorrect { .. } | E::PinLocked { .. } => (StatusCode::BAD_GATEWAY, "token-pin"),
        E::TokenAbsent { .. } => (StatusCode::BAD_GATEWAY, "token-absent"),
        _ => (StatusCode::BAD_GATEWAY, "outbound-identity"),
    };
    GatewayError::Outbound {
        status,
        slug,
        reason: e.to_string(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn policy() -> AgentPolicy {
        AgentPolicy {
            networks: vec![
                "10.20.0.0/16".parse().unwrap(),
                "127.0.0.1/32".parse().unwrap(),
            ],
            ports: vec![9443],
        }
    }

    fn named(agent: &str) -> Result<String, String> {
        let mut h = HeaderMap::new();
        h.insert(AGENT_HEADER, agent.parse().unwrap());
        agent_target(&h, &policy())
            .map(|t| t.base_url().to_owned())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn an_agent_outside_the_routes_networks_and_ports_is_refused_before_any_connection() {
        assert!(named("https://10.20.3.4:9443").is_ok());
        assert!(named("https://127.0.0.1:9443").is_ok());
        for bad in [
            "https://10.21.0.1:9443",
            "https://10.20.3.4:22",
            "https://10.20.3.4",
            "http://10.20.3.4:9443",
            "https://agent.example:9443",
            "https://169.254.169.254:9443",
            "not a url",
        ] {
            assert!(named(bad).is_err(), "{bad} must be refused");
        }
        assert!(
            agent_target(&HeaderMap::new(), &policy()).is_err(),
            "no agent named"
        );
    }
}
