//! Logs and metrics: the tracing subscriber, the Prometheus recorder, and the few functions
//! that record what happened (so metric names live in one file).

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::config::{LogFormat, LoggingSettings};
use crate::problem::{Fault, GatewayError};

mod json_line;
mod log_writer;

static PROMETHEUS: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide Prometheus recorder once and returns its handle. Several gateways in
/// one process (tests) share it.
pub fn prometheus() -> PrometheusHandle {
    PROMETHEUS
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Suffix("duration_seconds".into()),
                    &[
                        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                        5.0, 10.0,
                    ],
                )
                .unwrap_or_else(|_| PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            // Fails only if another recorder was installed first; the handle then renders
            // nothing, which the admin tests would show.
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics stays empty");
            }
            spawn_upkeep(handle.clone());
            handle
        })
        .clone()
}

/// How often histogram samples are folded into their buckets.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// `build_recorder` (unlike `install`) leaves upkeep to its caller: without it, every
/// histogram sample is kept until `/metrics` is scraped, and a gateway nobody scrapes grows by
/// about 17 bytes a request until it runs out of memory. A plain thread, not a tokio task, so
/// that it runs whatever runtime (or none) installed the recorder, for the life of the process.
fn spawn_upkeep(handle: PrometheusHandle) {
    let spawned = std::thread::Builder::new()
        .name("metrics-upkeep".into())
        .spawn(move || {
            loop {
                std::thread::sleep(UPKEEP_INTERVAL);
                handle.run_upkeep();
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "metrics upkeep thread could not start; scrape /metrics to bound memory");
    }
}

/// Installs the global tracing subscriber. Returns false when one was already installed.
///
/// Logs go to standard output, in batches written by a thread of their own (see
/// [`log_writer`]; [`flush_logs`] before exiting), with ANSI colours only when it is a terminal:
/// a file, a pipe or a journal gets plain text.
pub fn init_logging(settings: &LoggingSettings) -> bool {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_new(&settings.level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(log_writer::stdout())
        .with_ansi(std::io::stdout().is_terminal());
    match settings.format {
        LogFormat::Json => builder.event_format(json_line::JsonLine).try_init().is_ok(),
        LogFormat::Human => builder.try_init().is_ok(),
    }
}

/// Writes the log lines still waiting in memory. Called before the process exits.
pub(crate) fn flush_logs() {
    log_writer::stdout().flush();
}

/// One request's outcome, for the access log and the request metrics.
pub(crate) struct AccessRecord<'a> {
    pub(crate) listener: &'a str,
    pub(crate) route: &'a str,
    pub(crate) method: &'a str,
    pub(crate) path: &'a str,
    pub(crate) status: u16,
    pub(crate) elapsed: Duration,
    pub(crate) request_id: &'a str,
    pub(crate) client_cn: Option<&'a str>,
    pub(crate) peer: SocketAddr,
    pub(crate) error: Option<&'a GatewayError>,
}

pub(crate) fn record_request(r: &AccessRecord<'_>) {
    let status = r.status.to_string();
    metrics::counter!("gateway_requests_total", "route" => r.route.to_owned(), "status" => status)
        .increment(1);
    metrics::histogram!("gateway_request_duration_seconds", "route" => r.route.to_owned())
        .record(r.elapsed.as_secs_f64());
    let latency_ms = latency_ms(r.elapsed);
    let client_cn = r.client_cn.unwrap_or("-");
    match r.error {
        None => tracing::info!(
            target: "gateway::access",
            listener = r.listener, route = r.route, method = r.method, path = r.path,
            status = r.status, latency_ms, request_id = r.request_id, client_cn,
            peer = %r.peer, "request"
        ),
        Some(e) => {
            if e.fault() == Fault::Upstream {
                let upstream = match e {
                    GatewayError::UpstreamUnavailable { upstream, .. }
                    | GatewayError::UpstreamTimeout { upstream, .. } => upstream.as_str(),
                    _ => "",
                };
                let kind = if r.status == 504 {
                    "timeout"
                } else {
                    "unavailable"
                };
                metrics::counter!("gateway_upstream_errors_total",
                    "upstream" => upstream.to_owned(), "kind" => kind)
                .increment(1);
            }
            tracing::warn!(
                target: "gateway::access",
                listener = r.listener, route = r.route, method = r.method, path = r.path,
                status = r.status, latency_ms, request_id = r.request_id, client_cn,
                peer = %r.peer, error = %e, "request refused"
            );
        }
    }
}

/// A latency in milliseconds, rounded to the microsecond (`0.827`, not `0.8266519999999999`).
fn latency_ms(elapsed: Duration) -> f64 {
    // Microseconds fit an f64 exactly for 285 years.
    #[allow(clippy::cast_precision_loss)]
    let micros = elapsed.as_micros() as f64;
    micros / 1000.0
}

pub(crate) fn record_handshake(listener: &str, outcome: &'static str) {
    metrics::counter!("gateway_tls_handshakes_total",
        "listener" => listener.to_owned(), "outcome" => outcome)
    .increment(1);
}

pub(crate) fn record_connection_refused(listener: &str, reason: &'static str) {
    metrics::counter!("gateway_connections_refused_total",
        "listener" => listener.to_owned(), "reason" => reason)
    .increment(1);
}

pub(crate) fn record_connection_parked(listener: &str) {
    metrics::counter!("gateway_connections_parked_total", "listener" => listener.to_owned())
        .increment(1);
}

pub(crate) fn record_connection_closed(listener: &str, reason: &'static str) {
    metrics::counter!("gateway_connections_closed_total",
        "listener" => listener.to_owned(), "reason" => reason)
    .increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_is_rounded_to_the_microsecond() {
        assert_eq!(
            latency_ms(Duration::from_nanos(826_651_999)).to_string(),
            "826.651"
        );
        assert_eq!(
            latency_ms(Duration::from_nanos(826_652)).to_string(),
            "0.826"
        );
        assert_eq!(latency_ms(Duration::from_millis(12)).to_string(), "12");
        assert_eq!(latency_ms(Duration::ZERO).to_string(), "0");
    }
}
