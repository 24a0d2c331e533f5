//! The one validation pass: checks every key, resolves references, loads TLS material, and
//! reports all problems together.

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::error::Collector;
use super::raw::{ClientAuthMode, RawClient, RawConfig, RawListener, RawUpstream};
use super::route::routes;
use super::units::parse_duration;
use super::{
    ClientSettings, ConfigErrors, Env, ListenerSettings, LogFormat, LoggingSettings, Settings,
    UpstreamSettings,
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
