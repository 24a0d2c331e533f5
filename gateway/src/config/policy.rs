//! The route policies' blocks (`digest:`, `quota:`, `trail:`) and the top-level `trails:` they
//! name. Each block is optional: a route without it pays nothing for the policy.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::Env;
use super::error::Collector;
use super::units::parse_size;

/// `routes[].digest`: RFC 9530 integrity of uploads and downloads.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDigest {
    /// Refuse uploads (requests with a body) that carry no `Content-Digest`/`Repr-Digest`.
    #[serde(default)]
    pub(crate) require: bool,
    /// Check the upstream's `Content-Digest` on responses (and add one when asked).
    pub(crate) responses: Option<ResponseDigest>,
}

/// What the gateway does with response digests.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum ResponseDigest {
    /// Pass the upstream's headers through unchecked.
    Off,
    /// Check the streamed bytes against the upstream's `Content-Digest`; a mismatch resets the
    /// stream (a corrupted download never looks complete).
    #[default]
    Verify,
}

/// `routes[].quota`: a daily volume per client.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawQuota {
    pub(crate) daily_volume: String,
    pub(crate) time_zone: Option<String>,
}

/// `trails.<name>`: one append-only, hash-chained file per instance.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTrail {
    /// The file; `{instance}` is replaced by the instance id, `{tmp}` by the system's temporary
    /// folder.
    pub(crate) file: String,
    /// The environment variable holding the HMAC key (at least 32 bytes).
    pub(crate) key_env: String,
    /// This instance's id (every record carries it); default: `$HOSTNAME`, else `gateway`.
    pub(crate) instance: Option<String>,
    /// Start a new file (continuing the chain) past this size.
    pub(crate) rotate_at: Option<String>,
    /// fsync each batch of records before answering (`false`: flushed to the OS only).
    pub(crate) sync: Option<bool>,
}

/// A route's content checks (`routes[].content`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentSettings {
    /// Accepted media types, lowercase, without parameters (`application/pdf`).
    pub types: Vec<String>,
    /// The bytes the body must start with.
    pub magic: Option<Vec<u8>>,
    /// The smallest body accepted.
    pub min_size: u64,
}

/// A queue's settings (`upstreams.<name>.concurrency`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueSettings {
    /// Requests the upstream serves at once.
    pub max_in_flight: usize,
    /// Requests that may wait for a slot.
    pub max_queue: usize,
    /// Longest wait for a slot.
    pub queue_timeout: Duration,
}

/// A health check's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheckSettings {
    /// The path probed with GET (2xx is healthy).
    pub path: String,
    /// Time between probes.
    pub interval: Duration,
    /// Longest wait for a probe's answer.
    pub timeout: Duration,
    /// Consecutive failures that mark the upstream down.
    pub unhealthy_threshold: u32,
    /// Consecutive successes that mark it up again.
    pub healthy_threshold: u32,
}

/// A route's digest policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DigestSettings {
    /// Uploads must carry a digest.
    pub require: bool,
    /// What happens to response digests.
    pub responses: ResponseDigest,
}

/// A route's quota policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaSettings {
    /// Bytes a client may upload per day.
    pub daily_volume: u64,
    /// Where the day starts and ends.
    pub time_zone: jiff::tz::TimeZone,
}

/// One trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailSettings {
    /// Its name, which routes reference.
    pub name: String,
    /// The file written.
    pub file: PathBuf,
    /// The HMAC key.
    pub key: TrailKey,
    /// This instance's id.
    pub instance: String,
    /// Size past which a new file starts.
    pub rotate_at: u64,
    /// Whether records are fsynced before the caller gets its answer.
    pub sync: bool,
}

/// A trail's HMAC key: never printed (`Debug` says `TrailKey(..)`).
#[derive(Clone, PartialEq, Eq)]
pub struct TrailKey(pub Vec<u8>);

impl std::fmt::Debug for TrailKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TrailKey(..)")
    }
}

pub(super) fn digest(raw: Option<&RawDigest>) -> Option<DigestSettings> {
    raw.map(|d| DigestSettings {
        require: d.require,
        responses: d.responses.unwrap_or_default(),
    })
}

pub(super) fn quota(
    c: &mut Collector,
    key: &str,
    raw: Option<&RawQuota>,
) -> Option<Option<QuotaSettings>> {
    let Some(q) = raw else {
        return Some(None);
    };
    let volume = c.check(
        format!("{key}.quota.daily_volume"),
        parse_size(&q.daily_volume),
    );
    if volume == Some(0) {
        c.push(format!("{key}.quota.daily_volume"), "must be more than 0");
        return None;
    }
    let zone_name = q.time_zone.as_deref().unwrap_or("Europe/Paris");
    let zone = c.check(
        format!("{key}.quota.time_zone"),
        jiff::tz::TimeZone::get(zone_name).map_err(|_| format!("`{zone_name}` is not a time zone")),
    );
    Some(Some(QuotaSettings {
        daily_volume: volume?,
        time_zone: zone?,
    }))
}

pub(super) fn trails(
    c: &mut Collector,
    raw: &BTreeMap<String, RawTrail>,
    base: &Path,
    env: &dyn Env,
) -> BTreeMap<String, TrailSettings> {
    let mut out = BTreeMap::new();
    let mut files = BTreeMap::new();
    for (name, t) in raw {
        let key = format!("trails.{name}");
        let instance = t
            .instance
            .clone()
            .or_else(|| env.var("HOSTNAME"))
            .unwrap_or_else(|| "gateway".to_owned());
        if instance.is_empty()
            || !instance
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        {
            c.push(
                format!("{key}.instance"),
                format!("`{instance}` is not an id (letters, digits, `-`, `_`, `.`)"),
            );
            continue;
        }
        let tmp = std::env::temp_dir();
        let file = base.join(
            t.file
                .replace("{instance}", &instance)
                .replace("{tmp}", &tmp.to_string_lossy()),
        );
        if let Some(other) = files.insert(file.clone(), name.clone()) {
            c.push(
                format!("{key}.file"),
                format!("trail `{other}` writes the same file"),
            );
        }
        let secret = c
            .secret(format!("{key}.key_env"), env, &t.key_env, |v| {
                if v.len() >= integrity::Key::MIN_LEN {
                    Ok(())
                } else {
                    Err(format!(
                        "`{}` holds fewer than {} bytes",
                        t.key_env,
                        integrity::Key::MIN_LEN
                    ))
                }
            })
            .map(|v| TrailKey(v.into_bytes()));
        let rotate_at = c.check(
            format!("{key}.rotate_at"),
            t.rotate_at.as_deref().map_or(Ok(256 << 20), parse_size),
        );
        if let (Some(secret), Some(rotate_at)) = (secret, rotate_at) {
            out.insert(
                name.clone(),
                TrailSettings {
                    name: name.clone(),
                    file,
                    key: secret,
                    instance,
                    rotate_at,
                    sync: t.sync.unwrap_or(true),
                },
            );
        }
    }
    out
}

/// `routes[].content`: what a body must look like before the upstream is called.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawContent {
    #[serde(default)]
    pub(crate) types: Vec<String>,
    /// The first bytes, as text (`%PDF-`).
    pub(crate) magic: Option<String>,
    pub(crate) min_size: Option<String>,
}

/// `upstreams.<name>.concurrency`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConcurrency {
    pub(crate) max_in_flight: usize,
    pub(crate) max_queue: Option<usize>,
    pub(crate) queue_timeout: Option<String>,
}

pub(super) fn content(
    c: &mut Collector,
    key: &str,
    raw: Option<&RawContent>,
) -> Option<Option<ContentSettings>> {
    let Some(r) = raw else {
        return Some(None);
    };
    let mut ok = true;
    let mut types = Vec::new();
    for (j, t) in r.types.iter().enumerate() {
        let t = t.trim().to_ascii_lowercase();
        if t.split('/').count() != 2 || t.contains(';') || t.contains(' ') {
            c.push(
                format!("{key}.content.types[{j}]"),
                format!("`{t}` is not a media type such as `application/pdf`"),
            );
            ok = false;
        }
        types.push(t);
    }
    if r.magic.as_deref() == Some("") {
        c.push(format!("{key}.content.magic"), "must not be empty");
        ok = false;
    }
    let min_size = c.check(
        format!("{key}.content.min_size"),
        r.min_size.as_deref().map_or(Ok(1), parse_size),
    );
    let settings = ContentSettings {
        types,
        magic: r.magic.as_ref().map(|m| m.as_bytes().to_vec()),
        min_size: min_size?,
    };
    ok.then_some(Some(settings))
}

pub(super) fn concurrency(
    c: &mut Collector,
    key: &str,
    raw: Option<&RawConcurrency>,
) -> Option<Option<QueueSettings>> {
    let Some(r) = raw else {
        return Some(None);
    };
    if r.max_in_flight == 0 {
        c.push(
            format!("{key}.concurrency.max_in_flight"),
            "must be at least 1",
        );
        return None;
    }
    let timeout = c.timeout(
        format!("{key}.concurrency.queue_timeout"),
        r.queue_timeout.as_deref(),
        Duration::from_secs(30),
    )?;
    Some(Some(QueueSettings {
        max_in_flight: r.max_in_flight,
        max_queue: r.max_queue.unwrap_or(100),
        queue_timeout: timeout,
    }))
}

/// `upstreams.<name>.health_check`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHealthCheck {
    pub(crate) path: String,
    pub(crate) interval: Option<String>,
    pub(crate) timeout: Option<String>,
    pub(crate) unhealthy_threshold: Option<u32>,
    pub(crate) healthy_threshold: Option<u32>,
}

pub(super) fn health_check(
    c: &mut Collector,
    key: &str,
    raw: Option<&RawHealthCheck>,
) -> Option<Option<HealthCheckSettings>> {
    let Some(r) = raw else {
        return Some(None);
    };
    let key = format!("{key}.health_check");
    if !r.path.starts_with('/') {
        c.push(format!("{key}.path"), "must start with `/`");
    }
    let duration = |c: &mut Collector, name: &str, v: Option<&str>, default: u64| {
        c.timeout(format!("{key}.{name}"), v, Duration::from_secs(default))
    };
    let interval = duration(c, "interval", r.interval.as_deref(), 5);
    let timeout = duration(c, "timeout", r.timeout.as_deref(), 1);
    let mut threshold = |name: &str, v: Option<u32>, default: u32| {
        let v = v.unwrap_or(default);
        if v == 0 {
            c.push(format!("{key}.{name}"), "must be at least 1");
        }
        v
    };
    let unhealthy = threshold("unhealthy_threshold", r.unhealthy_threshold, 3);
    let healthy = threshold("healthy_threshold", r.healthy_threshold, 2);
    (r.path.starts_with('/') && unhealthy > 0 && healthy > 0).then_some(())?;
    Some(Some(HealthCheckSettings {
        path: r.path.clone(),
        interval: interval?,
        timeout: timeout?,
        unhealthy_threshold: unhealthy,
        healthy_threshold: healthy,
    }))
}
