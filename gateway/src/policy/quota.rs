//! A daily volume per client and route, shared by every instance through the state store.
//!
//! A declared `Content-Length` is reserved before the upstream is called (429 with
//! `Retry-After` until the day's end when it does not fit) and given back if the upstream does
//! not accept the upload. A body of unknown length is charged once the upstream accepted it:
//! such an upload can pass the day's volume once, and the next one is refused.

use std::sync::Arc;
use std::time::Duration;

use crate::config::QuotaSettings;
use crate::problem::GatewayError;
use crate::server::ConnectionInfo;

/// One route's quota.
pub(crate) struct Quota {
    settings: QuotaSettings,
    route: String,
    store: Arc<dyn state::StateStore>,
}

/// What a request reserved, to settle once the upstream answered.
pub(crate) struct Charge {
    key: String,
    reserved: Option<u64>,
    window_end_unix_ms: i64,
}

// === impl Quota ===

impl Quota {
    pub(crate) fn new(
        settings: QuotaSettings,
        route: &str,
        store: Arc<dyn state::StateStore>,
    ) -> Self {
        Self {
            settings,
            route: route.to_owned(),
            store,
        }
    }

    /// Reserves the declared length (or checks that some volume is left).
    ///
    /// # Errors
    /// 429 when the day's volume is used up; 503 when the store cannot answer.
    pub(crate) async fn reserve(
        &self,
        conn: &ConnectionInfo,
        client_name: Option<&str>,
        declared: Option<u64>,
    ) -> Result<Charge, GatewayError> {
        let now = jiff::Timestamp::now();
        let (day, window_end) = window(now, &self.settings.time_zone)?;
        // The pinned name, else the certificate, else the address: who the volume belongs to.
        let client = client_name
            .map(str::to_owned)
            .or_else(|| conn.identity.as_ref().map(|i| i.sha256_fingerprint.clone()))
            .unwrap_or_else(|| conn.peer.ip().to_string());
        let key = format!("{}:{client}:{day}", self.route);
        let limit = self.settings.daily_volume;
        let outcome = self
            .store
            .consume(&key, declared.unwrap_or(0), limit, window_end)
            .await
            .map_err(unavailable)?;
        let refused = !outcome.allowed || (declared.is_none() && outcome.used >= limit);
        if refused {
            metrics::counter!("gateway_quota_refusals_total", "route" => self.route.clone())
                .increment(1);
            let left_ms = window_end.saturating_sub(now.as_millisecond()).max(0);
            return Err(GatewayError::QuotaExceeded {
                retry_after: Duration::from_millis(left_ms.unsigned_abs()),
            });
        }
        Ok(Charge {
            key,
            reserved: declared,
            window_end_unix_ms: window_end,
        })
    }

    /// Gives back what an upload the upstream did not accept reserved, or charges what a body of
    /// unknown length carried. Failures are logged: the upload has already happened.
    pub(crate) async fn settle(&self, charge: Charge, accepted: bool, seen: u64) {
        let result = match (charge.reserved, accepted) {
            (Some(reserved), false) if reserved > 0 => {
                self.store.refund(&charge.key, reserved).await
            }
            (None, true) if seen > 0 => self
                .store
                .consume(
                    &charge.key,
                    seen,
                    state::MAX_QUOTA,
                    charge.window_end_unix_ms,
                )
                .await
                .map(|_| ()),
            _ => Ok(()),
        };
        if let Err(e) = result {
            tracing::warn!(route = %self.route, error = %e, "quota could not be settled");
        }
    }
}

fn unavailable(e: state::StateError) -> GatewayError {
    GatewayError::PolicyUnavailable {
        what: "the quota store",
        reason: e.to_string(),
    }
}

/// The day `now` falls in (`YYYY-MM-DD` in `tz`) and when it ends (Unix ms).
fn window(now: jiff::Timestamp, tz: &jiff::tz::TimeZone) -> Result<(String, i64), GatewayError> {
    let internal = |e: jiff::Error| GatewayError::Internal(format!("quota window: {e}"));
    let local = now.to_zoned(tz.clone());
    let day = local.date();
    let next = day
        .tomorrow()
        .and_then(|d| d.to_zoned(tz.clone()))
        .map_err(internal)?;
    Ok((day.to_string(), next.timestamp().as_millisecond()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_the_local_day() {
        let paris = jiff::tz::TimeZone::get("Europe/Paris").unwrap();
        // 23:30 UTC on 1 December is 00:30 on 2 December in Paris.
        let now: jiff::Timestamp = "2026-12-01T23:30:00Z".parse().unwrap();
        let (day, end) = window(now, &paris).unwrap();
        assert_eq!(day, "2026-12-02");
        let end_expected: jiff::Timestamp = "2026-12-02T23:00:00Z".parse().unwrap();
        assert_eq!(end, end_expected.as_millisecond());
    }
}
