//! `alert`: SOAP calls per second through the gateway's ASPOne alert route, and the latency the
//! gateway adds compared with calling the internal REST service directly.
//!
//! Starts, in this process, the demo upstream (the in-memory alert service) and a gateway with
//! one `aspone_alert` route (mTLS required, in-memory state), both on loopback. Then measures,
//! one after the other, with the same number of keep-alive connections:
//!
//! * `direct`: per operation, the REST calls the gateway makes for it (`POST /v1/auth/verify`,
//!   then `GET` or `PATCH …/alert-config`), plain HTTP/1.1 to the upstream;
//! * `gateway`: the SOAP call over mutual TLS, each with a fresh WS-Security UsernameToken
//!   (PasswordDigest, new nonce), user credentials, validation, and those REST calls.
//!
//! The difference of the two latency distributions (p50, p99) is what the gateway adds: TLS,
//! SOAP parsing, WS-Security, nonce store, backoff lookup, validation, JSON, SOAP writing.
//! Prints one JSON line per measurement and a Markdown summary.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use sha1::{Digest as _, Sha1};

mod support;

use support::BoxError;

const NS: &str = "http://www.cegedim.com/aspone/mb/webservices";
const PARTNER: &str = "portal-a";
const SECRET: &str = "partner-a-secret";
const LOGIN: &str = "CPT01";
const PASSWORD: &str = "Primary-01-pass";

#[derive(Debug, Parser)]
#[command(
    name = "alert",
    about = "SOAP alert calls through the gateway vs the REST calls direct"
)]
struct Args {
    /// Keep-alive connections, one call in flight on each.
    #[arg(long, default_value_t = 1)]
    connections: usize,
    /// Measured seconds per figure.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// `get` (getAlertConfig: verify + GET) or `set` (setAlertActive: verify + PATCH).
    #[arg(long, default_value = "get")]
    op: String,
    /// Runtime worker threads shared by the load generator, the gateway and the upstream; 1 runs
    /// everything on one thread (no cross-thread wake-ups: the latencies are then the work
    /// itself, without scheduling noise from other processes).
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// The test PKI directory.
    #[arg(long, default_value = "certs-test/pki")]
    pki: PathBuf,
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

async fn bench(args: Args) -> Result<(), BoxError> {
    let set = match args.op.as_str() {
        "get" => false,
        "set" => true,
        other => return Err(format!("--op {other}: use get or set").into()),
    };
    let upstream = demo_upstream::spawn("127.0.0.1:0".parse()?).await?;
    let gateway = start_gateway(&args.pki, upstream).await?;
    let addr = gateway.addr("portals").ok_or("no listener")?;
    let tls = Arc::new(support::client_tls(&args.pki, "portal")?);
    let warmup = Duration::from_secs(1);
    let measured = Duration::from_secs(args.seconds);

    let direct = run(args.connections, warmup, measured, || {
        Box::pin(direct_worker(upstream, set))
    })
    .await?;
    let via = run(args.connections, warmup, measured, || {
        Box::pin(gateway_worker(addr, Arc::clone(&tls), set))
    })
    .await?;
    // The report is this program's output (the workspace lints forbid print macros).
    let mut out = std::io::stdout().lock();
    for (name, r) in [("direct", &direct), ("gateway", &via)] {
        writeln!(
            out,
            "{}",
            serde_json::json!({"figure": name, "op": args.op, "connections": args.connections, "threads": args.threads,
                "calls": r.count, "errors": r.errors, "rate": r.rate(measured),
                "p50_ms": ms(r.pct(50.0)), "p99_ms": ms(r.pct(99.0)), "max_ms": ms(r.pct(100.0))})
        )?;
    }
    writeln!(
        out,
        "\n| {} op, {} connection(s), {} thread(s) | calls/s | p50 (ms) | p99 (ms) | errors |",
        args.op, args.connections, args.threads
    )?;
    writeln!(out, "|---|---:|---:|---:|---:|")?;
    for (name, r) in [("REST calls direct", &direct), ("SOAP via gateway", &via)] {
        writeln!(
            out,
            "| {name} | {:.0} | {:.3} | {:.3} | {} |",
            r.rate(measured),
            ms(r.pct(50.0)),
            ms(r.pct(99.0)),
            r.errors
        )?;
    }
    writeln!(
        out,
        "| added by the gateway | | {:.3} | {:.3} | |",
        ms(via.pct(50.0)) - ms(direct.pct(50.0)),
        ms(via.pct(99.0)) - ms(direct.pct(99.0))
    )?;
    gateway.shutdown().await;
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

struct Result_ {
    latencies: Vec<Duration>,
    count: usize,
    errors: usize,
}

impl Result_ {
    fn pct(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * (self.latencies.len() - 1) as f64).round() as usize;
        self.latencies[rank.min(self.latencies.len() - 1)]
    }

    fn rate(&self, measured: Duration) -> f64 {
        self.count as f64 / measured.as_secs_f64()
    }
}

/// One worker: sends calls in a loop on one connection until the deadline; each call answers
/// whether it succeeded.
trait Worker: Send {
    fn call(
        &mut self,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<bool, BoxError>> + Send + '_>>;
}

type WorkerFuture =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Box<dyn Worker>, BoxError>> + Send>>;

async fn run(
    connections: usize,
    warmup: Duration,
    measured: Duration,
    make: impl Fn() -> WorkerFuture,
) -> Result<Result_, BoxError> {
    let start = Instant::now() + warmup;
    let end = start + measured;
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let mut worker = make().await?;
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut errors) = (Vec::new(), 0usize);
            loop {
                let t0 = Instant::now();
                if t0 >= end {
                    break;
                }
                let ok = worker.call().await.unwrap_or(false);
                if t0 >= start {
                    if ok {
                        lat.push(t0.elapsed());
                    } else {
                        errors += 1;
                    }
                }
            }
            (lat, errors)
        }));
    }
    let mut out = Result_ {
        latencies: Vec::new(),
        count: 0,
        errors: 0,
    };
    for t in tasks {
        let (lat, errors) = t.await?;
        out.count += lat.len();
        out.latencies.extend(lat);
        out.errors += errors;
    }
    out.latencies.sort_unstable();
    Ok(out)
}

// === direct REST calls ===

struct Direct {
    sender: http1::SendRequest<Full<Bytes>>,
    set: bool,
    flip: bool,
}

async fn direct_worker(upstream: SocketAddr, set: bool) -> Result<Box<dyn Worker>, BoxError> {
    let tcp = tokio::net::TcpStream::connect(upstream).await?;
    tcp.set_nodelay(true)?;
    let (sender, conn) = http1::handshake(TokioIo::new(tcp)).await?;
    tokio::spawn(conn);
    Ok(Box::new(Direct {
        sender,
        set,
        flip: false,
    }))
}

impl Direct {
    async fn send(&mut self, method: &str, path: &str, body: String) -> Result<bool, BoxError> {
        let req = http::Request::builder()
            .method(method)
            .uri(path)
            .header("host", "127.0.0.1")
            .header("content-type", "application/json")
            .header("x-request-id", "bench")
            .header("x-partner", PARTNER)
            .header("x-user", LOGIN)
            .body(Full::new(Bytes::from(body)))?;
        let resp = self.sender.send_request(req).await?;
        let ok = resp.status() == 200;
        resp.into_body().collect().await?;
        Ok(ok)
    }
}

impl Worker for Direct {
    fn call(
        &mut self,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<bool, BoxError>> + Send + '_>>
    {
        Box::pin(async move {
            let verify = format!(r#"{{"login":"{LOGIN}","password":"{PASSWORD}"}}"#);
            let ok = self.send("POST", "/v1/auth/verify", verify).await?;
            let path = format!("/v1/partners/{PARTNER}/accounts/{LOGIN}/alert-config");
            let ok2 = if self.set {
                self.flip = !self.flip;
                self.send(
                    "PATCH",
                    &path,
                    format!(r#"{{"alertActive":{}}}"#, self.flip),
                )
                .await?
            } else {
                self.send("GET", &path, String::new()).await?
            };
            Ok(ok && ok2)
        })
    }
}

// === SOAP through the gateway ===

struct Via {
    sender: http1::SendRequest<Full<Bytes>>,
    set: bool,
    flip: bool,
    counter: u64,
}

async fn gateway_worker(
    addr: SocketAddr,
    tls: Arc<rustls::ClientConfig>,
    set: bool,
) -> Result<Box<dyn Worker>, BoxError> {
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let stream = tokio_rustls::TlsConnector::from(tls)
        .connect(ServerName::try_from("localhost")?, tcp)
        .await?;
    let (sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    Ok(Box::new(Via {
        sender,
        set,
        flip: false,
        counter: 0,
    }))
}

impl Worker for Via {
    fn call(
        &mut self,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<bool, BoxError>> + Send + '_>>
    {
        Box::pin(async move {
            self.counter += 1;
            let body = if self.set {
                self.flip = !self.flip;
                format!(
                    r#"<a:setAlertActive xmlns:a="{NS}"><a:alertActive>{}</a:alertActive></a:setAlertActive>"#,
                    self.flip
                )
            } else {
                format!(r#"<a:getAlertConfig xmlns:a="{NS}"/>"#)
            };
            let xml = envelope(self.counter, &body);
            let req = http::Request::post("/aspone/alert")
                .header("host", "localhost")
                .header("content-type", "text/xml; charset=utf-8")
                .header("soapaction", "\"\"")
                .body(Full::new(Bytes::from(xml)))?;
            let resp = self.sender.send_request(req).await?;
            let status = resp.status();
            let body = resp.into_body().collect().await?.to_bytes();
            Ok(status == 200 && body.windows(7).any(|w| w == b"SUCCESS"))
        })
    }
}

/// A request as a portal builds it: fresh 16-byte nonce, Created now, PasswordDigest.
fn envelope(counter: u64, body: &str) -> String {
    let mut nonce = counter.to_le_bytes().to_vec();
    nonce.extend_from_slice(&(jiff::Timestamp::now().as_nanosecond() as u64).to_le_bytes());
    let created = jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S.%3fZ")
        .to_string();
    let mut h = Sha1::new();
    h.update(&nonce);
    h.update(created.as_bytes());
    h.update(SECRET.as_bytes());
    let b64 = base64::engine::general_purpose::STANDARD;
    format!(
        r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:a="{NS}" xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"><soapenv:Header><a:serviceVersion>1.1</a:serviceVersion><a:context><a:user><a:login>{LOGIN}</a:login><a:password>{PASSWORD}</a:password></a:user></a:context><wsse:Security soapenv:mustUnderstand="1"><wsse:UsernameToken><wsse:Username>{PARTNER}</wsse:Username><wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest">{}</wsse:Password><wsse:Nonce EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary">{}</wsse:Nonce><wsu:Created>{created}</wsu:Created></wsse:UsernameToken></wsse:Security></soapenv:Header><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"#,
        b64.encode(h.finalize()),
        b64.encode(&nonce),
    )
}

/// The gateway with one `aspone_alert` route in front of `upstream`.
async fn start_gateway(
    pki: &std::path::Path,
    upstream: SocketAddr,
) -> Result<gateway::Gateway, BoxError> {
    let yaml = format!(
        r#"
listeners:
  - name: portals
    bind: 127.0.0.1:0
    tls:
      cert: server.pem
      key: server.key
      client_auth:
        mode: required
        trust_anchors: [root-ca.cer, intermediate-ca.cer]
admin:
  bind: 127.0.0.1:0
state:
  backend: memory
logging:
  format: json
  level: warn
upstreams:
  alert-service:
    url: http://{upstream}
    connect_timeout: 1s
    request_timeout: 5s
routes:
  - name: aspone-alert
    listener: portals
    path_prefix: /aspone/alert
    methods: [GET, POST]
    handler: aspone_alert
    upstream: alert-service
    allow_any_verified_client: true
    max_body_size: 256KiB
    aspone_alert:
      partners:
        - username: {PARTNER}
          secret_env: BENCH_ALERT_SECRET
"#
    );
    let env: std::collections::HashMap<String, String> =
        [("BENCH_ALERT_SECRET".to_owned(), SECRET.to_owned())]
            .into_iter()
            .collect();
    support::start_gateway(&yaml, pki, &env).await
}
