//! Real processes for the fleet tests: gateways (this test binary run again as `gateway run`,
//! so the tests never depend on where cargo put the binary), `redis-server` and Sentinel
//! (`redis-server --sentinel`, what Debian's `redis-sentinel` runs), all on loopback, each
//! stopped by its PID when dropped.
#![allow(dead_code, clippy::unwrap_used, missing_docs, unreachable_pub)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The variable that turns this test binary into a gateway process: its value is the
/// arguments after `gateway`, separated by `\u{1f}`.
const CHILD_ARGS: &str = "FLEET_GATEWAY_ARGS";

/// The entry point of a gateway process: run by [`GatewayProcess::run`] only (ignored in a
/// normal run, where it would be a test asserting nothing), it runs `gateway` with the
/// arguments in [`CHILD_ARGS`] and exits with its code.
#[test]
#[ignore = "the entry point of the gateway processes the fleet tests start"]
fn gateway_process() {
    let args = std::env::var(CHILD_ARGS).expect("started by GatewayProcess::run");
    let argv = std::iter::once("gateway".to_owned())
        .chain(args.split('\u{1f}').map(str::to_owned))
        .collect::<Vec<_>>();
    let code = gateway::cli::main_from(argv);
    // `ExitCode` cannot be read back; the tests only need success or not.
    std::process::exit(if code == std::process::ExitCode::SUCCESS {
        0
    } else {
        1
    });
}

/// A scratch directory removed when dropped.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "gateway-fleet-{name}-{}-{}",
            std::process::id(),
            jiff::Timestamp::now().as_nanosecond()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub use crate::common::free_port;

fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill").args([sig, &pid.to_string()]).status();
}

/// Waits until something accepts TCP connections on `port`.
pub fn wait_for_port(port: u16, within: Duration) {
    let deadline = Instant::now() + within;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A `redis-server` (or, with `--sentinel`, a sentinel) on a free loopback port.
pub struct Redis {
    pub port: u16,
    child: Child,
    pub dir: Scratch,
}

impl Redis {
    /// `redis-server` with `args`, working in `dir`, once something accepts connections on
    /// `port` (where `args` make it listen).
    fn spawn(port: u16, dir: Scratch, args: &[&str]) -> Self {
        let child = Command::new("redis-server")
            .args(args)
            .current_dir(&dir.0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (apt install redis-server)");
        wait_for_port(port, Duration::from_secs(10));
        Self { port, child, dir }
    }

    /// A Redis server; `extra` are more `--option value` arguments.
    pub fn start(extra: &[&str]) -> Self {
        let port = free_port().to_string();
        let args = redis_args(&["--port", &port], extra);
        let dir = Scratch::new(&format!("redis-{port}"));
        Self::spawn(port.parse().unwrap(), dir, &args)
    }

    /// A Redis server speaking TLS only, on its `port`, with `tls` options (`--tls-cert-file …`).
    pub fn start_tls(tls: &[&str]) -> Self {
        let port = free_port().to_string();
        let args = redis_args(&["--port", "0", "--tls-port", &port], tls);
        let dir = Scratch::new(&format!("redis-tls-{port}"));
        Self::spawn(port.parse().unwrap(), dir, &args)
    }

    /// A sentinel watching `master_port` as `name`, with a quorum of 1 and short timers, so
    /// that a failover starts half a second after the master stops answering.
    pub fn sentinel(name: &str, master_port: u16) -> Self {
        let port = free_port();
        let conf = format!(
            "port {port}\nbind 127.0.0.1\ndir .\n\
             sentinel monitor {name} 127.0.0.1 {master_port} 1\n\
             sentinel down-after-milliseconds {name} 500\n\
             sentinel failover-timeout {name} 3000\n\
             sentinel parallel-syncs {name} 1\n"
        );
        let dir = Scratch::new(&format!("sentinel-{port}"));
        // Relative to the working directory: the sentinel rewrites its file there.
        std::fs::write(dir.0.join("sentinel.conf"), conf).unwrap();
        Self::spawn(port, dir, &["sentinel.conf", "--sentinel"])
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// `redis-cli` against this server.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Stops it at once, as a crash would (SIGKILL).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A gateway process.
pub struct GatewayProcess {
    child: Child,
    pub edge: SocketAddr,
    pub admin: SocketAddr,
    /// Every line it printed so far.
    pub log: Arc<Mutex<Vec<String>>>,
}

impl GatewayProcess {
    /// `gateway run --config <config> <extra…>` with `env`; waits until both listeners are up.
    pub fn run(config: &Path, extra: &[&str], env: &[(&str, &str)]) -> Self {
        let mut args = vec!["run".to_owned(), "--config".to_owned()];
        args.push(config.display().to_string());
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "fleet_support::gateway_process",
                "--ignored",
                "--nocapture",
            ])
            .args(["--test-threads", "1"])
            .env(CHILD_ARGS, args.join("\u{1f}"))
            .envs(env.iter().copied())
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let log = Arc::clone(&log);
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let _ = tx.send(line.clone());
                    log.lock().unwrap().push(line);
                }
            });
        }
        let (mut edge, mut admin) = (None, None);
        let deadline = Instant::now() + Duration::from_secs(30);
        while edge.is_none() || admin.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = rx.recv_timeout(left) else {
                let _ = child.kill();
                panic!(
                    "the gateway did not start:\n{}",
                    log.lock().unwrap().join("\n")
                );
            };
            let addr = line
                .split_whitespace()
                .find_map(|w| w.strip_prefix("addr="))
                .and_then(|a| a.parse::<SocketAddr>().ok());
            if line.contains("admin listening") {
                admin = addr;
            } else if line.contains("listening") {
                edge = addr;
            }
        }
        Self {
            child,
            edge: edge.unwrap(),
            admin: admin.unwrap(),
            log,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        signal(self.pid(), "-TERM");
    }

    /// Waits for the process to end; its exit status, or `None` after `within`.
    pub fn wait(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Everything it printed, one line each.
    pub fn output(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// `GET path` on the admin listener: status and body.
    pub fn admin_get(&self, path: &str) -> (u16, String) {
        http_get(self.admin, path)
    }
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain HTTP/1.1 `GET` (the admin listener): status and body.
pub fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// The listener block of a process's configuration: the test PKI by absolute path.
pub fn listener(mode: &str) -> String {
    let pki = crate::common::pki_dir();
    let pki = pki.canonicalize().unwrap();
    format!(
        r#"listeners:
  - name: edge
    bind: 127.0.0.1:0
    tls:
      cert: {pki}/server.pem
      key: {pki}/server.key
      client_auth:
        mode: {mode}
        trust_anchors: [{pki}/root-ca.cer, {pki}/intermediate-ca.cer]
admin:
  bind: 127.0.0.1:0
logging:
  format: human
"#,
        pki = pki.display()
    )
}

/// A throwaway Redis' arguments: where it listens, loopback, no persistence, then `extra`.
fn redis_args<'a>(listen: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
    let base = [
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        ".",
    ];
    [listen, &base, extra].concat()
}
