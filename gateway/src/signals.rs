//! Process signals: SIGTERM and SIGINT stop the gateway gracefully, SIGHUP reloads its file.

use crate::Gateway;

/// Serves until SIGTERM or SIGINT, reloading on SIGHUP; then drains within the grace period.
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
    tracing::info!("shutting down: no new connections, in-flight requests may finish");
    gateway.shutdown().await;
    tracing::info!("stopped");
}
