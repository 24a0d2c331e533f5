//! `sas`: SAS slot searches (INT_R01) through the gateway's `sas_fhir` route, on a kept-alive
//! mTLS connection and from a fresh connection each time, and the planning call the gateway
//! makes for each search sent directly to the planning service.
//!
//! Starts, in this process, the demo upstream (the in-memory planning service) and a gateway
//! with one `sas_fhir` route pinned to the SAS recette certificate (no TLS session cache, so
//! every fresh connection is a full handshake). Two searches, as the issue asks: 1 practitioner
//! over 3 days and 25 practitioners over 7 days. For each, one after the other:
//!
//! * `direct`: `GET /v1/planning/slots?…` on a kept-alive plain HTTP/1.1 connection: the
//!   upstream's own time (and the loopback hop);
//! * `kept-alive`: the FHIR search over one kept-alive mTLS connection;
//! * `proxied`: the same planning call through a plain `proxy` route of the gateway over the
//!   same kind of connection: the gateway's TLS and HTTP cost without the FHIR translation;
//! * `fresh`: new TCP connection, full mTLS handshake (RSA-2048 client certificate, server chain
//!   verified), the search, `Connection: close`: what the ANS kit measures against its 1 s.
//!
//! The gateway's time is the difference between `kept-alive` and `direct` (p50 and p99 of each
//! distribution). One search in flight at a time (`--connections` for more kept-alive ones).

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;

mod support;

use support::BoxError;

#[derive(Debug, Parser)]
#[command(
    name = "sas",
    about = "SAS slot searches through the gateway vs the planning call direct"
)]
struct Args {
    /// Measured seconds per figure.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Kept-alive connections, one search in flight on each.
    #[arg(long, default_value_t = 1)]
    connections: usize,
    /// The test PKI directory.
    #[arg(long, default_value = "certs-test/pki")]
    pki: PathBuf,
}

struct Sample {
    latencies: Vec<Duration>,
    errors: usize,
    elapsed: Duration,
}

impl Sample {
    fn pct(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return 0.0;
        }
        let last = self.latencies.len() - 1;
        // Rank of the percentile in the sorted latencies; both casts stay in range.
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let rank = ((p / 100.0) * last as f64).round() as usize;
        self.latencies[rank.min(last)].as_secs_f64() * 1000.0
    }

    #[allow(clippy::cast_precision_loss)]
    fn rate(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args = Args::parse();
    mtls::install_default_provider();
    let upstream = demo_upstream::spawn("127.0.0.1:0".parse()?).await?;
    let gateway = start_gateway(&args.pki, upstream).await?;
    let addr = gateway.addr("sas").ok_or("no listener")?;
    let tls = client_tls(&args.pki)?;
    let measured = Duration::from_secs(args.seconds);
    // The report is this tool's output.
    let mut out = std::io::stdout().lock();
    let mut rows = Vec::new();
    for (label, n, days) in [
        ("1 practitioner, 3 days", 1, 3),
        ("25 practitioners, 7 days", 25, 7),
    ] {
        let (fhir, direct_path, slots) = queries(n, days, addr, &tls).await?;
        let direct = kept_alive(args.connections, measured, |_| {
            Box::pin(plain(upstream, direct_path.clone()))
        })
        .await?;
        let kept = kept_alive(args.connections, measured, |_| {
            Box::pin(mtls_conn(addr, Arc::clone(&tls), fhir.clone()))
        })
        .await?;
        // The same planning call proxied by the gateway over mTLS (`handler: proxy`): the
        // gateway's TLS and HTTP cost without the FHIR translation.
        let proxied_path = format!("/proxied{direct_path}");
        let proxied = kept_alive(args.connections, measured, |_| {
            Box::pin(mtls_conn(addr, Arc::clone(&tls), proxied_path.clone()))
        })
        .await?;
        let fresh = fresh(addr, &tls, &fhir, measured).await;
        for (figure, s) in [
            ("direct planning call", &direct),
            ("gateway, kept-alive", &kept),
            ("planning call proxied by the gateway", &proxied),
            ("gateway, fresh mTLS connection", &fresh),
        ] {
            writeln!(
                out,
                "{}",
                serde_json::json!({"search": label, "figure": figure, "slots": slots, "searches": s.latencies.len(),
                    "errors": s.errors, "rate": s.rate(), "p50_ms": s.pct(50.0), "p99_ms": s.pct(99.0), "max_ms": s.pct(100.0)})
            )?;
        }
        rows.push((label, slots, direct, kept, fresh, proxied));
    }
    writeln!(
        out,
        "\n| search | figure | searches/s | p50 (ms) | p99 (ms) | errors |"
    )?;
    writeln!(out, "|---|---|---:|---:|---:|---:|")?;
    for (label, slots, direct, kept, fresh, proxied) in &rows {
        let label = format!("{label} ({slots} slots)");
        for (figure, s) in [
            ("planning call direct", direct),
            ("gateway, kept-alive", kept),
            (
                "planning call proxied by the gateway (mTLS, kept-alive)",
                proxied,
            ),
            ("gateway, fresh mTLS connection", fresh),
        ] {
            writeln!(
                out,
                "| {label} | {figure} | {:.0} | {:.3} | {:.3} | {} |",
                s.rate(),
                s.pct(50.0),
                s.pct(99.0),
                s.errors
            )?;
        }
        writeln!(
            out,
            "| {label} | **gateway time** (kept-alive − direct) | | {:.3} | {:.3} | |",
            kept.pct(50.0) - direct.pct(50.0),
            kept.pct(99.0) - direct.pct(99.0)
        )?;
        writeln!(
            out,
            "| {label} | of which FHIR translation (kept-alive − proxied) | | {:.3} | {:.3} | |",
            kept.pct(50.0) - proxied.pct(50.0),
            kept.pct(99.0) - proxied.pct(99.0)
        )?;
    }
    gateway.shutdown().await;
    Ok(())
}

/// The FHIR search and the planning call it makes, and the number of slots it answers.
async fn queries(
    n: usize,
    days: i64,
    addr: SocketAddr,
    tls: &Arc<rustls::ClientConfig>,
) -> Result<(String, String, usize), BoxError> {
    let ids: Vec<String> = if n == 1 {
        vec![demo_upstream::sas::DEMO_RPPS[0].to_owned()]
    } else {
        (0..n)
            .map(|i| format!("{}{i:02}", demo_upstream::sas::BENCH_RPPS_PREFIX))
            .collect()
    };
    let tz = jiff::tz::TimeZone::get("Europe/Paris")?;
    let today = jiff::Timestamp::now().to_zoned(tz.clone()).date();
    let from = today
        .checked_add(jiff::Span::new().days(1))?
        .to_zoned(tz.clone())?;
    let to = today
        .checked_add(jiff::Span::new().days(days + 1))?
        .to_zoned(tz)?;
    let fmt = |z: &jiff::Zoned| {
        z.strftime("%Y-%m-%dT%H:%M:%S.000%:z")
            .to_string()
            .replace('+', "%2B")
    };
    let list: Vec<String> = ids
        .iter()
        .map(|i| format!("urn:oid:1.2.250.1.71.4.2.1%7C8{i}"))
        .collect();
    let fhir = format!(
        "/sas/recette/fhir/Slot?_include=Slot:schedule&_include:iterate=Schedule:actor&schedule.actor:Practitioner.identifier={}&start=ge{}&start=le{}&status=free",
        list.join(","),
        fmt(&from),
        fmt(&to)
    );
    let upstream_ids: String = ids.iter().map(|i| format!("&rpps={i}")).collect();
    let direct = format!(
        "/v1/planning/slots?start={}&end={}{upstream_ids}",
        from.timestamp().to_string().replace(':', "%3A"),
        to.timestamp().to_string().replace(':', "%3A")
    );
    let body = one_fresh(addr, tls, &fhir).await?;
    let v: serde_json::Value = serde_json::from_slice(&body)?;
    let total = v["total"].as_u64().ok_or("no total in the answer")?;
    Ok((fhir, direct, usize::try_from(total)?))
}

type Worker = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Conn, BoxError>> + Send>>;

enum Conn {
    Plain(http1::SendRequest<Empty<Bytes>>, String, String),
    Tls(http1::SendRequest<Empty<Bytes>>, String),
}

async fn plain(addr: SocketAddr, path: String) -> Result<Conn, BoxError> {
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let (sender, conn) = http1::handshake(TokioIo::new(tcp)).await?;
    tokio::spawn(conn);
    Ok(Conn::Plain(sender, path, addr.to_string()))
}

async fn mtls_conn(
    addr: SocketAddr,
    tls: Arc<rustls::ClientConfig>,
    path: String,
) -> Result<Conn, BoxError> {
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let stream = tokio_rustls::TlsConnector::from(tls)
        .connect(ServerName::try_from("localhost")?, tcp)
        .await?;
    let (sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    Ok(Conn::Tls(sender, path))
}

async fn call(conn: &mut Conn) -> Result<(), BoxError> {
    let (sender, req) = match conn {
        Conn::Plain(s, path, host) => (
            s,
            http::Request::get(path.as_str())
                .header("host", host.as_str())
                .body(Empty::new())?,
        ),
        Conn::Tls(s, path) => (
            s,
            http::Request::get(path.as_str())
                .header("host", "localhost")
                .header("accept", "application/json+fhir")
                .body(Empty::new())?,
        ),
    };
    let resp = sender.send_request(req).await?;
    let status = resp.status();
    resp.into_body().collect().await?;
    if status != http::StatusCode::OK {
        return Err(format!("status {status}").into());
    }
    Ok(())
}

async fn kept_alive(
    connections: usize,
    measured: Duration,
    open: impl Fn(usize) -> Worker,
) -> Result<Sample, BoxError> {
    let mut tasks = Vec::new();
    for i in 0..connections {
        let mut conn = open(i).await?;
        tasks.push(tokio::spawn(async move {
            let warm_until = Instant::now() + Duration::from_millis(500);
            while Instant::now() < warm_until {
                let _ = call(&mut conn).await;
            }
            let (mut lat, mut errors) = (Vec::new(), 0);
            let started = Instant::now();
            while started.elapsed() < measured {
                let t = Instant::now();
                match call(&mut conn).await {
                    Ok(()) => lat.push(t.elapsed()),
                    Err(_) => errors += 1,
                }
            }
            (lat, errors, started.elapsed())
        }));
    }
    let mut sample = Sample {
        latencies: Vec::new(),
        errors: 0,
        elapsed: Duration::ZERO,
    };
    for t in tasks {
        let (lat, errors, elapsed) = t.await?;
        sample.latencies.extend(lat);
        sample.errors += errors;
        sample.elapsed = sample.elapsed.max(elapsed);
    }
    sample.latencies.sort();
    Ok(sample)
}

async fn one_fresh(
    addr: SocketAddr,
    tls: &Arc<rustls::ClientConfig>,
    path: &str,
) -> Result<Bytes, BoxError> {
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let stream = tokio_rustls::TlsConnector::from(Arc::clone(tls))
        .connect(ServerName::try_from("localhost")?, tcp)
        .await?;
    if stream.get_ref().1.handshake_kind() != Some(rustls::HandshakeKind::Full) {
        return Err("a resumed handshake: the fresh figure must be full handshakes".into());
    }
    let (mut sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let req = http::Request::get(path)
        .header("host", "localhost")
        .header("accept", "application/json+fhir")
        .header("connection", "close")
        .body(Empty::<Bytes>::new())?;
    let resp = sender.send_request(req).await?;
    let status = resp.status();
    let body = resp.into_body().collect().await?.to_bytes();
    if status != http::StatusCode::OK {
        return Err(format!("status {status}: {}", String::from_utf8_lossy(&body)).into());
    }
    Ok(body)
}

async fn fresh(
    addr: SocketAddr,
    tls: &Arc<rustls::ClientConfig>,
    path: &str,
    measured: Duration,
) -> Sample {
    let (mut latencies, mut errors) = (Vec::new(), 0);
    let started = Instant::now();
    while started.elapsed() < measured {
        let t = Instant::now();
        match one_fresh(addr, tls, path).await {
            Ok(_) => latencies.push(t.elapsed()),
            Err(_) => errors += 1,
        }
    }
    let elapsed = started.elapsed();
    latencies.sort();
    Sample {
        latencies,
        errors,
        elapsed,
    }
}

fn client_tls(pki: &Path) -> Result<Arc<rustls::ClientConfig>, BoxError> {
    let mut config = support::client_tls(pki, "sas-recette")?;
    // Every fresh connection is a full handshake, as for SAS's first call.
    config.resumption = rustls::client::Resumption::disabled();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

async fn start_gateway(pki: &Path, upstream: SocketAddr) -> Result<gateway::Gateway, BoxError> {
    let yaml = format!(
        r#"
listeners:
  - name: sas
    bind: 127.0.0.1:0
    tls:
      cert: server.pem
      key: server.key
      client_auth:
        mode: optional
        trust_anchors: [root-ca.cer, intermediate-ca.cer]
admin:
  bind: 127.0.0.1:0
state:
  backend: memory
logging:
  format: json
  level: warn
clients:
  sas-recette:
    cn: sas-agregateur-recette
    ou: "499700234190004"
    environment: recette
upstreams:
  planning:
    url: http://{upstream}
    connect_timeout: 1s
    request_timeout: 5s
routes:
  - name: proxied-planning
    path_prefix: /proxied
    strip_prefix: true
    handler: proxy
    upstream: planning
    allowed_clients: [sas-recette]
  - name: sas-recette-fhir
    path_prefix: /sas/recette/fhir
    methods: [GET, POST, PUT]
    handler: sas_fhir
    upstream: planning
    allowed_clients: [sas-recette]
    sas_fhir:
      deadline: 3s
"#
    );
    support::start_gateway(&yaml, pki, &std::collections::HashMap::new()).await
}
