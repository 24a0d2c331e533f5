//! `soak`: the client of the soak test (`bench/soak.sh`, issue 14), and the demo upstream it
//! runs against.
//!
//! * `soak upstream --bind ADDR`: the demo upstream (`demo_upstream::router()`: echo, alert
//!   service, planning) as a standalone process, on one thread.
//! * `soak run --target ADDR --admin ADDR --gateway-pid PID --duration 30m --scrape 15`: first
//!   the peak of the mixed traffic (`--peak-duration`, `--workers` in a closed loop, as fast as
//!   they go), then the soak at a fraction of it (`--rate-fraction`, 0.5) paced by a global rate
//!   limiter, with slow clients and `/metrics` scrapes beside it. Every `--sample-every` it
//!   prints one line with the rate, the errors and the gateway's RSS (`/proc/PID/status`
//!   `VmRSS`), open descriptors and CPU; at the end a summary with PASS or FAIL against the
//!   goals (0 unexpected errors, RSS drift after the warm-up under `--max-drift` %), then one
//!   JSON line. Exits 0 on PASS, 1 on FAIL, 2 when no error occurred but the drift cannot be
//!   judged (the default warm-up, at most 75 % of the duration, ended before the nonce table
//!   below had turned over: run longer).
//!
//! The mix (`--mix`, weights per operation; every operation picks its class from a hash of its
//! sequence number, so the mix is the same at any rate):
//!
//! | class | what | expected |
//! |---|---|---|
//! | `proxy` | `POST /internal/echo`, 1 KiB, on a kept-alive mTLS connection (`internal-app`) | 200, the echo saw 1024 bytes |
//! | `alert` | ASPOne `getAlertConfig` SOAP call, fresh WS-Security UsernameToken, kept-alive (`portal`) | 200 with `SUCCESS` |
//! | `sas` | SAS FHIR slot search, 1 practitioner over 3 days, kept-alive (`sas-recette`) | 200, a `Bundle` |
//! | `badcert` | new connection with `untrusted`, `expired`, `revoked` in turn, one request | refused with the TLS alert `UnknownCA`, `CertificateExpired`, `CertificateRevoked` |
//!
//! Beside the paced mix, during the soak only: `--slow-clients` connections (`internal-app`)
//! that send a request head one byte per second, each expected to be closed by the gateway
//! `--header-timeout` after its handshake (within −0.5 s / +3 s), then replaced; and, with
//! `--scrape N`, `GET /metrics` on the admin listener every N seconds (200 expected).
//!
//! Anything else is an unexpected error of its class: another status or body, another alert,
//! a reset, a timeout (`--op-timeout`), a slow client answered or not closed in time.
//!
//! The RSS drift is the growth from the warm-up's end to the last sample. The gateway's
//! WS-Security nonce table (in-memory state: one entry per SOAP call, kept for the 360 s
//! replay window, at most 100,000) grows until full, about 300 bytes of RSS per entry, and its
//! hash index makes one last doubling once deleted slots pile up, a few tens of thousands of
//! calls later. That growth is bounded: by default the warm-up ends only once the table is
//! full and has turned over once (counted from this client's own SOAP calls).

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::{Parser, Subcommand};
use http_body_util::{BodyExt, Empty, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

#[allow(dead_code)]
mod support;

use support::BoxError;
use support::soap_load::{NS, envelope};

/// First unexpected-error messages kept per class.
const KEEP_MESSAGES: usize = 5;
/// Kept-alive connections unused for this long are replaced before use, so that a request
/// never races the gateway's idle close (60 s by default).
const REUSE_LIMIT: Duration = Duration::from_secs(30);

#[derive(Debug, Parser)]
#[command(
    name = "soak",
    about = "Soak test client: mixed traffic at half the peak, errors and RSS drift"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Serves the demo upstream (echo, alert service, planning) until killed.
    Upstream {
        /// Address to listen on.
        #[arg(long)]
        bind: SocketAddr,
    },
    /// Measures the peak, then soaks at a fraction of it; prints samples and a summary.
    Run(Box<RunArgs>),
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// The gateway's TLS listener.
    #[arg(long)]
    target: SocketAddr,
    /// The gateway's admin listener (`/metrics`).
    #[arg(long)]
    admin: SocketAddr,
    /// The gateway's process id (RSS, descriptors and CPU are read from /proc).
    #[arg(long)]
    gateway_pid: u32,
    /// Length of the soak (after the peak measurement), e.g. `30m`, `90s`.
    #[arg(long, default_value = "30m", value_parser = parse_duration)]
    duration: Duration,
    /// Seconds between `/metrics` scrapes; 0: never scraped.
    #[arg(long, default_value_t = 0)]
    scrape: u64,
    /// Length of the peak measurement.
    #[arg(long, default_value = "20s", value_parser = parse_duration)]
    peak_duration: Duration,
    /// Concurrent workers (one operation in flight on each), for the peak and the soak.
    #[arg(long, default_value_t = 16)]
    workers: usize,
    /// The soak's rate as a fraction of the measured peak.
    #[arg(long, default_value_t = 0.5)]
    rate_fraction: f64,
    /// A fixed soak rate (operations per second) instead of a fraction of the peak.
    #[arg(long)]
    rate: Option<f64>,
    /// Weights of the operation classes.
    #[arg(long, default_value = "proxy=50,alert=25,sas=20,badcert=5")]
    mix: String,
    /// Connections sending their request head one byte per second, at any time.
    #[arg(long, default_value_t = 4)]
    slow_clients: usize,
    /// The listener's `header_read_timeout`: when slow clients must be closed.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    header_timeout: Duration,
    /// Longest time one operation may take before it counts as an error.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    op_timeout: Duration,
    /// Time between samples (RSS, rate, errors).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    sample_every: Duration,
    /// When the warm-up ends (the RSS reference), from the start of the soak. Default: the
    /// first sample after both min(2 min, 10 % of the duration) and the gateway's nonce table
    /// being full and turned over once (see `--nonce-window`); at most 75 % of the duration.
    #[arg(long, value_parser = parse_duration)]
    warmup: Option<Duration>,
    /// How long the gateway remembers a WS-Security nonce (the strict policy's replay window,
    /// `SecurityPolicy::replay_ttl`): the in-memory nonce table grows, one entry per SOAP
    /// call, until it holds this long's calls or `--nonce-capacity` entries.
    #[arg(long, default_value = "360s", value_parser = parse_duration)]
    nonce_window: Duration,
    /// The in-memory state store's capacity per table (`state.max_entries`).
    #[arg(long, default_value_t = 100_000)]
    nonce_capacity: u64,
    /// An operation due longer ago than this is run at once and the slots missed meanwhile
    /// are skipped (counted): a client that fell behind does not catch up with a burst.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    max_lag: Duration,
    /// Largest RSS growth from the warm-up's end to the end, in percent, for PASS.
    #[arg(long, default_value_t = 5.0)]
    max_drift: f64,
    /// Clock ticks per second of /proc/PID/stat (`getconf CLK_TCK`).
    #[arg(long, default_value_t = 100)]
    clk_tck: u64,
    /// The test PKI directory.
    #[arg(long, default_value = "certs-test/pki")]
    pki: PathBuf,
}

fn main() -> Result<(), BoxError> {
    let cli = Cli::parse();
    // One thread: the client shares its core with the upstream, never the gateway's.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    match cli.cmd {
        Cmd::Upstream { bind } => rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind(bind).await?;
            demo_upstream::serve(listener).await?;
            Ok(())
        }),
        Cmd::Run(args) => {
            let verdict = rt.block_on(run(*args))?;
            std::process::exit(verdict.exit_code());
        }
    }
}

/// Parses `10s`, `500ms`, `2m`, `1h` or a bare number of seconds.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("bad duration `{s}` (use e.g. 30m, 90s, 500ms)");
    let (num, unit) = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .map_or((s, "s"), |i| s.split_at(i));
    let n: f64 = num.parse().map_err(|_| bad())?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(bad()),
    };
    Duration::try_from_secs_f64(secs).map_err(|_| bad())
}

// === classes and statistics ===

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Proxy,
    Alert,
    Sas,
    BadCert,
    Slow,
    Metrics,
}

impl Class {
    const ALL: [Class; 6] = [
        Class::Proxy,
        Class::Alert,
        Class::Sas,
        Class::BadCert,
        Class::Slow,
        Class::Metrics,
    ];
    /// The classes of the paced mix.
    const MIX: [Class; 4] = [Class::Proxy, Class::Alert, Class::Sas, Class::BadCert];

    fn name(self) -> &'static str {
        match self {
            Class::Proxy => "proxy",
            Class::Alert => "alert",
            Class::Sas => "sas",
            Class::BadCert => "badcert",
            Class::Slow => "slow",
            Class::Metrics => "metrics",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Class::Proxy => "keep-alive POST 1 KiB, 200",
            Class::Alert => "getAlertConfig SOAP, 200 SUCCESS",
            Class::Sas => "FHIR slot search, 200 Bundle",
            Class::BadCert => "bad certificate refused with its alert",
            Class::Slow => "slow head closed by header_read_timeout",
            Class::Metrics => "GET /metrics, 200",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Latencies in buckets growing by 2^(1/8) (9 %) from 1 µs: lock-free and bounded.
struct Histogram {
    buckets: Vec<AtomicU64>,
}

const BUCKETS: usize = 8 * 28; // up to 2^28 µs (268 s)

impl Histogram {
    fn new() -> Self {
        Self {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    fn record(&self, d: Duration) {
        let us = d.as_secs_f64() * 1e6;
        let idx = if us <= 1.0 {
            0
        } else {
            // Non-negative and bounded by the `min`.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let i = (us.log2() * 8.0) as usize;
            i.min(BUCKETS - 1)
        };
        self.buckets[idx].fetch_add(1, Ordering::Relaxed);
    }

    fn snapshot(&self) -> Vec<u64> {
        self.buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect()
    }
}

/// The `p`th percentile (0–100) of bucket counts, in milliseconds (the bucket's upper bound).
#[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
fn percentile(counts: &[u64], p: f64) -> Option<f64> {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = ((p / 100.0) * total as f64).ceil().max(1.0) as u64;
    let mut seen = 0;
    for (i, c) in counts.iter().enumerate() {
        seen += c;
        if seen >= rank {
            return Some(2f64.powf((i + 1) as f64 / 8.0) / 1000.0);
        }
    }
    None
}

struct ClassStats {
    ok: AtomicU64,
    errors: AtomicU64,
    first_errors: Mutex<Vec<String>>,
    latency: Histogram,
}

/// The counters of one phase (peak or soak).
struct Stats {
    classes: Vec<ClassStats>,
    /// Kept-alive connections found closed by the gateway before use (not errors; shown).
    closed_by_peer: AtomicU64,
    /// Connections opened for kept-alive classes.
    connects: AtomicU64,
    /// Slow clients: shortest and longest time to the gateway's close, in milliseconds.
    slow_close_ms: Mutex<(u64, u64)>,
}

impl Stats {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            classes: Class::ALL
                .iter()
                .map(|_| ClassStats {
                    ok: AtomicU64::new(0),
                    errors: AtomicU64::new(0),
                    first_errors: Mutex::new(Vec::new()),
                    latency: Histogram::new(),
                })
                .collect(),
            closed_by_peer: AtomicU64::new(0),
            connects: AtomicU64::new(0),
            slow_close_ms: Mutex::new((u64::MAX, 0)),
        })
    }

    fn of(&self, class: Class) -> &ClassStats {
        &self.classes[class.index()]
    }

    fn ok(&self, class: Class, took: Duration) {
        let c = self.of(class);
        c.ok.fetch_add(1, Ordering::Relaxed);
        c.latency.record(took);
    }

    fn error(&self, class: Class, message: String) {
        let c = self.of(class);
        c.errors.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut first) = c.first_errors.lock()
            && first.len() < KEEP_MESSAGES
        {
            first.push(message);
        }
    }

    fn total(&self, classes: &[Class]) -> (u64, u64) {
        classes.iter().fold((0, 0), |(ok, err), c| {
            let s = self.of(*c);
            (
                ok + s.ok.load(Ordering::Relaxed),
                err + s.errors.load(Ordering::Relaxed),
            )
        })
    }

    fn errors(&self) -> u64 {
        self.total(&Class::ALL).1
    }

    /// Latency buckets summed over the mix's classes.
    fn mix_latency(&self) -> Vec<u64> {
        let mut sum = vec![0; BUCKETS];
        for c in Class::MIX {
            for (s, v) in sum.iter_mut().zip(self.of(c).latency.snapshot()) {
                *s += v;
            }
        }
        sum
    }
}

// === the mix ===

#[derive(Clone)]
struct Mix {
    /// Cumulative weights, in `Class::MIX` order.
    cumulative: Vec<(u64, Class)>,
    total: u64,
}

impl Mix {
    fn parse(s: &str) -> Result<Self, BoxError> {
        let mut cumulative = Vec::new();
        let mut total = 0;
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, weight) = part
                .split_once('=')
                .ok_or_else(|| format!("--mix: `{part}` is not class=weight"))?;
            let class = Class::MIX
                .into_iter()
                .find(|c| c.name() == name)
                .ok_or_else(|| {
                    format!("--mix: unknown class `{name}` (proxy, alert, sas, badcert)")
                })?;
            let weight: u64 = weight.parse()?;
            if weight > 0 {
                total += weight;
                cumulative.push((total, class));
            }
        }
        if total == 0 {
            return Err("--mix: no class with a weight".into());
        }
        Ok(Self { cumulative, total })
    }

    /// The class of operation number `seq`: a hash of it against the weights.
    fn class(&self, seq: u64) -> Class {
        let x = splitmix64(seq) % self.total;
        self.cumulative
            .iter()
            .find(|(upto, _)| x < *upto)
            .map_or(Class::Proxy, |(_, c)| *c)
    }

    /// The fraction of operations of `class`.
    #[allow(clippy::cast_precision_loss)]
    fn share(&self, class: Class) -> f64 {
        let mut prev = 0;
        let mut weight = 0;
        for (upto, c) in &self.cumulative {
            if *c == class {
                weight += upto - prev;
            }
            prev = *upto;
        }
        weight as f64 / self.total as f64
    }

    fn describe(&self) -> String {
        let mut prev = 0;
        self.cumulative
            .iter()
            .map(|(upto, c)| {
                let w = upto - prev;
                prev = *upto;
                format!("{} {w}", c.name())
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn splitmix64(seq: u64) -> u64 {
    let mut z = seq.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

// === the client's shared context ===

struct Ctx {
    target: SocketAddr,
    admin: SocketAddr,
    internal: tokio_rustls::TlsConnector,
    portal: tokio_rustls::TlsConnector,
    sas: tokio_rustls::TlsConnector,
    /// The bad certificates and the alert each must get.
    bad: Vec<(
        &'static str,
        tokio_rustls::TlsConnector,
        rustls::AlertDescription,
    )>,
    sas_path: String,
    body_1k: Bytes,
    /// Makes every WS-Security nonce of the run unique.
    nonce_counter: AtomicU64,
    op_timeout: Duration,
    header_timeout: Duration,
}

fn connector(
    pki: &Path,
    client: &str,
    resume: bool,
) -> Result<tokio_rustls::TlsConnector, BoxError> {
    let mut config = support::client_tls(pki, client)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    if !resume {
        config.resumption = rustls::client::Resumption::disabled();
    }
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

impl Ctx {
    fn new(args: &RunArgs) -> Result<Self, BoxError> {
        let pki = &args.pki;
        let bad = vec![
            (
                "untrusted",
                connector(pki, "untrusted", false)?,
                rustls::AlertDescription::UnknownCA,
            ),
            (
                "expired",
                connector(pki, "expired", false)?,
                rustls::AlertDescription::CertificateExpired,
            ),
            (
                "revoked",
                connector(pki, "revoked", false)?,
                rustls::AlertDescription::CertificateRevoked,
            ),
        ];
        Ok(Self {
            target: args.target,
            admin: args.admin,
            internal: connector(pki, "internal-app", true)?,
            portal: connector(pki, "portal", true)?,
            sas: connector(pki, "sas-recette", true)?,
            bad,
            sas_path: sas_search_path()?,
            body_1k: Bytes::from(vec![b'x'; 1024]),
            nonce_counter: AtomicU64::new(0),
            op_timeout: args.op_timeout,
            header_timeout: args.header_timeout,
        })
    }

    async fn tls(
        &self,
        connector: &tokio_rustls::TlsConnector,
    ) -> Result<tokio_rustls::client::TlsStream<TcpStream>, BoxError> {
        let tcp = TcpStream::connect(self.target).await?;
        tcp.set_nodelay(true)?;
        Ok(connector
            .connect(ServerName::try_from("localhost")?, tcp)
            .await?)
    }
}

/// The INT_R01 search of `bin/sas.rs` for one demo practitioner over 3 days from tomorrow.
fn sas_search_path() -> Result<String, BoxError> {
    let tz = jiff::tz::TimeZone::get("Europe/Paris")?;
    let today = jiff::Timestamp::now().to_zoned(tz.clone()).date();
    let from = today
        .checked_add(jiff::Span::new().days(1))?
        .to_zoned(tz.clone())?;
    let to = today.checked_add(jiff::Span::new().days(4))?.to_zoned(tz)?;
    let fmt = |z: &jiff::Zoned| {
        z.strftime("%Y-%m-%dT%H:%M:%S.000%:z")
            .to_string()
            .replace('+', "%2B")
    };
    Ok(format!(
        "/sas/recette/fhir/Slot?_include=Slot:schedule&_include:iterate=Schedule:actor&schedule.actor:Practitioner.identifier=urn:oid:1.2.250.1.71.4.2.1%7C8{}&start=ge{}&start=le{}&status=free",
        demo_upstream::sas::DEMO_RPPS[0],
        fmt(&from),
        fmt(&to)
    ))
}

/// `getAlertConfig` as a portal sends it (`support::soap_load::envelope`: a fresh nonce,
/// Created now, PasswordDigest).
fn alert_envelope(counter: u64) -> String {
    envelope(counter, &format!(r#"<a:getAlertConfig xmlns:a="{NS}"/>"#))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The error and its sources, as Debug (where rustls's alerts show).
fn describe(err: &(dyn std::error::Error + 'static)) -> String {
    std::iter::successors(Some(err), |e| e.source())
        .map(|e| format!("{e:?}"))
        .collect::<Vec<_>>()
        .join(" <- ")
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
    text.replace(['\n', '\r'], " ")
}

// === one worker: kept-alive connections per class, and the operations ===

struct KeptAlive {
    sender: http1::SendRequest<Full<Bytes>>,
    last_used: Instant,
}

#[derive(Default)]
struct Worker {
    proxy: Option<KeptAlive>,
    alert: Option<KeptAlive>,
    sas: Option<KeptAlive>,
}

impl Worker {
    /// Runs operation `seq` of class `class`, records it in `stats`.
    async fn op(&mut self, ctx: &Ctx, stats: &Stats, class: Class, seq: u64) {
        let t0 = Instant::now();
        let outcome =
            match tokio::time::timeout(ctx.op_timeout, self.op_inner(ctx, stats, class, seq)).await
            {
                Ok(r) => r,
                Err(_) => Err(format!("no answer within {:?}", ctx.op_timeout).into()),
            };
        match outcome {
            Ok(()) => stats.ok(class, t0.elapsed()),
            Err(e) => {
                // The connection may be in any state: start afresh.
                *self.slot(class) = None;
                stats.error(class, describe(e.as_ref()));
            }
        }
    }

    fn slot(&mut self, class: Class) -> &mut Option<KeptAlive> {
        match class {
            Class::Alert => &mut self.alert,
            Class::Sas => &mut self.sas,
            _ => &mut self.proxy,
        }
    }

    async fn op_inner(
        &mut self,
        ctx: &Ctx,
        stats: &Stats,
        class: Class,
        seq: u64,
    ) -> Result<(), BoxError> {
        let req = match class {
            Class::BadCert => return bad_cert(ctx, seq).await,
            Class::Proxy => http::Request::post("/internal/echo")
                .header("host", "localhost")
                .header("content-type", "application/octet-stream")
                .body(Full::new(ctx.body_1k.clone()))?,
            Class::Alert => {
                let n = ctx.nonce_counter.fetch_add(1, Ordering::Relaxed);
                http::Request::post("/aspone/alert")
                    .header("host", "localhost")
                    .header("content-type", "text/xml; charset=utf-8")
                    .header("soapaction", "\"\"")
                    .body(Full::new(Bytes::from(alert_envelope(n))))?
            }
            Class::Sas => http::Request::get(ctx.sas_path.as_str())
                .header("host", "localhost")
                .header("accept", "application/json+fhir")
                .body(Full::new(Bytes::new()))?,
            Class::Slow | Class::Metrics => return Err("not a mix class".into()),
        };
        let connector = match class {
            Class::Alert => &ctx.portal,
            Class::Sas => &ctx.sas,
            _ => &ctx.internal,
        };
        let slot = self.slot(class);
        let reusable = slot
            .as_ref()
            .is_some_and(|c| !c.sender.is_closed() && c.last_used.elapsed() < REUSE_LIMIT);
        if !reusable {
            if slot.as_ref().is_some_and(|c| c.sender.is_closed()) {
                stats.closed_by_peer.fetch_add(1, Ordering::Relaxed);
            }
            *slot = None;
            let stream = ctx.tls(connector).await?;
            let (sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(conn);
            stats.connects.fetch_add(1, Ordering::Relaxed);
            *slot = Some(KeptAlive {
                sender,
                last_used: Instant::now(),
            });
        }
        let Some(conn) = slot.as_mut() else {
            return Err("no connection".into());
        };
        conn.sender.ready().await?;
        let resp = conn.sender.send_request(req).await?;
        conn.last_used = Instant::now();
        let status = resp.status();
        let body = resp.into_body().collect().await?.to_bytes();
        let ok = status == http::StatusCode::OK
            && match class {
                Class::Proxy => contains(&body, b"\"body_len\":1024"),
                Class::Alert => contains(&body, b"SUCCESS"),
                _ => contains(&body, b"\"Bundle\""),
            };
        if ok {
            Ok(())
        } else {
            Err(format!("status {status}: {}", snippet(&body)).into())
        }
    }
}

/// A new connection with a bad certificate and one request: the gateway must refuse it with
/// the certificate's alert (during the handshake for TLS 1.2, at the first read for TLS 1.3).
async fn bad_cert(ctx: &Ctx, seq: u64) -> Result<(), BoxError> {
    let pick = usize::try_from(seq % ctx.bad.len() as u64)?;
    let (name, connector, alert) = &ctx.bad[pick];
    let expected = |e: &std::io::Error| {
        e.get_ref()
            .and_then(|i| i.downcast_ref::<rustls::Error>())
            .is_some_and(|r| matches!(r, rustls::Error::AlertReceived(a) if a == alert))
    };
    let result: std::io::Result<Vec<u8>> = async {
        let tcp = TcpStream::connect(ctx.target).await?;
        tcp.set_nodelay(true)?;
        let name = ServerName::try_from("localhost").map_err(std::io::Error::other)?;
        let mut tls = connector.connect(name, tcp).await?;
        tls.write_all(
            b"GET /internal/echo HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n",
        )
        .await?;
        let mut answer = Vec::new();
        tls.read_to_end(&mut answer).await?;
        Ok(answer)
    }
    .await;
    match result {
        Err(e) if expected(&e) => Ok(()),
        Err(e) => Err(format!("{name}: expected alert {alert:?}, got {}", describe(&e)).into()),
        Ok(answer) => Err(format!(
            "{name}: expected alert {alert:?}, the gateway answered: {}",
            snippet(&answer)
        )
        .into()),
    }
}

/// One slow client after another until `end`: a request head one byte per second, which the
/// gateway must close `header_timeout` after the handshake.
async fn slow_client(ctx: Arc<Ctx>, stats: Arc<Stats>, end: Instant) {
    const HEAD: &[u8] =
        b"GET /internal/echo HTTP/1.1\r\nhost: localhost\r\nx-soak: slow client\r\n\r\n";
    let early = ctx
        .header_timeout
        .saturating_sub(Duration::from_millis(500));
    let late = ctx.header_timeout + Duration::from_secs(3);
    while Instant::now() + late < end {
        let stream = match ctx.tls(&ctx.internal).await {
            Ok(s) => s,
            Err(e) => {
                stats.error(Class::Slow, format!("connect: {}", describe(e.as_ref())));
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let t0 = Instant::now();
        let (mut rd, mut wr) = tokio::io::split(stream);
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut sent = 0;
        let mut buf = [0u8; 512];
        // Closed after this long, or an error message.
        let outcome: Result<Duration, String> = loop {
            tokio::select! {
                r = rd.read(&mut buf) => match r {
                    Ok(0) | Err(_) => break Ok(t0.elapsed()),
                    Ok(n) => break Err(format!("answered after {:?} having sent {sent} bytes: {}",
                        t0.elapsed(), snippet(&buf[..n]))),
                },
                _ = tick.tick() => {
                    if sent < HEAD.len() {
                        let w = wr.write_all(&HEAD[sent..=sent]).await;
                        let f = wr.flush().await;
                        if w.is_err() || f.is_err() {
                            break Ok(t0.elapsed());
                        }
                        sent += 1;
                    }
                    if t0.elapsed() > late {
                        break Err(format!("not closed {:?} after the handshake ({sent} bytes sent)",
                            t0.elapsed()));
                    }
                }
            }
        };
        match outcome {
            Ok(after) if after >= early => {
                stats.ok(Class::Slow, after);
                let ms = u64::try_from(after.as_millis()).unwrap_or(u64::MAX);
                if let Ok(mut range) = stats.slow_close_ms.lock() {
                    *range = (range.0.min(ms), range.1.max(ms));
                }
            }
            Ok(after) => stats.error(
                Class::Slow,
                format!("closed after {after:?}, before the header timeout ({sent} bytes sent)"),
            ),
            Err(message) => stats.error(Class::Slow, message),
        }
    }
}

/// `GET /metrics` every `every` until `end`. Keeps the number of series of the last scrape.
async fn scraper(
    ctx: Arc<Ctx>,
    stats: Arc<Stats>,
    every: Duration,
    end: Instant,
    series: Arc<AtomicU64>,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if Instant::now() >= end {
            return;
        }
        let t0 = Instant::now();
        match tokio::time::timeout(ctx.op_timeout, scrape(ctx.admin)).await {
            Ok(Ok(body)) => {
                let n = body
                    .split(|b| *b == b'\n')
                    .filter(|l| !l.is_empty() && !l.starts_with(b"#"))
                    .count();
                series.store(u64::try_from(n).unwrap_or(0), Ordering::Relaxed);
                stats.ok(Class::Metrics, t0.elapsed());
            }
            Ok(Err(e)) => stats.error(Class::Metrics, describe(e.as_ref())),
            Err(_) => stats.error(
                Class::Metrics,
                format!("no answer within {:?}", ctx.op_timeout),
            ),
        }
    }
}

async fn scrape(admin: SocketAddr) -> Result<Bytes, BoxError> {
    let tcp = TcpStream::connect(admin).await?;
    let (mut sender, conn) = http1::handshake(TokioIo::new(tcp)).await?;
    tokio::spawn(conn);
    let req = http::Request::get("/metrics")
        .header("host", admin.to_string())
        .header("connection", "close")
        .body(Empty::<Bytes>::new())?;
    let resp = sender.send_request(req).await?;
    let status = resp.status();
    let body = resp.into_body().collect().await?.to_bytes();
    if status != http::StatusCode::OK || body.is_empty() {
        return Err(format!("status {status}, {} bytes", body.len()).into());
    }
    Ok(body)
}

// === the gateway process ===

#[derive(Debug, Clone, Copy, Default)]
struct ProcSample {
    rss_kib: u64,
    fds: u64,
    threads: u64,
    cpu_ticks: u64,
}

fn proc_sample(pid: u32) -> Result<ProcSample, BoxError> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    if field("VmRSS:") == 0 {
        // A zombie (exited, not yet reaped) has no memory lines.
        return Err(format!("process {pid} has exited").into());
    }
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let tick = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0);
    Ok(ProcSample {
        rss_kib: field("VmRSS:"),
        fds: u64::try_from(fds).unwrap_or(0),
        threads: field("Threads:"),
        // utime and stime are the 14th and 15th fields, the 12th and 13th after the name.
        cpu_ticks: tick(11) + tick(12),
    })
}

#[allow(clippy::cast_precision_loss)]
fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

// === the run ===

/// What the client can tell of the gateway's WS-Security nonce table from the SOAP calls it
/// made: one entry per call, kept for the replay window, at most the store's capacity.
#[derive(Debug, Clone, Copy)]
enum Nonces {
    /// No SOAP calls in the mix.
    NotUsed,
    Filling,
    /// Full (or a window old) since `at`, after `calls` calls.
    Full {
        at: Duration,
        calls: u64,
    },
    /// Full, then turned over once (another capacity's worth of calls, or another window).
    Settled {
        full_at: Duration,
        at: Duration,
    },
}

impl Nonces {
    fn next(self, at: Duration, calls: u64, capacity: u64, window: Duration) -> Self {
        match self {
            Nonces::Filling if calls >= capacity || at >= window => Nonces::Full { at, calls },
            Nonces::Full { at: full, calls: c }
                if calls.saturating_sub(c) >= capacity || at >= full + window =>
            {
                Nonces::Settled { full_at: full, at }
            }
            other => other,
        }
    }

    fn full_at(self) -> Option<Duration> {
        match self {
            Nonces::Full { at, .. } => Some(at),
            Nonces::Settled { full_at, .. } => Some(full_at),
            _ => None,
        }
    }
}

#[allow(clippy::too_many_lines, clippy::cast_precision_loss)]
async fn run(args: RunArgs) -> Result<Verdict, BoxError> {
    mtls::install_default_provider();
    let mix = Mix::parse(&args.mix)?;
    let ctx = Arc::new(Ctx::new(&args)?);
    let pid = args.gateway_pid;
    let mut out = std::io::stdout().lock();
    let clk = args.clk_tck as f64;
    let start_sample = proc_sample(pid)?;
    writeln!(
        out,
        "soak: gateway pid {pid} on {}, RSS at start {:.1} MiB; mix {}; {} workers; {} slow clients; /metrics {}",
        args.target,
        mib(start_sample.rss_kib),
        mix.describe(),
        args.workers,
        args.slow_clients,
        if args.scrape == 0 {
            "never scraped".to_owned()
        } else {
            format!("scraped every {} s", args.scrape)
        }
    )?;

    // --- 1. peak: closed loop, as fast as the workers go ---
    let peak_stats = Stats::new();
    let seq = Arc::new(AtomicU64::new(0));
    let before = proc_sample(pid)?;
    let t0 = Instant::now();
    let peak_end = t0 + args.peak_duration;
    let mut tasks = Vec::new();
    for _ in 0..args.workers {
        let (ctx, stats, seq) = (Arc::clone(&ctx), Arc::clone(&peak_stats), Arc::clone(&seq));
        let mix = mix.clone();
        tasks.push(tokio::spawn(async move {
            let mut worker = Worker::default();
            while Instant::now() < peak_end {
                let i = seq.fetch_add(1, Ordering::Relaxed);
                worker.op(&ctx, &stats, mix.class(i), i).await;
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    let peak_elapsed = t0.elapsed().as_secs_f64();
    let after = proc_sample(pid)?;
    let (peak_ok, peak_err) = peak_stats.total(&Class::MIX);
    let peak_rate = (peak_ok + peak_err) as f64 / peak_elapsed;
    let peak_busy = (after.cpu_ticks.saturating_sub(before.cpu_ticks)) as f64 / clk / peak_elapsed;
    let peak_lat = peak_stats.mix_latency();
    writeln!(
        out,
        "peak: {peak_rate:.0} ops/s over {peak_elapsed:.1} s with {} workers ({peak_ok} ok, {peak_err} unexpected errors), p50 {:.2} ms, p99 {:.2} ms, gateway core {:.0} % busy, RSS {:.1} MiB",
        args.workers,
        percentile(&peak_lat, 50.0).unwrap_or(0.0),
        percentile(&peak_lat, 99.0).unwrap_or(0.0),
        peak_busy * 100.0,
        mib(after.rss_kib)
    )?;

    // --- 2. soak: paced at a fraction of the peak ---
    let rate = args.rate.unwrap_or(peak_rate * args.rate_fraction);
    if !(rate.is_finite() && rate > 0.0) {
        return Err(format!("no usable soak rate ({rate})").into());
    }
    // The gateway's nonce table fills with one entry per SOAP call (the peak's, then the
    // soak's) until it holds a replay window's worth or is full, then churns; its hash index
    // grows one last time once deleted slots pile up (at 100,000 entries, from 131,072 to
    // 262,144 buckets, about 5 MiB), then stays. Bounded growth, not drift: by default the
    // warm-up ends once the table is full and has turned over once, not before min(2 min,
    // 10 % of the duration), at the latest at 75 % of the duration.
    let alert_rate = rate * mix.share(Class::Alert);
    let peak_alerts = {
        let a = peak_stats.of(Class::Alert);
        a.ok.load(Ordering::Relaxed) + a.errors.load(Ordering::Relaxed)
    };
    let nonce_fill_estimate = if alert_rate > 0.0 {
        let to_full = args.nonce_capacity.saturating_sub(peak_alerts) as f64 / alert_rate;
        Duration::from_secs_f64(to_full.min(args.nonce_window.as_secs_f64()))
    } else {
        Duration::ZERO
    };
    let base_warmup = args.duration.mul_f64(0.1).min(Duration::from_secs(120));
    let latest_warmup = args.duration.mul_f64(0.75);
    let turnover_estimate = if alert_rate > 0.0 {
        Duration::from_secs_f64(
            (args.nonce_capacity as f64 / alert_rate).min(args.nonce_window.as_secs_f64()),
        )
    } else {
        Duration::ZERO
    };
    writeln!(
        out,
        "soak: {rate:.0} ops/s ({}) for {:?}, of which {alert_rate:.0} SOAP calls/s; the nonce table should be full after about {:.0} s and turned over by {:.0} s; warm-up: {}; a sample every {:?}",
        if args.rate.is_some() {
            "fixed".to_owned()
        } else {
            format!("{:.0} % of the peak", args.rate_fraction * 100.0)
        },
        args.duration,
        nonce_fill_estimate.as_secs_f64(),
        (nonce_fill_estimate + turnover_estimate).as_secs_f64(),
        match args.warmup {
            Some(w) => format!("{:.0} s (fixed)", w.as_secs_f64()),
            None => format!(
                "from {:.0} s, once the nonce table is full and turned over, at the latest {:.0} s",
                base_warmup.as_secs_f64(),
                latest_warmup.as_secs_f64()
            ),
        },
        args.sample_every
    )?;
    let stats = Stats::new();
    let seq = Arc::new(AtomicU64::new(0));
    let lag_ms = Arc::new(AtomicU64::new(0));
    let skipped = Arc::new(AtomicU64::new(0));
    let max_lag = args.max_lag;
    let start = Instant::now();
    let end = start + args.duration;
    let mut tasks = Vec::new();
    for _ in 0..args.workers {
        let (ctx, stats, seq, lag_ms, skipped) = (
            Arc::clone(&ctx),
            Arc::clone(&stats),
            Arc::clone(&seq),
            Arc::clone(&lag_ms),
            Arc::clone(&skipped),
        );
        let mix = mix.clone();
        tasks.push(tokio::spawn(async move {
            let mut worker = Worker::default();
            loop {
                // The global schedule: operation i is due at start + i / rate.
                let i = seq.fetch_add(1, Ordering::Relaxed);
                let due = start + Duration::from_secs_f64(i as f64 / rate);
                if due >= end {
                    break;
                }
                tokio::time::sleep_until(due.into()).await;
                let late = due.elapsed();
                lag_ms.fetch_max(
                    u64::try_from(late.as_millis()).unwrap_or(u64::MAX),
                    Ordering::Relaxed,
                );
                if late > max_lag {
                    // Behind schedule: skip the slots already due, rather than burst.
                    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                    let now_slot = (start.elapsed().as_secs_f64() * rate) as u64;
                    let before = seq.fetch_max(now_slot, Ordering::Relaxed);
                    skipped.fetch_add(now_slot.saturating_sub(before), Ordering::Relaxed);
                }
                worker.op(&ctx, &stats, mix.class(i), i).await;
            }
        }));
    }
    for _ in 0..args.slow_clients {
        tasks.push(tokio::spawn(slow_client(
            Arc::clone(&ctx),
            Arc::clone(&stats),
            end,
        )));
    }
    let series = Arc::new(AtomicU64::new(0));
    let mut first_series = None;
    if args.scrape > 0 {
        tasks.push(tokio::spawn(scraper(
            Arc::clone(&ctx),
            Arc::clone(&stats),
            Duration::from_secs(args.scrape),
            end,
            Arc::clone(&series),
        )));
    }

    // Samples until the end.
    let mut samples: Vec<(Duration, ProcSample)> = Vec::new();
    let mut prev = (Instant::now(), proc_sample(pid)?, 0u64, vec![0u64; BUCKETS]);
    let mut warm: Option<(Duration, ProcSample)> = None;
    let mut warm_settled = false;
    let mut nonces = if alert_rate > 0.0 {
        Nonces::Filling
    } else {
        Nonces::NotUsed
    };
    let mut tick = tokio::time::interval_at((start + args.sample_every).into(), args.sample_every);
    let mut gateway_gone = None;
    loop {
        let now = tick.tick().await.into_std();
        if now > end + Duration::from_millis(100) {
            break;
        }
        let at = now.duration_since(start);
        let p = match proc_sample(pid) {
            Ok(p) => p,
            Err(e) => {
                gateway_gone = Some(format!(
                    "the gateway (pid {pid}) cannot be read at {at:?}: {e}"
                ));
                break;
            }
        };
        let (ok, mix_errors) = stats.total(&Class::MIX);
        let done = ok + mix_errors;
        let errors = stats.errors();
        let lat = stats.mix_latency();
        let interval_lat: Vec<u64> = lat.iter().zip(&prev.3).map(|(a, b)| a - b).collect();
        let dt = now.duration_since(prev.0).as_secs_f64();
        let cpu = p.cpu_ticks.saturating_sub(prev.1.cpu_ticks) as f64 / clk / dt;
        let interval_rate = done.saturating_sub(prev.2) as f64 / dt;
        {
            let a = stats.of(Class::Alert);
            let calls =
                peak_alerts + a.ok.load(Ordering::Relaxed) + a.errors.load(Ordering::Relaxed);
            nonces = nonces.next(at, calls, args.nonce_capacity, args.nonce_window);
        }
        let warm_now = warm.is_none()
            && match args.warmup {
                Some(w) => at >= w,
                None => {
                    at >= base_warmup
                        && (matches!(nonces, Nonces::NotUsed | Nonces::Settled { .. })
                            || at >= latest_warmup)
                }
            };
        let s = series.load(Ordering::Relaxed);
        if s > 0 && first_series.is_none() {
            first_series = Some(s);
        }
        writeln!(
            out,
            "[{:>5.0} s] {interval_rate:>6.0} ops/s  errors {errors:<4} p50 {:>6.2} ms  p99 {:>6.2} ms  gateway RSS {:>6.1} MiB  fds {:>4}  threads {:>2}  cpu {:>3.0} %{}{}",
            at.as_secs_f64(),
            percentile(&interval_lat, 50.0).unwrap_or(0.0),
            percentile(&interval_lat, 99.0).unwrap_or(0.0),
            mib(p.rss_kib),
            p.fds,
            p.threads,
            cpu * 100.0,
            if s > 0 {
                format!("  series {s}")
            } else {
                String::new()
            },
            if warm_now { "  (warm-up end)" } else { "" },
        )?;
        if warm_now {
            warm = Some((at, p));
            // A warm-up chosen by hand is taken as is.
            warm_settled =
                args.warmup.is_some() || matches!(nonces, Nonces::NotUsed | Nonces::Settled { .. });
        }
        samples.push((at, p));
        prev = (now, p, done, lat);
    }
    for t in tasks {
        t.await?;
    }
    let last = samples.last().copied();

    // --- 3. summary ---
    writeln!(out)?;
    writeln!(
        out,
        "== summary: soak of {:?} at {rate:.0} ops/s target ({:.0} % of the {peak_rate:.0} ops/s peak), /metrics {}",
        args.duration,
        rate / peak_rate * 100.0,
        if args.scrape == 0 {
            "never scraped".to_owned()
        } else {
            format!("scraped every {} s", args.scrape)
        }
    )?;
    let (ok, _) = stats.total(&Class::MIX);
    let (_, mix_errors) = stats.total(&Class::MIX);
    let achieved = (ok + mix_errors) as f64 / args.duration.as_secs_f64();
    let skipped = skipped.load(Ordering::Relaxed);
    writeln!(
        out,
        "achieved {achieved:.0} ops/s ({:.1} % of the target); {skipped} slots skipped when the client fell more than {:?} behind; longest lag {} ms; {} connections opened for kept-alive classes, {} found closed by the gateway before use",
        achieved / rate * 100.0,
        max_lag,
        lag_ms.load(Ordering::Relaxed),
        stats.connects.load(Ordering::Relaxed),
        stats.closed_by_peer.load(Ordering::Relaxed)
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "| class | expected outcome | soak: as expected | soak: unexpected | p50 (ms) | p99 (ms) | peak phase: as expected / unexpected |"
    )?;
    writeln!(out, "|---|---|---:|---:|---:|---:|---|")?;
    for class in Class::ALL {
        let s = stats.of(class);
        let p = peak_stats.of(class);
        let lat = s.latency.snapshot();
        let fmt = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.2}"));
        let (p50, p99) = if class == Class::Slow {
            // Time to the gateway's close: coarse bucket bounds say little; give the range.
            let range = stats.slow_close_ms.lock().map(|r| *r).unwrap_or((0, 0));
            if range.0 == u64::MAX {
                ("-".to_owned(), "-".to_owned())
            } else {
                (
                    format!("closed {:.1}", range.0 as f64 / 1000.0),
                    format!("to {:.1} s", range.1 as f64 / 1000.0),
                )
            }
        } else {
            (fmt(percentile(&lat, 50.0)), fmt(percentile(&lat, 99.0)))
        };
        writeln!(
            out,
            "| {} | {} | {} | {} | {p50} | {p99} | {} |",
            class.name(),
            class.what(),
            s.ok.load(Ordering::Relaxed),
            s.errors.load(Ordering::Relaxed),
            if Class::MIX.contains(&class) {
                format!(
                    "{} / {}",
                    p.ok.load(Ordering::Relaxed),
                    p.errors.load(Ordering::Relaxed)
                )
            } else {
                "-".to_owned()
            }
        )?;
    }
    let mut unexpected = 0;
    for (phase, st) in [("peak", &peak_stats), ("soak", &stats)] {
        for class in Class::ALL {
            let s = st.of(class);
            let n = s.errors.load(Ordering::Relaxed);
            unexpected += n;
            if n > 0 {
                writeln!(
                    out,
                    "unexpected {} errors in the {phase} phase: {n}; first ones:",
                    class.name()
                )?;
                for m in s.first_errors.lock().map(|v| v.clone()).unwrap_or_default() {
                    writeln!(out, "    {m}")?;
                }
            }
        }
    }
    if let Some(gone) = &gateway_gone {
        writeln!(out, "{gone}")?;
    }
    let mut drift = None;
    if let (Some((wat, w)), Some((lat_, l))) = (warm, last) {
        let d = (l.rss_kib as f64 - w.rss_kib as f64) / w.rss_kib.max(1) as f64 * 100.0;
        drift = Some(d);
        let max_after = samples
            .iter()
            .filter(|(at, _)| *at >= wat)
            .map(|(_, p)| p.rss_kib)
            .max()
            .unwrap_or(0);
        writeln!(
            out,
            "gateway RSS: start {:.1} MiB, after the peak {:.1} MiB, warm-up end ({:.0} s) {:.1} MiB, end ({:.0} s) {:.1} MiB, max after warm-up {:.1} MiB; drift {d:+.2} % (goal < {} %)",
            mib(start_sample.rss_kib),
            mib(after.rss_kib),
            wat.as_secs_f64(),
            mib(w.rss_kib),
            lat_.as_secs_f64(),
            mib(l.rss_kib),
            mib(max_after),
            args.max_drift
        )?;
        if alert_rate > 0.0 {
            let a = stats.of(Class::Alert);
            let soak_alerts = a.ok.load(Ordering::Relaxed) + a.errors.load(Ordering::Relaxed);
            writeln!(
                out,
                "nonce table (one entry per SOAP call, kept {:.0} s, at most {}): {peak_alerts} calls in the peak + {soak_alerts} in the soak; {}",
                args.nonce_window.as_secs_f64(),
                args.nonce_capacity,
                match nonces {
                    Nonces::Settled { full_at, at } if wat >= at => format!(
                        "full at {:.0} s, turned over by {:.0} s, before the warm-up ended",
                        full_at.as_secs_f64(),
                        at.as_secs_f64()
                    ),
                    Nonces::Settled { full_at, at } => format!(
                        "full at {:.0} s, turned over by {:.0} s, after the warm-up ended: the drift may include its last growth (run longer)",
                        full_at.as_secs_f64(),
                        at.as_secs_f64()
                    ),
                    Nonces::Full { at, .. } => format!(
                        "full at {:.0} s, not turned over by the end: the drift may include its last growth (run longer)",
                        at.as_secs_f64()
                    ),
                    Nonces::Filling | Nonces::NotUsed => {
                        "still filling at the end: the drift includes its growth (run longer)"
                            .to_owned()
                    }
                }
            )?;
        }
        writeln!(
            out,
            "gateway descriptors: warm-up end {}, end {}; threads {} / {}{}",
            w.fds,
            l.fds,
            w.threads,
            l.threads,
            match (first_series, series.load(Ordering::Relaxed)) {
                (Some(a), b) if b > 0 => format!("; /metrics series: first scrape {a}, last {b}"),
                _ => String::new(),
            }
        )?;
    } else {
        writeln!(
            out,
            "gateway RSS: no sample after the warm-up: drift unknown"
        )?;
    }
    let errors_pass = unexpected == 0 && gateway_gone.is_none();
    let drift_verdict = match drift {
        // The default warm-up ended (at its latest) before the nonce table had settled: the
        // drift may be, or may lack, its bounded growth.
        Some(_) if !warm_settled => Verdict::Inconclusive,
        Some(d) if d < args.max_drift => Verdict::Pass,
        _ => Verdict::Fail,
    };
    let errors_verdict = if errors_pass {
        Verdict::Pass
    } else {
        Verdict::Fail
    };
    writeln!(
        out,
        "goal 0 unexpected errors: {} ({unexpected}); goal RSS drift < {} % after warm-up: {} ({}{})",
        errors_verdict.name(),
        args.max_drift,
        drift_verdict.name(),
        drift.map_or("unknown".to_owned(), |d| format!("{d:+.2} %")),
        if drift_verdict == Verdict::Inconclusive {
            "; the warm-up ended before the nonce table had turned over: run longer, or set --warmup"
        } else {
            ""
        }
    )?;
    let verdict = match (errors_verdict, drift_verdict) {
        (Verdict::Fail, _) | (_, Verdict::Fail) => Verdict::Fail,
        (_, Verdict::Inconclusive) => Verdict::Inconclusive,
        _ => Verdict::Pass,
    };
    let pass = verdict == Verdict::Pass;
    writeln!(out, "RESULT: {}", verdict.name())?;
    let by_class: serde_json::Map<String, serde_json::Value> = Class::ALL
        .iter()
        .map(|c| {
            let s = stats.of(*c);
            (
                c.name().to_owned(),
                serde_json::json!({"ok": s.ok.load(Ordering::Relaxed), "unexpected": s.errors.load(Ordering::Relaxed)}),
            )
        })
        .collect();
    writeln!(
        out,
        "{}",
        serde_json::json!({
            "duration_s": args.duration.as_secs_f64(), "scrape_s": args.scrape,
            "peak_ops_s": peak_rate, "peak_gateway_busy": peak_busy, "target_ops_s": rate, "achieved_ops_s": achieved, "skipped": skipped,
            "classes": by_class, "unexpected_errors": unexpected,
            "rss_warm_kib": warm.map(|(_, w)| w.rss_kib), "rss_end_kib": last.map(|(_, l)| l.rss_kib),
            "warmup_s": warm.map(|(at, _)| at.as_secs_f64()), "nonce_table_full_s": nonces.full_at().map(|f| f.as_secs_f64()), "drift_pct": drift, "result": verdict.name(), "pass": pass,
        })
    )?;
    Ok(verdict)
}

/// The outcome of a run; the process exits 0, 1 or 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Pass,
    Fail,
    /// No error, but the drift was measured before the gateway's bounded state had settled.
    Inconclusive,
}

impl Verdict {
    fn name(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Inconclusive => "INCONCLUSIVE",
        }
    }

    fn exit_code(self) -> i32 {
        match self {
            Verdict::Pass => 0,
            Verdict::Fail => 1,
            Verdict::Inconclusive => 2,
        }
    }
}
