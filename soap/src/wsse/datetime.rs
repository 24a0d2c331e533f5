//! The xs:dateTime forms WS-Security messages carry in `Created` and `Expires`.
//!
//! Hand-written rather than jiff's RFC 3339 parser because the policy needs to know
//! *how* the time was written (fractional seconds? which zone designator?), and
//! because xs:dateTime is narrower than what jiff accepts (no space separator, no
//! lowercase `t`/`z`).

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::{Offset, TimeZone};

/// The zone designator of a parsed value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Zone {
    /// A literal `Z`.
    Z,
    /// A numeric offset, in seconds east of UTC (`+00:00` is 0).
    Offset(i32),
    /// No designator: a "local" time in xs:dateTime terms.
    Absent,
}

/// A parsed xs:dateTime, before any policy decides what its zone means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct XsDateTime {
    pub(crate) civil: DateTime,
    pub(crate) zone: Zone,
    pub(crate) has_fraction: bool,
}

impl XsDateTime {
    /// Whether the value is explicitly in UTC (`Z`, `+00:00` or `-00:00`).
    pub(crate) fn is_utc(&self) -> bool {
        matches!(self.zone, Zone::Z | Zone::Offset(0))
    }

    /// The instant, reading a `Z` or absent designator as civil time in `z_zone`
    /// (`None`: UTC; a lenient policy may say the sender's clock is local).
    pub(crate) fn to_timestamp(self, z_zone: Option<&TimeZone>) -> Option<Timestamp> {
        match self.zone {
            Zone::Offset(seconds) => {
                let offset = Offset::from_seconds(seconds).ok()?;
                offset.to_timestamp(self.civil).ok()
            }
            Zone::Z | Zone::Absent => match z_zone {
                None => Offset::UTC.to_timestamp(self.civil).ok(),
                Some(zone) => zone.to_ambiguous_timestamp(self.civil).compatible().ok(),
            },
        }
    }
}

/// What is wrong with a date-time, for the log.
pub(crate) type Problem = &'static str;

/// Parses `YYYY-MM-DDThh:mm:ss[.f{1,9}][Z|(+|-)hh:mm]`.
pub(crate) fn parse(text: &str) -> Result<XsDateTime, Problem> {
    const SHAPE: Problem = "not of the form YYYY-MM-DDThh:mm:ss[.fff][Z|+hh:mm]";
    let b = text.as_bytes();
    if b.len() < 19
        || b.get(4) != Some(&b'-')
        || b.get(7) != Some(&b'-')
        || b.get(10) != Some(&b'T')
        || b.get(13) != Some(&b':')
        || b.get(16) != Some(&b':')
    {
        return Err(SHAPE);
    }
    let year = digits(b, 0, 4).ok_or(SHAPE)?;
    let month = digits(b, 5, 2).ok_or(SHAPE)?;
    let day = digits(b, 8, 2).ok_or(SHAPE)?;
    let hour = digits(b, 11, 2).ok_or(SHAPE)?;
    let minute = digits(b, 14, 2).ok_or(SHAPE)?;
    let second = digits(b, 17, 2).ok_or(SHAPE)?;
    let mut rest = &b[19..];
    let mut nanos = 0i32;
    let mut has_fraction = false;
    if let Some((b'.', tail)) = rest.split_first() {
        let count = tail.iter().take_while(|c| c.is_ascii_digit()).count();
        if count == 0 || count > 9 {
            return Err("fractional seconds must have 1 to 9 digits");
        }
        let fraction = digits(tail, 0, count).ok_or(SHAPE)?;
        nanos = fraction * 10i32.pow(u32::try_from(9 - count).unwrap_or(0));
        has_fraction = true;
        rest = &tail[count..];
    }
    let zone = match rest {
        [] => Zone::Absent,
        [b'Z'] => Zone::Z,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let hours = digits(rest, 1, 2).ok_or(SHAPE)?;
            let minutes = digits(rest, 4, 2).ok_or(SHAPE)?;
            if hours > 14 || minutes > 59 || (hours == 14 && minutes > 0) {
                return Err("time zone offset out of range");
            }
            let seconds = hours * 3600 + minutes * 60;
            Zone::Offset(if *sign == b'-' { -seconds } else { seconds })
        }
        _ => return Err(SHAPE),
    };
    let civil = DateTime::new(
        i16::try_from(year).map_err(|_| SHAPE)?,
        i8::try_from(month).map_err(|_| SHAPE)?,
        i8::try_from(day).map_err(|_| SHAPE)?,
        i8::try_from(hour).map_err(|_| SHAPE)?,
        i8::try_from(minute).map_err(|_| SHAPE)?,
        i8::try_from(second).map_err(|_| SHAPE)?,
        nanos,
    )
    .map_err(|_| "date or time field out of range")?;
    Ok(XsDateTime {
        civil,
        zone,
        has_fraction,
    })
}

/// `len` ASCII digits at `at`, as a number.
fn digits(b: &[u8], at: usize, len: usize) -> Option<i32> {
    let slice = b.get(at..at.checked_add(len)?)?;
    slice.iter().try_fold(0i32, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + i32::from(c - b'0'))
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn forms() {
        let v = parse("2024-03-01T10:20:30.123Z").unwrap();
        assert!(v.has_fraction && v.is_utc() && v.zone == Zone::Z);
        let v = parse("2024-03-01T10:20:30+00:00").unwrap();
        assert!(!v.has_fraction && v.is_utc());
        let v = parse("2024-03-01T10:20:30-02:30").unwrap();
        assert_eq!(v.zone, Zone::Offset(-9000));
        assert_eq!(parse("2024-03-01T10:20:30").unwrap().zone, Zone::Absent);
        let ts = parse("2024-03-01T10:20:30.5+01:00")
            .unwrap()
            .to_timestamp(None)
            .unwrap();
        assert_eq!(ts.to_string(), "2024-03-01T09:20:30.5Z");
    }

    #[test]
    fn refusals() {
        for bad in [
            "",
            "2024-03-01 10:20:30Z",
            "2024-03-01t10:20:30Z",
            "2024-03-01T10:20:30z",
            "2024-03-01T10:20:30.Z",
            "2024-03-01T10:20:30.1234567890Z",
            "2024-13-01T10:20:30Z",
            "2024-02-30T10:20:30Z",
            "2024-03-01T24:00:00Z",
            "2024-03-01T10:20:60Z",
            "2024-03-01T10:20:30+15:00",
            "2024-03-01T10:20:30+0100",
            "2024-03-01T10:20:30Z ",
            "+2024-03-01T10:20:30Z",
            "२०२४-03-01T10:20:30Z",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
