//! `outbound`: outbound handshakes per second with a file identity versus a CPS card through
//! the fake agent (0 ms and 300 ms per signature), and the latency of an unrelated inbound
//! route meanwhile (issue 11; `bench/outbound.sh`).
//!
//! In this process: a partner (a DMP stand-in: rustls + hyper, TLS 1.2 and 1.3, a client
//! certificate from the CPS CA or the test PKI required, no session cache, no tickets, and
//! `Connection: close` on every answer, so that every outbound call is a new full handshake;
//! it counts connections, full and resumed handshakes), the fake CPS agent
//! (`demo_upstream::cps_agent`, the medecin card, its delay changed per phase), a plain HTTP
//! upstream and the probe (on a thread of their own), and the callers. The gateway runs as a
//! separate process (`--gateway`, pinned with `taskset` when `--gateway-cpu` is given), from a
//! YAML written to `--dir`, with four routes: `/plain` (proxy to the plain upstream),
//! `/dmp-file` (file identity, TLS 1.2), `/dmp-file13` (file identity, TLS 1.3), `/dmp-card`
//! (the card through the agent; TLS 1.2, as a card must).
//!
//! Phases, one after the other, each `--warmup` + `--seconds`: `idle` (the probe alone), then
//! for each identity `--callers` callers, each on its own kept-alive mTLS connection to the
//! gateway, sending calls back to back. Throughout every phase the probe sends one `GET /plain`
//! every `--probe-interval-ms` on its own kept-alive connection. Per phase: calls/s, call
//! p50/p99, errors, the partner's new connections and handshakes (full, resumed: must be 0),
//! the agent's signatures and certificate requests, the gateway's CPU per call, and the
//! probe's p50/p99/max. Prints JSON lines, then a Markdown table.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

#[allow(dead_code)]
mod support;

use support::process::{self, GatewayProcess, Launch};

use support::BoxError;
use support::h1::{Sender, connect_tls};
use support::stats::{ms, pct, sorted};

#[derive(Debug, Parser)]
#[command(
    name = "outbound",
    about = "Outbound handshakes/s: file identity vs CPS card through the agent; inbound p99 meanwhile"
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
    /// Concurrent callers in each loaded phase (one call in flight each).
    #[arg(long, default_value_t = 16)]
    callers: usize,
    /// Measured seconds per phase.
    #[arg(long, default_value_t = 15)]
    seconds: u64,
    /// Unmeasured seconds at the start of each phase.
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// The slow agent's time per signature, milliseconds.
    #[arg(long, default_value_t = 300)]
    agent_delay_ms: u64,
    /// The card route's `max_concurrent_signatures`.
    #[arg(long, default_value_t = 16)]
    max_concurrent_signatures: usize,
    /// The card route's `certificate_ttl`, seconds (the agent's certificate requests per phase
    /// show whether it is honoured).
    #[arg(long, default_value_t = 2)]
    certificate_ttl: u64,
    /// The probe's pace on the plain route, milliseconds between calls.
    #[arg(long, default_value_t = 5)]
    probe_interval_ms: u64,
    /// Request body size of the outbound calls, bytes.
    #[arg(long, default_value_t = 1024)]
    body_size: usize,
    /// Phases to run, in order: idle, file, file13, agent0, agent-slow.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "idle,file,file13,agent0,agent-slow"
    )]
    phases: Vec<String>,
    /// Clock ticks per second of /proc/PID/stat (`getconf CLK_TCK`).
    #[arg(long, default_value_t = 100)]
    clk_tck: u64,
    /// Worker threads of this process's main runtime (callers, partner, agent).
    #[arg(long, default_value_t = 2)]
    threads: usize,
}

fn main() -> Result<(), BoxError> {
    let args = Args::parse();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()?
        .block_on(bench(args))
}

// === the partner (DMP stand-in) ===

#[derive(Default)]
struct PartnerStats {
    connections: AtomicU64,
    failed_handshakes: AtomicU64,
    full: AtomicU64,
    resumed: AtomicU64,
    tls12: AtomicU64,
    tls13: AtomicU64,
    requests: AtomicU64,
}

#[derive(Debug, Clone, Copy, Default)]
struct PartnerCounts {
    connections: u64,
    failed_handshakes: u64,
    full: u64,
    resumed: u64,
    tls12: u64,
    tls13: u64,
    requests: u64,
}

impl PartnerStats {
    fn snapshot(&self) -> PartnerCounts {
        let l = |a: &AtomicU64| a.load(Ordering::SeqCst);
        PartnerCounts {
            connections: l(&self.connections),
            failed_handshakes: l(&self.failed_handshakes),
            full: l(&self.full),
            resumed: l(&self.resumed),
            tls12: l(&self.tls12),
            tls13: l(&self.tls13),
            requests: l(&self.requests),
        }
    }
}

impl std::ops::Sub for PartnerCounts {
    type Output = Self;
    fn sub(self, o: Self) -> Self {
        Self {
            connections: self.connections - o.connections,
            failed_handshakes: self.failed_handshakes - o.failed_handshakes,
            full: self.full - o.full,
            resumed: self.resumed - o.resumed,
            tls12: self.tls12 - o.tls12,
            tls13: self.tls13 - o.tls13,
            requests: self.requests - o.requests,
        }
    }
}

/// Starts the partner: answers each call with the client certificate's CN, then closes.
async fn partner(pki: &Path) -> Result<(SocketAddr, Arc<PartnerStats>), BoxError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for file in [pki.join("cps/cps-ca.pem"), pki.join("root-ca.pem")] {
        for cert in CertificateDer::pem_file_iter(&file)? {
            roots.add(cert?)?;
        }
    }
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        Arc::clone(&provider),
    )
    .build()?;
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(pki.join("server.pem"))?.collect::<Result<_, _>>()?;
    let key = PrivateKeyDer::from_pem_file(pki.join("server.key"))?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)?;
    // No resumption of any kind: every connection is a full handshake.
    config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    config.send_tls13_tickets = 0;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let stats = Arc::new(PartnerStats::default());
    let st = Arc::clone(&stats);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let _ = tcp.set_nodelay(true);
            let (acceptor, stats) = (acceptor.clone(), Arc::clone(&st));
            tokio::spawn(async move {
                stats.connections.fetch_add(1, Ordering::SeqCst);
                let Ok(tls) = acceptor.accept(tcp).await else {
                    stats.failed_handshakes.fetch_add(1, Ordering::SeqCst);
                    return;
                };
                let conn = tls.get_ref().1;
                match conn.handshake_kind() {
                    Some(rustls::HandshakeKind::Resumed) => &stats.resumed,
                    _ => &stats.full,
                }
                .fetch_add(1, Ordering::SeqCst);
                match conn.protocol_version() {
                    Some(rustls::ProtocolVersion::TLSv1_3) => &stats.tls13,
                    _ => &stats.tls12,
                }
                .fetch_add(1, Ordering::SeqCst);
                let cn = conn
                    .peer_certificates()
                    .and_then(|c| c.first().cloned())
                    .and_then(|leaf| mtls::PeerIdentity::from_leaf(&leaf))
                    .and_then(|id| id.cn)
                    .unwrap_or_default();
                let service =
                    hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        let (cn, stats) = (cn.clone(), Arc::clone(&stats));
                        async move {
                            let _ = req.into_body().collect().await;
                            stats.requests.fetch_add(1, Ordering::SeqCst);
                            Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(
                                Bytes::from(cn),
                            )))
                        }
                    });
                // keep_alive(false): `Connection: close` on the answer, then the connection
                // ends: the gateway cannot reuse it.
                let _ = hyper::server::conn::http1::Builder::new()
                    .keep_alive(false)
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    Ok((addr, stats))
}

// === the plain upstream and the probe (a thread of their own) ===

/// The plain upstream, on a current-thread runtime of its own thread: 200 `ok` to anything.
fn plain_upstream() -> Result<SocketAddr, BoxError> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("plain-upstream".into())
        .spawn(move || {
            rt.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                    return;
                };
                while let Ok((tcp, _)) = listener.accept().await {
                    let _ = tcp.set_nodelay(true);
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(
                            |req: http::Request<hyper::body::Incoming>| async move {
                                let _ = req.into_body().collect().await;
                                Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(
                                    Bytes::from_static(b"ok"),
                                )))
                            },
                        );
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(tcp), service)
                            .await;
                    });
                }
            });
        })?;
    Ok(addr)
}

/// The probe: `GET /plain/ping` every `interval` (or right after the previous answer if it
/// came later) on one kept-alive mTLS connection, on a thread of its own. Latencies (ms) of
/// the calls sent in [start, end), and the errors among them.
fn probe(
    gateway: SocketAddr,
    tls: Arc<rustls::ClientConfig>,
    interval: Duration,
    start: Instant,
    end: Instant,
) -> std::thread::JoinHandle<Result<(Vec<f64>, usize), String>> {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        rt.block_on(async move {
            let mut conn = connect_tls(gateway, &tls)
                .await
                .map_err(|e| e.to_string())?;
            let (mut lat, mut errors) = (Vec::new(), 0usize);
            let mut next = Instant::now();
            loop {
                tokio::time::sleep_until(next.into()).await;
                let t0 = Instant::now();
                if t0 >= end {
                    break;
                }
                next = t0 + interval;
                let req = http::Request::get("/plain/ping")
                    .header("host", "localhost")
                    .body(Full::new(Bytes::new()))
                    .map_err(|e| e.to_string())?;
                let ok = matches!(call(&mut conn, req).await, Ok((200, _)));
                if t0 >= start {
                    if ok {
                        lat.push(ms(t0.elapsed()));
                    } else {
                        errors += 1;
                    }
                }
                if !ok {
                    conn = connect_tls(gateway, &tls)
                        .await
                        .map_err(|e| e.to_string())?;
                }
            }
            Ok((sorted(lat), errors))
        })
    })
}

// === callers ===

async fn call(
    sender: &mut Sender,
    req: http::Request<Full<Bytes>>,
) -> Result<(u16, Bytes), BoxError> {
    sender.ready().await?;
    let resp = sender.send_request(req).await?;
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await?.to_bytes();
    Ok((status, body))
}

/// What one identity's calls look like.
#[derive(Clone)]
struct Target {
    path: &'static str,
    /// `X-CPS-Agent` (card calls).
    agent: Option<String>,
    /// What the partner must answer: the CN it saw.
    expect_cn: &'static str,
}

fn outbound_request(t: &Target, body: &Bytes) -> Result<http::Request<Full<Bytes>>, BoxError> {
    let mut b = http::Request::post(t.path)
        .header("host", "localhost")
        .header("content-type", "application/soap+xml; charset=utf-8");
    if let Some(agent) = &t.agent {
        b = b
            .header("x-cps-agent", agent)
            .header("x-cps-session", "bench-session");
    }
    Ok(b.body(Full::new(body.clone()))?)
}

fn is_good(answer: &Result<(u16, Bytes), BoxError>, t: &Target) -> bool {
    matches!(answer, Ok((200, body)) if body.windows(t.expect_cn.len()).any(|w| w == t.expect_cn.as_bytes()))
}

/// `callers` callers sending calls back to back until `end`; latencies (ms) and errors of the
/// calls sent in [start, end).
async fn callers(
    n: usize,
    gateway: SocketAddr,
    tls: &Arc<rustls::ClientConfig>,
    target: &Target,
    body: &Bytes,
    start: Instant,
    end: Instant,
) -> Result<(Vec<f64>, usize), BoxError> {
    let mut tasks = Vec::new();
    for _ in 0..n {
        let mut conn = connect_tls(gateway, tls).await?;
        let (tls, t, body) = (Arc::clone(tls), target.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut errors) = (Vec::new(), 0usize);
            loop {
                let t0 = Instant::now();
                if t0 >= end {
                    break;
                }
                let answer = match outbound_request(&t, &body) {
                    Ok(req) => call(&mut conn, req).await,
                    Err(e) => Err(e),
                };
                let ok = is_good(&answer, &t);
                if t0 >= start {
                    if ok {
                        lat.push(ms(t0.elapsed()));
                    } else {
                        errors += 1;
                    }
                }
                if answer.is_err() {
                    match connect_tls(gateway, &tls).await {
                        Ok(c) => conn = c,
                        Err(_) => {
                            tokio::time::sleep(Duration::from_millis(10)).await;
                        }
                    }
                }
            }
            (lat, errors)
        }));
    }
    let (mut all, mut errors) = (Vec::new(), 0);
    for t in tasks {
        let (lat, e) = t.await?;
        all.extend(lat);
        errors += e;
    }
    Ok((sorted(all), errors))
}

// === statistics ===

struct Phase {
    name: String,
    what: String,
    calls: Vec<f64>,
    errors: usize,
    probe: Vec<f64>,
    probe_errors: usize,
    partner: PartnerCounts,
    signatures: u64,
    certificate_requests: u64,
    agent_max_in_flight: usize,
    gateway_cpu_s: f64,
    gateway_threads_max: usize,
    seconds: f64,
    /// The gateway's CPU per second for the probe alone (the idle phase, when it ran first).
    probe_cpu_rate: Option<f64>,
}

impl Phase {
    fn rate(&self) -> f64 {
        self.calls.len() as f64 / self.seconds
    }

    /// The gateway's CPU per outbound call (ms), less what the probe costs it when known.
    fn cpu_per_call_ms(&self) -> f64 {
        if self.calls.is_empty() {
            return f64::NAN;
        }
        let probe = self.probe_cpu_rate.unwrap_or(0.0) * self.seconds;
        (self.gateway_cpu_s - probe) * 1000.0 / self.calls.len() as f64
    }

    fn json(&self, args: &Args) -> serde_json::Value {
        serde_json::json!({
            "phase": self.name, "what": self.what, "callers": if self.name == "idle" { 0 } else { args.callers },
            "seconds": self.seconds, "calls": self.calls.len(), "errors": self.errors,
            "calls_per_s": self.rate(),
            "call_p50_ms": pct(&self.calls, 50.0), "call_p99_ms": pct(&self.calls, 99.0),
            "partner_connections": self.partner.connections, "partner_requests": self.partner.requests,
            "partner_full": self.partner.full, "partner_resumed": self.partner.resumed,
            "partner_tls12": self.partner.tls12, "partner_tls13": self.partner.tls13,
            "partner_failed_handshakes": self.partner.failed_handshakes,
            "partner_handshakes_per_s": self.partner.full as f64 / self.seconds,
            "agent_signatures": self.signatures, "agent_certificate_requests": self.certificate_requests,
            "agent_max_in_flight": self.agent_max_in_flight,
            "gateway_cpu_s": self.gateway_cpu_s,
            "gateway_cpu_ms_per_call": if self.calls.is_empty() { f64::NAN } else { self.gateway_cpu_s * 1000.0 / self.calls.len() as f64 },
            "gateway_cpu_ms_per_call_net_of_probe": self.cpu_per_call_ms(),
            "gateway_core_busy": self.gateway_cpu_s / self.seconds,
            "gateway_threads_max": self.gateway_threads_max,
            "probe_calls": self.probe.len(), "probe_errors": self.probe_errors,
            "probe_p50_ms": pct(&self.probe, 50.0), "probe_p99_ms": pct(&self.probe, 99.0),
            "probe_max_ms": pct(&self.probe, 100.0),
        })
    }
}

struct Bench {
    args: Args,
    gateway: SocketAddr,
    tls: Arc<rustls::ClientConfig>,
    partner: Arc<PartnerStats>,
    agent: demo_upstream::cps_agent::FakeAgent,
    body: Bytes,
}

async fn bench(args: Args) -> Result<(), BoxError> {
    mtls::install_default_provider();
    std::fs::create_dir_all(&args.dir)?;
    let pki = std::fs::canonicalize(&args.pki)?;
    let (partner_addr, partner) = partner(&pki).await?;
    let cards = pki.join("cps/cards");
    let options = demo_upstream::cps_agent::AgentOptions::from_files(
        &cards.join("medecin.pem"),
        &cards.join("medecin.key"),
    )?;
    let agent = demo_upstream::cps_agent::spawn(options).await?;
    let plain = plain_upstream()?;

    let gateway: SocketAddr = ([127, 0, 0, 1], process::free_port()?).into();
    let admin: SocketAddr = ([127, 0, 0, 1], process::free_port()?).into();
    let config = args.dir.join("gateway.yaml");
    std::fs::write(
        &config,
        yaml(&args, &pki, gateway, admin, partner_addr, plain, &agent),
    )?;
    let mut gw = GatewayProcess::start(&Launch {
        binary: &args.gateway,
        cpu: args.gateway_cpu.as_deref(),
        threads: args.gateway_threads,
        config: &config,
        dir: &args.dir,
        env: &[],
    })?;
    gw.wait_listening(gateway).await?;
    let mut tls = support::client_tls(&pki, "internal-app")?;
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    let mut body =
        b"<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Body>".to_vec();
    body.resize(args.body_size.max(body.len()), b' ');
    let bench = Bench {
        gateway,
        tls: Arc::new(tls),
        partner,
        agent,
        body: Bytes::from(body),
        args,
    };
    bench.smoke().await?;

    let load_before = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut phases: Vec<Phase> = Vec::new();
    let mut probe_cpu_rate = None;
    for name in bench.args.phases.clone() {
        let mut phase = bench.phase(&name, &gw).await?;
        if name == "idle" {
            probe_cpu_rate = Some(phase.gateway_cpu_s / phase.seconds);
        }
        phase.probe_cpu_rate = probe_cpu_rate;
        let line = phase.json(&bench.args);
        writeln!(std::io::stdout().lock(), "{line}")?;
        phases.push(phase);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let load_after = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load = |s: &str| s.split_whitespace().take(3).collect::<Vec<_>>().join(" ");

    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "\n{} callers (one call in flight each, kept-alive mTLS to the gateway); {} s measured per phase after {} s warm-up; \
         probe: one GET /plain every {} ms on its own connection. Card route: max_concurrent_signatures {}, certificate_ttl {} s. \
         Gateway pid {} (TOKIO_WORKER_THREADS={}, cpu {}). Load average before/after: {} / {}.\n",
        bench.args.callers,
        bench.args.seconds,
        bench.args.warmup,
        bench.args.probe_interval_ms,
        bench.args.max_concurrent_signatures,
        bench.args.certificate_ttl,
        gw.pid(),
        bench.args.gateway_threads,
        bench.args.gateway_cpu.as_deref().unwrap_or("any"),
        load(&load_before),
        load(&load_after),
    )?;
    writeln!(
        out,
        "| phase | outbound calls/s | call p50 / p99 (ms) | errors | partner: new connections / full / resumed handshakes | agent: signatures / certificate requests | gateway CPU per call (ms, net of the probe's) / core busy | **plain route p50 / p99 / max (ms)** |"
    )?;
    writeln!(out, "|---|---:|---|---:|---|---|---|---|")?;
    for p in &phases {
        writeln!(
            out,
            "| {} | {} | {} | {} | {} / {} / {} | {} / {} | {} / {:.0} % | **{:.2} / {:.2}** / {:.1} |",
            p.what,
            if p.name == "idle" {
                "—".to_owned()
            } else {
                format!("{:.1}", p.rate())
            },
            if p.name == "idle" {
                "—".to_owned()
            } else {
                format!("{:.1} / {:.1}", pct(&p.calls, 50.0), pct(&p.calls, 99.0))
            },
            p.errors + p.probe_errors,
            p.partner.connections,
            p.partner.full,
            p.partner.resumed,
            p.signatures,
            p.certificate_requests,
            if p.calls.is_empty() {
                "—".to_owned()
            } else {
                format!("{:.2}", p.cpu_per_call_ms())
            },
            100.0 * p.gateway_cpu_s / p.seconds,
            pct(&p.probe, 50.0),
            pct(&p.probe, 99.0),
            pct(&p.probe, 100.0),
        )?;
    }
    drop(gw);
    Ok(())
}

fn yaml(
    args: &Args,
    pki: &Path,
    gateway: SocketAddr,
    admin: SocketAddr,
    partner: SocketAddr,
    plain: SocketAddr,
    agent: &demo_upstream::cps_agent::FakeAgent,
) -> String {
    let pki = pki.display();
    let port = partner.port();
    let file = |name: &str, versions: &str| {
        format!(
            r#"  - name: {name}
    path_prefix: /{name}
    methods: [POST]
    handler: outbound
    strip_prefix: true
    allowed_clients: [internal-app]
    outbound:
      base_url: https://localhost:{port}/dmp
      trust_anchors: [{pki}/ca-bundle.pem]
      tls_versions: {versions}
      identity:
        file: {{cert: {pki}/clients/vendor.pem, key: {pki}/clients/vendor.key}}
"#
        )
    };
    format!(
        r#"# Written by bench/loadgen/src/bin/outbound.rs.
listeners:
  - name: edge
    bind: {gateway}
    tls:
      cert: {pki}/server.pem
      key: {pki}/server.key
      client_auth:
        mode: required
        trust_anchors: [{pki}/root-ca.cer, {pki}/intermediate-ca.cer]
clients:
  internal-app:
    cn: internal-app.test
    ou: INTERNAL-TEST
upstreams:
  plain:
    url: http://{plain}
    connect_timeout: 1s
    request_timeout: 10s
routes:
  - name: plain
    path_prefix: /plain
    handler: proxy
    upstream: plain
    allowed_clients: [internal-app]
{file12}{file13}  - name: dmp-card
    path_prefix: /dmp-card
    methods: [POST]
    handler: outbound
    strip_prefix: true
    allowed_clients: [internal-app]
    timeout: 30s
    outbound:
      base_url: https://localhost:{port}/dmp
      trust_anchors: [{pki}/ca-bundle.pem]
      tls_versions: [tls12]
      identity:
        cps_agent:
          agent_fingerprints: ["{fingerprint}"]
          agent_networks: [127.0.0.1/32]
          agent_ports: [{agent_port}]
          sign_timeout: 10s
          certificate_ttl: {ttl}s
          max_concurrent_signatures: {max_sig}
admin:
  bind: {admin}
state:
  backend: memory
logging:
  format: json
  level: info
shutdown:
  grace_period: 1s
"#,
        file12 = file("dmp-file", "[tls12]"),
        file13 = file("dmp-file13", "[tls13]"),
        fingerprint = hex::encode(agent.fingerprint),
        agent_port = agent.addr.port(),
        ttl = args.certificate_ttl,
        max_sig = args.max_concurrent_signatures,
    )
}

impl Bench {
    fn target(&self, phase: &str) -> Option<(Target, String, Duration)> {
        let file = |path, what: &str| {
            Some((
                Target {
                    path,
                    agent: None,
                    expect_cn: "vendor-gateway.test",
                },
                what.to_owned(),
                Duration::ZERO,
            ))
        };
        let card = |delay: u64| {
            Some((
                Target {
                    path: "/dmp-card/call",
                    agent: Some(self.agent.base_url()),
                    expect_cn: "MEDECIN0001",
                },
                format!("card through the agent, {delay} ms per signature (TLS 1.2)"),
                Duration::from_millis(delay),
            ))
        };
        match phase {
            "file" => file("/dmp-file/call", "file identity (TLS 1.2)"),
            "file13" => file("/dmp-file13/call", "file identity (TLS 1.3)"),
            "agent0" => card(0),
            "agent-slow" => card(self.args.agent_delay_ms),
            _ => None,
        }
    }

    /// Each route once; the partner must see the right certificate on a new connection each.
    async fn smoke(&self) -> Result<(), BoxError> {
        let mut conn = connect_tls(self.gateway, &self.tls).await?;
        let req = http::Request::get("/plain/ping")
            .header("host", "localhost")
            .body(Full::new(Bytes::new()))?;
        let plain = call(&mut conn, req).await?;
        if plain.0 != 200 {
            return Err(format!("smoke: /plain answered {}", plain.0).into());
        }
        let before = self.partner.snapshot();
        for phase in ["file", "file13", "agent0"] {
            let Some((t, _, _)) = self.target(phase) else {
                continue;
            };
            for _ in 0..2 {
                let answer = call(&mut conn, outbound_request(&t, &self.body)?).await;
                if !is_good(&answer, &t) {
                    let got = match &answer {
                        Ok((s, b)) => format!("{s}: {}", String::from_utf8_lossy(b)),
                        Err(e) => e.to_string(),
                    };
                    return Err(format!("smoke: {phase} got {got}").into());
                }
            }
        }
        let d = self.partner.snapshot() - before;
        if d.requests != 6 || d.connections != 6 || d.resumed != 0 || d.tls13 != 2 {
            return Err(format!(
                "smoke: the partner saw {d:?}: expected 6 calls on 6 new connections, 2 of them TLS 1.3, none resumed"
            )
            .into());
        }
        Ok(())
    }

    async fn phase(&self, name: &str, gw: &GatewayProcess) -> Result<Phase, BoxError> {
        let target = self.target(name);
        if target.is_none() && name != "idle" {
            return Err(
                format!("unknown phase {name}: idle, file, file13, agent0, agent-slow").into(),
            );
        }
        if let Some((_, _, delay)) = &target {
            self.agent.set_sign_delay(*delay);
        }
        let start = Instant::now() + Duration::from_secs(self.args.warmup);
        let end = start + Duration::from_secs(self.args.seconds);
        let probe = probe(
            self.gateway,
            Arc::clone(&self.tls),
            Duration::from_millis(self.args.probe_interval_ms),
            start,
            end,
        );
        // Counters over the measured window, and the gateway's threads (block_in_place).
        let partner = Arc::clone(&self.partner);
        let agent_stats = Arc::clone(&self.agent.stats);
        let (pid_clk, pid) = (self.args.clk_tck, gw.pid());
        let watcher = tokio::spawn(async move {
            tokio::time::sleep_until(start.into()).await;
            let cpu = |p: u32| {
                let g = process::cpu_seconds(p, pid_clk);
                (g, Instant::now())
            };
            let (cpu0, t0) = cpu(pid);
            let p0 = partner.snapshot();
            let (s0, c0) = (agent_stats.signatures(), agent_stats.certificate_requests());
            let mut threads = 0;
            while Instant::now() < end {
                threads = threads.max(process::threads(pid));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let (cpu1, t1) = cpu(pid);
            (
                cpu1 - cpu0,
                (t1 - t0).as_secs_f64(),
                partner.snapshot() - p0,
                agent_stats.signatures() as u64 - s0 as u64,
                agent_stats.certificate_requests() as u64 - c0 as u64,
                threads,
            )
        });
        let (calls, errors, what) = match &target {
            Some((t, what, _)) => {
                let (c, e) = callers(
                    self.args.callers,
                    self.gateway,
                    &self.tls,
                    t,
                    &self.body,
                    start,
                    end,
                )
                .await?;
                (c, e, what.clone())
            }
            None => {
                tokio::time::sleep_until(end.into()).await;
                (Vec::new(), 0, "idle: the probe alone".to_owned())
            }
        };
        let (cpu, seconds, partner, signatures, certificate_requests, threads) = watcher.await?;
        let (probe_lat, probe_errors) = tokio::task::spawn_blocking(move || probe.join())
            .await?
            .map_err(|_| "the probe thread panicked")??;
        Ok(Phase {
            name: name.to_owned(),
            what,
            calls,
            errors,
            probe: probe_lat,
            probe_errors,
            partner,
            signatures,
            certificate_requests,
            agent_max_in_flight: self.agent.stats.max_in_flight(),
            gateway_cpu_s: cpu,
            gateway_threads_max: threads,
            seconds,
            probe_cpu_rate: None,
        })
    }
}
