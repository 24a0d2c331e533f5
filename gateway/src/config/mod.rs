//! Configuration: parsed from YAML with unknown fields denied, validated in one pass that reports
//! every error with its file and key, then built into [`Settings`] (TLS material loaded).

mod adapter;
mod connection;
mod error;
mod outbound;
mod policy;
mod raw;
#[cfg(test)]
mod reference;
mod revocation;
mod route;
pub mod scan;
mod signature;
mod store;
mod timestamp;
mod units;
mod validate;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use connection::{ConnectionCaps, ConnectionTimeouts};
pub use error::{ConfigError, ConfigErrors};
pub use outbound::{AgentPolicy, OutboundSettings};
pub use policy::{
    ContentSettings, DigestSettings, HealthCheckSettings, QueueSettings, QuotaSettings,
    ResponseDigest, TrailKey, TrailSettings,
};
pub use raw::{Environment, HandlerKind, LogFormat, OnUnavailable, RouteRevocation, StateBackend};
pub use signature::SignatureSettings;
pub use timestamp::{TimestampMode, TimestampSettings};
pub(crate) use units::positive_duration;

/// Where secrets come from: the process environment in production, a map in tests (so that no
/// test ever calls `set_var`).
pub trait Env {
    /// The value of a variable, if set.
    fn var(&self, name: &str) -> Option<String>;
}

/// The real process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl Env for std::collections::HashMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

/// A validated, built configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The file it came from.
    pub file: PathBuf,
    /// TLS listeners.
    pub listeners: Vec<ListenerSettings>,
    /// Routes, in file order.
    pub routes: Vec<RouteSettings>,
    /// Named clients (CN and OU pinned together) with their ANS environment.
    pub clients: BTreeMap<String, ClientSettings>,
    /// Upstreams by name.
    pub upstreams: BTreeMap<String, UpstreamSettings>,
    /// Admin listener address (loopback by default).
    pub admin_bind: SocketAddr,
    /// Shared state.
    pub state: StateSettings,
    /// Logging.
    pub logging: LoggingSettings,
    /// How long in-flight requests may run after a shutdown signal (and the drain).
    pub shutdown_grace: Duration,
    /// How long, after a shutdown signal, the gateway reports not-ready while it still serves
    /// (so that a load balancer stops sending) before it closes its listeners.
    pub shutdown_drain: Duration,
    /// Audit trails by name.
    pub trails: BTreeMap<String, TrailSettings>,
}

/// One TLS listener.
#[derive(Debug, Clone)]
pub struct ListenerSettings {
    /// Its name, referenced by routes.
    pub name: String,
    /// Address to bind.
    pub bind: SocketAddr,
    /// The built TLS configuration (without revocation: that needs a runtime to start).
    pub tls: mtls::ServerTls,
    /// What `tls` was built from; the gateway rebuilds it with the revocation handle.
    pub tls_settings: mtls::ServerTlsSettings,
    /// Revocation checking of client certificates, if configured.
    pub revocation: Option<mtls::RevocationSettings>,
    /// How long each step of a connection may take (applied by a reload to new connections).
    pub timeouts: ConnectionTimeouts,
    /// How many connections may be open (read at start: a change needs a restart).
    pub caps: ConnectionCaps,
}

/// One named client.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// CN and OU as routes pin them.
    pub pin: mtls::ClientPin,
    /// The ANS environment the certificate belongs to, if said.
    pub environment: Option<Environment>,
}

/// One route.
#[derive(Debug, Clone)]
pub struct RouteSettings {
    /// Its name, in logs and metrics.
    pub name: String,
    /// The listener it belongs to.
    pub listener: String,
    /// The path prefix it matches, on segment boundaries.
    pub path_prefix: String,
    /// Allowed methods (`None`: any).
    pub methods: Option<Vec<http::Method>>,
    /// What it does.
    pub handler: HandlerKind,
    /// The upstream of a proxy route.
    pub upstream: Option<String>,
    /// Whether the prefix is removed before forwarding.
    pub strip_prefix: bool,
    /// Who may call it.
    pub policy: mtls::ClientPolicy,
    /// Largest request body accepted.
    pub max_body_size: u64,
    /// Longest wait for the upstream's response headers.
    pub timeout: Duration,
    /// How the connection's revocation verdict is applied.
    pub revocation: RouteRevocation,
    /// The validated block of an adapter route (`None` for `proxy`).
    pub adapter: Option<adapters::AdapterSettings>,
    /// What the route adds to the default header handling (proxy routes).
    pub headers: RouteHeaders,
    /// RFC 9530 digest policy.
    pub digest: Option<DigestSettings>,
    /// Daily volume per client.
    pub quota: Option<QuotaSettings>,
    /// The trail the route records to.
    pub trail: Option<String>,
    /// Antivirus scanning of uploads by clamd.
    pub scan: Option<scan::ScanSettings>,
    /// Content checks before the upstream is called.
    pub content: Option<ContentSettings>,
    /// Signed requests (RFC 9421) required of callers.
    pub signature: Option<SignatureSettings>,
    /// RFC 3161 timestamps of the answers.
    pub timestamp: Option<TimestampSettings>,
    /// The partner and identity of a `handler: outbound` route.
    pub outbound: Option<OutboundSettings>,
}

/// What a route adds to the default header handling.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteHeaders {
    /// More request headers to remove (`strip_headers`).
    pub strip: Vec<http::HeaderName>,
    /// Whether to send RFC 9440 `Client-Cert` and `Client-Cert-Chain` upstream.
    pub forward_client_cert: bool,
}

/// One upstream.
#[derive(Debug, Clone)]
pub struct UpstreamSettings {
    /// Its name.
    pub name: String,
    /// Base URL; the request path is appended to its path.
    pub url: http::Uri,
    /// Longest TCP connect.
    pub connect_timeout: Duration,
    /// Default longest wait for response headers (a route may override).
    pub request_timeout: Duration,
    /// Idle connections kept per host.
    pub max_idle_per_host: usize,
    /// How long an idle connection is kept.
    pub idle_timeout: Duration,
    /// A concurrency limit with a bounded queue, for upstreams that can do little at once.
    pub concurrency: Option<QueueSettings>,
    /// An active health check.
    pub health_check: Option<HealthCheckSettings>,
}

/// Shared state settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateSettings {
    /// Memory or Redis.
    pub backend: StateBackend,
    /// How to reach Redis (`backend: redis`): one server or a Sentinel group, TLS, password.
    pub redis: Option<state::RedisConfig>,
    /// Key prefix per deployment.
    pub key_prefix: String,
    /// Per-operation timeout.
    pub timeout: Duration,
    /// Behaviour when Redis is down.
    pub on_unavailable: OnUnavailable,
    /// Bound of the in-memory store.
    pub max_entries: usize,
}

/// Logging settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggingSettings {
    /// JSON or human.
    pub format: LogFormat,
    /// A tracing filter directive such as `info` or `gateway=debug,info`.
    pub level: String,
}

/// Reads, validates and builds a configuration file.
///
/// # Errors
/// Every problem found, each with file, key and reason.
pub fn load(path: &Path, env: &dyn Env) -> Result<Settings, ConfigErrors> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            file: path.to_owned(),
            key: "(file)".into(),
            reason: format!("cannot read: {e}"),
        }])
    })?;
    let base = path.parent().unwrap_or_else(|| Path::new("."));
    from_yaml(&text, path, base, env)
}

/// Validates and builds a configuration held in memory; relative paths resolve against `base`.
///
/// # Errors
/// Every problem found, each with file, key and reason.
pub fn from_yaml(
    text: &str,
    file: &Path,
    base: &Path,
    env: &dyn Env,
) -> Result<Settings, ConfigErrors> {
    let raw: raw::RawConfig = serde_saphyr::from_str(text).map_err(|e| {
        let (key, reason) = locate(&e.to_string());
        ConfigErrors(vec![ConfigError {
            file: file.to_owned(),
            key,
            reason,
        }])
    })?;
    validate::validate(raw, file, base, env)
}

/// serde-saphyr renders `error: line 7 column 7: unknown field …` followed by a source snippet;
/// the operator gets the location as the key and the first line's message as the reason.
fn locate(text: &str) -> (String, String) {
    let first = text.lines().next().unwrap_or_default().trim();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let (at, reason) = match first.split_once(": ") {
        Some((at, reason)) if at.starts_with("line ") => (at.to_owned(), reason.to_owned()),
        _ => ("(yaml)".to_owned(), first.to_owned()),
    };
    (at, operator_words(&reason))
}

/// The parser's advice to programmers ("set DuplicateKeyPolicy in Options") means nothing to an
/// operator: say what to do in the file instead.
fn operator_words(reason: &str) -> String {
    match reason.split_once(", set DuplicateKeyPolicy") {
        Some((what, _)) => format!("{what} (a key may appear once in a mapping)"),
        None => reason.to_owned(),
    }
}
