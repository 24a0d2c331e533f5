//! The route policies' blocks (`digest:`, `quota:`, `trail:`) and the top-level `trails:` they
//! name. Each block is optional: a route without it pays nothing for the policy.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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
        let secret = match env.var(&t.key_env) {
            Some(v) if v.len() >= integrity::Key::MIN_LEN => Some(TrailKey(v.into_bytes())),
            Some(_) => {
                c.push(
                    format!("{key}.key_env"),
                    format!(
                        "`{}` holds fewer than {} bytes",
                        t.key_env,
                        integrity::Key::MIN_LEN
                    ),
                );
                None
            }
            None => {
                c.push(
                    format!("{key}.key_env"),
                    format!("environment variable `{}` is not set", t.key_env),
                );
                None
            }
        };
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
