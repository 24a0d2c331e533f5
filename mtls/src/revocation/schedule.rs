//! When to fetch a CRL next: pure functions of the current time, tested with explicit instants
//! (daylight-saving days included) rather than with sleeps.

use std::time::Duration;

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

use super::RevocationError;

/// A local time of day in a time zone: the daily CRL refresh.
#[derive(Debug, Clone)]
pub(crate) struct DailyAt {
    hour: i8,
    minute: i8,
    tz: TimeZone,
}

// === impl DailyAt ===

impl DailyAt {
    /// # Errors
    /// An hour or minute out of range, or a zone the bundled database does not know.
    pub(crate) fn new(hour: u8, minute: u8, zone: &str) -> Result<Self, RevocationError> {
        if hour > 23 || minute > 59 {
            return Err(RevocationError::BadRefreshTime { hour, minute });
        }
        let tz = TimeZone::get(zone).map_err(|e| RevocationError::BadTimeZone {
            zone: zone.to_owned(),
            reason: e.to_string(),
        })?;
        // In range, checked above.
        let (hour, minute) = (hour as i8, minute as i8);
        Ok(Self { hour, minute, tz })
    }

    /// The first occurrence of the local time strictly after `now`.
    ///
    /// A local time skipped by a spring-forward transition resolves to the instant just after
    /// the gap, one repeated by a fall-back transition to its first occurrence (jiff's
    /// "compatible" disambiguation, as in RFC 5545): the refresh still happens once that day.
    pub(crate) fn next_after(&self, now: Timestamp) -> Timestamp {
        let today: Date = now.to_zoned(self.tz.clone()).date();
        let mut day = today;
        // Three days are enough: today's occurrence may be past, tomorrow's cannot be.
        for _ in 0..3 {
            let at = day
                .at(self.hour, self.minute, 0, 0)
                .to_zoned(self.tz.clone());
            if let Ok(at) = at
                && at.timestamp() > now
            {
                return at.timestamp();
            }
            match day.tomorrow() {
                Ok(next) => day = next,
                Err(_) => break,
            }
        }
        // Only reachable at the end of jiff's range: try again in a day.
        add(now, Duration::from_secs(86_400))
    }
}

/// When a CRL should be fetched next after a successful fetch at `now`: the next daily
/// occurrence plus `jitter_offset`, or earlier when the CRL's `next_update` comes within
/// `before`. When the CRL is already inside that window (the publisher is late), poll every
/// `poll` rather than continuously.
pub(crate) fn next_refresh(
    now: Timestamp,
    daily: &DailyAt,
    jitter_offset: Duration,
    next_update: Option<Timestamp>,
    before: Duration,
    poll: Duration,
) -> Timestamp {
    let scheduled = add(daily.next_after(now), jitter_offset);
    let Some(next_update) = next_update else {
        return scheduled;
    };
    let early = sub(next_update, before);
    let early = if early <= now { add(now, poll) } else { early };
    early.min(scheduled)
}

/// Delay before retry number `failures` (1 for the first retry): `initial` doubled at each
/// failure, capped at `max`.
pub(crate) fn backoff(failures: u32, initial: Duration, max: Duration) -> Duration {
    let exponent = failures.saturating_sub(1).min(30);
    initial.saturating_mul(1u32 << exponent).min(max)
}

/// A random offset in `[0, jitter)`.
pub(crate) fn random_jitter(jitter: Duration) -> Duration {
    use rand::Rng;
    let millis = u64::try_from(jitter.as_millis()).unwrap_or(u64::MAX);
    if millis == 0 {
        return Duration::ZERO;
    }
    Duration::from_millis(rand::rng().random_range(0..millis))
}

pub(crate) fn add(t: Timestamp, d: Duration) -> Timestamp {
    jiff::SignedDuration::try_from(d)
        .ok()
        .and_then(|d| t.checked_add(d).ok())
        .unwrap_or(Timestamp::MAX)
}

pub(crate) fn sub(t: Timestamp, d: Duration) -> Timestamp {
    jiff::SignedDuration::try_from(d)
        .ok()
        .and_then(|d| t.checked_sub(d).ok())
        .unwrap_or(Timestamp::MIN)
}

/// Converts a jiff timestamp into a `std` duration from `now` (zero when in the past).
pub(crate) fn until(now: Timestamp, then: Timestamp) -> Duration {
    Duration::try_from(then.duration_since(now)).unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn paris(h: u8, m: u8) -> DailyAt {
        DailyAt::new(h, m, "Europe/Paris").unwrap()
    }

    #[test]
    fn daily_time_in_winter_and_summer() {
        // Winter: Paris is UTC+1, so 07:15 is 06:15Z.
        assert_eq!(
            paris(7, 15).next_after(ts("2025-01-10T05:00:00Z")),
            ts("2025-01-10T06:15:00Z")
        );
        // Already past today: tomorrow.
        assert_eq!(
            paris(7, 15).next_after(ts("2025-01-10T06:15:00Z")),
            ts("2025-01-11T06:15:00Z")
        );
        // Summer: UTC+2.
        assert_eq!(
            paris(7, 15).next_after(ts("2025-07-01T12:00:00Z")),
            ts("2025-07-02T05:15:00Z")
        );
    }

    #[test]
    fn daylight_saving_days() {
        // Spring forward on 2025-03-30 (02:00 -> 03:00): 07:15 that day is UTC+2.
        assert_eq!(
            paris(7, 15).next_after(ts("2025-03-29T12:00:00Z")),
            ts("2025-03-30T05:15:00Z")
        );
        // A time inside the gap (02:30) happens once, just after the gap (03:30 CEST).
        assert_eq!(
            paris(2, 30).next_after(ts("2025-03-29T12:00:00Z")),
            ts("2025-03-30T01:30:00Z")
        );
        // Fall back on 2025-10-26 (03:00 -> 02:00): 07:15 is UTC+1 again.
        assert_eq!(
            paris(7, 15).next_after(ts("2025-10-25T12:00:00Z")),
            ts("2025-10-26T06:15:00Z")
        );
        // A repeated time (02:30) fires at its first occurrence (CEST) only...
        assert_eq!(
            paris(2, 30).next_after(ts("2025-10-25T12:00:00Z")),
            ts("2025-10-26T00:30:00Z")
        );
        // ...and not again at the second one: the next is the following day.
        assert_eq!(
            paris(2, 30).next_after(ts("2025-10-26T00:30:00Z")),
            ts("2025-10-27T01:30:00Z")
        );
    }

    #[test]
    fn jitter_and_early_fetch() {
        let daily = paris(7, 15);
        let now = ts("2025-01-10T08:00:00Z");
        let jitter = Duration::from_secs(600);
        let six_hours = Duration::from_secs(6 * 3600);
        let poll = Duration::from_secs(1800);
        // nextUpdate far away: the daily time plus the jitter.
        let far = Some(ts("2025-02-01T00:00:00Z"));
        assert_eq!(
            next_refresh(now, &daily, jitter, far, six_hours, poll),
            ts("2025-01-11T06:25:00Z")
        );
        // nextUpdate at 18:00 today: fetch six hours before it.
        let near = Some(ts("2025-01-10T18:00:00Z"));
        assert_eq!(
            next_refresh(now, &daily, jitter, near, six_hours, poll),
            ts("2025-01-10T12:00:00Z")
        );
        // Already within the window (publisher late): poll.
        let late = Some(ts("2025-01-10T09:00:00Z"));
        assert_eq!(
            next_refresh(now, &daily, jitter, late, six_hours, poll),
            ts("2025-01-10T08:30:00Z")
        );
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let s = Duration::from_secs;
        assert_eq!(backoff(1, s(30), s(600)), s(30));
        assert_eq!(backoff(2, s(30), s(600)), s(60));
        assert_eq!(backoff(4, s(30), s(600)), s(240));
        assert_eq!(backoff(5, s(30), s(600)), s(480));
        assert_eq!(backoff(6, s(30), s(600)), s(600));
        assert_eq!(backoff(1000, s(30), s(600)), s(600));
    }

    #[test]
    fn random_jitter_stays_in_window() {
        assert_eq!(random_jitter(Duration::ZERO), Duration::ZERO);
        for _ in 0..100 {
            assert!(random_jitter(Duration::from_secs(10)) < Duration::from_secs(10));
        }
    }

    #[test]
    fn bad_settings_are_named() {
        let err = DailyAt::new(24, 0, "Europe/Paris").unwrap_err();
        assert_eq!(err.to_string(), "invalid CRL refresh time 24:00");
        let err = DailyAt::new(7, 15, "Europe/Nowhere").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("unknown time zone \"Europe/Nowhere\" for the CRL refresh schedule"),
            "{err}"
        );
    }
}
