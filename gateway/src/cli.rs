//! The command line: `run`, `check-config`, `demo`. Exit codes follow sysexits: 64 for an
//! invalid configuration or usage, 69 when the gateway cannot start.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{self, Env, ProcessEnv, Settings};
use crate::{Gateway, init_logging};

/// Invalid configuration or usage.
const EX_USAGE: u8 = 64;
/// The gateway could not start (address in use, demo upstream failed).
const EX_UNAVAILABLE: u8 = 69;

/// The demo configuration, embedded so `gateway demo` works from any directory of the checkout.
const DEMO_YAML: &str = include_str!("../../config/demo.yaml");
/// Where the demo's relative paths (the test PKI) resolve from.
const DEMO_BASE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../config");
/// Where the demo upstream listens (the demo YAML points its upstream there).
const DEMO_UPSTREAM: &str = "127.0.0.1:18080";

#[derive(Parser)]
#[command(
    name = "gateway",
    version,
    about = "SOAP/mTLS interoperability gateway"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the gateway from a YAML file.
    Run {
        /// The configuration file.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Checks configuration files and prints every error (exit 64 when one is invalid).
    CheckConfig {
        /// The files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Runs the embedded demo: loopback, test PKI, in-memory state, a demo upstream.
    Demo,
    /// Audit trails.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Checks trail files (given in order when a chain was rotated across several): exits 0 when
    /// every line verifies, 65 naming the first line that does not.
    Verify {
        /// The environment variable holding the trail's HMAC key.
        #[arg(long)]
        key_env: String,
        /// The files, oldest first.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
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
struct DemoEnv;

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

/// Parses the arguments and runs the command.
#[must_use]
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig { files } => check_config(&files),
        Command::Audit {
            command: AuditCommand::Verify { key_env, files },
        } => audit_verify(&key_env, &files),
        Command::Run { config } => match config::load(&config, &ProcessEnv) {
            Ok(settings) => serve(settings, None),
            Err(errors) => {
                eprintln!("{errors}");
                ExitCode::from(EX_USAGE)
            }
        },
        Command::Demo => {
            let file = Path::new(DEMO_BASE).join("demo.yaml");
            match config::from_yaml(DEMO_YAML, &file, Path::new(DEMO_BASE), &DemoEnv) {
                Ok(settings) => serve(settings, Some(DEMO_UPSTREAM)),
                Err(errors) => {
                    eprintln!("the embedded demo configuration is invalid:\n{errors}");
                    ExitCode::from(EX_USAGE)
                }
            }
        }
    }
}

/// The trail is not what was written (sysexits `EX_DATAERR`).
const EX_DATAERR: u8 = 65;

// The verdict goes to stdout: that is the command's output.
#[allow(clippy::print_stdout)]
fn audit_verify(key_env: &str, files: &[PathBuf]) -> ExitCode {
    let Some(key) = ProcessEnv.var(key_env) else {
        eprintln!("environment variable `{key_env}` (the trail's HMAC key) is not set");
        return ExitCode::from(EX_USAGE);
    };
    match crate::trail::verify_files(key.as_bytes(), files) {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(broken) => {
            eprintln!("{broken}");
            ExitCode::from(EX_DATAERR)
        }
    }
}

// The verdict of each file goes to stdout: that is the command's output.
#[allow(clippy::print_stdout)]
fn check_config(files: &[PathBuf]) -> ExitCode {
    let mut ok = true;
    for file in files {
        match config::load(file, &ProcessEnv) {
            Ok(s) => println!(
                "{}: valid ({} listeners, {} routes, {} upstreams)",
                file.display(),
                s.listeners.len(),
                s.routes.len(),
                s.upstreams.len()
            ),
            Err(errors) => {
                ok = false;
                eprintln!("{errors}");
            }
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EX_USAGE)
    }
}

fn serve(settings: Settings, demo_upstream: Option<&str>) -> ExitCode {
    init_logging(&settings.logging);
    mtls::install_default_provider();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::from(EX_UNAVAILABLE);
        }
    };
    runtime.block_on(async move {
        if let Some(addr) = demo_upstream {
            let started = match addr.parse::<SocketAddr>() {
                Ok(addr) => demo_upstream::spawn(addr).await,
                Err(e) => Err(std::io::Error::other(e)),
            };
            if let Err(e) = started {
                eprintln!("cannot start the demo upstream on {addr}: {e}");
                return ExitCode::from(EX_UNAVAILABLE);
            }
            // The DMP stand-in and a practitioner's CPS agent for the demo's outbound route.
            if let Err(e) = start_demo_dmp(Path::new(DEMO_BASE)).await {
                eprintln!("cannot start the demo's DMP stand-in or CPS agent: {e}");
                return ExitCode::from(EX_UNAVAILABLE);
            }
            // The fake SAS platform that the demo's `sas_appointments` route sends to.
            if let Err(e) = demo_upstream::fake_sas::spawn_demo(Path::new(DEMO_BASE)).await {
                let at = demo_upstream::fake_sas::DEMO_ADDR;
                eprintln!("cannot start the demo's fake SAS on {at}: {e}");
                return ExitCode::from(EX_UNAVAILABLE);
            }
        }
        let is_demo = demo_upstream.is_some();
        let reload_env: std::sync::Arc<dyn Env + Send + Sync> = if is_demo {
            std::sync::Arc::new(DemoEnv)
        } else {
            std::sync::Arc::new(ProcessEnv)
        };
        let gateway = match Gateway::start_with_env(settings, reload_env).await {
            Ok(g) => g,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(EX_UNAVAILABLE);
            }
        };
        if is_demo {
            print_demo_tour(&gateway);
        }
        crate::signals::run_until_stopped(gateway).await;
        ExitCode::SUCCESS
    })
}

/// Where `gateway demo` runs the medecin card's CPS agent (the demo's `/dmp` route allows it).
const DEMO_CPS_AGENT: &str = "127.0.0.1:18444";

/// The DMP stand-in on 127.0.0.1:18445 and the medecin card's agent on [`DEMO_CPS_AGENT`], its TLS
/// certificate the test PKI's server certificate (the route trusts the agent by that CA).
async fn start_demo_dmp(config_dir: &Path) -> std::io::Result<()> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let pki = config_dir.join("../certs-test/pki");
    let dmp = demo_upstream::fake_dmp::DEMO_ADDR
        .parse()
        .map_err(std::io::Error::other)?;
    demo_upstream::fake_dmp::spawn(dmp, &pki).await?;
    let mut agent = demo_upstream::cps_agent::AgentOptions::from_files(
        &pki.join("cps/cards/medecin.pem"),
        &pki.join("cps/cards/medecin.key"),
    )?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(pki.join("server.pem"))
        .map_err(std::io::Error::other)?
        .collect::<Result<_, _>>()
        .map_err(std::io::Error::other)?;
    let key =
        PrivateKeyDer::from_pem_file(pki.join("server.key")).map_err(std::io::Error::other)?;
    agent.tls_identity = Some((chain, key));
    agent.bind = Some(DEMO_CPS_AGENT.parse().map_err(std::io::Error::other)?);
    demo_upstream::cps_agent::spawn(agent).await?;
    Ok(())
}

#[allow(clippy::print_stdout)]
fn print_demo_tour(gateway: &Gateway) {
    let port = gateway.addr("edge").map_or(8443, |a| a.port());
    let admin = gateway.admin_addr();
    let pki = "certs-test/pki";
    // The demo planning has free slots in the coming days.
    let today = jiff::Zoned::now().date();
    let from = today.tomorrow().unwrap_or(today);
    let to = from.checked_add(jiff::Span::new().days(2)).unwrap_or(from);
    println!(
        "\nThe gateway demo is running (Ctrl-C to stop). Try it from the repository root:\n\n\
         # the SAS recette client, pinned on /sas: 200 from the demo upstream, identity headers included\n\
         curl --cacert {pki}/ca-bundle.pem --cert {pki}/clients/sas-recette.pem --key {pki}/clients/sas-recette.key \\\n\
         \x20    https://localhost:{port}/sas/Slot?_count=1\n\n\
         # a wrong OU on the same route: 403\n\
         curl --cacert {pki}/ca-bundle.pem --cert {pki}/clients/wrong-ou.pem --key {pki}/clients/wrong-ou.key \\\n\
         \x20    https://localhost:{port}/sas/Slot\n\n\
         # no certificate: 401 (the listener's client authentication is optional)\n\
         curl --cacert {pki}/ca-bundle.pem https://localhost:{port}/sas/Slot\n\n\
         # a certificate from another CA: refused during the handshake\n\
         curl --cacert {pki}/ca-bundle.pem --cert {pki}/clients/untrusted.pem --key {pki}/clients/untrusted.key \\\n\
         \x20    https://localhost:{port}/sas/Slot\n\n\
         # the SAS FHIR base (INT_R01 slot search) and the ASPOne alert service's WSDL: see the\n\
         # README sections \"SAS FHIR flows\" and \"ASPOne alert service\" for complete calls\n\
         curl --cacert {pki}/ca-bundle.pem --cert {pki}/clients/sas-recette.pem --key {pki}/clients/sas-recette.key \\\n\
         \x20    'https://localhost:{port}/sas/recette/fhir/Slot?schedule.actor:Practitioner.identifier=urn:oid:1.2.250.1.71.4.2.1|810002909371&start=ge{from}&start=le{to}'\n\
         curl --cacert {pki}/ca-bundle.pem --cert {pki}/clients/portal.pem --key {pki}/clients/portal.key \\\n\
         \x20    'https://localhost:{port}/aspone/alert?wsdl'\n\n\
         # document exchanges (digest checked while streaming, every exchange in the trail): see\n\
         # the README section \"Document exchanges\"; the trail's head:\n\
         curl http://{admin}/trail\n\n\
         # the DMP through a practitioner's CPS card: see the README section \"Outbound calls\"\n\n\
         # metrics and health\n\
         curl http://{admin}/metrics\n"
    );
}
