//! The two client modes: full handshakes, and keep-alive requests.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, StatusCode, header};
use http_body_util::{BodyExt, Empty, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use rustls::HandshakeKind;
use rustls_pki_types::ServerName;
use serde_json::json;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::stats::{self, Recorder};
use crate::tls::{self, BoxError, TlsArgs};

/// Options shared by both client modes.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct Common {
    /// Address of the proxy under test (loopback only in the benchmark).
    #[arg(long)]
    pub(crate) target: SocketAddr,
    /// Request path.
    #[arg(long, default_value = "/")]
    pub(crate) path: String,
    /// How long to measure, e.g. `10s`, `500ms`.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub(crate) duration: Duration,
    /// Free-form label copied into the JSON report (e.g. `gateway`, `nginx`).
    #[arg(long, default_value = "")]
    pub(crate) label: String,
    /// TLS options.
    #[command(flatten)]
    pub(crate) tls: TlsArgs,
}

/// Parses `10s`, `500ms`, `2m` or a bare number of seconds.
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("bad duration `{s}` (use e.g. 10s, 500ms, 2m)");
    let (num, unit) = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .map_or((s, "s"), |i| s.split_at(i));
    let n: f64 = num.parse().map_err(|_| bad())?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        _ => return Err(bad()),
    };
    Duration::try_from_secs_f64(secs).map_err(|_| bad())
}

struct Ctx {
    connector: TlsConnector,
    name: ServerName<'static>,
    common: Common,
}

impl Ctx {
    fn new(common: Common) -> Result<Arc<Self>, BoxError> {
        let config = tls::client_config(&common.tls)?;
        Ok(Arc::new(Self {
            connector: TlsConnector::from(config),
            name: tls::server_name(&common.tls)?,
            common,
        }))
    }

    async fn connect(&self) -> Result<TlsStream<TcpStream>, BoxError> {
        let tcp = TcpStream::connect(self.common.target).await?;
        tcp.set_nodelay(true)?;
        Ok(self.connector.connect(self.name.clone(), tcp).await?)
    }

    fn host(&self) -> String {
        self.common.tls.server_name.clone()
    }
}

/// Full handshakes: a new TCP connection and a full mTLS handshake per iteration, one GET, close.
pub(crate) async fn handshakes(common: Common, concurrency: usize) -> Result<(), BoxError> {
    let ctx = Ctx::new(common)?;
    let start = Instant::now();
    let deadline = start + ctx.common.duration;
    let mut tasks = Vec::with_capacity(concurrency);
    for _ in 0..concurrency.max(1) {
        let ctx = Arc::clone(&ctx);
        tasks.push(tokio::spawn(async move {
            let mut rec = Recorder::default();
            while Instant::now() < deadline {
                let t = Instant::now();
                match one_handshake(&ctx).await {
                    Ok(kind) => {
                        match kind {
                            Some(HandshakeKind::Resumed) => rec.resumed_handshakes += 1,
                            _ => rec.full_handshakes += 1,
                        }
                        rec.ok(t.elapsed());
                    }
                    Err(e) => rec.err(e),
                }
            }
            rec
        }));
    }
    let mut rec = Recorder::default();
    for t in tasks {
        rec.merge(t.await?);
    }
    let extra = json!({"label": ctx.common.label, "concurrency": concurrency});
    let report = stats::report(
        "handshakes",
        &ctx.common.target.to_string(),
        start.elapsed(),
        rec,
        extra,
    );
    stats::print(&report);
    Ok(())
}

async fn one_handshake(ctx: &Ctx) -> Result<Option<HandshakeKind>, BoxError> {
    let tls = ctx.connect().await?;
    let kind = tls.get_ref().1.handshake_kind();
    let (mut sender, conn) = http1::handshake(TokioIo::new(tls)).await?;
    let driver = tokio::spawn(conn);
    let req = Request::get(ctx.common.path.as_str())
        .header(header::HOST, ctx.host())
        // The server closes first, so TIME_WAIT sockets pile up on its side, not on our ports.
        .header(header::CONNECTION, "close")
        .body(Empty::<Bytes>::new())?;
    let resp = sender.send_request(req).await?;
    let status = resp.status();
    resp.into_body().collect().await?;
    drop(sender);
    driver.await??;
    check(status)?;
    Ok(kind)
}

fn check(status: StatusCode) -> Result<(), BoxError> {
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("HTTP status {status}").into())
    }
}

/// Keep-alive POSTs over `connections` persistent connections, after `warmup`.
pub(crate) async fn requests(
    common: Common,
    connections: usize,
    body_size: usize,
    warmup: Duration,
) -> Result<(), BoxError> {
    let ctx = Ctx::new(common)?;
    let body = Bytes::from(vec![b'x'; body_size]);
    let mut handles = Vec::with_capacity(connections);
    // Connect everything first: handshakes are not part of this figure.
    let mut senders = Vec::with_capacity(connections);
    for _ in 0..connections.max(1) {
        senders.push(open(&ctx).await?);
    }
    let begin = Instant::now() + warmup;
    let end = begin + ctx.common.duration;
    for sender in senders {
        let ctx = Arc::clone(&ctx);
        let body = body.clone();
        handles.push(tokio::spawn(async move {
            let mut rec = Recorder::default();
            let mut reconnects = 0u64;
            let mut warmup_ops = 0u64;
            let mut sender = Some(sender);
            loop {
                let t = Instant::now();
                if t >= end {
                    break;
                }
                let s = match sender.take() {
                    Some(s) => s,
                    None => match open(&ctx).await {
                        Ok(s) => {
                            reconnects += 1;
                            s
                        }
                        Err(e) => {
                            rec.err(e);
                            tokio::time::sleep(Duration::from_millis(10)).await;
                            continue;
                        }
                    },
                };
                let mut s = s;
                match post(&ctx, &mut s, body.clone()).await {
                    Ok(()) if t >= begin => {
                        rec.ok(t.elapsed());
                        sender = Some(s);
                    }
                    Ok(()) => {
                        warmup_ops += 1;
                        sender = Some(s);
                    }
                    Err(e) => rec.err(e),
                }
            }
            (rec, reconnects, warmup_ops)
        }));
    }
    let mut rec = Recorder::default();
    let (mut reconnects, mut warmup_ops) = (0, 0);
    for h in handles {
        let (r, n, w) = h.await?;
        rec.merge(r);
        reconnects += n;
        warmup_ops += w;
    }
    let elapsed = Instant::now().min(end).saturating_duration_since(begin);
    let extra = json!({
        "label": ctx.common.label,
        "connections": connections,
        "body_size": body_size,
        "reconnects": reconnects,
        "warmup_ops": warmup_ops,
    });
    let report = stats::report(
        "requests",
        &ctx.common.target.to_string(),
        elapsed,
        rec,
        extra,
    );
    stats::print(&report);
    Ok(())
}

type Sender = http1::SendRequest<Full<Bytes>>;

async fn open(ctx: &Ctx) -> Result<Sender, BoxError> {
    let tls = ctx.connect().await?;
    let (sender, conn) = http1::handshake(TokioIo::new(tls)).await?;
    tokio::spawn(conn);
    Ok(sender)
}

async fn post(ctx: &Ctx, sender: &mut Sender, body: Bytes) -> Result<(), BoxError> {
    sender.ready().await?;
    let req = Request::post(ctx.common.path.as_str())
        .header(header::HOST, ctx.host())
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .body(Full::new(body))?;
    let resp = sender.send_request(req).await?;
    let status = resp.status();
    resp.into_body().collect().await?;
    check(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("3h").is_err());
    }
}
