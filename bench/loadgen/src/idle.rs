//! `idle`: opens many mTLS connections, sends one request on each, then holds them open and
//! idle, so that a script can read the server's memory per idle connection.
//!
//! Output (stdout, one JSON line each): `{"ready": ..}` once every connection is established,
//! then `{"closed": ..}` after they are released (stdin EOF, `--hold`, SIGTERM or SIGINT).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, header};
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};
use tokio::signal::unix::{SignalKind, signal};

use crate::client::{self, Driver};
use crate::conn::{Ctx, Endpoint, FdLimit};
use crate::stats::{self, Recorder};
use crate::{h2, tls::Alpn, tls::BoxError};

/// Options of the `idle` mode.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct IdleArgs {
    /// Connections to open and hold (needs `ulimit -n` of at least this plus ~100).
    #[arg(long)]
    pub(crate) connections: usize,
    /// HTTP/2 (ALPN `h2` only) instead of HTTP/1.1 keep-alive.
    #[arg(long)]
    pub(crate) http2: bool,
    /// Handshakes in flight at once while opening.
    #[arg(long, default_value_t = 64)]
    pub(crate) concurrency: usize,
    /// Release after this long (e.g. `30s`) instead of at stdin EOF. Useful when started in the
    /// background by a script: `cmd &` there reads /dev/null, which would release at once.
    #[arg(long, value_parser = client::parse_duration)]
    pub(crate) hold: Option<Duration>,
}

/// The sender is kept only so the connection stays open: dropping it lets the connection task
/// close the connection (HTTP/1.1: once idle; HTTP/2: with a GOAWAY).
enum Held {
    H1 { _sender: client::Sender },
    H2 { _sender: h2::Sender },
}

struct Conn {
    _sender: Held,
    driver: Driver,
}

/// Runs the mode; returns when every connection is closed.
pub(crate) async fn run(ep: Endpoint, args: IdleArgs) -> Result<(), BoxError> {
    check_fd_limit(args.connections)?;
    let alpn = if args.http2 { Alpn::H2 } else { Alpn::Http1 };
    let ctx = Ctx::new(ep, alpn)?;
    let start = Instant::now();
    let (conns, mut rec) = open_all(&ctx, args.connections, args.concurrency).await?;
    rec.latencies_us.sort_unstable();
    let ready = json!({
        "ready": conns.len(),
        "errors": rec.errors,
        "protocol": alpn.label(),
        "seconds": stats::round3(start.elapsed().as_secs_f64()),
        "label": ctx.ep.label,
        "target": ctx.ep.target.to_string(),
        "connect_p50_ms": stats::round3(stats::quantile_ms(&rec.latencies_us, 0.50)),
        "connect_p99_ms": stats::round3(stats::quantile_ms(&rec.latencies_us, 0.99)),
        "client_rss_kib": own_rss_kib(),
        "first_error": rec.first_error,
    });
    emit(&ready);

    let reason = released(args.hold).await;
    // Connections the server closed while they were idle (e.g. its idle timeout).
    let server_closed = conns.iter().filter(|c| c.driver.is_finished()).count();
    let closed = conns.len();
    let drivers: Vec<Driver> = conns.into_iter().map(|c| c.driver).collect();
    // The senders are gone: each task now closes its connection. Wait a bounded time for the
    // orderly closes, then abort the rest (dropping a socket closes it anyway).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    let mut aborted = 0usize;
    for d in drivers {
        let abort = d.abort_handle();
        if tokio::time::timeout_at(deadline, d).await.is_err() {
            abort.abort();
            aborted += 1;
        }
    }
    // Lets the server notice the closes before the script samples it again.
    tokio::time::sleep(Duration::from_millis(200)).await;
    emit(&json!({
        "closed": closed,
        "server_closed": server_closed,
        "aborted": aborted,
        "reason": reason,
    }));
    Ok(())
}

/// Opens `n` connections with `concurrency` handshakes in flight; fails fast on a descriptor
/// shortage, counts any other failure as an error.
async fn open_all(
    ctx: &Arc<Ctx>,
    n: usize,
    concurrency: usize,
) -> Result<(Vec<Conn>, Recorder), BoxError> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..concurrency.clamp(1, n.max(1)) {
        let (ctx, next) = (Arc::clone(ctx), Arc::clone(&next));
        workers.push(tokio::spawn(async move {
            let (mut conns, mut rec) = (Vec::new(), Recorder::default());
            while next.fetch_add(1, Ordering::Relaxed) < n {
                let t = Instant::now();
                match open_one(&ctx).await {
                    Ok(c) => {
                        rec.ok(t.elapsed());
                        conns.push(c);
                    }
                    Err(e) if e.is::<FdLimit>() => {
                        // Stop the other workers too: they would only hit the same wall.
                        next.store(n, Ordering::Relaxed);
                        return Err(e);
                    }
                    Err(e) => rec.err(e),
                }
            }
            Ok((conns, rec))
        }));
    }
    let (mut all, mut rec, mut fatal) = (Vec::with_capacity(n), Recorder::default(), None);
    for w in workers {
        match w.await? {
            Ok((conns, r)) => {
                all.extend(conns);
                rec.merge(r);
            }
            Err(e) => fatal = fatal.or(Some(e)),
        }
    }
    match fatal {
        Some(e) => Err(format!("idle: {} connections open, then: {e}", all.len()).into()),
        None => Ok((all, rec)),
    }
}

/// One connection, with one GET read to the end so the server has seen a whole request.
async fn open_one(ctx: &Ctx) -> Result<Conn, BoxError> {
    let (sender, driver, resp) = if ctx.alpn == Alpn::H2 {
        let (mut s, driver) = h2::open(ctx).await?;
        let req = Request::get(ctx.uri()).body(Full::new(Bytes::new()))?;
        let resp = s.send_request(req).await?;
        (Held::H2 { _sender: s }, driver, resp)
    } else {
        let (mut s, driver) = client::open(ctx).await?;
        let req = Request::get(ctx.ep.path.as_str())
            .header(header::HOST, ctx.host())
            .body(Full::new(Bytes::new()))?;
        let resp = s.send_request(req).await?;
        (Held::H1 { _sender: s }, driver, resp)
    };
    let status = resp.status();
    resp.into_body().collect().await?;
    client::check(status)?;
    Ok(Conn {
        _sender: sender,
        driver,
    })
}

/// Waits for the release: `--hold` if given, else stdin EOF; SIGTERM and SIGINT either way.
async fn released(hold: Option<Duration>) -> &'static str {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    if hold.is_none() {
        // A plain thread, not tokio's stdin: a blocking read left pending would keep the
        // runtime from shutting down; a detached thread ends with the process.
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
            let _ = tx.send(());
        });
    }
    let hold = async {
        match hold {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    let stdin_eof = async {
        if rx.await.is_err() {
            // No reader thread (`--hold` given): only the other events release.
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match signal(SignalKind::terminate()) {
            Ok(mut s) => s.recv().await,
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        () = hold => "hold",
        () = stdin_eof => "stdin EOF",
        _ = term => "SIGTERM",
        _ = tokio::signal::ctrl_c() => "SIGINT",
    }
}

/// Refuses to start when the soft descriptor limit cannot hold `n` sockets: failing half-way
/// would leave the server with a partial, misleading population.
fn check_fd_limit(n: usize) -> Result<(), BoxError> {
    // No libc (unsafe is forbidden): /proc has the limit; where it does not, EMFILE will tell.
    let Some(soft) = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|l| parse_soft_nofile(&l))
    else {
        return Ok(());
    };
    let need = n.saturating_add(32);
    if soft < need {
        return Err(format!(
            "idle: {n} connections need about {need} file descriptors but the soft limit is \
             {soft}: run `ulimit -n {}` in the shell first",
            n.saturating_add(100)
        )
        .into());
    }
    Ok(())
}

fn parse_soft_nofile(limits: &str) -> Option<usize> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let soft = line
        .trim_start_matches("Max open files")
        .split_whitespace()
        .next()?;
    // "unlimited" is as good as any number.
    Some(soft.parse().unwrap_or(usize::MAX))
}

/// The load generator's own resident memory, to check that it stays modest per connection.
fn own_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// One JSON line, flushed at once: the script reads it while this process keeps running.
fn emit(v: &Value) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{v}");
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soft_nofile_limit() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max open files            1024                 1048576              files\n";
        assert_eq!(parse_soft_nofile(limits), Some(1024));
        let unlimited =
            "Max open files            unlimited            unlimited            files\n";
        assert_eq!(parse_soft_nofile(unlimited), Some(usize::MAX));
        assert_eq!(parse_soft_nofile("nothing"), None);
    }
}
