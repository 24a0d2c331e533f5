//! A gateway with a `documents` route in front of the demo core's on-disk store, with the
//! digest, quota and trail policies switched on, for the document exchange tests.
#![allow(dead_code, clippy::unwrap_used, missing_docs, unreachable_pub)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::common;

/// The trail's HMAC key in these tests (32 bytes or more).
pub const TRAIL_KEY: &str = "documents-test-trail-key-0123456789";

/// How the test gateway is set up.
pub struct Options {
    /// A core whose downloads carry a wrong `Content-Digest`.
    pub corrupt_downloads: bool,
    /// The route's `max_body_size`.
    pub max_body_size: &'static str,
    /// The route's daily volume per client.
    pub daily_volume: &'static str,
    /// `state:` block (default: memory).
    pub state: String,
    /// Extra environment (e.g. the Redis URL).
    pub env: HashMap<String, String>,
    /// Where the trail goes (default: a new temporary folder).
    pub trail_dir: Option<PathBuf>,
    /// An existing core to use (default: a new one).
    pub core: Option<SocketAddr>,
    /// More keys of the `documents` route, as YAML lines indented by four spaces (e.g. a
    /// `scan:` block).
    pub route_extra: String,
    /// Keys added to the trail's block (each line indented by four spaces).
    pub trail_extra: String,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            corrupt_downloads: false,
            max_body_size: "64MiB",
            daily_volume: "1GiB",
            state: String::new(),
            env: HashMap::new(),
            trail_dir: None,
            core: None,
            route_extra: String::new(),
            trail_extra: String::new(),
        }
    }
}

/// A running gateway with its core and trail.
pub struct Docs {
    pub gw: gateway::Gateway,
    pub addr: SocketAddr,
    pub core: SocketAddr,
    pub trail: PathBuf,
    pub trail_dir: PathBuf,
}

/// Starts a core (unless given) and a gateway in front of it.
pub async fn start(opts: Options) -> Docs {
    let core = match opts.core {
        Some(core) => core,
        None => {
            let documents =
                demo_upstream::documents::router_with(demo_upstream::documents::DocumentsConfig {
                    corrupt_downloads: opts.corrupt_downloads,
                    ..Default::default()
                });
            demo_upstream::spawn_with(
                "127.0.0.1:0".parse().unwrap(),
                demo_upstream::router_with(documents),
            )
            .await
            .unwrap()
        }
    };
    let trail_dir = opts.trail_dir.unwrap_or_else(|| {
        let n: u64 = rand_suffix();
        std::env::temp_dir().join(format!("gw-docs-{}-{n}", std::process::id()))
    });
    std::fs::create_dir_all(&trail_dir).unwrap();
    let yaml = format!(
        r#"{listener}
clients:
  internal-app:
    cn: internal-app.test
    ou: INTERNAL-TEST
  partner:
    cn: portal-whitelabel.test
    ou: PARTNER-TEST
upstreams:
  core:
    url: http://{core}
routes:
  - name: documents
    path_prefix: /documents
    handler: documents
    upstream: core
    strip_prefix: true
    allowed_clients: [internal-app, partner]
    max_body_size: {max}
    timeout: 120s
    digest:
      require: true
    quota:
      daily_volume: {volume}
    trail: documents
{route_extra}
trails:
  documents:
    file: {dir}/trail-{{instance}}.jsonl
    key_env: TRAIL_KEY
    instance: test-1
{trail_extra}{state}
"#,
        listener = common::listener("required").replace("\nclients:\n  sas-recette:\n    cn: sas-agregateur-recette\n    ou: \"499700234190004\"\n    environment: recette\n", "\n"),
        max = opts.max_body_size,
        volume = opts.daily_volume,
        dir = trail_dir.display(),
        state = opts.state,
        route_extra = opts.route_extra,
        trail_extra = opts.trail_extra,
    );
    let mut env = opts.env;
    env.insert("TRAIL_KEY".into(), TRAIL_KEY.into());
    let gw = common::start_with_env(&yaml, &env).await;
    let addr = gw.addr("edge").unwrap();
    Docs {
        gw,
        addr,
        core,
        trail: trail_dir.join("trail-test-1.jsonl"),
        trail_dir,
    }
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(42);
    h.finish()
}

/// The trail's records, parsed.
pub fn records(trail: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(trail)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `sha-256=:BASE64:` of `bytes`.
pub fn content_digest(bytes: &[u8]) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    format!(
        "sha-256=:{}:",
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(bytes))
    )
}
