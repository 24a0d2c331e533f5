//! `routes[].outbound`: the block of a `handler: outbound` route, which forwards internal
//! applications' calls to an external HTTPS partner (the DMP) with a configured client identity.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::Env;
use super::error::Collector;

/// The block as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOutbound {
    /// `https://host[:port]/base`: the partner.
    pub(crate) base_url: String,
    /// The partner's CA certificates (the only ones trusted).
    pub(crate) trust_anchors: Vec<String>,
    /// `[tls12, tls13]` (default both; a CPS card narrows to TLS 1.2).
    pub(crate) tls_versions: Option<Vec<String>>,
    pub(crate) connect_timeout: Option<String>,
    pub(crate) identity: RawIdentity,
}

/// Exactly one of the kinds.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawIdentity {
    pub(crate) file: Option<RawFileIdentity>,
    pub(crate) pkcs11: Option<RawPkcs11>,
    pub(crate) cps_agent: Option<RawCpsAgent>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFileIdentity {
    pub(crate) cert: String,
    pub(crate) key: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPkcs11 {
    pub(crate) module: String,
    pub(crate) token_label: String,
    pub(crate) key_label: String,
    /// The certificate object's label on the token, or…
    pub(crate) cert_label: Option<String>,
    /// …a chain file.
    pub(crate) cert: Option<String>,
    /// The environment variable holding the user PIN.
    pub(crate) pin_env: String,
    pub(crate) sign_timeout: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCpsAgent {
    /// SHA-256 fingerprints of the agents' self-signed certificates, or…
    #[serde(default)]
    pub(crate) agent_fingerprints: Vec<String>,
    /// …the CA that issues them.
    #[serde(default)]
    pub(crate) agent_ca: Vec<String>,
    /// Networks the agents live in (`10.20.0.0/16`): a call naming an agent elsewhere is
    /// refused before any connection (no SSRF).
    pub(crate) agent_networks: Vec<String>,
    /// Ports the agents listen on.
    pub(crate) agent_ports: Vec<u16>,
    pub(crate) sign_timeout: Option<String>,
    pub(crate) certificate_ttl: Option<String>,
    pub(crate) max_concurrent_signatures: Option<usize>,
}

/// Where a CPS agent may be, for the calls of one route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentPolicy {
    /// The networks agents may be in.
    pub networks: Vec<ipnet::IpNet>,
    /// The ports agents may listen on.
    pub ports: Vec<u16>,
}

/// A validated `outbound` block (the identity is built with the route).
#[derive(Debug, Clone)]
pub struct OutboundSettings {
    /// The partner's base URL.
    pub base_url: http::Uri,
    /// The partner's CA certificates.
    pub trust_anchors: Vec<PathBuf>,
    /// The TLS versions the route allows.
    pub versions: mtls::TlsVersions,
    /// The TCP connect timeout.
    pub connect_timeout: Duration,
    /// The client identity.
    pub identity: mtls::OutboundIdentity,
    /// Where agents may be (CPS identities only).
    pub agents: Option<AgentPolicy>,
}

pub(super) fn outbound(
    c: &mut Collector,
    key: &str,
    raw: Option<&RawOutbound>,
    base: &Path,
    env: &dyn Env,
) -> Option<Option<OutboundSettings>> {
    let Some(r) = raw else {
        return Some(None);
    };
    let key = format!("{key}.outbound");
    let base_url = match r.base_url.parse::<http::Uri>() {
        Ok(u) if u.scheme_str() == Some("https") && u.host().is_some() => Some(u),
        _ => {
            c.push(
                format!("{key}.base_url"),
                format!("`{}` is not an https:// URL", r.base_url),
            );
            None
        }
    };
    if r.trust_anchors.is_empty() {
        c.push(
            format!("{key}.trust_anchors"),
            "the partner's CA certificates are required",
        );
    }
    let mut versions = mtls::TlsVersions {
        tls12: false,
        tls13: false,
    };
    for (j, v) in r
        .tls_versions
        .clone()
        .unwrap_or_else(|| vec!["tls12".into(), "tls13".into()])
        .iter()
        .enumerate()
    {
        match v.as_str() {
            "tls12" => versions.tls12 = true,
            "tls13" => versions.tls13 = true,
            other => c.push(
                format!("{key}.tls_versions[{j}]"),
                format!("`{other}` is not `tls12` or `tls13`"),
            ),
        }
    }
    let connect_timeout = c.timeout(
        format!("{key}.connect_timeout"),
        r.connect_timeout.as_deref(),
        Duration::from_secs(5),
    );
    let (identity, agents) = identity(c, &format!("{key}.identity"), &r.identity, base, env)?;
    Some(Some(OutboundSettings {
        base_url: base_url?,
        trust_anchors: r.trust_anchors.iter().map(|p| base.join(p)).collect(),
        versions,
        connect_timeout: connect_timeout?,
        identity,
        agents,
    }))
}

fn duration(c: &mut Collector, key: String, v: Option<&str>, default: u64) -> Option<Duration> {
    c.timeout(key, v, Duration::from_secs(default))
}

fn identity(
    c: &mut Collector,
    key: &str,
    r: &RawIdentity,
    base: &Path,
    env: &dyn Env,
) -> Option<(mtls::OutboundIdentity, Option<AgentPolicy>)> {
    let kinds = [r.file.is_some(), r.pkcs11.is_some(), r.cps_agent.is_some()];
    if kinds.iter().filter(|k| **k).count() != 1 {
        c.push(key, "give exactly one of `file`, `pkcs11`, `cps_agent`");
        return None;
    }
    if let Some(f) = &r.file {
        let id = mtls::OutboundIdentity::File {
            cert_chain: base.join(&f.cert),
            key: base.join(&f.key),
        };
        return Some((id, None));
    }
    if let Some(p) = &r.pkcs11 {
        let cert = match (&p.cert_label, &p.cert) {
            (Some(label), None) => Some(mtls::Pkcs11Certificate::Token {
                label: label.clone(),
            }),
            (None, Some(file)) => Some(mtls::Pkcs11Certificate::File(base.join(file))),
            _ => {
                c.push(
                    format!("{key}.pkcs11"),
                    "give exactly one of `cert_label` (on the token) and `cert` (a file)",
                );
                None
            }
        };
        let pin = c
            .secret(format!("{key}.pkcs11.pin_env"), env, &p.pin_env, |_| Ok(()))
            .map(mtls::Secret::new);
        let sign_timeout = duration(
            c,
            format!("{key}.pkcs11.sign_timeout"),
            p.sign_timeout.as_deref(),
            10,
        );
        let mut identity = mtls::Pkcs11Identity::new(
            base.join(&p.module),
            p.token_label.clone(),
            p.key_label.clone(),
            cert?,
            pin?,
        );
        identity.sign_timeout = sign_timeout?;
        return Some((mtls::OutboundIdentity::Pkcs11(identity), None));
    }
    let a = r.cps_agent.as_ref()?;
    let akey = format!("{key}.cps_agent");
    let trust = match (a.agent_fingerprints.is_empty(), a.agent_ca.is_empty()) {
        (false, true) => {
            let mut pins = Vec::new();
            for (j, f) in a.agent_fingerprints.iter().enumerate() {
                match f.parse::<mtls::Fingerprint>() {
                    Ok(p) => pins.push(p),
                    Err(e) => c.push(format!("{akey}.agent_fingerprints[{j}]"), e.to_string()),
                }
            }
            (pins.len() == a.agent_fingerprints.len())
                .then_some(mtls::AgentTrust::Fingerprints(pins))
        }
        (true, false) => Some(mtls::AgentTrust::CaFiles(
            a.agent_ca.iter().map(|p| base.join(p)).collect(),
        )),
        _ => {
            c.push(
                akey.clone(),
                "give exactly one of `agent_fingerprints` and `agent_ca`",
            );
            None
        }
    };
    let mut networks = Vec::new();
    for (j, n) in a.agent_networks.iter().enumerate() {
        match n.parse::<ipnet::IpNet>() {
            Ok(net) => networks.push(net),
            Err(_) => c.push(
                format!("{akey}.agent_networks[{j}]"),
                format!("`{n}` is not a network such as `10.20.0.0/16`"),
            ),
        }
    }
    if a.agent_networks.is_empty() {
        c.push(
            format!("{akey}.agent_networks"),
            "name the networks the agents live in",
        );
    }
    if a.agent_ports.is_empty() || a.agent_ports.contains(&0) {
        c.push(
            format!("{akey}.agent_ports"),
            "name the ports the agents listen on",
        );
    }
    let sign_timeout = duration(
        c,
        format!("{akey}.sign_timeout"),
        a.sign_timeout.as_deref(),
        10,
    );
    let ttl = duration(
        c,
        format!("{akey}.certificate_ttl"),
        a.certificate_ttl.as_deref(),
        60,
    );
    let mut settings = mtls::AgentSettings::new(trust?);
    settings.sign_timeout = sign_timeout?;
    settings.certificate_ttl = ttl?;
    if let Some(n) = a.max_concurrent_signatures {
        settings.max_concurrent_signatures = n.max(1);
    }
    let ok = networks.len() == a.agent_networks.len()
        && !networks.is_empty()
        && !a.agent_ports.is_empty();
    ok.then(|| {
        let policy = AgentPolicy {
            networks,
            ports: a.agent_ports.clone(),
        };
        (mtls::OutboundIdentity::CpsAgent(settings), Some(policy))
    })
}
