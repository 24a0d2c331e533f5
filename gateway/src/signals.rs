//! Process signals: SIGTERM and SIGINT stop the gateway gracefully, SIGHUP reloads its file.

use crate::Gateway;

/// Serves until SIGTERM or SIGINT, reloading on SIGHUP; then drains (`shutdown.drain_period`:
/// not ready, still serving), closes the listeners and lets in-flight requests finish within the
/// grace period.
pub(crate) async fn run_until_stopped(gateway: Gateway) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) else {
        tracing::error!("cannot install signal handlers; stop the gateway with SIGKILL");
        gateway.wait().await;
        return;
    };
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = hup.recv() => {
                if let Err(e) = gateway.reload_configured() {
                    tracing::error!(error = %e, "reload refused; the running configuration stays");
                }
            }
        }
    }
    let drain = gateway.drain_period();
    if !drain.is_zero() {
        gateway.start_draining();
        tracing::info!(
            drain_ms = drain.as_millis(),
            "draining: /readyz answers 503 while requests are still served"
        );
        // A second signal cuts the drain short (an operator in a hurry, or a supervisor).
        tokio::select! {
            () = tokio::time::sleep(drain) => {}
            _ = term.recv() => tracing::info!("second signal: the drain is cut short"),
            _ = int.recv() => tracing::info!("second signal: the drain is cut short"),
        }
    }
    tracing::info!("shutting down: no new connections, in-flight requests may finish");
    gateway.shutdown().await;
    tracing::info!("stopped");
}
