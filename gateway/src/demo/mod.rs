//! `gateway demo`: the embedded configuration and test PKI written to a temporary directory,
//! its ports (shiftable with `--ports-offset`), the demo's secrets, the services it starts
//! beside the gateway (demo upstream, fake SAS, DMP stand-in and a CPS agent), and its tour.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod files;

use files::{DEMO_FILES, DEMO_YAML};

use crate::Gateway;
use crate::cli::{EX_UNAVAILABLE, EX_USAGE, serve};
use crate::config::{self, Env, ProcessEnv};

/// One loopback port of `gateway demo`.
#[derive(Debug, Clone, Copy)]
pub struct DemoPort {
    /// The port `gateway demo` uses without `--ports-offset`.
    pub port: u16,
    /// What listens there.
    pub what: &'static str,
}

/// Every port `gateway demo` listens on (127.0.0.1), as the embedded YAML and the README write
/// them. `--ports-offset N` adds N to each.
pub const DEMO_PORTS: &[DemoPort] = &[
    DemoPort {
        port: 8443,
        what: "the gateway's listener `edge`",
    },
    DemoPort {
        port: 9901,
        what: "the admin listener",
    },
    DemoPort {
        port: 18080,
        what: "the demo upstream",
    },
    DemoPort {
        port: 18443,
        what: "the fake SAS",
    },
    DemoPort {
        port: 18444,
        what: "the medecin card's CPS agent",
    },
    DemoPort {
        port: 18445,
        what: "the DMP stand-in",
    },
];

/// The largest `--ports-offset`: the highest demo port must stay a port.
pub const MAX_PORTS_OFFSET: u16 = 65535 - 18445;

/// Adds `offset` to every number of `text` that is one of [`DEMO_PORTS`] (digits on both sides
/// excluded: `499700234190004` is not a port). `gateway demo --ports-offset` applies it to its
/// YAML; the tests apply it to the README's commands.
#[must_use]
pub fn shift_demo_ports(text: &str, offset: u16) -> String {
    if offset == 0 {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut digits = String::new();
    let flush = |digits: &mut String, out: &mut String| {
        let shifted = digits
            .parse::<u16>()
            .ok()
            .filter(|p| DEMO_PORTS.iter().any(|d| d.port == *p))
            .and_then(|p| p.checked_add(offset));
        match shifted {
            Some(p) => out.push_str(&p.to_string()),
            None => out.push_str(digits),
        }
        digits.clear();
    };
    for ch in text.chars() {
        if ch.is_ascii_digit() {
            digits.push(ch);
        } else {
            flush(&mut digits, &mut out);
            out.push(ch);
        }
    }
    flush(&mut digits, &mut out);
    out
}

/// The secrets the demo configuration names, with the demo upstream's values: `gateway demo`
/// uses them when the environment does not set them, so that it runs on a fresh machine.
/// (`gateway run --config config/demo.yaml` reads the real environment only.)
pub const DEMO_SECRETS: &[(&str, &str)] = &[
    ("ALERT_PORTAL_A_SECRET", "partner-a-secret"),
    ("ALERT_PORTAL_A_SSO", "sso-key-a"),
    ("DEMO_TRAIL_KEY", "demo-trail-key-not-a-secret-0123456789"),
    ("DEMO_SEAL_KEY", "demo-seal-key-not-a-secret-0123456789"),
];

/// The process environment, falling back to [`DEMO_SECRETS`].
pub(crate) struct DemoEnv;

impl Env for DemoEnv {
    fn var(&self, name: &str) -> Option<String> {
        ProcessEnv.var(name).or_else(|| {
            DEMO_SECRETS
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }
}

/// The demo's files on disk, removed when dropped.
struct DemoDir(PathBuf);

impl DemoDir {
    /// Writes the embedded YAML (its ports shifted by `offset`) and [`DEMO_FILES`] to a fresh
    /// directory under the system's temporary directory (`TMPDIR`), readable by this user only.
    fn create(offset: u16) -> std::io::Result<Self> {
        use std::os::unix::fs::DirBuilderExt;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let root = std::env::temp_dir().join(format!(
            "gateway-demo-files-{}-{nanos:09}",
            std::process::id()
        ));
        // Not recursive: a directory that exists already is not ours.
        std::fs::DirBuilder::new().mode(0o700).create(&root)?;
        let dir = Self(root);
        let yaml = shift_demo_ports(DEMO_YAML, offset);
        let files = DEMO_FILES
            .iter()
            .copied()
            .chain(std::iter::once(("config/demo.yaml", yaml.as_bytes())));
        for (name, bytes) in files {
            let path = dir.0.join(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&path, bytes)?;
        }
        Ok(dir)
    }

    fn config_file(&self) -> PathBuf {
        self.0.join("config/demo.yaml")
    }

    fn pki(&self) -> PathBuf {
        self.0.join("certs-test/pki")
    }
}

impl Drop for DemoDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What `serve` starts beside the gateway for `gateway demo`.
pub(crate) struct Demo {
    dir: DemoDir,
    offset: u16,
}

impl Demo {
    /// Where the demo service listening on `port` (one of [`DEMO_PORTS`]) is.
    fn addr(&self, port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port.saturating_add(self.offset)))
    }
}

/// The demo's ports that something else holds, with the reason, so that the demo can say which
/// port is taken before it starts anything.
fn taken_demo_ports(offset: u16) -> Vec<String> {
    DEMO_PORTS
        .iter()
        .filter_map(|d| {
            let port = d.port.saturating_add(offset);
            std::net::TcpListener::bind(("127.0.0.1", port))
                .err()
                .map(|e| format!("port {port} ({}): {e}", d.what))
        })
        .collect()
}

pub(crate) fn demo(offset: u16) -> ExitCode {
    let taken = taken_demo_ports(offset);
    if !taken.is_empty() {
        eprintln!(
            "cannot start the demo: on 127.0.0.1,\n  {}\nIs another `gateway demo` running? Stop \
             it, or run this one on other ports with `gateway demo --ports-offset N` (adds N to \
             every port).",
            taken.join("\n  ")
        );
        return ExitCode::from(EX_UNAVAILABLE);
    }
    let dir = match DemoDir::create(offset) {
        Ok(dir) => dir,
        Err(e) => {
            eprintln!(
                "cannot write the demo's files under {}: {e}",
                std::env::temp_dir().display()
            );
            return ExitCode::from(EX_UNAVAILABLE);
        }
    };
    // Loaded from the file written in the directory, as SIGHUP and `POST /reload` load it.
    match config::load(&dir.config_file(), &DemoEnv) {
        Ok(settings) => serve(settings, Some(&Demo { dir, offset }), None),
        Err(errors) => {
            eprintln!("the embedded demo configuration is invalid:\n{errors}");
            ExitCode::from(EX_USAGE)
        }
    }
}

/// The demo upstream, the DMP stand-in with the medecin card's agent, and the fake SAS; an error
/// names what could not start and where.
pub(crate) async fn start_demo_services(demo: &Demo) -> Result<(), String> {
    let upstream = demo.addr(18080);
    demo_upstream::spawn(upstream)
        .await
        .map_err(|e| format!("cannot start the demo upstream on {upstream}: {e}"))?;
    // The DMP stand-in and a practitioner's CPS agent for the demo's outbound route.
    let (dmp, agent) = (demo.addr(18445), demo.addr(18444));
    start_demo_dmp(&demo.dir.pki(), dmp, agent)
        .await
        .map_err(|e| {
            format!("cannot start the demo's DMP stand-in on {dmp} or CPS agent on {agent}: {e}")
        })?;
    // The fake SAS platform that the demo's `sas_appointments` route sends to.
    let sas = demo.addr(18443);
    demo_upstream::fake_sas::spawn_demo(&demo.dir.pki(), sas)
        .await
        .map_err(|e| format!("cannot start the demo's fake SAS on {sas}: {e}"))?;
    Ok(())
}

/// The DMP stand-in on `dmp` (127.0.0.1:18445) and the medecin card's agent on `agent`
/// (127.0.0.1:18444), its TLS certificate the test PKI's server certificate (the route trusts
/// the agent by that CA).
async fn start_demo_dmp(pki: &Path, dmp: SocketAddr, agent: SocketAddr) -> std::io::Result<()> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    demo_upstream::fake_dmp::spawn(dmp, pki).await?;
    let mut options = demo_upstream::cps_agent::AgentOptions::from_files(
        &pki.join("cps/cards/medecin.pem"),
        &pki.join("cps/cards/medecin.key"),
    )?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(pki.join("server.pem"))
        .map_err(std::io::Error::other)?
        .collect::<Result<_, _>>()
        .map_err(std::io::Error::other)?;
    let key =
        PrivateKeyDer::from_pem_file(pki.join("server.key")).map_err(std::io::Error::other)?;
    options.tls_identity = Some((chain, key));
    options.bind = Some(agent);
    demo_upstream::cps_agent::spawn(options).await?;
    Ok(())
}

#[allow(clippy::print_stdout)]
pub(crate) fn print_demo_tour(gateway: &Gateway, demo: &Demo) {
    let dir = &demo.dir;
    let port = gateway.addr("edge").map_or(8443, |a| a.port());
    let admin = gateway.admin_addr();
    let pki = dir.pki();
    let pki = pki.display();
    let config = dir.config_file();
    let config = config.display();
    // The demo planning has free slots in the coming days.
    let today = jiff::Zoned::now().date();
    let from = today.tomorrow().unwrap_or(today);
    let to = from.checked_add(jiff::Span::new().days(2)).unwrap_or(from);
    println!(
        "\nThe demo's files (configuration, test PKI) are in {dir} (removed at exit);\n\
         SIGHUP or `curl -X POST http://{admin}/reload` reloads {config}.",
        dir = dir.0.display()
    );
    println!(
        "\nThe gateway demo is running (Ctrl-C to stop). Try it from any directory:\n\n\
         PKI={pki}\n\n\
         # the SAS recette client, pinned on /sas: 200 from the demo upstream, identity headers included\n\
         curl --cacert $PKI/ca-bundle.pem --cert $PKI/clients/sas-recette.pem --key $PKI/clients/sas-recette.key \\\n\
         \x20    https://localhost:{port}/sas/Slot?_count=1\n\n\
         # a wrong OU on the same route: 403\n\
         curl --cacert $PKI/ca-bundle.pem --cert $PKI/clients/wrong-ou.pem --key $PKI/clients/wrong-ou.key \\\n\
         \x20    https://localhost:{port}/sas/Slot\n\n\
         # no certificate: 401 (the listener's client authentication is optional)\n\
         curl --cacert $PKI/ca-bundle.pem https://localhost:{port}/sas/Slot\n\n\
         # a certificate from another CA: refused during the handshake\n\
         curl --cacert $PKI/ca-bundle.pem --cert $PKI/clients/untrusted.pem --key $PKI/clients/untrusted.key \\\n\
         \x20    https://localhost:{port}/sas/Slot\n\n\
         # the revoked certificate: refused during the handshake (certificate_revoked)\n\
         curl --cacert $PKI/ca-bundle.pem --cert $PKI/clients/revoked.pem --key $PKI/clients/revoked.key \\\n\
         \x20    https://localhost:{port}/sas/Slot\n\n\
         # the SAS FHIR base (INT_R01 slot search) and the ASPOne alert service's WSDL: see the\n\
         # docs/routes/sas.md and docs/routes/aspone-alert.md for complete calls\n\
         curl --cacert $PKI/ca-bundle.pem --cert $PKI/clients/sas-recette.pem --key $PKI/clients/sas-recette.key \\\n\
         \x20    'https://localhost:{port}/sas/recette/fhir/Slot?schedule.actor:Practitioner.identifier=urn:oid:1.2.250.1.71.4.2.1|810002909371&start=ge{from}&start=le{to}'\n\
         curl --cacert $PKI/ca-bundle.pem --cert $PKI/clients/portal.pem --key $PKI/clients/portal.key \\\n\
         \x20    'https://localhost:{port}/aspone/alert?wsdl'\n\n\
         # document exchanges (digest checked while streaming, every exchange in the trail): see\n\
         # docs/routes/documents.md; the trail's head:\n\
         curl http://{admin}/trail\n\n\
         # the DMP through a practitioner's CPS card: see docs/routes/outbound.md\n\n\
         # metrics and health\n\
         curl http://{admin}/metrics\n"
    );
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn ports_are_shifted_as_whole_numbers_only() {
        let text =
            "bind: 127.0.0.1:8443 # OU 499700234190004, 18443 and 184450\nagent_ports: [18444]";
        assert_eq!(
            shift_demo_ports(text, 1000),
            "bind: 127.0.0.1:9443 # OU 499700234190004, 19443 and 184450\nagent_ports: [19444]"
        );
        assert_eq!(shift_demo_ports(text, 0), text);
        assert_eq!(shift_demo_ports("9901", MAX_PORTS_OFFSET), "56991");
    }

    #[test]
    fn the_demo_files_load_from_their_directory_on_shifted_ports_and_are_removed() {
        let dir = DemoDir::create(1000).unwrap();
        let root = dir.0.clone();
        // What SIGHUP and `POST /reload` read: the written file, its paths relative to it.
        let s = config::load(&dir.config_file(), &DemoEnv).unwrap();
        assert_eq!(s.file, dir.config_file());
        assert_eq!(s.listeners[0].bind.port(), 9443);
        assert_eq!(s.admin_bind.port(), 10901);
        assert_eq!(s.upstreams["demo"].url.port_u16(), Some(19080));
        let yaml = std::fs::read_to_string(dir.config_file()).unwrap();
        for expected in [
            "https://localhost:19443/fhir",
            "https://localhost:19445/si-dmp-server",
            "agent_ports: [19444]",
        ] {
            assert!(
                yaml.contains(expected),
                "no `{expected}` in the demo's YAML"
            );
        }
        for (name, _) in DEMO_FILES {
            assert!(root.join(name).is_file(), "{name} not written");
        }
        drop(dir);
        assert!(!root.exists(), "{} left behind", root.display());
    }

    #[test]
    fn the_embedded_yaml_uses_exactly_the_demo_ports() {
        for d in DEMO_PORTS {
            assert!(
                DEMO_YAML.contains(&d.port.to_string()),
                "{} ({}) is not in config/demo.yaml",
                d.port,
                d.what
            );
        }
    }
}
