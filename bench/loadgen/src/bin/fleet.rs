//! `fleet`: the alert route's SOAP calls per second on one gateway instance, then on two
//! instances sharing one Redis, each instance pinned to a core of its own (issue 13): whether
//! the shared state is what bounds a fleet.
//!
//! Starts a `redis-server` on a free port, the demo alert service in this process, and the
//! release gateway (`--gateway`) as `gateway run` with `state.backend: redis` (a nonce and a
//! backoff lookup per call go to Redis). Measures, with the same number of keep-alive mTLS
//! connections (each call a fresh UsernameToken): one instance on CPU 0; then two instances, on
//! CPUs 0 and 1, the connections split between them. For each figure: calls/s, p50/p99, errors,
//! the gateways' CPU, and Redis' CPU and commands per call (from `INFO`).

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;

// Each binary uses part of the shared support code.
#[allow(dead_code)]
mod support;

use support::BoxError;
use support::process::{GatewayProcess, Launch, cpu_seconds, free_port};
use support::soap_load::{Calls, PARTNER, SECRET, gateway_worker, run};
use support::stats::ms;

#[derive(Debug, Parser)]
#[command(
    name = "fleet",
    about = "Alert calls/s: one gateway vs two sharing Redis"
)]
struct Args {
    /// The release gateway binary.
    #[arg(long)]
    gateway: PathBuf,
    /// Keep-alive connections in all, one call in flight on each.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Measured seconds per figure.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// The test PKI directory.
    #[arg(long, default_value = "certs-test/pki")]
    pki: PathBuf,
    /// Where configurations and logs go.
    #[arg(long, default_value = "/tmp/gateway-fleet-bench")]
    dir: PathBuf,
}

fn main() -> Result<(), BoxError> {
    let args = Args::parse();
    // The load generator and the demo upstream share this runtime; the gateways are processes.
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(bench(args))
}

struct Redis {
    child: Child,
    port: u16,
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Redis {
    fn info(&self, field: &str) -> f64 {
        let out = Command::new("redis-cli")
            .args(["-p", &self.port.to_string(), "INFO", "all"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        out.lines()
            .find_map(|l| l.strip_prefix(&format!("{field}:")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(f64::NAN)
    }

    fn cpu(&self) -> f64 {
        self.info("used_cpu_sys") + self.info("used_cpu_user")
    }
}

struct Figure {
    name: &'static str,
    calls: Calls,
    gateway_cpu: f64,
    /// This process: the load generator and the demo upstream.
    client_cpu: f64,
    redis_cpu: f64,
    redis_commands_per_call: f64,
}

async fn bench(args: Args) -> Result<(), BoxError> {
    mtls::install_default_provider();
    std::fs::create_dir_all(&args.dir)?;
    let pki = std::fs::canonicalize(&args.pki)?;
    let port = free_port()?;
    let redis = Redis {
        child: Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()?,
        port,
    };
    wait_port(port).await?;
    let upstream = demo_upstream::spawn("127.0.0.1:0".parse()?).await?;
    let url = format!("redis://127.0.0.1:{port}");
    let env = [
        ("BENCH_ALERT_SECRET", SECRET),
        ("BENCH_REDIS_URL", url.as_str()),
    ];
    let tls = Arc::new(support::client_tls(&pki, "portal")?);
    let measured = Duration::from_secs(args.seconds);
    let clk_tck = 100;

    let (mut first, a) = start(&args, &pki, upstream, "0", "a", &env)?;
    first.wait_listening(a).await?;
    let one = measure(
        "one instance (CPU 0)",
        &[(a, first.pid())],
        &redis,
        &tls,
        &args,
        measured,
        clk_tck,
    )
    .await?;
    let (mut second, b) = start(&args, &pki, upstream, "1", "b", &env)?;
    second.wait_listening(b).await?;
    let two = measure(
        "two instances (CPUs 0 and 1), one Redis",
        &[(a, first.pid()), (b, second.pid())],
        &redis,
        &tls,
        &args,
        measured,
        clk_tck,
    )
    .await?;

    let mut out = std::io::stdout().lock();
    for f in [&one, &two] {
        writeln!(
            out,
            "{}",
            serde_json::json!({"figure": f.name, "connections": args.connections,
                "calls": f.calls.count, "errors": f.calls.errors, "rate": f.calls.rate(measured),
                "p50_ms": ms(f.calls.pct(50.0)), "p99_ms": ms(f.calls.pct(99.0)),
                "gateway_cpu": f.gateway_cpu, "client_cpu": f.client_cpu, "redis_cpu": f.redis_cpu,
                "redis_commands_per_call": f.redis_commands_per_call})
        )?;
    }
    writeln!(
        out,
        "\n| alert getAlertConfig, {} connections | calls/s | p50 (ms) | p99 (ms) | errors | gateway CPU (cores) | client + upstream CPU | Redis CPU (cores) | Redis µs/call | Redis commands/call |",
        args.connections
    )?;
    writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")?;
    for f in [&one, &two] {
        writeln!(
            out,
            "| {} | {:.0} | {:.2} | {:.2} | {} | {:.2} | {:.2} | {:.3} | {:.1} | {:.1} |",
            f.name,
            f.calls.rate(measured),
            ms(f.calls.pct(50.0)),
            ms(f.calls.pct(99.0)),
            f.calls.errors,
            f.gateway_cpu,
            f.client_cpu,
            f.redis_cpu,
            f.redis_cpu * 1e6 / f.calls.rate(measured),
            f.redis_commands_per_call
        )?;
    }
    writeln!(
        out,
        "\ntwo / one: {:.2}x; Redis alone would serve about {:.0} calls/s on one core ({:.1}x one instance)",
        two.calls.rate(measured) / one.calls.rate(measured),
        two.calls.rate(measured) / two.redis_cpu,
        two.calls.rate(measured) / two.redis_cpu / one.calls.rate(measured)
    )?;
    Ok(())
}

async fn wait_port(port: u16) -> Result<(), BoxError> {
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!("nothing listens on {port}").into())
}

/// Starts instance `name` pinned to `cpu`; its process and listener address.
fn start(
    args: &Args,
    pki: &Path,
    upstream: SocketAddr,
    cpu: &str,
    name: &str,
    env: &[(&str, &str)],
) -> Result<(GatewayProcess, SocketAddr), BoxError> {
    let dir = args.dir.join(name);
    std::fs::create_dir_all(&dir)?;
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
    let admin = free_port()?;
    let pki = pki.display();
    let yaml = format!(
        r#"listeners:
  - name: portals
    bind: {addr}
    tls:
      cert: {pki}/server.pem
      key: {pki}/server.key
      client_auth:
        mode: required
        trust_anchors: [{pki}/root-ca.cer, {pki}/intermediate-ca.cer]
admin:
  bind: 127.0.0.1:{admin}
state:
  backend: redis
  url_env: BENCH_REDIS_URL
  key_prefix: bench-fleet
logging:
  format: json
  level: info
upstreams:
  alert-service:
    url: http://{upstream}
routes:
  - name: aspone-alert
    path_prefix: /aspone/alert
    handler: aspone_alert
    upstream: alert-service
    allow_any_verified_client: true
    aspone_alert:
      partners:
        - username: {PARTNER}
          secret_env: BENCH_ALERT_SECRET
"#
    );
    let config = dir.join("gateway.yaml");
    std::fs::write(&config, yaml)?;
    let process = GatewayProcess::start(&Launch {
        binary: &args.gateway,
        cpu: Some(cpu),
        threads: 1,
        config: &config,
        dir: &dir,
        env,
    })?;
    Ok((process, addr))
}

async fn measure(
    name: &'static str,
    targets: &[(SocketAddr, u32)],
    redis: &Redis,
    tls: &Arc<rustls::ClientConfig>,
    args: &Args,
    measured: Duration,
    clk_tck: u64,
) -> Result<Figure, BoxError> {
    let warmup = Duration::from_secs(2);
    let next = std::sync::atomic::AtomicUsize::new(0);
    // The measured window starts after the warm-up: CPU and Redis counters are read then.
    let probe = async {
        tokio::time::sleep(warmup).await;
        let cpu0: f64 = targets
            .iter()
            .map(|(_, pid)| cpu_seconds(*pid, clk_tck))
            .sum();
        let me = std::process::id();
        let m0 = cpu_seconds(me, clk_tck);
        let (r0, c0) = (redis.cpu(), redis.info("total_commands_processed"));
        tokio::time::sleep(measured).await;
        let cpu1: f64 = targets
            .iter()
            .map(|(_, pid)| cpu_seconds(*pid, clk_tck))
            .sum();
        let m1 = cpu_seconds(me, clk_tck);
        let (r1, c1) = (redis.cpu(), redis.info("total_commands_processed"));
        let secs = measured.as_secs_f64();
        (
            (cpu1 - cpu0) / secs,
            (m1 - m0) / secs,
            (r1 - r0) / secs,
            c1 - c0,
        )
    };
    let load = run(args.connections, warmup, measured, || {
        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (addr, _) = targets[i % targets.len()];
        Box::pin(gateway_worker(addr, Arc::clone(tls), false))
    });
    let (calls, (gateway_cpu, client_cpu, redis_cpu, commands)) = tokio::join!(load, probe);
    let calls = calls?;
    #[allow(clippy::cast_precision_loss)]
    let per_call = commands / calls.count.max(1) as f64;
    Ok(Figure {
        name,
        calls,
        gateway_cpu,
        client_cpu,
        redis_cpu,
        redis_commands_per_call: per_call,
    })
}
