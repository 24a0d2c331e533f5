//! FHIR dateTime values as SAS and the ANS kit send them, and slot times as the kit demands them.
//!
//! Accepted: `YYYY`, `YYYY-MM`, `YYYY-MM-DD`, and `YYYY-MM-DDThh:mm[:ss[.fff…]]` with an
//! optional `Z` or `±hh:mm`. A value without an offset is Europe/Paris local time (the guide's
//! rule). A partial value covers a period: as a lower bound it means its first instant, as an
//! upper bound its last.

use std::sync::OnceLock;

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::{Offset, TimeZone};
use jiff::{Timestamp, ToSpan};

/// Which end of the search window a value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bound {
    /// `ge`/`gt`: the first instant of the value's period.
    Lower,
    /// `le`/`lt`: the last instant of the value's period.
    Upper,
}

/// The zone of values without an offset, and of the times the gateway emits.
pub(crate) fn paris() -> &'static TimeZone {
    static PARIS: OnceLock<TimeZone> = OnceLock::new();
    // The tz database is bundled into the binary (jiff `tzdb-bundle-always`); the fallback is
    // only for a build without it.
    PARIS.get_or_init(|| TimeZone::get("Europe/Paris").unwrap_or(TimeZone::UTC))
}

/// Parses one FHIR dateTime as a bound.
///
/// # Errors
/// A readable reason when the value is not a FHIR dateTime.
pub(crate) fn parse_bound(text: &str, bound: Bound) -> Result<Timestamp, String> {
    let bad = || format!("`{text}` is not a FHIR dateTime (e.g. 2024-06-12T16:20:00.000+02:00)");
    let (date_part, rest) = text.split_at(text.find('T').unwrap_or(text.len()));
    let (date, period) = parse_date(date_part).ok_or_else(bad)?;
    if rest.is_empty() {
        let start = date.to_datetime(Time::midnight());
        let instant = match bound {
            Bound::Lower => start,
            Bound::Upper => period_end(start, period).ok_or_else(bad)?,
        };
        return local(instant).ok_or_else(bad);
    }
    let rest = &rest[1..];
    let (clock, offset) = split_offset(rest).ok_or_else(bad)?;
    let (time, precision) = parse_time(clock).ok_or_else(bad)?;
    let mut instant = date.to_datetime(time);
    if bound == Bound::Upper && precision == Precision::Minute {
        instant = instant
            .checked_add(59.seconds().milliseconds(999))
            .map_err(|_| bad())?;
    }
    match offset {
        Some(offset) => offset.to_timestamp(instant).map_err(|_| bad()),
        None => local(instant).ok_or_else(bad),
    }
}

/// Formats an instant as the kit demands for slots: `YYYY-MM-DDThh:mm:ss.sss±hh:mm`, in
/// Europe/Paris time (never `Z`).
pub(crate) fn format_slot_time(ts: Timestamp) -> String {
    ts.to_zoned(paris().clone())
        .strftime("%Y-%m-%dT%H:%M:%S%.3f%:z")
        .to_string()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Period {
    Year,
    Month,
    Day,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Precision {
    Minute,
    Second,
}

fn local(dt: DateTime) -> Option<Timestamp> {
    paris().to_ambiguous_timestamp(dt).compatible().ok()
}

fn digits(s: &str, n: usize) -> Option<i32> {
    (s.len() == n && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

fn parse_date(s: &str) -> Option<(Date, Period)> {
    let mut parts = s.split('-');
    let year = i16::try_from(digits(parts.next()?, 4)?).ok()?;
    let (month, period) = match parts.next() {
        Some(m) => (i8::try_from(digits(m, 2)?).ok()?, Period::Month),
        None => (1, Period::Year),
    };
    let (day, period) = match parts.next() {
        Some(d) => (i8::try_from(digits(d, 2)?).ok()?, Period::Day),
        None => (1, period),
    };
    if parts.next().is_some() {
        return None;
    }
    Some((Date::new(year, month, day).ok()?, period))
}

fn period_end(start: DateTime, period: Period) -> Option<DateTime> {
    let next = match period {
        Period::Year => start.checked_add(1.year()),
        Period::Month => start.checked_add(1.month()),
        Period::Day => start.checked_add(1.day()),
    }
    .ok()?;
    next.checked_sub(1.millisecond()).ok()
}

fn split_offset(s: &str) -> Option<(&str, Option<Offset>)> {
    if let Some(clock) = s.strip_suffix('Z') {
        return Some((clock, Some(Offset::UTC)));
    }
    let Some(pos) = s.rfind(['+', '-']) else {
        return Some((s, None));
    };
    let (clock, off) = s.split_at(pos);
    let sign = if off.starts_with('-') { -1 } else { 1 };
    let (h, m) = off[1..].split_once(':')?;
    let (h, m) = (digits(h, 2)?, digits(m, 2)?);
    if h > 14 || m > 59 {
        return None;
    }
    let offset = Offset::from_seconds(sign * (h * 3600 + m * 60)).ok()?;
    Some((clock, Some(offset)))
}

fn parse_time(s: &str) -> Option<(Time, Precision)> {
    let (main, fraction) = match s.split_once('.') {
        Some((main, f)) => (main, Some(f)),
        None => (s, None),
    };
    let mut parts = main.split(':');
    let hour = i8::try_from(digits(parts.next()?, 2)?).ok()?;
    let minute = i8::try_from(digits(parts.next()?, 2)?).ok()?;
    let (second, precision) = match parts.next() {
        Some(sec) => (i8::try_from(digits(sec, 2)?).ok()?, Precision::Second),
        None => (0, Precision::Minute),
    };
    if parts.next().is_some() || (fraction.is_some() && precision == Precision::Minute) {
        return None;
    }
    let nanos = match fraction {
        None => 0,
        Some(f) if !f.is_empty() && f.len() <= 9 && f.bytes().all(|b| b.is_ascii_digit()) => {
            let padded = format!("{f:0<9}");
            padded.parse::<i32>().ok()?
        }
        Some(_) => return None,
    };
    Some((Time::new(hour, minute, second, nanos).ok()?, precision))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn lower(s: &str) -> String {
        parse_bound(s, Bound::Lower).unwrap().to_string()
    }

    #[test]
    fn every_form_seen_in_the_guide_parses() {
        assert_eq!(
            lower("2024-06-12T16:20:00.000+02:00"),
            "2024-06-12T14:20:00Z"
        );
        assert_eq!(
            lower("2021-11-04T14:19:35.760+00:00"),
            "2021-11-04T14:19:35.76Z"
        );
        // No offset: Europe/Paris (winter +01:00, summer +02:00).
        assert_eq!(lower("2021-01-02T10:00:00"), "2021-01-02T09:00:00Z");
        assert_eq!(lower("2026-07-01T10:00:00.000"), "2026-07-01T08:00:00Z");
        assert_eq!(lower("2026-07-01T10:00"), "2026-07-01T08:00:00Z");
        assert_eq!(lower("2026-07-01T10:00Z"), "2026-07-01T10:00:00Z");
        assert_eq!(lower("2026-07-01"), "2026-06-30T22:00:00Z");
        assert_eq!(
            parse_bound("2026-07-01", Bound::Upper).unwrap().to_string(),
            "2026-07-01T21:59:59.999Z"
        );
        assert_eq!(
            parse_bound("2026-07-01T10:00+02:00", Bound::Upper)
                .unwrap()
                .to_string(),
            "2026-07-01T08:00:59.999Z"
        );
    }

    #[test]
    fn malformed_values_are_refused() {
        for bad in [
            "",
            "x",
            "2024-13-01",
            "2024-06-12T",
            "2024-06-12T25:00:00",
            "2024-06-12 10:00",
            "2024-06-12T10:00:00+2:00",
            "2024-06-12T10:00:00.+02:00",
            "2024-06-12T10:00.5",
            "2024-06-12T10:00:00+02:00:00",
        ] {
            assert!(parse_bound(bad, Bound::Lower).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn slot_times_carry_milliseconds_and_a_numeric_offset() {
        let ts: Timestamp = "2026-07-01T08:00:00Z".parse().unwrap();
        assert_eq!(format_slot_time(ts), "2026-07-01T10:00:00.000+02:00");
        let ts: Timestamp = "2026-01-15T08:30:05.250Z".parse().unwrap();
        assert_eq!(format_slot_time(ts), "2026-01-15T09:30:05.250+01:00");
        // Below the millisecond is cut, never rounded up.
        let ts: Timestamp = "2026-01-15T08:30:05.2509Z".parse().unwrap();
        assert_eq!(format_slot_time(ts), "2026-01-15T09:30:05.250+01:00");
    }
}
