//! The gateway under benchmark as its own process (pinned with `taskset`, its worker threads
//! set, its log and pid in the run's directory), and what `/proc` says of a process.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::BoxError;

/// How to start the gateway.
pub(crate) struct Launch<'a> {
    /// The gateway binary (release build).
    pub(crate) binary: &'a Path,
    /// Pin it to this CPU list (`taskset -c`).
    pub(crate) cpu: Option<&'a str>,
    /// Its `TOKIO_WORKER_THREADS`.
    pub(crate) threads: usize,
    /// Its YAML.
    pub(crate) config: &'a Path,
    /// Where `gateway.log` and `gateway.pid` go.
    pub(crate) dir: &'a Path,
    /// Environment variables its YAML names.
    pub(crate) env: &'a [(&'a str, &'a str)],
}

/// The gateway child process, killed when dropped.
pub(crate) struct GatewayProcess {
    child: Child,
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl GatewayProcess {
    /// Starts `gateway run --config …` as `launch` says.
    pub(crate) fn start(launch: &Launch<'_>) -> Result<Self, BoxError> {
        let log = std::fs::File::create(launch.dir.join("gateway.log"))?;
        let mut cmd = match launch.cpu {
            Some(cpu) => {
                let mut c = Command::new("taskset");
                c.args(["-c", cpu]).arg(launch.binary);
                c
            }
            None => Command::new(launch.binary),
        };
        cmd.arg("run")
            .arg("--config")
            .arg(launch.config)
            .env("TOKIO_WORKER_THREADS", launch.threads.to_string())
            .envs(launch.env.iter().copied())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let child = cmd.spawn()?;
        // taskset execs the gateway: the child's pid is the gateway's.
        std::fs::write(launch.dir.join("gateway.pid"), child.id().to_string())?;
        Ok(Self { child })
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until something listens on `addr` (10 s at most), or the gateway exits.
    pub(crate) async fn wait_listening(&mut self, addr: SocketAddr) -> Result<(), BoxError> {
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return Ok(());
            }
            if let Some(status) = self.child.try_wait()? {
                return Err(format!("the gateway exited ({status}); see gateway.log").into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(format!("nothing listens on {addr}").into())
    }
}

/// utime + stime of `pid`, seconds (NaN when it cannot be read).
pub(crate) fn cpu_seconds(pid: u32, clk_tck: u64) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return f64::NAN;
    };
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    // After the command's `)`: state is field 3, utime 14, stime 15.
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok());
    match (ticks(11), ticks(12)) {
        #[allow(clippy::cast_precision_loss)]
        (Some(u), Some(s)) => (u + s) as f64 / clk_tck as f64,
        _ => f64::NAN,
    }
}

/// Threads of process `pid` now.
pub(crate) fn threads(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task")).map_or(0, Iterator::count)
}

/// A free loopback port (bound, read, released).
pub(crate) fn free_port() -> Result<u16, BoxError> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}
