//! `documents`: the two ends of the large-document benchmark (`bench/documents.sh`).
//!
//! * `documents core --bind ADDR`: the demo core (`demo_upstream::router()`, documents stored
//!   on disk under `$TMPDIR`) as a standalone process;
//! * `documents run --target ADDR --path /…/documents --size BYTES [--tls]`: one upload of a
//!   generated document (64 KiB frames of a deterministic pattern, never held whole) with its
//!   `Content-Digest` computed in a pre-pass, then its download (streamed and hashed), then
//!   its deletion (untimed). Both directions are checked: 201 and the core's `sha256`, 200 and
//!   the downloaded bytes' hash. With `--watch-pid`, the CPU time (utime + stime) those
//!   processes spent during each transfer is reported too. Prints one JSON line.
//!
//! `--wrong-digest` sends the digest of other bytes instead and expects a 400 (the smoke test
//! that the route checks digests); it prints the status and the problem's type.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use base64::Engine as _;
use bytes::Bytes;
use clap::{Parser, Subcommand};
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use sha2::Digest as _;

#[allow(dead_code)]
mod support;

use support::BoxError;

/// Bytes per frame of the generated body.
const FRAME: usize = 64 * 1024;

#[derive(Debug, Parser)]
#[command(
    name = "documents",
    about = "Large document uploads and downloads: the demo core, and a client"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Serves the demo upstream (with the core's document API) until killed.
    Core {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:18095")]
        bind: SocketAddr,
    },
    /// One upload, download and delete of a generated document; prints one JSON line.
    Run {
        /// Address to connect to.
        #[arg(long)]
        target: SocketAddr,
        /// The collection's path, e.g. `/documents/exchanges/bench/documents`.
        #[arg(long)]
        path: String,
        /// Document size in bytes.
        #[arg(long, default_value_t = 100 * 1024 * 1024)]
        size: u64,
        /// Mutual TLS, with `--client`'s certificate from `--pki`.
        #[arg(long)]
        tls: bool,
        /// The test PKI directory.
        #[arg(long, default_value = "certs-test/pki")]
        pki: PathBuf,
        /// The client certificate (`clients/NAME.pem` in the PKI).
        #[arg(long, default_value = "internal-app")]
        client: String,
        /// Label copied to the JSON line.
        #[arg(long, default_value = "")]
        label: String,
        /// Processes whose CPU time is measured around each transfer (repeatable).
        #[arg(long)]
        watch_pid: Vec<u32>,
        /// Clock ticks per second of /proc/PID/stat (`getconf CLK_TCK`).
        #[arg(long, default_value_t = 100)]
        clk_tck: u64,
        /// Announce the digest of other bytes, and expect the upload to be refused.
        #[arg(long)]
        wrong_digest: bool,
    },
}

fn main() -> Result<(), BoxError> {
    let cli = Cli::parse();
    // One thread: the client (and the core) must not take the proxy's core.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    match cli.cmd {
        Cmd::Core { bind } => rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind(bind).await?;
            demo_upstream::serve(listener).await?;
            Ok(())
        }),
        Cmd::Run {
            target,
            path,
            size,
            tls,
            pki,
            client,
            label,
            watch_pid,
            clk_tck,
            wrong_digest,
        } => {
            let tls = if tls {
                mtls::install_default_provider();
                let mut config = support::client_tls(&pki, &client)?;
                config.alpn_protocols = vec![b"http/1.1".to_vec()];
                Some(Arc::new(config))
            } else {
                None
            };
            let run = Run {
                target,
                path,
                size,
                tls,
                label,
                watch: watch_pid,
                clk_tck,
            };
            let line = rt.block_on(async move {
                if wrong_digest {
                    run.wrong_digest().await
                } else {
                    run.round_trip().await
                }
            })?;
            writeln!(std::io::stdout(), "{line}")?;
            Ok(())
        }
    }
}

struct Run {
    target: SocketAddr,
    path: String,
    size: u64,
    tls: Option<Arc<rustls::ClientConfig>>,
    label: String,
    watch: Vec<u32>,
    clk_tck: u64,
}

impl Run {
    /// A new HTTP/1.1 connection, over mutual TLS when configured.
    async fn sender<B>(&self) -> Result<http1::SendRequest<B>, BoxError>
    where
        B: hyper::body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        let tcp = tokio::net::TcpStream::connect(self.target).await?;
        tcp.set_nodelay(true)?;
        Ok(match &self.tls {
            Some(config) => {
                let tls = tokio_rustls::TlsConnector::from(Arc::clone(config))
                    .connect(ServerName::try_from("localhost")?, tcp)
                    .await?;
                let (sender, conn) = http1::handshake(TokioIo::new(tls)).await?;
                tokio::spawn(conn);
                sender
            }
            None => {
                let (sender, conn) = http1::handshake(TokioIo::new(tcp)).await?;
                tokio::spawn(conn);
                sender
            }
        })
    }

    fn upload(&self, digest: &str) -> Result<http::Request<Pattern>, BoxError> {
        Ok(http::Request::post(&self.path)
            .header("host", "localhost")
            .header("content-type", "application/octet-stream")
            .header("content-length", self.size.to_string())
            .header("content-digest", digest)
            .body(Pattern::new(self.size))?)
    }

    /// Sum of utime + stime of the watched processes, in seconds.
    fn cpu(&self) -> Result<f64, BoxError> {
        let mut ticks = 0u64;
        for pid in &self.watch {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
            // Fields after the command name (which may hold spaces) start at the state, the
            // 3rd field: utime and stime are the 14th and 15th.
            let rest = stat.rsplit_once(") ").map(|(_, r)| r).ok_or("bad stat")?;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            ticks += fields.get(11).ok_or("bad stat")?.parse::<u64>()?;
            ticks += fields.get(12).ok_or("bad stat")?.parse::<u64>()?;
        }
        #[allow(clippy::cast_precision_loss)]
        Ok(ticks as f64 / self.clk_tck as f64)
    }

    async fn round_trip(&self) -> Result<serde_json::Value, BoxError> {
        let sha256 = pattern_sha256(self.size);
        let digest = content_digest(&sha256);

        // Up.
        let cpu0 = self.cpu()?;
        let t0 = Instant::now();
        let mut sender = self.sender().await?;
        let response = sender.send_request(self.upload(&digest)?).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        let up_s = t0.elapsed().as_secs_f64();
        let up_cpu = self.cpu()? - cpu0;
        if status != http::StatusCode::CREATED {
            return Err(format!("upload: {status} {}", String::from_utf8_lossy(&body)).into());
        }
        let meta: serde_json::Value = serde_json::from_slice(&body)?;
        if meta["sha256"] != hex(&sha256) || meta["size"] != self.size {
            return Err(format!("the core stored other bytes: {meta}").into());
        }
        let id = meta["id"].as_str().ok_or("no id")?.to_owned();
        let document = format!("{}/{id}", self.path);

        // Down.
        let cpu0 = self.cpu()?;
        let t0 = Instant::now();
        let mut sender = self.sender::<Empty<Bytes>>().await?;
        let response = sender
            .send_request(
                http::Request::get(&document)
                    .header("host", "localhost")
                    .body(Empty::new())?,
            )
            .await?;
        let status = response.status();
        let announced = response.headers().get("content-digest").cloned();
        let mut body = response.into_body();
        let mut hasher = sha2::Sha256::new();
        let mut received = 0u64;
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame?.into_data() {
                received += data.len() as u64;
                hasher.update(&data);
            }
        }
        let down_s = t0.elapsed().as_secs_f64();
        let down_cpu = self.cpu()? - cpu0;
        if status != http::StatusCode::OK
            || received != self.size
            || <[u8; 32]>::from(hasher.finalize()) != sha256
        {
            return Err(format!("download: {status}, {received} bytes, not the document").into());
        }
        if announced.as_ref().map(http::HeaderValue::as_bytes) != Some(digest.as_bytes()) {
            return Err(format!("download: Content-Digest {announced:?}").into());
        }

        // Not timed: leave the store empty for the next run.
        let mut sender = self.sender::<Empty<Bytes>>().await?;
        let response = sender
            .send_request(
                http::Request::delete(&document)
                    .header("host", "localhost")
                    .body(Empty::new())?,
            )
            .await?;
        if !response.status().is_success() {
            return Err(format!("delete: {}", response.status()).into());
        }

        #[allow(clippy::cast_precision_loss)]
        let mib = self.size as f64 / f64::from(1 << 20);
        Ok(serde_json::json!({
            "label": self.label,
            "bytes": self.size,
            "upload_s": up_s,
            "upload_mib_s": mib / up_s,
            "upload_proxy_cpu_s": up_cpu,
            "download_s": down_s,
            "download_mib_s": mib / down_s,
            "download_proxy_cpu_s": down_cpu,
        }))
    }

    async fn wrong_digest(&self) -> Result<serde_json::Value, BoxError> {
        let digest = content_digest(&sha2::Sha256::digest(b"other bytes").into());
        let mut sender = self.sender().await?;
        let response = sender.send_request(self.upload(&digest)?).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        let problem: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        Ok(serde_json::json!({
            "label": self.label,
            "status": status.as_u16(),
            "type": problem["type"],
        }))
    }
}

/// Lowercase hex, as the core writes its `sha256`.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `sha-256=:BASE64:`.
fn content_digest(sha256: &[u8; 32]) -> String {
    format!(
        "sha-256=:{}:",
        base64::engine::general_purpose::STANDARD.encode(sha256)
    )
}

/// 64 KiB of xorshift output: the pattern every frame starts from.
fn base_frame() -> Bytes {
    let mut x: u64 = 0x9530_2024_0DD5_EED5;
    let mut out = Vec::with_capacity(FRAME);
    while out.len() < FRAME {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    Bytes::from(out)
}

/// The document of `size` bytes as a streaming body: frame `i` is the base pattern with `i`
/// stamped in its first 8 bytes; frames are made when asked for and dropped once written.
struct Pattern {
    base: Bytes,
    sent: u64,
    size: u64,
}

impl Pattern {
    fn new(size: u64) -> Self {
        Self {
            base: base_frame(),
            sent: 0,
            size,
        }
    }

    fn next_frame(&mut self) -> Option<Bytes> {
        let left = self.size - self.sent;
        if left == 0 {
            return None;
        }
        let index = self.sent / FRAME as u64;
        let mut data = self.base.to_vec();
        data[..8]
            .iter_mut()
            .zip(index.to_le_bytes())
            .for_each(|(b, s)| *b ^= s);
        data.truncate(usize::try_from(left).unwrap_or(FRAME).min(FRAME));
        self.sent += data.len() as u64;
        Some(Bytes::from(data))
    }
}

impl hyper::body::Body for Pattern {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        Poll::Ready(self.next_frame().map(|d| Ok(hyper::body::Frame::data(d))))
    }

    fn is_end_stream(&self) -> bool {
        self.sent >= self.size
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        hyper::body::SizeHint::with_exact(self.size - self.sent)
    }
}

/// SHA-256 of the document of `size` bytes: a pre-pass over the same frames.
fn pattern_sha256(size: u64) -> [u8; 32] {
    let mut pattern = Pattern::new(size);
    let mut hasher = sha2::Sha256::new();
    while let Some(frame) = pattern.next_frame() {
        hasher.update(&frame);
    }
    hasher.finalize().into()
}
