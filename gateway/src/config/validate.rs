//! The one validation pass: checks every key, resolves references, loads TLS material, and
//! reports all problems together.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::error::Collector;
use super::raw::{ClientAuthMode, RawClient, RawConfig, RawListener, RawRoute, RawUpstream};
use super::units::{parse_duration, parse_size};
use super::{
    ClientSettings, ConfigErrors, Env, ListenerSettings, LogFormat, LoggingSettings, RouteSettings,
    Settings, UpstreamSettings,
};

const DEFAULT_ADMIN_BIND: &str = "127.0.0.1:9901";

pub(super) fn validate(
    raw: RawConfig,
    file: &Path,
    base: &Path,
    env: &dyn Env,
) -> Result<Settings, ConfigErrors> {
    let mut c = Collector::new(file.to_owned());
    if raw.listeners.is_empty() {
        c.push("listeners", "at least one listener is required");
    }
    let mut listener_names = HashSet::new();
    let mut listeners = Vec::new();
    let mut pinnable = BTreeMap::new();
    for (i, l) in raw.listeners.iter().enumerate() {
        let key = format!("listeners[{i}]");
        if !listener_names.insert(l.name.clone()) {
            c.push(
                format!("{key}.name"),
                format!("duplicate listener name `{}`", l.name),
            );
        }
        let mode = l
            .tls
            .client_auth
            .as_ref()
            .map_or(ClientAuthMode::None, |a| a.mode);
        pinnable
            .entry(l.name.clone())
            .or_insert(mode != ClientAuthMode::None);
        if let Some(built) = listener(&mut c, &key, l, base) {
            listeners.push(built);
        }
    }
    let clients = clients(&mut c, &raw.clients);
    let upstreams = upstreams(&mut c, &raw.upstreams);
    let trails = super::policy::trails(&mut c, &raw.trails, base, env);
    let routes = routes(&mut c, &raw, &pinnable, &clients, &upstreams, base, env);
    for (i, r) in raw.routes.iter().enumerate() {
        if let Some(t) = &r.trail
            && !raw.trails.contains_key(t)
        {
            c.push(
                format!("routes[{i}].trail"),
                format!("no trail is named `{t}`"),
            );
        }
    }
    let admin_bind = raw
        .admin
        .as_ref()
        .map_or(DEFAULT_ADMIN_BIND, |a| a.bind.as_str());
    let admin_bind = c.check("admin.bind", parse_addr(admin_bind));
    // Two sockets on one address cannot both start (port 0 picks a free port each time).
    let mut taken: BTreeMap<SocketAddr, String> = BTreeMap::new();
    for (i, l) in raw.listeners.iter().enumerate() {
        let Ok(bind) = parse_addr(&l.bind) else {
            continue;
        };
        if bind.port() == 0 {
            continue;
        }
        if let Some(other) = taken.insert(bind, l.name.clone()) {
            c.push(
                format!("listeners[{i}].bind"),
                format!("{bind} is also listener `{other}`'s address"),
            );
        }
    }
    if let Some(admin) = admin_bind
        && admin.port() != 0
        && let Some(other) = taken.get(&admin)
    {
        c.push(
            "admin.bind",
            format!("{admin} is also listener `{other}`'s address"),
        );
    }
    let state = super::store::state(&mut c, raw.state.as_ref(), base, env);
    let logging = LoggingSettings {
        format: raw
            .logging
            .as_ref()
            .and_then(|l| l.format)
            .unwrap_or(LogFormat::Human),
        level: raw
            .logging
            .as_ref()
            .and_then(|l| l.level.clone())
            .unwrap_or_else(|| "info".into()),
    };
    if let Err(e) = tracing_subscriber::EnvFilter::try_new(&logging.level) {
        c.push(
            "logging.level",
            format!("`{}` is not a log filter: {e}", logging.level),
        );
    }
    let shutdown_grace = raw
        .shutdown
        .as_ref()
        .and_then(|s| s.grace_period.as_deref())
        .map_or(Ok(Duration::from_secs(30)), parse_duration);
    let shutdown_grace = c.check("shutdown.grace_period", shutdown_grace);
    // No drain by default: a single instance has no load balancer to tell.
    let shutdown_drain = raw
        .shutdown
        .as_ref()
        .and_then(|s| s.drain_period.as_deref())
        .map_or(Ok(Duration::ZERO), parse_duration);
    let shutdown_drain = c.check("shutdown.drain_period", shutdown_drain);
    let settings = (|| {
        Some(Settings {
            file: file.to_owned(),
            listeners,
            clients,
            routes,
            upstreams,
            admin_bind: admin_bind?,
            state: state?,
            logging,
            shutdown_grace: shutdown_grace?,
            shutdown_drain: shutdown_drain?,
            trails,
        })
    })();
    c.finish(settings)
}

fn parse_addr(text: &str) -> Result<SocketAddr, String> {
    text.parse()
        .map_err(|_| format!("`{text}` is not an address such as `127.0.0.1:8443` or `[::1]:8443`"))
}

fn resolve(base: &Path, path: &str) -> PathBuf {
    base.join(path)
}

fn listener(
    c: &mut Collector,
    key: &str,
    l: &RawListener,
    base: &Path,
) -> Option<ListenerSettings> {
    let bind = c.check(format!("{key}.bind"), parse_addr(&l.bind));
    let mode = l
        .tls
        .client_auth
        .as_ref()
        .map_or(ClientAuthMode::None, |a| a.mode);
    let timeouts = super::connection::timeouts(c, key, l);
    let caps = super::connection::caps(c, key, l, mode);
    let client_auth = match &l.tls.client_auth {
        None => Some(mtls::ClientAuth::None),
        Some(auth) => {
            let akey = format!("{key}.tls.client_auth.trust_anchors");
            match (auth.mode, auth.trust_anchors.is_empty()) {
                (ClientAuthMode::None, true) => Some(mtls::ClientAuth::None),
                (ClientAuthMode::None, false) => {
                    c.push(akey, "trust anchors are given but mode is `none`");
                    None
                }
                (_, true) => {
                    c.push(akey, "at least one CA certificate (PEM or DER) is required");
                    None
                }
                (mode, false) => {
                    let paths: Vec<PathBuf> = auth
                        .trust_anchors
                        .iter()
                        .map(|p| resolve(base, p))
                        .collect();
                    match mtls::TrustAnchors::from_files(&paths) {
                        Ok(a) if mode == ClientAuthMode::Required => {
                            Some(mtls::ClientAuth::Required(a))
                        }
                        Ok(a) => Some(mtls::ClientAuth::Optional(a)),
                        Err(e) => {
                            c.push(akey, e.to_string());
                            None
                        }
                    }
                }
            }
        }
    };
    // An invalid block is reported through `c`, which refuses the whole file: `None` is enough.
    let revocation_key = format!("{key}.tls.client_auth.revocation");
    let revocation = match &l.tls.client_auth {
        Some(auth) if auth.mode == ClientAuthMode::None && auth.revocation.is_some() => {
            c.push(
                revocation_key,
                "revocation needs client certificates (mode `required` or `optional`)",
            );
            None
        }
        Some(auth) => auth
            .revocation
            .as_ref()
            .and_then(|r| super::revocation::revocation(c, &revocation_key, r, base)),
        None => None,
    };
    let tls = client_auth.and_then(|client_auth| {
        let settings = mtls::ServerTlsSettings {
            cert_chain: resolve(base, &l.tls.cert),
            key: resolve(base, &l.tls.key),
            client_auth,
            session_cache_size: l.tls.session_cache_size.unwrap_or(1024),
            revocation: None,
        };
        c.check(
            format!("{key}.tls"),
            mtls::ServerTls::build(&settings).map_err(|e| e.to_string()),
        )
        .map(|tls| (tls, settings))
    });
    let (tls, tls_settings) = tls?;
    Some(ListenerSettings {
        name: l.name.clone(),
        bind: bind?,
        tls,
        tls_settings,
        revocation,
        timeouts: timeouts?,
        caps: caps?,
    })
}

fn clients(
    c: &mut Collector,
    raw: &BTreeMap<String, RawClient>,
) -> BTreeMap<String, ClientSettings> {
    let mut seen = BTreeMap::new();
    let mut out = BTreeMap::new();
    for (name, client) in raw {
        let key = format!("clients.{name}");
        if client.cn.trim().is_empty() {
            c.push(format!("{key}.cn"), "must not be empty");
        }
        if client.ou.trim().is_empty() {
            c.push(format!("{key}.ou"), "must not be empty");
        }
        if let Some(other) = seen.insert((client.cn.clone(), client.ou.clone()), name.clone()) {
            c.push(key.clone(), format!("same CN and OU as client `{other}`"));
        }
        out.insert(
            name.clone(),
            ClientSettings {
                pin: mtls::ClientPin {
                    name: name.clone(),
                    cn: client.cn.clone(),
                    ou: client.ou.clone(),
                },
                environment: client.environment,
            },
        );
    }
    out
}

fn upstreams(
    c: &mut Collector,
    raw: &BTreeMap<String, RawUpstream>,
) -> BTreeMap<String, UpstreamSettings> {
    let mut out = BTreeMap::new();
    for (name, u) in raw {
        let key = format!("upstreams.{name}");
        let url = match u.url.parse::<http::Uri>() {
            Ok(url) if url.scheme_str() == Some("http") && url.host().is_some() => Some(url),
            Ok(url) if url.scheme_str() == Some("https") => {
                c.push(
                    format!("{key}.url"),
                    "https upstreams are not supported by the proxy handler yet; use http on a trusted network",
                );
                None
            }
            _ => {
                c.push(
                    format!("{key}.url"),
                    format!("`{}` is not an absolute http URL", u.url),
                );
                None
            }
        };
        let pool = u.pool.as_ref();
        let connect_timeout = c.timeout(
            format!("{key}.connect_timeout"),
            u.connect_timeout.as_deref(),
            Duration::from_secs(2),
        );
        let request_timeout = c.timeout(
            format!("{key}.request_timeout"),
            u.request_timeout.as_deref(),
            Duration::from_secs(30),
        );
        let idle_timeout = c.timeout(
            format!("{key}.pool.idle_timeout"),
            pool.and_then(|p| p.idle_timeout.as_deref()),
            Duration::from_secs(90),
        );
        let concurrency = super::policy::concurrency(c, &key, u.concurrency.as_ref());
        let health_check = super::policy::health_check(c, &key, u.health_check.as_ref());
        if let (
            Some(url),
            Some(connect_timeout),
            Some(request_timeout),
            Some(idle_timeout),
            Some(concurrency),
            Some(health_check),
        ) = (
            url,
            connect_timeout,
            request_timeout,
            idle_timeout,
            concurrency,
            health_check,
        ) {
            out.insert(
                name.clone(),
                UpstreamSettings {
                    name: name.clone(),
                    url,
                    connect_timeout,
                    request_timeout,
                    max_idle_per_host: pool.and_then(|p| p.max_idle_per_host).unwrap_or(64),
                    idle_timeout,
                    concurrency,
                    health_check,
                },
            );
        }
    }
    out
}

fn routes(
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
