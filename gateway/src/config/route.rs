//! `routes:`: each route's listener, prefix, methods, handler and upstream, who may call it, and
//! its headers; the policy blocks are checked by their own modules.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;
use std::time::Duration;

use super::error::Collector;
use super::raw::{RawConfig, RawRoute};
use super::units::parse_size;
use super::{ClientSettings, Env, RouteSettings, UpstreamSettings};

pub(super) fn routes(
    c: &mut Collector,
    raw: &RawConfig,
    pinnable: &BTreeMap<String, bool>,
    clients: &BTreeMap<String, ClientSettings>,
    upstreams: &BTreeMap<String, UpstreamSettings>,
    base: &Path,
    env: &dyn Env,
) -> Vec<RouteSettings> {
    let mut names = HashSet::new();
    let mut prefixes = BTreeSet::new();
    let mut out = Vec::new();
    let services = super::adapter::internal_services(upstreams);
    for (i, r) in raw.routes.iter().enumerate() {
        let key = format!("routes[{i}]");
        if !names.insert(r.name.clone()) {
            c.push(
                format!("{key}.name"),
                format!("duplicate route name `{}`", r.name),
            );
        }
        let listener = match (&r.listener, raw.listeners.len()) {
            (Some(l), _) if pinnable.contains_key(l) => Some(l.clone()),
            (Some(l), _) => {
                c.push(
                    format!("{key}.listener"),
                    format!("no listener is named `{l}`"),
                );
                None
            }
            (None, 1) => raw.listeners.first().map(|l| l.name.clone()),
            (None, _) => {
                c.push(
                    format!("{key}.listener"),
                    "required when there is more than one listener",
                );
                None
            }
        };
        if !r.path_prefix.starts_with('/') {
            c.push(format!("{key}.path_prefix"), "must start with `/`");
        }
        if let Some(l) = &listener
            && !prefixes.insert((l.clone(), r.path_prefix.clone()))
        {
            c.push(
                format!("{key}.path_prefix"),
                format!(
                    "another route of listener `{l}` has the prefix `{}`",
                    r.path_prefix
                ),
            );
        }
        let methods = r.methods.as_ref().map(|ms| {
            ms.iter()
                .enumerate()
                .filter_map(|(j, m)| {
                    c.check(
                        format!("{key}.methods[{j}]"),
                        http::Method::from_bytes(m.as_bytes())
                            .map_err(|_| format!("`{m}` is not an HTTP method")),
                    )
                })
                .collect::<Vec<_>>()
        });
        match (&r.upstream, r.handler) {
            (None, super::HandlerKind::Proxy | super::HandlerKind::Documents) => {
                c.push(
                    format!("{key}.upstream"),
                    format!("a `{}` route needs an upstream", r.handler.as_str()),
                );
            }
            (Some(u), _) if !upstreams.contains_key(u) && !raw.upstreams.contains_key(u) => {
                c.push(
                    format!("{key}.upstream"),
                    format!("no upstream is named `{u}`"),
                );
            }
            _ => {}
        }
        let policy = policy(c, &key, r, listener.as_deref(), pinnable, clients);
        let max_body_size = c.check(
            format!("{key}.max_body_size"),
            r.max_body_size.as_deref().map_or(Ok(10 << 20), parse_size),
        );
        let default_timeout = r
            .upstream
            .as_ref()
            .and_then(|u| upstreams.get(u))
            .map_or(Duration::from_secs(30), |u| u.request_timeout);
        let timeout = c.timeout(
            format!("{key}.timeout"),
            r.timeout.as_deref(),
            default_timeout,
        );
        let adapter = super::adapter::adapter(c, &key, r, base, env, &services);
        let headers = route_headers(c, &key, r);
        let quota = super::policy::quota(c, &key, r.quota.as_ref());
        let scan = super::scan::scan(c, &key, r.scan.as_ref(), base);
        let content = super::policy::content(c, &key, r.content.as_ref());
        let signature = super::signature::signature(c, &key, r.signature.as_ref(), env);
        let timestamp = super::timestamp::timestamp(c, &key, r.timestamp.as_ref(), base);
        let outbound = super::outbound::outbound(c, &key, r.outbound.as_ref(), base, env);
        match (r.handler, r.outbound.is_some()) {
            (super::HandlerKind::Outbound, false) => c.push(
                format!("{key}.outbound"),
                "a `handler: outbound` route needs its `outbound:` block",
            ),
            (super::HandlerKind::Outbound, true) | (_, false) => {}
            (other, true) => c.push(
                format!("{key}.outbound"),
                format!(
                    "this block belongs to `handler: outbound` routes, and this route's handler is `{}`",
                    other.as_str()
                ),
            ),
        }
        if let (
            Some(listener),
            Some(policy),
            Some(max_body_size),
            Some(timeout),
            Some(adapter),
            Some(quota),
            Some(content),
            Some(signature),
            Some(timestamp),
            Some(outbound),
        ) = (
            listener,
            policy,
            max_body_size,
            timeout,
            adapter,
            quota,
            content,
            signature,
            timestamp,
            outbound,
        ) {
            out.push(RouteSettings {
                name: r.name.clone(),
                listener,
                path_prefix: r.path_prefix.clone(),
                methods,
                handler: r.handler,
                upstream: r.upstream.clone(),
                strip_prefix: r.strip_prefix,
                policy,
                max_body_size,
                timeout,
                revocation: r.revocation.unwrap_or_default(),
                adapter,
                headers,
                digest: super::policy::digest(r.digest.as_ref()),
                quota,
                trail: r.trail.clone(),
                scan,
                content,
                signature,
                timestamp,
                outbound,
            });
        }
    }
    out
}

fn route_headers(c: &mut Collector, key: &str, r: &RawRoute) -> super::RouteHeaders {
    let strip = r
        .strip_headers
        .iter()
        .enumerate()
        .filter_map(|(j, name)| {
            c.check(
                format!("{key}.strip_headers[{j}]"),
                http::HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| format!("`{name}` is not a header name")),
            )
        })
        .collect();
    if r.forward_client_cert && r.allow_anonymous {
        c.push(
            format!("{key}.forward_client_cert"),
            "an anonymous route has no client certificate to forward",
        );
    }
    super::RouteHeaders {
        strip,
        forward_client_cert: r.forward_client_cert,
    }
}

fn policy(
    c: &mut Collector,
    key: &str,
    r: &RawRoute,
    listener: Option<&str>,
    pinnable: &BTreeMap<String, bool>,
    clients: &BTreeMap<String, ClientSettings>,
) -> Option<mtls::ClientPolicy> {
    let chosen = [
        !r.allowed_clients.is_empty(),
        r.allow_any_verified_client,
        r.allow_anonymous,
    ];
    if chosen.iter().filter(|b| **b).count() != 1 {
        c.push(
            key,
            "say who may call this route with exactly one of: `allowed_clients` (a list), \
             `allow_any_verified_client: true`, `allow_anonymous: true`",
        );
        return None;
    }
    let has_certs = listener
        .and_then(|l| pinnable.get(l))
        .copied()
        .unwrap_or(true);
    if !has_certs && !r.allow_anonymous {
        c.push(
            key,
            "the listener does not ask for client certificates (client_auth mode `none`), so only \
             `allow_anonymous: true` can work here",
        );
        return None;
    }
    if r.allow_anonymous {
        return Some(mtls::ClientPolicy::Anonymous);
    }
    if r.allow_any_verified_client {
        return Some(mtls::ClientPolicy::AnyVerifiedClient);
    }
    let mut pins = Vec::new();
    for (j, name) in r.allowed_clients.iter().enumerate() {
        match clients.get(name) {
            Some(client) => pins.push(client.pin.clone()),
            None => c.push(
                format!("{key}.allowed_clients[{j}]"),
                format!("no client is named `{name}`"),
            ),
        }
    }
    (pins.len() == r.allowed_clients.len()).then_some(mtls::ClientPolicy::Pinned(pins))
}
