//! The `state:` block: where nonces, login backoff and quotas live. In memory for one instance;
//! in Redis for a fleet: one server (`url_env`, `redis://` or `rediss://`) or the master of a
//! Sentinel group (`sentinel:`), with TLS (`tls:`) and passwords from the environment.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::error::Collector;
use super::raw::RawState;
use super::{Env, OnUnavailable, StateBackend, StateSettings};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSentinel {
    /// `host:port` of each sentinel.
    pub(crate) addresses: Vec<String>,
    /// The name the sentinels monitor the master under.
    pub(crate) master_name: String,
    /// The environment variable holding the sentinels' own password.
    pub(crate) password_env: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRedisTls {
    /// CA certificates (PEM) the Redis servers' chain must lead to; default: the system's.
    pub(crate) ca: Option<String>,
    /// A client certificate chain and key (PEM), for `tls-auth-clients yes`.
    pub(crate) cert: Option<String>,
    pub(crate) key: Option<String>,
}

const DEFAULT_TIMEOUT: Duration = Duration::from_millis(500);

pub(super) fn state(
    c: &mut Collector,
    raw: Option<&RawState>,
    base: &Path,
    env: &dyn Env,
) -> Option<StateSettings> {
    let Some(raw) = raw else {
        return Some(StateSettings {
            backend: StateBackend::Memory,
            redis: None,
            key_prefix: "gateway".into(),
            timeout: DEFAULT_TIMEOUT,
            on_unavailable: OnUnavailable::Refuse,
            max_entries: 100_000,
        });
    };
    let timeout = c.timeout("state.timeout", raw.timeout.as_deref(), DEFAULT_TIMEOUT)?;
    let key_prefix = raw.key_prefix.clone().unwrap_or_else(|| "gateway".into());
    let redis = match raw.backend {
        StateBackend::Memory => {
            for (present, key) in [
                (raw.url_env.is_some(), "state.url_env"),
                (raw.sentinel.is_some(), "state.sentinel"),
                (raw.password_env.is_some(), "state.password_env"),
                (raw.tls.is_some(), "state.tls"),
            ] {
                if present {
                    c.push(key, "only used with `backend: redis`");
                }
            }
            None
        }
        StateBackend::Redis => Some(redis(c, raw, base, env, &key_prefix, timeout)?),
    };
    Some(StateSettings {
        backend: raw.backend,
        redis,
        key_prefix,
        timeout,
        on_unavailable: raw.on_unavailable.unwrap_or(OnUnavailable::Refuse),
        max_entries: raw.max_entries.unwrap_or(100_000),
    })
}

fn redis(
    c: &mut Collector,
    raw: &RawState,
    base: &Path,
    env: &dyn Env,
    prefix: &str,
    timeout: Duration,
) -> Option<state::RedisConfig> {
    let target = match (&raw.url_env, &raw.sentinel) {
        (Some(_), Some(_)) | (None, None) => {
            c.push(
                "state",
                "give exactly one of `url_env` (one Redis) and `sentinel` (a Sentinel group)",
            );
            return None;
        }
        (Some(var), None) => {
            let url = c.secret("state.url_env", env, var, |url| {
                if url.starts_with("redis://") || url.starts_with("rediss://") {
                    Ok(())
                } else {
                    Err(format!("`{var}` does not hold a redis:// or rediss:// URL"))
                }
            })?;
            if raw.tls.is_some() && !url.starts_with("rediss://") {
                c.push(
                    "state.tls",
                    format!("TLS settings need a rediss:// URL in `{var}`"),
                );
                return None;
            }
            state::RedisTarget::Url(url)
        }
        (None, Some(s)) => sentinel(c, s, env)?,
    };
    let password = match &raw.password_env {
        Some(var) => Some(c.secret("state.password_env", env, var, non_empty)?),
        None => None,
    };
    let tls = match &raw.tls {
        Some(t) => Some(tls(c, t, base)?),
        None => None,
    };
    let mut config = state::RedisConfig::with_target(target, prefix).with_op_timeout(timeout);
    if let Some(password) = password {
        config = config.with_password(password);
    }
    if let Some(tls) = tls {
        config = config.with_tls(tls);
    }
    Some(config)
}

fn non_empty(value: &str) -> Result<(), String> {
    if value.is_empty() {
        Err("is empty".into())
    } else {
        Ok(())
    }
}

fn sentinel(c: &mut Collector, s: &RawSentinel, env: &dyn Env) -> Option<state::RedisTarget> {
    let mut ok = true;
    if s.addresses.is_empty() {
        c.push("state.sentinel.addresses", "name at least one sentinel");
        ok = false;
    }
    for (i, address) in s.addresses.iter().enumerate() {
        let valid = address
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
        if !valid {
            c.push(
                format!("state.sentinel.addresses[{i}]"),
                format!("`{address}` is not host:port"),
            );
            ok = false;
        }
    }
    if s.master_name.is_empty() {
        c.push("state.sentinel.master_name", "must not be empty");
        ok = false;
    }
    let password = match &s.password_env {
        Some(var) => Some(c.secret("state.sentinel.password_env", env, var, non_empty)?),
        None => None,
    };
    ok.then(|| state::RedisTarget::Sentinel {
        addresses: s.addresses.clone(),
        master_name: s.master_name.clone(),
        password,
    })
}

fn tls(c: &mut Collector, t: &RawRedisTls, base: &Path) -> Option<state::RedisTls> {
    let mut read = |key: &str, path: &str| {
        let full = base.join(path);
        c.check(
            format!("state.tls.{key}"),
            std::fs::read(&full).map_err(|e| format!("cannot read {}: {e}", full.display())),
        )
    };
    let ca = match &t.ca {
        Some(path) => Some(read("ca", path)?),
        None => None,
    };
    let client = match (&t.cert, &t.key) {
        (Some(cert), Some(key)) => Some((read("cert", cert)?, read("key", key)?)),
        (None, None) => None,
        _ => {
            c.push("state.tls", "give `cert` and `key` together");
            return None;
        }
    };
    Some(state::RedisTls { ca_pem: ca, client })
}
