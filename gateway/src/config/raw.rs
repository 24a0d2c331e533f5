//! The YAML schema as written by operators. Every struct denies unknown fields so a typo such as
//! `requre_client_cert` is an error, not a silently ignored key. Units (durations, sizes) stay
//! strings here and are checked in `validate`, so that every bad value is reported with its key.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    pub(crate) listeners: Vec<RawListener>,
    #[serde(default)]
    pub(crate) clients: BTreeMap<String, RawClient>,
    #[serde(default)]
    pub(crate) upstreams: BTreeMap<String, RawUpstream>,
    #[serde(default)]
    pub(crate) routes: Vec<RawRoute>,
    pub(crate) admin: Option<RawAdmin>,
    pub(crate) state: Option<RawState>,
    pub(crate) logging: Option<RawLogging>,
    pub(crate) shutdown: Option<RawShutdown>,
    /// Audit trails routes write to.
    #[serde(default)]
    pub(crate) trails: BTreeMap<String, super::policy::RawTrail>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawListener {
    pub(crate) name: String,
    pub(crate) bind: String,
    pub(crate) tls: RawServerTls,
    pub(crate) handshake_timeout: Option<String>,
    pub(crate) header_read_timeout: Option<String>,
    pub(crate) idle_timeout: Option<String>,
    pub(crate) request_body_timeout: Option<String>,
    pub(crate) request_timeout: Option<String>,
    pub(crate) http2_keepalive_interval: Option<String>,
    pub(crate) http2_keepalive_timeout: Option<String>,
    pub(crate) max_connections: Option<usize>,
    pub(crate) max_connections_per_address: Option<usize>,
    pub(crate) max_connections_without_certificate: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawServerTls {
    pub(crate) cert: String,
    pub(crate) key: String,
    pub(crate) client_auth: Option<RawClientAuth>,
    pub(crate) session_cache_size: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawClientAuth {
    pub(crate) mode: ClientAuthMode,
    #[serde(default)]
    pub(crate) trust_anchors: Vec<String>,
    pub(crate) revocation: Option<RawRevocation>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRevocation {
    pub(crate) scope: Option<Scope>,
    pub(crate) combine: Option<CombineMode>,
    pub(crate) crl: Option<RawCrl>,
    pub(crate) ocsp: Option<RawOcsp>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Scope {
    LeafOnly,
    WholeChain,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum CombineMode {
    OcspWhenNoCrl,
    Both,
    CrlOnly,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCrl {
    /// `http://` / `https://` URLs or files (DER or PEM).
    #[serde(default)]
    pub(crate) sources: Vec<String>,
    #[serde(default)]
    pub(crate) use_distribution_points: bool,
    /// Local time `HH:MM`.
    pub(crate) refresh_at: Option<String>,
    pub(crate) time_zone: Option<String>,
    pub(crate) jitter: Option<String>,
    pub(crate) on_missing_at_start: Option<MissingMode>,
    pub(crate) on_stale: Option<FailMode>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum MissingMode {
    Refuse,
    StartDegraded,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum FailMode {
    Hard,
    Soft,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOcsp {
    pub(crate) mode: OcspModeRaw,
    pub(crate) responder: Option<String>,
    #[serde(default)]
    pub(crate) nonce: bool,
    pub(crate) timeout: Option<String>,
    pub(crate) max_cache_age: Option<String>,
    pub(crate) clock_skew: Option<String>,
    /// `inline` (the default) or `background`: see `mtls::OcspFetch`.
    pub(crate) fetch: Option<OcspFetchRaw>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum OcspFetchRaw {
    Inline,
    Background,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum OcspModeRaw {
    Off,
    Soft,
    Hard,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ClientAuthMode {
    Required,
    Optional,
    None,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawClient {
    pub(crate) cn: String,
    pub(crate) ou: String,
    pub(crate) environment: Option<Environment>,
}

/// The ANS environment a client certificate belongs to (informative, shown in logs).
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Environment {
    /// ANS "Recette".
    Recette,
    /// ANS "Pré-production".
    Preproduction,
    /// ANS "Production".
    Production,
    /// The project's own test PKI.
    Test,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawUpstream {
    pub(crate) url: String,
    pub(crate) connect_timeout: Option<String>,
    pub(crate) request_timeout: Option<String>,
    pub(crate) pool: Option<RawPool>,
    pub(crate) concurrency: Option<super::policy::RawConcurrency>,
    pub(crate) health_check: Option<super::policy::RawHealthCheck>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPool {
    pub(crate) max_idle_per_host: Option<usize>,
    pub(crate) idle_timeout: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRoute {
    pub(crate) name: String,
    pub(crate) listener: Option<String>,
    pub(crate) path_prefix: String,
    pub(crate) methods: Option<Vec<String>>,
    pub(crate) handler: HandlerKind,
    pub(crate) upstream: Option<String>,
    #[serde(default)]
    pub(crate) strip_prefix: bool,
    #[serde(default)]
    pub(crate) allowed_clients: Vec<String>,
    #[serde(default)]
    pub(crate) allow_any_verified_client: bool,
    #[serde(default)]
    pub(crate) allow_anonymous: bool,
    pub(crate) max_body_size: Option<String>,
    pub(crate) timeout: Option<String>,
    pub(crate) revocation: Option<RouteRevocation>,
    /// More request headers to remove before proxying, beside the default set.
    #[serde(default)]
    pub(crate) strip_headers: Vec<String>,
    /// Send the client's certificate upstream as RFC 9440 `Client-Cert`/`Client-Cert-Chain`.
    #[serde(default)]
    pub(crate) forward_client_cert: bool,
    /// RFC 9530 digests of uploads and downloads.
    pub(crate) digest: Option<super::policy::RawDigest>,
    /// A daily volume per client.
    pub(crate) quota: Option<super::policy::RawQuota>,
    /// The trail (see `trails:`) every exchange of the route is recorded in.
    pub(crate) trail: Option<String>,
    /// Antivirus scanning of uploads by clamd.
    pub(crate) scan: Option<super::scan::RawScan>,
    /// Content checks before the upstream is called.
    pub(crate) content: Option<super::policy::RawContent>,
    /// Signed requests (RFC 9421) required of callers.
    pub(crate) signature: Option<super::signature::RawSignature>,
    /// RFC 3161 timestamps of the answers.
    pub(crate) timestamp: Option<super::timestamp::RawTimestamp>,
    /// The block of a `handler: outbound` route.
    pub(crate) outbound: Option<super::outbound::RawOutbound>,
    /// The block of a `handler: aspone_alert` route.
    pub(crate) aspone_alert: Option<adapters::alert::RawConfig>,
    /// The block of a `handler: sas_fhir` route.
    pub(crate) sas_fhir: Option<adapters::sas::RawInbound>,
    /// The block of a `handler: sas_appointments` route.
    pub(crate) sas_appointments: Option<adapters::sas::RawOutbound>,
}

/// How a route treats the connection's revocation verdict.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum RouteRevocation {
    /// Refuse what the listener's policy refuses (revoked; unknown under `hard`): the default.
    #[default]
    ListenerPolicy,
    /// Refuse anything but a definite "good", even where the listener is `soft` (a stale CRL,
    /// an unreachable responder): for routes that must not ride the listener's "débrayage".
    RequireGood,
}

/// What a route does with a request.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum HandlerKind {
    /// Streams the request to an upstream and the answer back.
    Proxy,
    /// The ASPOne-style SOAP alert service (block `aspone_alert:`).
    AsponeAlert,
    /// The SAS platform's inbound FHIR flows (block `sas_fhir:`).
    SasFhir,
    /// Internal REST endpoints sending appointments to SAS (block `sas_appointments:`).
    SasAppointments,
    /// Calls forwarded to an external HTTPS partner with a client identity (block `outbound:`).
    Outbound,
    /// Document exchanges streamed to the core (the proxy, naming each exchange's action and
    /// document for the trail).
    Documents,
}

impl HandlerKind {
    /// The name as written in YAML.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Proxy => "proxy",
            Self::AsponeAlert => "aspone_alert",
            Self::SasFhir => "sas_fhir",
            Self::SasAppointments => "sas_appointments",
            Self::Documents => "documents",
            Self::Outbound => "outbound",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAdmin {
    pub(crate) bind: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawState {
    pub(crate) backend: StateBackend,
    /// Name of the environment variable holding the Redis URL (it may carry a password).
    pub(crate) url_env: Option<String>,
    /// A Sentinel group instead of one URL.
    pub(crate) sentinel: Option<super::store::RawSentinel>,
    /// Name of the environment variable holding the Redis servers' password.
    pub(crate) password_env: Option<String>,
    /// TLS to Redis and the sentinels.
    pub(crate) tls: Option<super::store::RawRedisTls>,
    pub(crate) key_prefix: Option<String>,
    pub(crate) timeout: Option<String>,
    pub(crate) on_unavailable: Option<OnUnavailable>,
    pub(crate) max_entries: Option<usize>,
}

/// Where shared state lives.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum StateBackend {
    /// In this process only (the single-node default).
    Memory,
    /// In Redis, shared by every instance.
    Redis,
}

/// What to do when Redis cannot be reached.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OnUnavailable {
    /// Refuse the request (503): the default.
    Refuse,
    /// Fall back to in-memory state, with a loud warning and a metric.
    FallbackToMemory,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLogging {
    pub(crate) format: Option<LogFormat>,
    pub(crate) level: Option<String>,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// One JSON object a line.
    Json,
    /// Human-readable lines.
    #[default]
    Human,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawShutdown {
    pub(crate) grace_period: Option<String>,
    /// How long `/readyz` says 503 while the listeners still serve, before they close.
    pub(crate) drain_period: Option<String>,
}
