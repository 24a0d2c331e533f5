//! The command line: `run`, `check-config`, `demo`, `audit verify`. Exit codes follow sysexits:
//! 64 for an invalid configuration or usage, 65 for a trail that does not verify, 69 when the
//! gateway cannot start.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{self, Env, ProcessEnv, Settings};
pub use crate::demo::{DEMO_PORTS, DEMO_SECRETS, DemoPort, MAX_PORTS_OFFSET, shift_demo_ports};
use crate::demo::{Demo, DemoEnv, demo, print_demo_tour, start_demo_services};
use crate::{Gateway, init_logging};

/// Invalid configuration or usage.
pub(crate) const EX_USAGE: u8 = 64;
/// The trail is not what was written (sysexits `EX_DATAERR`).
pub(crate) const EX_DATAERR: u8 = 65;
/// The gateway could not start (address in use, demo upstream failed).
pub(crate) const EX_UNAVAILABLE: u8 = 69;

/// What `--help` adds after the commands: exit codes, signals, admin endpoints, environment,
/// the demo's ports.
const AFTER_HELP: &str = "\
Exit codes:
  0   success (`audit verify`: every line verifies)
  64  usage error, or an invalid configuration (every error printed as file: key: reason)
  65  `audit verify`: the trail does not verify (the first line that does not is named)
  69  cannot start: an address in use, a CRL or state store missing at start, a demo service

Signals (`run`, `demo`):
  SIGTERM, SIGINT  stop accepting; in-flight requests finish within `shutdown.grace_period`
  SIGHUP           reload the configuration file (as `POST /reload`); refused, naming the
                   setting, when the file is invalid or changes what only a restart applies

Admin endpoints (`admin.bind`, default 127.0.0.1:9901; plain HTTP, keep it on loopback):
  GET  /healthz             the process answers
  GET  /readyz              ready (200) or not (503): state store, CRLs; upstream health as details
  GET  /metrics             Prometheus metrics
  GET  /revocation          each CRL: issuer, thisUpdate, nextUpdate, entries, last fetch
  POST /revocation/refresh  fetch every CRL now
  POST /reload              reload the configuration file (as SIGHUP)
  GET  /trail               each audit trail's head

Environment:
  Secrets never sit in the YAML: a file names the variables holding them (`*_env` keys: Redis
  URL, trail keys, signature keys, partner secrets, token PINs). `check-config` reports unset
  ones as warnings (`--require-env`: errors); `run` refuses to start without them.
  `gateway demo` reads ALERT_PORTAL_A_SECRET, ALERT_PORTAL_A_SSO, DEMO_TRAIL_KEY, DEMO_SEAL_KEY
  (using the demo's values when unset) and TMPDIR (where it writes its files and its trail).

Demo ports (127.0.0.1; `gateway demo --ports-offset N` adds N to each):
  8443   the gateway (listener `edge`)       18443  the fake SAS (INT_R03 receiver)
  9901   the admin listener                  18444  the medecin card's CPS agent
  18080  the demo upstream                   18445  the DMP stand-in";

#[derive(Parser)]
#[command(
    name = "gateway",
    version,
    about = "SOAP/mTLS interoperability gateway",
    after_help = AFTER_HELP
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
        /// Polls the file and the files it names (certificates, keys, CAs) every DURATION
        /// (`10s`) and reloads when they change, as SIGHUP does: for a Kubernetes ConfigMap or
        /// Secret, whose updates swap a `..data` symlink.
        #[arg(long, value_name = "DURATION", value_parser = watch_interval)]
        watch: Option<std::time::Duration>,
    },
    /// Checks configuration files and prints every error (exit 64 when one is invalid).
    ///
    /// An environment variable a file names but that is not set is a warning: the file is
    /// checked with a stand-in value, and starting it needs the variable.
    CheckConfig {
        /// Unset environment variables are errors (exit 64), as `run` sees them.
        #[arg(long)]
        require_env: bool,
        /// The files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Runs the embedded demo: loopback, test PKI, in-memory state, a demo upstream.
    ///
    /// Its files (configuration, test PKI) are written to a fresh temporary directory, removed
    /// at exit; SIGHUP and `POST /reload` reload the configuration written there.
    #[command(
        after_help = "Ports (127.0.0.1): 8443 gateway, 9901 admin, 18080 demo upstream, 18443 fake SAS, \
                      18444 CPS agent, 18445 DMP stand-in; each plus --ports-offset."
    )]
    Demo {
        /// Adds N to every port of the demo (to run it beside another demo, or in tests).
        #[arg(long, value_name = "N", default_value_t = 0,
              value_parser = clap::value_parser!(u16).range(0..=i64::from(MAX_PORTS_OFFSET)))]
        ports_offset: u16,
    },
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

/// Parses the arguments and runs the command. A usage error exits 64; `--help` and
/// `--version` exit 0.
#[must_use]
pub fn main() -> ExitCode {
    main_from(std::env::args_os())
}

/// [`main`] with the arguments given (the first is the program name): what the tests use to run
/// the gateway as a process of its own without depending on where cargo put the binary.
#[must_use]
pub fn main_from<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout with exit 0; anything else is a usage error.
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(EX_USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match cli.command {
        Command::CheckConfig { require_env, files } => check_config(&files, require_env),
        Command::Audit {
            command: AuditCommand::Verify { key_env, files },
        } => audit_verify(&key_env, &files),
        Command::Run { config, watch } => match config::load(&config, &ProcessEnv) {
            Ok(settings) => serve(settings, None, watch),
            Err(errors) => {
                eprintln!("{errors}");
                ExitCode::from(EX_USAGE)
            }
        },
        Command::Demo { ports_offset } => demo(ports_offset),
    }
}

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

/// What `check-config` answers for a variable the environment does not set: acceptable to
/// every check a secret goes through (a Redis URL starts with `rediss://`, HMAC and trail keys
/// hold 32 bytes or more, partner secrets and PINs are not empty), so that the rest of the file
/// is checked as it will be once the variable is set (`rediss://`: it also satisfies `state.tls`).
const PLACEHOLDER_SECRET: &str = "rediss://check-config.invalid/placeholder-secret-0123456789";

/// Variables read with a fallback of their own (not secrets): asked, but never required.
const OPTIONAL_VARS: &[&str] = &["HOSTNAME"];

/// The process environment, answering [`PLACEHOLDER_SECRET`] for what it does not set and
/// recording those names.
#[derive(Default)]
struct CheckEnv {
    missing: RefCell<BTreeSet<String>>,
}

impl Env for CheckEnv {
    fn var(&self, name: &str) -> Option<String> {
        if let Some(value) = ProcessEnv.var(name) {
            return Some(value);
        }
        if OPTIONAL_VARS.contains(&name) {
            return None;
        }
        self.missing.borrow_mut().insert(name.to_owned());
        Some(PLACEHOLDER_SECRET.to_owned())
    }
}

// The verdict of each file goes to stdout: that is the command's output.
#[allow(clippy::print_stdout)]
fn check_config(files: &[PathBuf], require_env: bool) -> ExitCode {
    let mut ok = true;
    for file in files {
        let env = CheckEnv::default();
        let loaded = if require_env {
            config::load(file, &ProcessEnv)
        } else {
            config::load(file, &env)
        };
        let valid = match loaded {
            Ok(s) => {
                println!(
                    "{}: valid ({} listeners, {} routes, {} upstreams)",
                    file.display(),
                    s.listeners.len(),
                    s.routes.len(),
                    s.upstreams.len()
                );
                true
            }
            Err(errors) => {
                ok = false;
                eprintln!("{errors}");
                false
            }
        };
        for var in env.missing.borrow().iter() {
            let verdict = if valid { "the file is valid, " } else { "" };
            eprintln!(
                "{}: warning: `{var}` is not set: {verdict}starting it needs the variable",
                file.display()
            );
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EX_USAGE)
    }
}

fn watch_interval(text: &str) -> Result<std::time::Duration, String> {
    crate::config::positive_duration(text)
}

pub(crate) fn serve(
    settings: Settings,
    demo: Option<&Demo>,
    watch: Option<std::time::Duration>,
) -> ExitCode {
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
    let code = runtime.block_on(async move {
        if let Some(demo) = demo
            && let Err(e) = start_demo_services(demo).await
        {
            eprintln!("{e}");
            return ExitCode::from(EX_UNAVAILABLE);
        }
        let reload_env: std::sync::Arc<dyn Env + Send + Sync> = if demo.is_some() {
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
        if let Some(demo) = demo {
            print_demo_tour(&gateway, demo);
        }
        if let Some(interval) = watch {
            gateway.watch_files(interval);
        }
        crate::signals::run_until_stopped(gateway).await;
        ExitCode::SUCCESS
    });
    // The last lines (the shutdown's) may still wait in the log writer's batch.
    crate::telemetry::flush_logs();
    code
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use clap::CommandFactory;

    use super::*;

    #[test]
    fn help_names_exit_codes_signals_endpoints_environment_and_ports() {
        let help = Cli::command().render_long_help().to_string();
        for expected in [
            "64",
            "65",
            "69",
            "SIGTERM",
            "SIGINT",
            "SIGHUP",
            "/healthz",
            "/readyz",
            "/metrics",
            "/revocation/refresh",
            "/reload",
            "/trail",
            "TMPDIR",
            "--ports-offset",
        ] {
            assert!(
                help.contains(expected),
                "no `{expected}` in --help:\n{help}"
            );
        }
        for (var, _) in DEMO_SECRETS {
            assert!(help.contains(var), "no `{var}` in --help:\n{help}");
        }
        for d in DEMO_PORTS {
            assert!(
                help.contains(&d.port.to_string()),
                "no port {} in --help",
                d.port
            );
        }
    }
}
