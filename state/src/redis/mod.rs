//! State in Redis, shared by every gateway instance.

mod link;
mod scripts;

use std::future::Future;
use std::time::Duration;

use redis::{RedisError, Script};

use link::{Conn, Link, LinkSettings};
pub use link::{RedisTarget, RedisTls};
use scripts::{CONSUME_BODY_LUA, QUOTA_LUA_HELPERS, RECORD_FAILURE_LUA, REFUND_BODY_LUA};

use crate::store::{BoxFuture, check_key, check_ttl, check_window};
use crate::{FailureRecord, MAX_QUOTA, QuotaOutcome, StateError, StateStore};

// === impl RedisConfig ===

/// How to reach Redis and how to name keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisConfig {
    target: RedisTarget,
    prefix: String,
    op_timeout: Duration,
    connect_timeout: Duration,
    password: Option<Secret>,
    tls: Option<RedisTls>,
}

/// A password, never shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("…")
    }
}

impl RedisConfig {
    /// Default per-operation timeout: 500 ms. A nonce check sits on every
    /// request's path; better a fast 503 (or fallback) than a stalled gateway.
    pub const DEFAULT_OP_TIMEOUT: Duration = Duration::from_millis(500);
    /// Default connection timeout.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

    /// Redis at `url` (`redis://host:port/db`, or `rediss://…` for TLS), keys under
    /// `gw:<prefix>:`. The prefix separates deployments sharing one Redis (recette,
    /// pre-production).
    pub fn new(url: impl Into<String>, prefix: impl Into<String>) -> Self {
        Self::with_target(RedisTarget::Url(url.into()), prefix)
    }

    /// Redis wherever `target` says: one server, or the master a Sentinel group names.
    pub fn with_target(target: RedisTarget, prefix: impl Into<String>) -> Self {
        Self {
            target,
            prefix: prefix.into(),
            op_timeout: Self::DEFAULT_OP_TIMEOUT,
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            password: None,
            tls: None,
        }
    }

    /// Sets the per-operation timeout. With Sentinel, finding the master again after a
    /// failover counts in it.
    pub fn with_op_timeout(mut self, timeout: Duration) -> Self {
        self.op_timeout = timeout;
        self
    }

    /// Sets the connection timeout.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The Redis servers' password (`requirepass`), kept out of the URL.
    pub fn with_password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(Secret(password.into()));
        self
    }

    /// TLS to Redis (and to the sentinels): a `rediss://` URL, or every Sentinel connection.
    pub fn with_tls(mut self, tls: RedisTls) -> Self {
        self.tls = Some(tls);
        self
    }
}

// === impl RedisStore ===

/// [`StateStore`] on Redis: one server through a reconnecting `ConnectionManager`, or the
/// master of a Sentinel group (see the `link` module).
///
/// Keys: `gw:<prefix>:nonce:<key>` (a string set with `SET NX PX`),
/// `gw:<prefix>:fail:<key>` (a hash `{count, last}` updated by a Lua script) and
/// `gw:<prefix>:quota:<key>` (a string holding a decimal count, changed only by Lua
/// scripts, expiring at its window's end through `PEXPIREAT`).
#[derive(Clone)]
pub struct RedisStore {
    link: std::sync::Arc<Link>,
    nonce_prefix: String,
    fail_prefix: String,
    quota_prefix: String,
    op_timeout: Duration,
    record_failure: Script,
    consume: Script,
    refund: Script,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: show only the key namespace.
        f.debug_struct("RedisStore")
            .field("nonce_prefix", &self.nonce_prefix)
            .field("op_timeout", &self.op_timeout)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Creates the store without connecting: the connection is made on first use
    /// and remade after failures, so the gateway starts (and reports not-ready
    /// through [`StateStore::ping`]) while Redis is down. Must be called within a
    /// Tokio runtime.
    ///
    /// # Errors
    ///
    /// [`StateError::Config`] for an unparsable URL or a prefix that is empty,
    /// longer than 64 bytes, or not made of `[A-Za-z0-9_.-]`.
    pub async fn new(config: RedisConfig) -> Result<Self, StateError> {
        let prefix_ok = !config.prefix.is_empty()
            && config.prefix.len() <= 64
            && config
                .prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if !prefix_ok {
            return Err(StateError::Config {
                reason: format!(
                    "key prefix {:?} must be 1-64 of [A-Za-z0-9_.-]",
                    config.prefix
                ),
            });
        }
        let link = Link::open(&LinkSettings {
            target: &config.target,
            password: config.password.as_ref().map(|p| p.0.as_str()),
            tls: config.tls.as_ref(),
            connect_timeout: config.connect_timeout,
            op_timeout: config.op_timeout,
        })?;
        Ok(Self {
            link: std::sync::Arc::new(link),
            nonce_prefix: format!("gw:{}:nonce:", config.prefix),
            fail_prefix: format!("gw:{}:fail:", config.prefix),
            quota_prefix: format!("gw:{}:quota:", config.prefix),
            op_timeout: config.op_timeout,
            record_failure: Script::new(RECORD_FAILURE_LUA),
            consume: Script::new(&format!("{QUOTA_LUA_HELPERS}{CONSUME_BODY_LUA}")),
            refund: Script::new(&format!("{QUOTA_LUA_HELPERS}{REFUND_BODY_LUA}")),
        })
    }

    /// Runs one Redis operation on a connection to the master, all within the per-operation
    /// timeout (finding the master included).
    async fn run<T, F, Fut>(&self, operation: &'static str, op: F) -> Result<T, StateError>
    where
        F: FnOnce(Conn) -> Fut,
        Fut: Future<Output = Result<T, RedisError>>,
    {
        let attempt = async {
            let conn = self.link.connection().await?;
            op(conn).await
        };
        match tokio::time::timeout(self.op_timeout, attempt).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => {
                self.link.failed(Some(&error));
                Err(classify(operation, &error))
            }
            Err(_) => {
                self.link.failed(None);
                Err(StateError::Unavailable {
                    operation,
                    reason: format!("no reply within {} ms", self.op_timeout.as_millis()),
                })
            }
        }
    }

    async fn seen_or_insert_inner(&self, key: &str, ttl: Duration) -> Result<bool, StateError> {
        check_key(key)?;
        let ttl_ms = check_ttl(ttl, "seen_or_insert")?;
        let full_key = format!("{}{key}", self.nonce_prefix);
        let reply: Option<String> = self
            .run("seen_or_insert", |mut conn| async move {
                redis::cmd("SET")
                    .arg(&full_key)
                    .arg(1)
                    .arg("NX")
                    .arg("PX")
                    .arg(ttl_ms)
                    .query_async(&mut conn)
                    .await
            })
            .await?;
        // `OK` when the key was set (first sighting), nil when it already existed.
        Ok(reply.is_none())
    }

    async fn record_failure_inner(
        &self,
        key: &str,
        at_unix_ms: i64,
        ttl: Duration,
    ) -> Result<FailureRecord, StateError> {
        check_key(key)?;
        let ttl_ms = check_ttl(ttl, "record_failure")?;
        let full_key = format!("{}{key}", self.fail_prefix);
        let (count, last): (i64, i64) = self
            .run("record_failure", |mut conn| async move {
                self.record_failure
                    .key(&full_key)
                    .arg(at_unix_ms)
                    .arg(ttl_ms)
                    .invoke_async(&mut conn)
                    .await
            })
            .await?;
        Ok(FailureRecord {
            count: u64::try_from(count).unwrap_or(0),
            last_failure_unix_ms: last,
        })
    }

    async fn failures_inner(&self, key: &str) -> Result<Option<FailureRecord>, StateError> {
        check_key(key)?;
        let full_key = format!("{}{key}", self.fail_prefix);
        let (count, last): (Option<u64>, Option<i64>) = self
            .run("failures", |mut conn| async move {
                redis::cmd("HMGET")
                    .arg(&full_key)
                    .arg("count")
                    .arg("last")
                    .query_async(&mut conn)
                    .await
            })
            .await?;
        Ok(match (count, last) {
            (Some(count), Some(last_failure_unix_ms)) => Some(FailureRecord {
                count,
                last_failure_unix_ms,
            }),
            _ => None,
        })
    }

    async fn reset_inner(&self, key: &str) -> Result<(), StateError> {
        check_key(key)?;
        let full_key = format!("{}{key}", self.fail_prefix);
        let _: i64 = self
            .run("reset", |mut conn| async move {
                redis::cmd("DEL")
                    .arg(&full_key)
                    .query_async(&mut conn)
                    .await
            })
            .await?;
        Ok(())
    }

    async fn consume_inner(
        &self,
        key: &str,
        amount: u64,
        limit: u64,
        window_end_unix_ms: i64,
    ) -> Result<QuotaOutcome, StateError> {
        check_key(key)?;
        check_window(window_end_unix_ms, "consume")?;
        // The room left for existing usage; `-` when the amount can never fit.
        let room = limit
            .min(MAX_QUOTA)
            .checked_sub(amount)
            .map_or_else(|| "-".to_owned(), |room| room.to_string());
        let full_key = format!("{}{key}", self.quota_prefix);
        let (allowed, used, resets_at_unix_ms): (i64, u64, i64) = self
            .run("consume", |mut conn| async move {
                self.consume
                    .key(&full_key)
                    .arg(amount)
                    .arg(&room)
                    .arg(window_end_unix_ms)
                    .invoke_async(&mut conn)
                    .await
            })
            .await?;
        Ok(QuotaOutcome {
            allowed: allowed == 1,
            used,
            resets_at_unix_ms,
        })
    }

    async fn refund_inner(&self, key: &str, amount: u64) -> Result<(), StateError> {
        check_key(key)?;
        let full_key = format!("{}{key}", self.quota_prefix);
        let _: i64 = self
            .run("refund", |mut conn| async move {
                self.refund
                    .key(&full_key)
                    .arg(amount)
                    .invoke_async(&mut conn)
                    .await
            })
            .await?;
        Ok(())
    }

    async fn ping_inner(&self) -> Result<(), StateError> {
        let reply: String = self
            .run("ping", |mut conn| async move {
                redis::cmd("PING").query_async(&mut conn).await
            })
            .await?;
        if reply == "PONG" {
            Ok(())
        } else {
            Err(StateError::Backend {
                operation: "ping",
                reason: format!("unexpected reply {reply:?}"),
            })
        }
    }
}

/// Unreachable (503 / fallback) versus misbehaving (500).
fn classify(operation: &'static str, error: &RedisError) -> StateError {
    let unreachable = error.is_io_error()
        || error.is_timeout()
        || error.is_connection_refusal()
        || error.is_connection_dropped()
        || error.is_unrecoverable_error()
        || error.kind() == redis::ErrorKind::AuthenticationFailed;
    let reason = error.to_string();
    if unreachable {
        StateError::Unavailable { operation, reason }
    } else {
        StateError::Backend { operation, reason }
    }
}

impl StateStore for RedisStore {
    fn seen_or_insert<'a>(
        &'a self,
        key: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StateError>> {
        Box::pin(self.seen_or_insert_inner(key, ttl))
    }

    fn record_failure<'a>(
        &'a self,
        key: &'a str,
        at_unix_ms: i64,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<FailureRecord, StateError>> {
        Box::pin(self.record_failure_inner(key, at_unix_ms, ttl))
    }

    fn failures<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<FailureRecord>, StateError>> {
        Box::pin(self.failures_inner(key))
    }

    fn reset<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StateError>> {
        Box::pin(self.reset_inner(key))
    }

    fn consume<'a>(
        &'a self,
        key: &'a str,
        amount: u64,
        limit: u64,
        window_end_unix_ms: i64,
    ) -> BoxFuture<'a, Result<QuotaOutcome, StateError>> {
        Box::pin(self.consume_inner(key, amount, limit, window_end_unix_ms))
    }

    fn refund<'a>(&'a self, key: &'a str, amount: u64) -> BoxFuture<'a, Result<(), StateError>> {
        Box::pin(self.refund_inner(key, amount))
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), StateError>> {
        Box::pin(self.ping_inner())
    }
}
