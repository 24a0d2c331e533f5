//! How the store reaches Redis: one server (`redis://`, `rediss://`) through a reconnecting
//! `ConnectionManager`, or the master of a Sentinel-watched group, found again after a failover.
//!
//! A `ConnectionManager` is bound to one address, so it cannot follow a failover. For Sentinel
//! the link keeps one multiplexed connection to the master the sentinels named; a connection
//! error, a timeout or a `READONLY` answer (the old master demoted to replica) drops it, and the
//! next operation asks the sentinels again. Asking is serialised, so a burst of requests after a
//! failover makes one round of questions, not one per request.

use std::sync::Mutex;
use std::time::Duration;

use redis::aio::{
    ConnectionLike, ConnectionManager, ConnectionManagerConfig, MultiplexedConnection,
};
use redis::sentinel::{SentinelClient, SentinelClientBuilder, SentinelServerType};
use redis::{
    AsyncConnectionConfig, Client, ClientTlsConfig, Cmd, ConnectionAddr, IntoConnectionInfo,
    Pipeline, RedisError, RedisFuture, TlsCertificates, TlsMode, Value,
};

use crate::StateError;

/// Where the Redis master is.
#[derive(Clone, PartialEq, Eq)]
pub enum RedisTarget {
    /// One server: `redis://host:port/db` or `rediss://host:port/db` (TLS).
    Url(String),
    /// The master of the group `master_name`, as the sentinels at `addresses` (`host:port`) say.
    Sentinel {
        /// The sentinels, `host:port` each; asked in order.
        addresses: Vec<String>,
        /// The name the sentinels monitor the master under.
        master_name: String,
        /// The sentinels' own password (`requirepass` of sentinel.conf), if any.
        password: Option<String>,
    },
}

impl std::fmt::Debug for RedisTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A URL may hold a password: show its scheme only.
        match self {
            Self::Url(url) => write!(f, "Url({}://…)", url.split("://").next().unwrap_or("?")),
            Self::Sentinel {
                addresses,
                master_name,
                ..
            } => f
                .debug_struct("Sentinel")
                .field("addresses", addresses)
                .field("master_name", master_name)
                .finish_non_exhaustive(),
        }
    }
}

/// TLS to Redis (and to the sentinels): the CA to trust instead of the system's, and an
/// optional client certificate, PEM each.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct RedisTls {
    /// The CA certificates the server's chain must lead to (`None`: the system's roots).
    pub ca_pem: Option<Vec<u8>>,
    /// A client certificate chain and its key, for servers with `tls-auth-clients yes`.
    pub client: Option<(Vec<u8>, Vec<u8>)>,
}

impl std::fmt::Debug for RedisTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisTls")
            .field("ca", &self.ca_pem.is_some())
            .field("client_certificate", &self.client.is_some())
            .finish()
    }
}

impl RedisTls {
    fn certificates(&self) -> TlsCertificates {
        TlsCertificates {
            client_tls: self.client.as_ref().map(|(cert, key)| ClientTlsConfig {
                client_cert: cert.clone(),
                client_key: key.clone(),
            }),
            root_cert: self.ca_pem.clone(),
        }
    }
}

/// What [`Link::open`] needs.
pub(crate) struct LinkSettings<'a> {
    pub(crate) target: &'a RedisTarget,
    pub(crate) password: Option<&'a str>,
    pub(crate) tls: Option<&'a RedisTls>,
    pub(crate) connect_timeout: Duration,
    pub(crate) op_timeout: Duration,
}

/// A connection to the master.
#[derive(Clone)]
pub(crate) enum Conn {
    Managed(ConnectionManager),
    Multiplexed(MultiplexedConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Managed(c) => c.req_packed_command(cmd),
            Self::Multiplexed(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Managed(c) => c.req_packed_commands(pipeline, offset, count),
            Self::Multiplexed(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Managed(c) => c.get_db(),
            Self::Multiplexed(c) => c.get_db(),
        }
    }
}

/// The way to the master.
pub(crate) enum Link {
    Direct(ConnectionManager),
    Sentinel(Box<SentinelLink>),
}

pub(crate) struct SentinelLink {
    /// Asking the sentinels needs `&mut`; the lock also serialises the asking.
    sentinels: tokio::sync::Mutex<SentinelClient>,
    current: Mutex<Option<MultiplexedConnection>>,
    config: AsyncConnectionConfig,
}

fn config_error(what: &str, e: &RedisError) -> StateError {
    StateError::Config {
        reason: format!("{what} ({:?})", e.kind()),
    }
}

impl Link {
    /// Builds the link without connecting (the first operation connects).
    pub(crate) fn open(s: &LinkSettings<'_>) -> Result<Self, StateError> {
        match s.target {
            RedisTarget::Url(url) => {
                let mut info = url
                    .as_str()
                    .into_connection_info()
                    .map_err(|e| config_error("Redis URL is not valid", &e))?;
                if let Some(password) = s.password {
                    let redis = info.redis_settings().clone().set_password(password);
                    info = info.set_redis_settings(redis);
                }
                let tls_url = matches!(info.addr(), ConnectionAddr::TcpTls { .. });
                let client = match s.tls {
                    Some(tls) if tls_url => Client::build_with_tls(info, tls.certificates())
                        .map_err(|e| config_error("Redis TLS settings", &e))?,
                    Some(_) => {
                        return Err(StateError::Config {
                            reason: "TLS settings are given but the Redis URL is not rediss://"
                                .into(),
                        });
                    }
                    None => Client::open(info).map_err(|e| config_error("Redis URL", &e))?,
                };
                let manager_config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(s.connect_timeout))
                    .set_response_timeout(Some(s.op_timeout))
                    // No retry loop inside one attempt: a request must not wait through
                    // reconnection backoff. Each failed request triggers a fresh attempt.
                    .set_number_of_retries(0);
                let manager = ConnectionManager::new_lazy_with_config(client, manager_config)
                    .map_err(|e| config_error("Redis connection manager", &e))?;
                Ok(Self::Direct(manager))
            }
            RedisTarget::Sentinel {
                addresses,
                master_name,
                password,
            } => {
                let mut nodes = Vec::new();
                for address in addresses {
                    let (host, port) = address
                        .rsplit_once(':')
                        .and_then(|(h, p)| Some((h.to_owned(), p.parse::<u16>().ok()?)))
                        .ok_or_else(|| StateError::Config {
                            reason: format!("sentinel address `{address}` is not host:port"),
                        })?;
                    nodes.push(ConnectionAddr::Tcp(host, port));
                }
                let mut builder =
                    SentinelClientBuilder::new(nodes, master_name, SentinelServerType::Master)
                        .map_err(|e| config_error("Sentinel settings", &e))?;
                if let Some(password) = s.password {
                    builder = builder.set_client_to_redis_password(password);
                }
                if let Some(password) = password {
                    builder = builder.set_client_to_sentinel_password(password);
                }
                if let Some(tls) = s.tls {
                    builder = builder
                        .set_client_to_redis_tls_mode(TlsMode::Secure)
                        .set_client_to_redis_certificates(tls.certificates())
                        .set_client_to_sentinel_tls_mode(TlsMode::Secure)
                        .set_client_to_sentinel_certificates(tls.certificates());
                }
                let sentinels = builder
                    .build()
                    .map_err(|e| config_error("Sentinel settings", &e))?;
                let config = AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(s.connect_timeout))
                    .set_response_timeout(Some(s.op_timeout));
                Ok(Self::Sentinel(Box::new(SentinelLink {
                    sentinels: tokio::sync::Mutex::new(sentinels),
                    current: Mutex::new(None),
                    config,
                })))
            }
        }
    }

    /// A connection to the master: the one in use, or (Sentinel) a new one to the master the
    /// sentinels name now.
    pub(crate) async fn connection(&self) -> Result<Conn, RedisError> {
        match self {
            Self::Direct(manager) => Ok(Conn::Managed(manager.clone())),
            Self::Sentinel(link) => link.connection().await.map(Conn::Multiplexed),
        }
    }

    /// Tells the link an operation failed with `error`, so that a connection to a master that
    /// is gone (or demoted) is not used again.
    pub(crate) fn failed(&self, error: Option<&RedisError>) {
        if let Self::Sentinel(link) = self {
            let stale = error.is_none_or(|e| {
                e.is_io_error()
                    || e.is_timeout()
                    || e.is_connection_refusal()
                    || e.is_connection_dropped()
                    || e.is_unrecoverable_error()
                    || e.code() == Some("READONLY")
            });
            if stale {
                link.forget();
            }
        }
    }
}

impl SentinelLink {
    fn cached(&self) -> Option<MultiplexedConnection> {
        self.current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn forget(&self) {
        *self
            .current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }

    async fn connection(&self) -> Result<MultiplexedConnection, RedisError> {
        if let Some(conn) = self.cached() {
            return Ok(conn);
        }
        let mut sentinels = self.sentinels.lock().await;
        // Another request may have found the master while this one waited for the lock.
        if let Some(conn) = self.cached() {
            return Ok(conn);
        }
        let conn = sentinels
            .get_async_connection_with_config(&self.config)
            .await?;
        tracing::info!("connected to the Redis master the sentinels name");
        *self
            .current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(conn.clone());
        Ok(conn)
    }
}
