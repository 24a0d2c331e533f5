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
use std::time::Duration;

use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;

mod support;

use support::BoxError;
use support::soap_load::{LOGIN, PARTNER, PASSWORD, SECRET, Worker, gateway_worker, run};
use support::stats::ms;

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
