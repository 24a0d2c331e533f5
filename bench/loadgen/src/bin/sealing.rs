//! `sealing`: what the gateway adds per sealed document, and how fairly its queue serves
//! callers waiting for the one signing token (issue 12; `bench/sealing.sh`).
//!
//! In this process: the demo sealer (`demo_upstream::sealer::router(delay)`, one PDF at a
//! time, overlaps counted) behind a recorder that notes, for every request, when it reached
//! the sealer and how long the sealer held it; optionally a TSA (`openssl ts -reply` per
//! request, serialised, its own time recorded too); the callers. The gateway runs as a
//! separate process (`--gateway`, pinned with `taskset` when `--gateway-cpu` is given), from a
//! YAML written to `--dir`, with the demo's sealing route: signed requests (RFC 9421
//! `hmac-sha256`, fresh nonce each), PDF content checks, and the sealer's queue
//! (`max_in_flight: 1`); plus, with `--tsa-dir`, the same route with an RFC 3161 timestamp.
//!
//! 1. **Added time per document** (one caller, sequential, kept-alive connection): straight to
//!    the sealer (plain HTTP/1.1), then through the gateway (TLS), then through the timestamp
//!    route. For each document, the overhead is its latency minus the time the sealer (and the
//!    TSA) held it, both measured on this process's clock; the gateway's added time is the
//!    overhead through the gateway minus the overhead straight to the sealer.
//! 2. **Queue fairness**: `--callers` callers, each on its own kept-alive connection, send
//!    documents back to back for `--seconds` against the one slot. A document's wait is from
//!    its sending to its arrival at the sealer (queue + gateway). Per caller: documents, mean
//!    and p99 wait; overall p50/p99; the ratio of the slowest caller's mean wait to the
//!    fastest's; the sealer's overlap count (must be 0) and the gaps between two seals.
//!
//! Prints JSON lines, then Markdown tables.

use std::collections::HashMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use base64::Engine as _;
use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use sha2::Digest as _;

#[allow(dead_code)]
mod support;

use support::process::{self, GatewayProcess, Launch};

use support::BoxError;
use support::h1::{Sender, connect_plain, connect_tls};
use support::stats::{mean, ms, pct, sorted};

/// The demo's keyid and a secret of the required length (not a secret: a benchmark's).
const KEYID: &str = "odentas-app";
const SECRET: &str = "bench-seal-key-not-a-secret-0123456789abcdef";
const SEALED_MARK: &[u8] = b"%% sealed by the demo token\n";

#[derive(Debug, Parser)]
#[command(
    name = "sealing",
    about = "Time the gateway adds per sealed document, and its queue's fairness"
)]
struct Args {
    /// The gateway binary (release build).
    #[arg(long)]
    gateway: PathBuf,
    /// Pin the gateway to this CPU list (`taskset -c`).
    #[arg(long)]
    gateway_cpu: Option<String>,
    /// TOKIO_WORKER_THREADS of the gateway.
    #[arg(long, default_value_t = 1)]
    gateway_threads: usize,
    /// Where the gateway's YAML, log and pid file go.
    #[arg(long)]
    dir: PathBuf,
    /// The test PKI directory.
    #[arg(long, default_value = "certs-test/pki")]
    pki: PathBuf,
    /// The sealer's time per PDF, milliseconds.
    #[arg(long, default_value_t = 100)]
    delay_ms: u64,
    /// Documents per sequential figure (after the warm-up ones).
    #[arg(long, default_value_t = 100)]
    documents: usize,
    /// Unmeasured documents before each sequential figure.
    #[arg(long, default_value_t = 5)]
    warmup_documents: usize,
    /// Size of the generated PDF, bytes.
    #[arg(long, default_value_t = 100 * 1024)]
    pdf_size: usize,
    /// Concurrent callers of the fairness figure.
    #[arg(long, default_value_t = 20)]
    callers: usize,
    /// Measured seconds of the fairness figure.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Measured seconds of the same fairness figure on the timestamp route (with `--tsa-dir`;
    /// 0: skipped): the token's slot is held while the TSA answers.
    #[arg(long, default_value_t = 10)]
    ts_seconds: u64,
    /// Unmeasured seconds at the start of the fairness figure (the queue fills up).
    #[arg(long, default_value_t = 4)]
    warmup_seconds: u64,
    /// A directory with `ts.cnf` (an `openssl ts` configuration whose signer is set) and
    /// `ca.pem` (the TSA's root): adds the timestamp figure. Without it, no timestamp.
    #[arg(long)]
    tsa_dir: Option<PathBuf>,
    /// Clock ticks per second of /proc/PID/stat (`getconf CLK_TCK`).
    #[arg(long, default_value_t = 100)]
    clk_tck: u64,
    /// Worker threads of this process (callers, sealer, TSA); 1: a current-thread runtime.
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

fn main() -> Result<(), BoxError> {
    let args = Args::parse();
    let runtime = if args.threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.threads)
            .enable_all()
            .build()?
    };
    runtime.block_on(bench(args))
}

// === what the sealer and the TSA saw ===

/// When a request reached the sealer and how long the sealer held it, by `x-bench-id`.
#[derive(Default)]
struct Recorder {
    seals: Mutex<HashMap<String, (Instant, Duration)>>,
    /// The TSA's requests: arrival and time taken, in order.
    tsa: Mutex<Vec<(Instant, Duration)>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn record(
    State(rec): State<Arc<Recorder>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let arrived = Instant::now();
    let id = req
        .headers()
        .get("x-bench-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let response = next.run(req).await;
    if let Some(id) = id {
        lock(&rec.seals).insert(id, (arrived, arrived.elapsed()));
    }
    response
}

/// A TSA: `openssl ts -reply` per request, one at a time (the serial file is shared).
async fn tsa(
    State((rec, dir, gate)): State<(Arc<Recorder>, PathBuf, Arc<tokio::sync::Mutex<()>>)>,
    body: Bytes,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let arrived = Instant::now();
    let _one = gate.lock().await;
    let reply = tokio::task::spawn_blocking(move || {
        let mut child = Command::new("openssl")
            .args([
                "ts",
                "-reply",
                "-config",
                "ts.cnf",
                "-queryfile",
                "/dev/stdin",
                "-out",
                "/dev/stdout",
            ])
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(&body)?;
        }
        let out = child.wait_with_output()?;
        if out.status.success() {
            Ok(out.stdout)
        } else {
            Err(std::io::Error::other("openssl ts -reply failed"))
        }
    })
    .await;
    lock(&rec.tsa).push((arrived, arrived.elapsed()));
    match reply {
        Ok(Ok(der)) => (
            [("content-type", "application/timestamp-reply")],
            Bytes::from(der),
        )
            .into_response(),
        _ => http::StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

// === requests ===

/// Server authentication only: the sealing route authenticates by signature (as the demo's).
fn client_tls(pki: &Path) -> Result<Arc<rustls::ClientConfig>, BoxError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(pki.join("ca-bundle.pem"))? {
        roots.add(cert?)?;
    }
    let mut config = rustls::ClientConfig::builder_with_provider(mtls::crypto_provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The document every caller sends: `%PDF-1.7`, then filler.
struct Document {
    body: Bytes,
    digest: String,
}

impl Document {
    fn new(size: usize) -> Self {
        let mut pdf = b"%PDF-1.7\n%bench contract\n".to_vec();
        let mut i = 0u32;
        while pdf.len() < size {
            pdf.extend_from_slice(format!("{i} 0 obj << /Filler {i} >> endobj\n").as_bytes());
            i += 1;
        }
        pdf.truncate(size.max(16));
        let digest = format!(
            "sha-256=:{}:",
            base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(&pdf))
        );
        Self {
            body: Bytes::from(pdf),
            digest,
        }
    }
}

static NONCES: AtomicU64 = AtomicU64::new(0);

/// A POST of the document to `path`, with `id` in `x-bench-id`; signed (fresh `created` and
/// nonce) when `authority` is the gateway's.
fn request(
    doc: &Document,
    authority: &str,
    path: &str,
    id: &str,
    sign: bool,
) -> Result<http::Request<Full<Bytes>>, BoxError> {
    let mut builder = http::Request::post(path)
        .header("host", authority)
        .header("content-type", "application/pdf")
        .header("x-bench-id", id);
    if sign {
        let headers = [("content-digest", doc.digest.as_bytes())];
        let parts = httpsig::RequestParts {
            method: "POST",
            scheme: "https",
            authority,
            path,
            query: None,
            headers: &headers,
        };
        let covered = ["@method", "@target-uri", "content-digest"]
            .iter()
            .map(|c| c.parse::<httpsig::Component>())
            .collect::<Result<Vec<_>, _>>()?;
        let params = httpsig::SignatureParams {
            created: Some(jiff::Timestamp::now().as_second()),
            expires: None,
            keyid: KEYID.to_owned(),
            alg: true,
            nonce: Some(format!(
                "bench-{}-{}-{}",
                std::process::id(),
                NONCES.fetch_add(1, Ordering::Relaxed),
                jiff::Timestamp::now().as_nanosecond()
            )),
            tag: None,
        };
        let sig = httpsig::sign(&parts, "sig1", &covered, &params, SECRET.as_bytes())?;
        builder = builder
            .header("content-digest", &doc.digest)
            .header("signature-input", sig.signature_input)
            .header("signature", sig.signature);
    }
    Ok(builder.body(Full::new(doc.body.clone()))?)
}

struct Answer {
    status: u16,
    headers: http::HeaderMap,
    body: Bytes,
}

async fn send(sender: &mut Sender, req: http::Request<Full<Bytes>>) -> Result<Answer, BoxError> {
    sender.ready().await?;
    let resp = sender.send_request(req).await?;
    let status = resp.status().as_u16();
    let (parts, body) = resp.into_parts();
    let body = body.collect().await?.to_bytes();
    Ok(Answer {
        status,
        headers: parts.headers,
        body,
    })
}

// === statistics ===

/// One sequential figure: per document, latency and what the sealer (and TSA) took.
#[derive(Default)]
struct Sequential {
    latency_ms: Vec<f64>,
    sealer_ms: Vec<f64>,
    tsa_ms: Vec<f64>,
    /// Latency minus the sealer's and the TSA's time.
    overhead_ms: Vec<f64>,
    errors: usize,
    gateway_cpu_s: f64,
}

impl Sequential {
    fn json(&self, figure: &str) -> serde_json::Value {
        let (lat, over, sealer, tsa) = (
            sorted(self.latency_ms.clone()),
            sorted(self.overhead_ms.clone()),
            sorted(self.sealer_ms.clone()),
            sorted(self.tsa_ms.clone()),
        );
        serde_json::json!({
            "figure": figure, "documents": self.latency_ms.len(), "errors": self.errors,
            "latency_p50_ms": pct(&lat, 50.0), "latency_p99_ms": pct(&lat, 99.0),
            "sealer_p50_ms": pct(&sealer, 50.0), "sealer_p99_ms": pct(&sealer, 99.0),
            "tsa_p50_ms": pct(&tsa, 50.0), "tsa_p99_ms": pct(&tsa, 99.0),
            "overhead_p50_ms": pct(&over, 50.0), "overhead_p99_ms": pct(&over, 99.0),
            "overhead_max_ms": pct(&over, 100.0),
            "gateway_cpu_ms_per_doc": self.gateway_cpu_s * 1000.0 / self.latency_ms.len().max(1) as f64,
        })
    }
}

struct Bench {
    args: Args,
    rec: Arc<Recorder>,
    doc: Document,
    sealer: SocketAddr,
    gateway: SocketAddr,
    admin: SocketAddr,
    tls: Arc<rustls::ClientConfig>,
}

async fn bench(args: Args) -> Result<(), BoxError> {
    mtls::install_default_provider();
    std::fs::create_dir_all(&args.dir)?;
    let rec = Arc::new(Recorder::default());
    let (app, stats) = demo_upstream::sealer::router(Duration::from_millis(args.delay_ms));
    let app = app.layer(axum::middleware::from_fn_with_state(
        Arc::clone(&rec),
        record,
    ));
    let sealer = demo_upstream::spawn_with("127.0.0.1:0".parse()?, app).await?;
    let tsa_addr = match &args.tsa_dir {
        Some(dir) => {
            let app = axum::Router::new()
                .route("/tsa", axum::routing::post(tsa))
                .with_state((
                    Arc::clone(&rec),
                    dir.clone(),
                    Arc::new(tokio::sync::Mutex::new(())),
                ));
            Some(demo_upstream::spawn_with("127.0.0.1:0".parse()?, app).await?)
        }
        None => None,
    };

    let gateway: SocketAddr = ([127, 0, 0, 1], process::free_port()?).into();
    let admin: SocketAddr = ([127, 0, 0, 1], process::free_port()?).into();
    let config = args.dir.join("gateway.yaml");
    std::fs::write(&config, yaml(&args, gateway, admin, sealer, tsa_addr)?)?;
    let mut gw = GatewayProcess::start(&Launch {
        binary: &args.gateway,
        cpu: args.gateway_cpu.as_deref(),
        threads: args.gateway_threads,
        config: &config,
        dir: &args.dir,
        env: &[("BENCH_SEAL_KEY", SECRET)],
    })?;
    gw.wait_listening(gateway).await?;
    let bench = Bench {
        tls: client_tls(&args.pki)?,
        doc: Document::new(args.pdf_size),
        rec,
        sealer,
        gateway,
        admin,
        args,
    };
    bench.smoke(tsa_addr.is_some()).await?;
    let load_before = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();

    let direct = bench.sequential("direct", None).await?;
    let via = bench
        .sequential("gateway", Some((&gw, "/seal-contract")))
        .await?;
    let ts = if tsa_addr.is_some() {
        Some(
            bench
                .sequential("gateway+ts", Some((&gw, "/ts/seal-contract")))
                .await?,
        )
    } else {
        None
    };
    let mut fair = vec![
        bench
            .fairness("fairness", "/seal-contract", bench.args.seconds, &stats)
            .await?,
    ];
    if tsa_addr.is_some() && bench.args.ts_seconds > 0 {
        fair.push(
            bench
                .fairness(
                    "fairness+ts",
                    "/ts/seal-contract",
                    bench.args.ts_seconds,
                    &stats,
                )
                .await?,
        );
    }
    let metrics = bench.metrics().await.unwrap_or_default();
    let load_after = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();

    let mut out = std::io::stdout().lock();
    let mut figures = vec![direct.json("direct"), via.json("gateway")];
    if let Some(ts) = &ts {
        figures.push(ts.json("gateway+timestamp"));
    }
    for f in &figures {
        writeln!(out, "{f}")?;
    }
    for f in &fair {
        writeln!(out, "{}", f.json(&bench.args))?;
    }

    writeln!(
        out,
        "\nSealer {} ms per PDF, PDF {} bytes, {} documents per sequential figure (after {} unmeasured); \
         gateway pid {} (TOKIO_WORKER_THREADS={}, cpu {}). Load average before/after: {} / {}.",
        bench.args.delay_ms,
        bench.args.pdf_size,
        bench.args.documents,
        bench.args.warmup_documents,
        gw.pid(),
        bench.args.gateway_threads,
        bench.args.gateway_cpu.as_deref().unwrap_or("any"),
        load_before
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
        load_after
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "| one caller, sequential | latency p50 / p99 (ms) | sealer p50 (ms) | TSA p50 (ms) | overhead p50 / p99 (ms) | gateway CPU per doc (ms) | errors |"
    )?;
    writeln!(out, "|---|---|---:|---:|---|---:|---:|")?;
    for f in &figures {
        let g = |k: &str| f[k].as_f64().unwrap_or(f64::NAN);
        writeln!(
            out,
            "| {} | {:.2} / {:.2} | {:.2} | {} | {:.3} / {:.3} | {} | {} |",
            f["figure"].as_str().unwrap_or_default(),
            g("latency_p50_ms"),
            g("latency_p99_ms"),
            g("sealer_p50_ms"),
            if g("tsa_p50_ms").is_nan() {
                "—".to_owned()
            } else {
                format!("{:.2}", g("tsa_p50_ms"))
            },
            g("overhead_p50_ms"),
            g("overhead_p99_ms"),
            if f["figure"] == "direct" {
                "—".to_owned()
            } else {
                format!("{:.2}", g("gateway_cpu_ms_per_doc"))
            },
            f["errors"],
        )?;
    }
    let added = |a: &Sequential, b: &Sequential| {
        let (x, y) = (sorted(a.overhead_ms.clone()), sorted(b.overhead_ms.clone()));
        let (lx, ly) = (sorted(a.latency_ms.clone()), sorted(b.latency_ms.clone()));
        (
            pct(&x, 50.0) - pct(&y, 50.0),
            pct(&x, 99.0) - pct(&y, 99.0),
            pct(&lx, 50.0) - pct(&ly, 50.0),
            pct(&lx, 99.0) - pct(&ly, 99.0),
        )
    };
    let (o50, o99, l50, l99) = added(&via, &direct);
    writeln!(
        out,
        "| **added by the gateway** (signature + content + queue) | latency diff {l50:.2} / {l99:.2} | | | **{o50:.3} / {o99:.3}** | | |"
    )?;
    if let Some(ts) = &ts {
        let (o50, o99, l50, l99) = added(ts, &direct);
        writeln!(
            out,
            "| **added by the gateway** (… + timestamp, TSA's own time excluded) | latency diff {l50:.2} / {l99:.2} | | | **{o50:.3} / {o99:.3}** | | |"
        )?;
    }
    writeln!(out)?;
    Fairness::table(&fair, &mut out, &bench.args)?;
    writeln!(
        out,
        "\nGateway, whole run: queue refusals (503) {}; queue waits recorded {} (sum {:.1} s).",
        sample(&metrics, "gateway_upstream_queue_refusals_total")
            .map_or_else(|| "0 (no sample)".to_owned(), |v| v.to_string()),
        sample(
            &metrics,
            "gateway_upstream_queue_wait_duration_seconds_count"
        )
        .unwrap_or(f64::NAN),
        sample(&metrics, "gateway_upstream_queue_wait_duration_seconds_sum").unwrap_or(f64::NAN),
    )?;
    for f in &fair {
        f.per_caller_table(&mut out)?;
    }
    drop(gw);
    Ok(())
}

fn yaml(
    args: &Args,
    gateway: SocketAddr,
    admin: SocketAddr,
    sealer: SocketAddr,
    tsa: Option<SocketAddr>,
) -> Result<String, BoxError> {
    let pki = std::fs::canonicalize(&args.pki)?;
    let pki = pki.display();
    let route = |name: &str, prefix: &str, strip: bool, extra: &str| {
        format!(
            r#"  - name: {name}
    path_prefix: {prefix}
    methods: [POST]
    handler: proxy
    upstream: signer
    strip_prefix: {strip}
    allow_anonymous: true
    max_body_size: 20MiB
    timeout: 120s
    content:
      types: [application/pdf]
      magic: "%PDF-"
    signature:
      keys:
        {KEYID}: BENCH_SEAL_KEY
{extra}"#
        )
    };
    let mut routes = route("seal", "/seal-contract", false, "");
    if let (Some(tsa), Some(dir)) = (tsa, &args.tsa_dir) {
        let ca = std::fs::canonicalize(dir.join("ca.pem"))?;
        routes.push_str(&route(
            "seal-ts",
            "/ts",
            true,
            &format!(
                "    timestamp:\n      tsa: http://{tsa}/tsa\n      trust_anchors: [\"{}\"]\n      mode: required\n      timeout: 10s\n",
                ca.display()
            ),
        ));
    }
    Ok(format!(
        r#"# Written by bench/loadgen/src/bin/sealing.rs: the demo's sealing route (config/demo.yaml)
# without the trail, and the same with a timestamp when a TSA is given.
listeners:
  - name: edge
    bind: {gateway}
    tls:
      cert: {pki}/server.pem
      key: {pki}/server.key
      client_auth:
        mode: optional
        trust_anchors: [{pki}/root-ca.cer, {pki}/intermediate-ca.cer]
upstreams:
  signer:
    url: http://{sealer}
    connect_timeout: 1s
    request_timeout: 120s
    concurrency:
      max_in_flight: 1
      max_queue: {queue}
      queue_timeout: 120s
    health_check:
      path: /health
      interval: 5s
routes:
{routes}admin:
  bind: {admin}
state:
  backend: memory
logging:
  format: json
  level: info
shutdown:
  grace_period: 1s
"#,
        queue = (args.callers + 12).max(32),
    ))
}

impl Bench {
    fn authority(&self) -> String {
        format!("localhost:{}", self.gateway.port())
    }

    /// Proof that the policies are on: a signed PDF sealed, its replay refused, a text refused
    /// unsigned and signed, and (with a TSA) a token granted.
    async fn smoke(&self, with_tsa: bool) -> Result<(), BoxError> {
        // A new connection each: the gateway closes a connection after a refusal.
        let once = |req| async move {
            let mut c = connect_tls(self.gateway, &self.tls).await?;
            send(&mut c, req).await
        };
        let auth = self.authority();
        // Small bodies: the gateway answers a refusal before reading the body and closes the
        // connection, and a client still writing a large body may see a reset, not the answer.
        let small = Document::new(64);
        let req = request(&small, &auth, "/seal-contract", "smoke-1", true)?;
        let (head, body) = req.into_parts();
        let body = body.collect().await?.to_bytes();
        let again = http::Request::from_parts(head.clone(), Full::new(body.clone()));
        let first = once(http::Request::from_parts(head, Full::new(body))).await?;
        if first.status != 200 || !first.body.ends_with(SEALED_MARK) {
            return Err(format!(
                "smoke: a signed PDF got {}: {}",
                first.status,
                String::from_utf8_lossy(&first.body)
            )
            .into());
        }
        let replay = once(again).await?;
        let unsigned = once(request(&small, &auth, "/seal-contract", "smoke-2", false)?).await?;
        let text = Document {
            body: Bytes::from_static(b"not a pdf"),
            digest: Document::new(16).digest,
        };
        let not_pdf = once(request(&text, &auth, "/seal-contract", "smoke-3", true)?).await?;
        let kinds = [
            (&replay, 401, "signature-replay"),
            (&unsigned, 401, "signature-missing"),
            (&not_pdf, 415, ""),
        ];
        for (answer, status, slug) in kinds {
            let body = String::from_utf8_lossy(&answer.body);
            if answer.status != status || !body.contains(slug) {
                return Err(format!(
                    "smoke: expected {status} {slug}, got {}: {body}",
                    answer.status
                )
                .into());
            }
        }
        if with_tsa {
            let ts = once(request(
                &self.doc,
                &auth,
                "/ts/seal-contract",
                "smoke-4",
                true,
            )?)
            .await?;
            let granted = ts
                .headers
                .get("timestamp-status")
                .is_some_and(|v| v == "granted");
            if ts.status != 200 || !granted || !ts.headers.contains_key("timestamp-token") {
                return Err(format!(
                    "smoke: the timestamp route got {} ({:?}): {}",
                    ts.status,
                    ts.headers.get("timestamp-status"),
                    String::from_utf8_lossy(&ts.body)
                )
                .into());
            }
        }
        Ok(())
    }

    /// One caller, sequential documents on one kept-alive connection: straight to the sealer
    /// (`via` None) or through the gateway at `path`.
    async fn sequential(
        &self,
        figure: &str,
        via: Option<(&GatewayProcess, &str)>,
    ) -> Result<Sequential, BoxError> {
        let (mut conn, authority, path) = match via {
            None => (
                connect_plain(self.sealer).await?,
                self.sealer.to_string(),
                "/seal-contract",
            ),
            Some((_, path)) => (
                connect_tls(self.gateway, &self.tls).await?,
                self.authority(),
                path,
            ),
        };
        let mut out = Sequential::default();
        let mut cpu0 = f64::NAN;
        for i in 0..self.args.warmup_documents + self.args.documents {
            let measured = i >= self.args.warmup_documents;
            if i == self.args.warmup_documents
                && let Some((gw, _)) = via
            {
                cpu0 = process::cpu_seconds(gw.pid(), self.args.clk_tck);
            }
            let id = format!("{figure}-{i}");
            let req = request(&self.doc, &authority, path, &id, via.is_some())?;
            let tsa_before = lock(&self.rec.tsa).len();
            let t0 = Instant::now();
            let answer = send(&mut conn, req).await;
            let latency = t0.elapsed();
            let ok = answer
                .as_ref()
                .is_ok_and(|a| a.status == 200 && a.body.ends_with(SEALED_MARK));
            if !measured {
                continue;
            }
            let sealer = lock(&self.rec.seals).get(&id).map(|(_, took)| *took);
            let tsa: Duration = lock(&self.rec.tsa)[tsa_before..]
                .iter()
                .map(|(_, took)| *took)
                .sum();
            match (ok, sealer) {
                (true, Some(sealer)) => {
                    out.latency_ms.push(ms(latency));
                    out.sealer_ms.push(ms(sealer));
                    if tsa > Duration::ZERO {
                        out.tsa_ms.push(ms(tsa));
                    }
                    out.overhead_ms.push(ms(latency) - ms(sealer) - ms(tsa));
                }
                _ => out.errors += 1,
            }
        }
        if let Some((gw, _)) = via {
            out.gateway_cpu_s = process::cpu_seconds(gw.pid(), self.args.clk_tck) - cpu0;
        }
        Ok(out)
    }

    /// `--callers` callers against the one slot, on `path`, for `--warmup-seconds` +
    /// `seconds`.
    async fn fairness(
        &self,
        label: &'static str,
        path: &'static str,
        seconds: u64,
        stats: &demo_upstream::sealer::SealerStats,
    ) -> Result<Fairness, BoxError> {
        let sealed_before = stats.sealed.load(Ordering::SeqCst);
        let overlaps_before = stats.overlaps.load(Ordering::SeqCst);
        let start = Instant::now() + Duration::from_secs(self.args.warmup_seconds);
        let end = start + Duration::from_secs(seconds);
        let mut tasks = Vec::new();
        for caller in 0..self.args.callers {
            let mut conn = connect_tls(self.gateway, &self.tls).await?;
            let authority = self.authority();
            let (addr, tls) = (self.gateway, Arc::clone(&self.tls));
            let doc = Document {
                body: self.doc.body.clone(),
                digest: self.doc.digest.clone(),
            };
            tasks.push(tokio::spawn(async move {
                let mut sent = Vec::new();
                let mut n = 0usize;
                loop {
                    let id = format!("{label}-{caller}-{n}");
                    n += 1;
                    let Ok(req) = request(&doc, &authority, path, &id, true) else {
                        break;
                    };
                    let t0 = Instant::now();
                    if t0 >= end {
                        break;
                    }
                    let answer = send(&mut conn, req).await;
                    let status = answer.as_ref().map_or(0, |a| a.status);
                    sent.push((id, t0, t0.elapsed(), status));
                    if answer.is_err() {
                        // The connection is gone: a new one.
                        match connect_tls(addr, &tls).await {
                            Ok(c) => conn = c,
                            Err(_) => break,
                        }
                    }
                }
                (caller, sent)
            }));
        }
        let mut results = Vec::new();
        for t in tasks {
            results.push(t.await?);
        }
        let mut fair = Fairness {
            label,
            seconds,
            sealed: stats.sealed.load(Ordering::SeqCst) - sealed_before,
            overlaps: stats.overlaps.load(Ordering::SeqCst) - overlaps_before,
            ..Fairness::default()
        };
        let recorded = lock(&self.rec.seals).clone();
        for (caller, sent) in results {
            let mut waits = Vec::new();
            let mut latencies = Vec::new();
            for (id, t0, latency, status) in sent {
                if t0 < start {
                    continue;
                }
                match (status, recorded.get(&id)) {
                    (200, Some((arrived, _))) => {
                        waits.push(ms(arrived.saturating_duration_since(t0)));
                        latencies.push(ms(latency));
                    }
                    _ => fair.errors += 1,
                }
            }
            fair.callers.push(Caller {
                caller,
                waits_ms: sorted(waits),
                latencies_ms: sorted(latencies),
            });
        }
        // The sealer's view over the measured window: service, cycle, gaps between seals.
        let prefix = format!("{label}-");
        let mut window: Vec<(Instant, Duration)> = recorded
            .iter()
            .filter(|(id, (arrived, _))| {
                id.starts_with(&prefix) && *arrived >= start && *arrived < end
            })
            .map(|(_, v)| *v)
            .collect();
        window.sort_by_key(|(arrived, _)| *arrived);
        fair.gaps_ms = sorted(
            window
                .windows(2)
                .map(|w| ms(w[1].0.saturating_duration_since(w[0].0 + w[0].1)))
                .collect(),
        );
        fair.service_ms = mean(&window.iter().map(|(_, d)| ms(*d)).collect::<Vec<_>>());
        fair.cycle_ms = mean(
            &window
                .windows(2)
                .map(|w| ms(w[1].0.saturating_duration_since(w[0].0)))
                .collect::<Vec<_>>(),
        );
        fair.seals_in_window = window.len();
        Ok(fair)
    }

    /// The gateway's Prometheus text.
    async fn metrics(&self) -> Result<String, BoxError> {
        let mut c = connect_plain(self.admin).await?;
        let req = http::Request::get("/metrics")
            .header("host", "127.0.0.1")
            .body(Full::new(Bytes::new()))?;
        let a = send(&mut c, req).await?;
        Ok(String::from_utf8_lossy(&a.body).into_owned())
    }
}

#[derive(Default)]
struct Caller {
    caller: usize,
    waits_ms: Vec<f64>,
    latencies_ms: Vec<f64>,
}

#[derive(Default)]
struct Fairness {
    label: &'static str,
    seconds: u64,
    callers: Vec<Caller>,
    errors: usize,
    /// Sealer: documents sealed during the whole figure (warm-up and drain included).
    sealed: usize,
    overlaps: usize,
    /// Sealer: seals that began in the measured window.
    seals_in_window: usize,
    gaps_ms: Vec<f64>,
    service_ms: f64,
    /// Mean time from one seal's start to the next one's.
    cycle_ms: f64,
}

/// A Prometheus sample's value: the first line starting with `prefix`.
fn sample(metrics: &str, prefix: &str) -> Option<f64> {
    metrics
        .lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

impl Fairness {
    fn all_waits(&self) -> Vec<f64> {
        sorted(
            self.callers
                .iter()
                .flat_map(|c| c.waits_ms.iter().copied())
                .collect(),
        )
    }

    /// Fastest and slowest caller's mean wait; fewest and most documents of a caller.
    fn spread(&self) -> (f64, f64, usize, usize) {
        let means: Vec<f64> = self.callers.iter().map(|c| mean(&c.waits_ms)).collect();
        let counts: Vec<usize> = self.callers.iter().map(|c| c.waits_ms.len()).collect();
        (
            means.iter().copied().fold(f64::NAN, f64::min),
            means.iter().copied().fold(f64::NAN, f64::max),
            counts.iter().copied().min().unwrap_or(0),
            counts.iter().copied().max().unwrap_or(0),
        )
    }

    fn json(&self, args: &Args) -> serde_json::Value {
        let all = self.all_waits();
        let (min_mean, max_mean, min_n, max_n) = self.spread();
        serde_json::json!({
            "figure": self.label, "callers": args.callers, "seconds": self.seconds,
            "documents": all.len(), "errors": self.errors, "sealed": self.sealed,
            "overlaps": self.overlaps, "seals_in_window": self.seals_in_window,
            "wait_p50_ms": pct(&all, 50.0), "wait_p99_ms": pct(&all, 99.0), "wait_max_ms": pct(&all, 100.0),
            "caller_mean_wait_min_ms": min_mean, "caller_mean_wait_max_ms": max_mean,
            "caller_mean_wait_ratio": max_mean / min_mean,
            "caller_documents_min": min_n, "caller_documents_max": max_n,
            "service_mean_ms": self.service_ms, "cycle_mean_ms": self.cycle_ms,
            "gap_p50_ms": pct(&self.gaps_ms, 50.0), "gap_p99_ms": pct(&self.gaps_ms, 99.0),
            "per_caller": self.callers.iter().map(|c| serde_json::json!({
                "caller": c.caller, "documents": c.waits_ms.len(),
                "wait_mean_ms": mean(&c.waits_ms), "wait_p50_ms": pct(&c.waits_ms, 50.0),
                "wait_max_ms": pct(&c.waits_ms, 100.0), "latency_p50_ms": pct(&c.latencies_ms, 50.0),
            })).collect::<Vec<_>>(),
        })
    }

    /// One column per figure.
    fn table(figures: &[Self], out: &mut impl std::io::Write, args: &Args) -> Result<(), BoxError> {
        let mut header = format!("| {} callers, 1 slot |", args.callers);
        let mut rule = "|---|".to_owned();
        for f in figures {
            header.push_str(&format!(
                " {} ({} s + {} s warm-up) |",
                f.label, f.seconds, args.warmup_seconds
            ));
            rule.push_str("---:|");
        }
        writeln!(out, "{header}\n{rule}")?;
        type Row = (&'static str, fn(&Fairness, &Args) -> String);
        let rows: [Row; 11] = [
            ("documents sealed in the window (all callers)", |f, _| {
                f.all_waits().len().to_string()
            }),
            ("errors (any status but 200)", |f, _| f.errors.to_string()),
            (
                "wait p50 / p99 / max (ms): sending → reaching the sealer",
                |f, _| {
                    let all = f.all_waits();
                    format!(
                        "{:.0} / {:.0} / {:.0}",
                        pct(&all, 50.0),
                        pct(&all, 99.0),
                        pct(&all, 100.0)
                    )
                },
            ),
            (
                "sealer: mean time per seal / mean cycle seal to seal (ms)",
                |f, _| format!("{:.1} / {:.1}", f.service_ms, f.cycle_ms),
            ),
            (
                "sealer: idle gap between two seals p50 / p99 (ms)",
                |f, _| {
                    format!(
                        "{:.2} / {:.2}",
                        pct(&f.gaps_ms, 50.0),
                        pct(&f.gaps_ms, 99.0)
                    )
                },
            ),
            ("sealer: busy share of the window", |f, _| {
                format!("{:.1} %", 100.0 * f.service_ms / f.cycle_ms)
            }),
            (
                "expected wait in a fair FIFO: (callers − 1) × cycle (ms)",
                |f, a| format!("{:.0}", a.callers.saturating_sub(1) as f64 * f.cycle_ms),
            ),
            (
                "per-caller mean wait, fastest / slowest caller (ms)",
                |f, _| {
                    let (lo, hi, _, _) = f.spread();
                    format!("{lo:.0} / {hi:.0}")
                },
            ),
            (
                "**fairness: slowest caller's mean wait / fastest's**",
                |f, _| {
                    let (lo, hi, _, _) = f.spread();
                    format!("**{:.3}**", hi / lo)
                },
            ),
            ("documents per caller, fewest / most", |f, _| {
                let (_, _, lo, hi) = f.spread();
                format!("{lo} / {hi}")
            }),
            (
                "sealer: documents sealed (whole figure) / **overlaps**",
                |f, _| format!("{} / **{}**", f.sealed, f.overlaps),
            ),
        ];
        for (name, value) in rows {
            let mut line = format!("| {name} |");
            for f in figures {
                line.push_str(&format!(" {} |", value(f, args)));
            }
            writeln!(out, "{line}")?;
        }
        Ok(())
    }

    fn per_caller_table(&self, out: &mut impl std::io::Write) -> Result<(), BoxError> {
        writeln!(out)?;
        writeln!(
            out,
            "| {} caller | documents | mean wait (ms) | p50 wait (ms) | max wait (ms) |",
            self.label
        )?;
        writeln!(out, "|---:|---:|---:|---:|---:|")?;
        for c in &self.callers {
            writeln!(
                out,
                "| {} | {} | {:.0} | {:.0} | {:.0} |",
                c.caller,
                c.waits_ms.len(),
                mean(&c.waits_ms),
                pct(&c.waits_ms, 50.0),
                pct(&c.waits_ms, 100.0)
            )?;
        }
        Ok(())
    }
}
