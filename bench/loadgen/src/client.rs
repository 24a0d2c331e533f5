//! The timed modes' options, and the two original modes: handshakes (full, or resumed with
//! `--resume`) and keep-alive HTTP/1.1 requests.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, StatusCode, header};
use http_body_util::{BodyExt, Empty, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use rustls::{HandshakeKind, ProtocolVersion};
use serde_json::json;
use tokio::task::JoinHandle;
use tokio_rustls::TlsConnector;

use crate::conn::{Ctx, Endpoint};
use crate::stats::{self, Recorder};
use crate::tls::{self, Alpn, BoxError};

/// Options shared by the timed modes (`handshakes`, `requests`).
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct Common {
    /// Target, path, label and TLS options.
    #[command(flatten)]
    pub(crate) endpoint: Endpoint,
    /// How long to measure, e.g. `10s`, `500ms`.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub(crate) duration: Duration,
}

/// The shape of the `requests` load.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct Load {
    /// Persistent connections (HTTP/1.1: one request in flight on each).
    #[arg(long, default_value_t = 8)]
    pub(crate) connections: usize,
    /// Request body size in bytes.
    #[arg(long, default_value_t = 1024)]
    pub(crate) body_size: usize,
    /// Unmeasured warm-up before the measured period.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub(crate) warmup: Duration,
    /// HTTP/2 (ALPN `h2` only; fails if the server does not negotiate it).
    #[arg(long)]
    pub(crate) http2: bool,
    /// With `--http2`: concurrent request loops per connection, so connections x streams
    /// requests in flight.
    #[arg(long, default_value_t = 1, requires = "http2")]
    pub(crate) streams: usize,
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

/// Handshakes: a new TCP connection and an mTLS handshake per iteration, one GET, close. With
/// `resume`, every worker keeps its own session store, so its handshakes after the first resume.
pub(crate) async fn handshakes(
    common: Common,
    concurrency: usize,
    resume: bool,
) -> Result<(), BoxError> {
    let ctx = Ctx::new(common.endpoint, Alpn::Http1)?;
    let start = Instant::now();
    let deadline = start + common.duration;
    let mut tasks = Vec::with_capacity(concurrency);
    for _ in 0..concurrency.max(1) {
        let ctx = Arc::clone(&ctx);
        let connector = if resume {
            TlsConnector::from(tls::resuming(&ctx.config))
        } else {
            ctx.connector.clone()
        };
        tasks.push(tokio::spawn(async move {
            let (mut rec, mut version) = (Recorder::default(), None);
            while Instant::now() < deadline {
                let t = Instant::now();
                match one_handshake(&ctx, &connector).await {
                    Ok((kind, v)) => {
                        version = version.or(v);
                        match kind {
                            Some(HandshakeKind::Resumed) => rec.resumed_handshakes += 1,
                            _ => rec.full_handshakes += 1,
                        }
                        rec.ok(t.elapsed());
                    }
                    Err(e) => rec.err(e),
                }
            }
            (rec, version)
        }));
    }
    let (mut rec, mut version) = (Recorder::default(), None);
    for t in tasks {
        let (r, v) = t.await?;
        rec.merge(r);
        version = version.or(v);
    }
    let extra = json!({
        "label": ctx.ep.label,
        "concurrency": concurrency,
        "resume": resume,
        "tls12": ctx.ep.tls.tls12,
        // What was negotiated (e.g. `TLSv1_3`), to confirm `--tls12` and the server's choice.
        "tls_version": version.map(|v| format!("{v:?}")),
    });
    let target = ctx.ep.target.to_string();
    let report = stats::report("handshakes", &target, start.elapsed(), rec, extra);
    stats::print(&report);
    Ok(())
}

async fn one_handshake(
    ctx: &Ctx,
    connector: &TlsConnector,
) -> Result<(Option<HandshakeKind>, Option<ProtocolVersion>), BoxError> {
    let tls = ctx.connect_with(connector).await?;
    let kind = tls.get_ref().1.handshake_kind();
    let version = tls.get_ref().1.protocol_version();
    let (mut sender, conn) = http1::handshake(TokioIo::new(tls)).await?;
    let driver = tokio::spawn(conn);
    let req = Request::get(ctx.ep.path.as_str())
        .header(header::HOST, ctx.host())
        // The server closes first, so TIME_WAIT sockets pile up on its side, not on our ports.
        .header(header::CONNECTION, "close")
        .body(Empty::<Bytes>::new())?;
    // Reading the whole response also reads the TLS 1.3 session ticket the server sends after
    // the handshake (before the response): closing earlier would lose it, and `--resume` with it.
    let resp = sender.send_request(req).await?;
    let status = resp.status();
    resp.into_body().collect().await?;
    drop(sender);
    driver.await??;
    check(status)?;
    Ok((kind, version))
}

pub(crate) fn check(status: StatusCode) -> Result<(), BoxError> {
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("HTTP status {status}").into())
    }
}

/// What one request loop counted.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    pub(crate) rec: Recorder,
    pub(crate) reconnects: u64,
    pub(crate) warmup_ops: u64,
}

impl Tally {
    /// Counts a request started at `t` that succeeded: measured, or warm-up before `begin`.
    pub(crate) fn done(&mut self, t: Instant, begin: Instant) {
        if t >= begin {
            self.rec.ok(t.elapsed());
        } else {
            self.warmup_ops += 1;
        }
    }

    pub(crate) fn merge(&mut self, other: Tally) {
        self.rec.merge(other.rec);
        self.reconnects += other.reconnects;
        self.warmup_ops += other.warmup_ops;
    }
}

/// Prints the `requests` report (HTTP/1.1 and HTTP/2 alike).
pub(crate) fn report_requests(ctx: &Ctx, load: &Load, tally: Tally, begin: Instant, end: Instant) {
    let elapsed = Instant::now().min(end).saturating_duration_since(begin);
    let streams = if ctx.alpn == Alpn::H2 {
        load.streams
    } else {
        1
    };
    let extra = json!({
        "label": ctx.ep.label,
        "connections": load.connections,
        "body_size": load.body_size,
        "reconnects": tally.reconnects,
        "warmup_ops": tally.warmup_ops,
        "protocol": ctx.alpn.label(),
        "streams": streams,
        "in_flight": load.connections.max(1) * streams.max(1),
    });
    let target = ctx.ep.target.to_string();
    let report = stats::report("requests", &target, elapsed, tally.rec, extra);
    stats::print(&report);
}

/// Keep-alive HTTP/1.1 POSTs over `connections` persistent connections, after `warmup`.
pub(crate) async fn requests(common: Common, load: Load) -> Result<(), BoxError> {
    let ctx = Ctx::new(common.endpoint, Alpn::Http1)?;
    let body = Bytes::from(vec![b'x'; load.body_size]);
    let mut handles = Vec::with_capacity(load.connections);
    // Connect everything first: handshakes are not part of this figure.
    let mut senders = Vec::with_capacity(load.connections);
    for _ in 0..load.connections.max(1) {
        senders.push(open(&ctx).await?.0);
    }
    let begin = Instant::now() + load.warmup;
    let end = begin + common.duration;
    for sender in senders {
        let ctx = Arc::clone(&ctx);
        let body = body.clone();
        handles.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            let mut sender = Some(sender);
            loop {
                let t = Instant::now();
                if t >= end {
                    break;
                }
                let mut s = match sender.take() {
                    Some(s) => s,
                    None => match open(&ctx).await {
                        Ok((s, _)) => {
                            tally.reconnects += 1;
                            s
                        }
                        Err(e) => {
                            tally.rec.err(e);
                            tokio::time::sleep(Duration::from_millis(10)).await;
                            continue;
                        }
                    },
                };
                match post(&ctx, &mut s, body.clone()).await {
                    Ok(()) => {
                        tally.done(t, begin);
                        sender = Some(s);
                    }
                    Err(e) => tally.rec.err(e),
                }
            }
            tally
        }));
    }
    let mut total = Tally::default();
    for h in handles {
        total.merge(h.await?);
    }
    report_requests(&ctx, &load, total, begin, end);
    Ok(())
}

pub(crate) type Sender = http1::SendRequest<Full<Bytes>>;

/// The task driving one connection; it ends when the connection closes.
pub(crate) type Driver = JoinHandle<Result<(), hyper::Error>>;

/// A new keep-alive HTTP/1.1 connection; dropping the sender closes it once idle.
pub(crate) async fn open(ctx: &Ctx) -> Result<(Sender, Driver), BoxError> {
    let tls = ctx.connect().await?;
    let (sender, conn) = http1::handshake(TokioIo::new(tls)).await?;
    Ok((sender, tokio::spawn(conn)))
}

async fn post(ctx: &Ctx, sender: &mut Sender, body: Bytes) -> Result<(), BoxError> {
    sender.ready().await?;
    let req = Request::post(ctx.ep.path.as_str())
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
