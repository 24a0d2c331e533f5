//! Helpers of the fault suite: a server whose faults a test switches on and off on a fixed port
//! (an HTTP upstream, a CRL publisher, an OCSP responder that hangs), a private `redis-server`,
//! `openssl ocsp`, admin calls, signed requests, metric reads and recovery timing.
#![allow(dead_code, clippy::unwrap_used, missing_docs, unreachable_pub)]

use std::future::Future;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

// === a server with switchable faults ===

/// What [`FaultyServer`] does with each request it reads.
#[derive(Debug, Clone)]
pub enum Mode {
    /// 200 with this body (`Content-Length`), the connection kept alive.
    Answer(Bytes),
    /// Reads the request and never answers (the connection stays open).
    Hang,
    /// Promises 1,000 bytes (`Content-Length`), sends 10, closes.
    CutLength,
    /// `Transfer-Encoding: chunked`: one 10-byte chunk, then closes without the last chunk.
    CutChunked,
}

/// The 10 bytes a cut answer sends before it closes.
pub const CUT_PREFIX: &[u8] = b"0123456789";

/// A loopback HTTP/1.1 server on a port that stays the same across [`FaultyServer::stop`] and
/// [`FaultyServer::resume`], so that the gateway's configuration keeps pointing at it.
pub struct FaultyServer {
    pub addr: SocketAddr,
    mode: Arc<Mutex<Mode>>,
    task: Option<JoinHandle<()>>,
}

impl FaultyServer {
    pub async fn start(mode: Mode) -> Self {
        Self::start_on("127.0.0.1:0".parse().unwrap(), mode).await
    }

    /// [`FaultyServer::start`] on a given address (a port chosen earlier).
    pub async fn start_on(addr: SocketAddr, mode: Mode) -> Self {
        let listener = rebind(addr).await;
        let addr = listener.local_addr().unwrap();
        let mode = Arc::new(Mutex::new(mode));
        let task = Some(tokio::spawn(serve(listener, Arc::clone(&mode))));
        Self { addr, mode, task }
    }

    /// What the next requests get (connections already hanging keep hanging).
    pub fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    /// Stops listening and closes every open connection: the port refuses connections.
    pub async fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }

    /// Listens again on the same port.
    pub async fn resume(&mut self) {
        assert!(self.task.is_none(), "already running");
        let listener = rebind(self.addr).await;
        self.task = Some(tokio::spawn(serve(listener, Arc::clone(&self.mode))));
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for FaultyServer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Binds `addr` again (the port was ours a moment ago; retried in case the old socket lingers).
pub async fn rebind(addr: SocketAddr) -> TcpListener {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match TcpListener::bind(addr).await {
            Ok(l) => return l,
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("cannot bind {addr} again: {e}"),
        }
    }
}

/// Accepts until aborted; the connections live in a set owned by this task, so aborting it
/// closes them all.
async fn serve(listener: TcpListener, mode: Arc<Mutex<Mode>>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    connections.spawn(connection(stream, Arc::clone(&mode)));
                }
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn connection(mut stream: TcpStream, mode: Arc<Mutex<Mode>>) {
    let _ = stream.set_nodelay(true);
    let mut buf = Vec::new();
    loop {
        // One request: its head, then as many body bytes as its Content-Length says.
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        while buf.len() < head_end + length {
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        buf.drain(..head_end + length);
        let current = mode.lock().unwrap().clone();
        match current {
            Mode::Answer(body) => {
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: {}\r\n\r\n",
                    body.len()
                );
                if stream.write_all(head.as_bytes()).await.is_err()
                    || stream.write_all(&body).await.is_err()
                {
                    return;
                }
            }
            Mode::Hang => std::future::pending::<()>().await,
            Mode::CutLength => {
                let mut out = b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n".to_vec();
                out.extend_from_slice(CUT_PREFIX);
                let _ = stream.write_all(&out).await;
                let _ = stream.flush().await;
                return;
            }
            Mode::CutChunked => {
                let mut out =
                    b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\na\r\n".to_vec();
                out.extend_from_slice(CUT_PREFIX);
                out.extend_from_slice(b"\r\n");
                let _ = stream.write_all(&out).await;
                let _ = stream.flush().await;
                // Long enough for the gateway to pass the first chunk on before the close.
                tokio::time::sleep(Duration::from_millis(50)).await;
                return;
            }
        }
    }
}

pub use crate::common::free_port;

// === child processes ===

/// A child process killed (by its PID) when dropped.
pub struct Killer(pub Option<Child>);

impl Killer {
    /// Kills the process (SIGKILL to its PID) and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Killer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A private `redis-server` on a port of its own (the shared one on 6379 is never touched),
/// without persistence.
pub struct RedisServer {
    pub port: u16,
    dir: tempfile::TempDir,
    process: Killer,
}

impl RedisServer {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut server = Self {
            port,
            dir,
            process: Killer(None),
        };
        server.restart().await;
        server
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server by its PID: connections are cut and the port refuses.
    pub fn stop(&mut self) {
        self.process.kill();
    }

    /// Sends `signal` (`STOP`, `CONT`) to the server's PID: a stopped server keeps its
    /// connections open and answers nothing.
    pub fn signal(&self, signal: &str) {
        let pid = self.process.0.as_ref().expect("not running").id();
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -{signal} {pid}");
    }

    /// Starts the server on the same port; returns once it answers PING.
    pub async fn restart(&mut self) {
        assert!(self.process.0.is_none(), "already running");
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--protected-mode", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot run redis-server (Debian package redis-server)");
        self.process = Killer(Some(child));
        let deadline = Instant::now() + Duration::from_secs(10);
        while !redis_pong(self.port).await {
            assert!(
                Instant::now() < deadline,
                "redis-server did not answer on {}",
                self.port
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn redis_pong(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)).await else {
        return false;
    };
    if s.write_all(b"PING\r\n").await.is_err() {
        return false;
    }
    let mut buf = [0u8; 16];
    matches!(
        tokio::time::timeout(Duration::from_secs(1), s.read(&mut buf)).await,
        Ok(Ok(n)) if buf[..n].starts_with(b"+PONG")
    )
}

/// `openssl ocsp` answering for the test PKI's intermediate (its `ocsp/index.txt`), signed by
/// the delegated responder, on `port`; returns once it waits for connections.
pub fn openssl_ocsp(port: u16) -> Killer {
    Killer(Some(crate::openssl_ocsp::spawn(
        &crate::common::pki_dir(),
        port,
    )))
}

// === admin, metrics, timing ===

/// Polls `probe` every 20 ms until it says yes; how long that took. Panics after `limit`.
pub async fn time_until<F, Fut>(limit: Duration, mut probe: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let started = Instant::now();
    loop {
        if probe().await {
            return started.elapsed();
        }
        assert!(started.elapsed() < limit, "not recovered within {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Seconds with two decimals, for the report lines.
pub fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

/// Notes a measurement on stderr (shown with `--nocapture`; the table at the top of
/// `faults.rs` was filled from these lines).
pub fn report(what: &str, d: Duration) {
    eprintln!("[faults] {what}: {}", secs(d));
}

// === signed requests (RFC 9421, hmac-sha256) ===

pub const SEAL_SECRET: &str = "fault-suite-sealing-secret-0123456789abcdef";

/// A unique nonce.
pub fn nonce() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "f-{}-{}-{}",
        std::process::id(),
        jiff::Timestamp::now().as_nanosecond(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Absolute paths into the test PKI for YAML written outside it.
pub fn absolute_pki(yaml: &str) -> String {
    let pki = |p: &str| crate::common::pki(p).display().to_string();
    yaml.replace("cert: server.pem", &format!("cert: {}", pki("server.pem")))
        .replace("key: server.key", &format!("key: {}", pki("server.key")))
        .replace(
            "[root-ca.cer, intermediate-ca.cer]",
            &format!("[{}, {}]", pki("root-ca.cer"), pki("intermediate-ca.cer")),
        )
}
