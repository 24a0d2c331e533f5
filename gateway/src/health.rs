//! Active health checks of upstreams (`upstreams.<name>.health_check`): a fragile upstream (a
//! signer on one USB token) is probed on its own schedule; while it is known down, routes to it
//! fail fast with 503 instead of queueing callers behind a dead device. The state shows in
//! `/readyz` details (without making the gateway unready: other routes still work) and in
//! `gateway_upstream_healthy{upstream}`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::body::Body;
use http::Request;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio_util::sync::CancellationToken;

use crate::config::HealthCheckSettings;

/// One upstream's known health.
#[derive(Debug)]
pub(crate) struct Health {
    upstream: String,
    healthy: AtomicBool,
}

impl Health {
    /// Whether the upstream is believed up (true until probes say otherwise).
    pub(crate) fn is_up(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    /// Starts probing `base` + `settings.path` until `stop`.
    pub(crate) fn start(
        upstream: &str,
        base: &http::Uri,
        settings: HealthCheckSettings,
        stop: CancellationToken,
    ) -> Arc<Self> {
        let health = Arc::new(Self {
            upstream: upstream.to_owned(),
            healthy: AtomicBool::new(true),
        });
        metrics::gauge!("gateway_upstream_healthy", "upstream" => upstream.to_owned()).set(1.0);
        let target = format!(
            "{}{}",
            base.to_string().trim_end_matches('/'),
            settings.path
        );
        let probe = Arc::clone(&health);
        tokio::spawn(async move {
            let client: Client<HttpConnector, Body> =
                Client::builder(TokioExecutor::new()).build(HttpConnector::new());
            let (mut failures, mut successes) = (0u32, 0u32);
            let mut tick = tokio::time::interval(settings.interval);
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    _ = tick.tick() => {}
                }
                let ok = probe_once(&client, &target, settings.timeout).await;
                if ok {
                    successes += 1;
                    failures = 0;
                } else {
                    failures += 1;
                    successes = 0;
                }
                probe.update(ok, failures, successes, &settings);
            }
        });
        health
    }

    fn update(&self, ok: bool, failures: u32, successes: u32, settings: &HealthCheckSettings) {
        let was = self.is_up();
        let now = match (was, ok) {
            (true, false) if failures >= settings.unhealthy_threshold => false,
            (false, true) if successes >= settings.healthy_threshold => true,
            _ => was,
        };
        if now != was {
            self.healthy.store(now, Ordering::Relaxed);
            metrics::gauge!("gateway_upstream_healthy", "upstream" => self.upstream.clone())
                .set(if now { 1.0 } else { 0.0 });
            if now {
                tracing::info!(upstream = %self.upstream, "upstream healthy again");
            } else {
                tracing::warn!(upstream = %self.upstream, failures, "upstream marked down by its health check");
            }
        }
    }
}

async fn probe_once(client: &Client<HttpConnector, Body>, target: &str, timeout: Duration) -> bool {
    let Ok(req) = Request::get(target).body(Body::empty()) else {
        return false;
    };
    matches!(
        tokio::time::timeout(timeout, client.request(req)).await,
        Ok(Ok(response)) if response.status().is_success()
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn settings() -> HealthCheckSettings {
        HealthCheckSettings {
            path: "/health".into(),
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            unhealthy_threshold: 2,
            healthy_threshold: 2,
        }
    }

    #[test]
    fn thresholds_decide_when_the_state_flips() {
        let h = Health {
            upstream: "signer".into(),
            healthy: AtomicBool::new(true),
        };
        let s = settings();
        h.update(false, 1, 0, &s);
        assert!(h.is_up(), "one failure is not enough");
        h.update(false, 2, 0, &s);
        assert!(!h.is_up());
        h.update(true, 0, 1, &s);
        assert!(!h.is_up(), "one success is not enough");
        h.update(true, 0, 2, &s);
        assert!(h.is_up());
    }
}
