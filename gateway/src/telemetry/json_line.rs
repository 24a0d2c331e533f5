//! The JSON log line, written straight into the line buffer.
//!
//! Same output as `tracing_subscriber`'s JSON format with `flatten_event(true)` (what the
//! gateway used before, and what operators' log pipelines parse): `timestamp` (UTC, to the
//! microsecond), `level`, the event's fields in order (`message` first), `target`. Hand-written
//! because the generic one cost the access line about 3 µs (`bench/profile.sh requests`, issue
//! 16): a `serde_json` map built through `tracing_serde`'s visitor and a calendar formatter per
//! line. Strings are escaped and numbers printed as `serde_json` does (`ryu` for floats), and the
//! tests compare both formatters on the same events. The gateway opens no spans, so there is no
//! span list.

use std::fmt::{self, Write as _};
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// The event formatter (see the module's documentation).
pub(crate) struct JsonLine;

impl<S, N> FormatEvent<S, N> for JsonLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        // Straight into tracing's per-thread line buffer: no line of our own to copy.
        writer.write_str("{\"timestamp\":\"")?;
        push_timestamp(&mut writer, SystemTime::now());
        writer.write_str("\",\"level\":\"")?;
        writer.write_str(event.metadata().level().as_str())?;
        writer.write_char('"')?;
        let mut fields = Fields {
            out: writer,
            log_target: None,
        };
        event.record(&mut fields);
        let Fields {
            mut out,
            log_target,
        } = fields;
        out.write_str(",\"target\":")?;
        push_str(
            &mut out,
            log_target
                .as_deref()
                .unwrap_or_else(|| event.metadata().target()),
        );
        out.write_str("}\n")
    }
}

/// Appends `"name":value` for each field. Writing into tracing's `String` cannot fail, so the
/// results are not looked at.
struct Fields<'w> {
    out: Writer<'w>,
    /// The original target of an event forwarded from the `log` crate.
    log_target: Option<String>,
}

impl Fields<'_> {
    fn put(&mut self, s: &str) {
        let _ = self.out.write_str(s);
    }

    fn key(&mut self, field: &Field) {
        self.put(",");
        push_str(&mut self.out, field.name());
        self.put(":");
    }
}

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "log.target" {
            self.log_target = Some(value.to_owned());
        } else if !field.name().starts_with("log.") {
            self.key(field);
            push_str(&mut self.out, value);
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.key(field);
        self.put(itoa::Buffer::new().format(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name().starts_with("log.") {
            return;
        }
        self.key(field);
        self.put(itoa::Buffer::new().format(value));
    }

    // 128-bit integers go through `Debug` in `tracing_serde`: a string.
    fn record_i128(&mut self, field: &Field, value: i128) {
        self.key(field);
        self.put("\"");
        self.put(itoa::Buffer::new().format(value));
        self.put("\"");
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        self.key(field);
        self.put("\"");
        self.put(itoa::Buffer::new().format(value));
        self.put("\"");
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.key(field);
        if !value.is_finite() {
            self.put("null");
            return;
        }
        let mut buffer = ryu::Buffer::new();
        let number = buffer.format_finite(value);
        // `serde_json` writes a positive exponent with its sign: `1e+21`.
        match number.split_once('e') {
            Some((mantissa, exponent)) if !exponent.starts_with('-') => {
                self.put(mantissa);
                self.put("e+");
                self.put(exponent);
            }
            _ => self.put(number),
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.key(field);
        self.put(if value { "true" } else { "false" });
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name().starts_with("log.") {
            return;
        }
        self.key(field);
        self.put("\"");
        // Escaped as it is written: no intermediate String.
        let _ = write!(Escaper(&mut self.out), "{value:?}");
        self.put("\"");
    }
}

/// A JSON string, quoted and escaped as `serde_json` does.
fn push_str(out: &mut impl fmt::Write, s: &str) {
    let _ = out.write_char('"');
    let _ = Escaper(&mut *out).write_str(s);
    let _ = out.write_char('"');
}

/// Escapes what is written through it: `"`, `\` and the control characters.
struct Escaper<W>(W);

impl<W: fmt::Write> fmt::Write for Escaper<W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut rest = s;
        while let Some(i) = rest.find(|c: char| c == '"' || c == '\\' || c < ' ') {
            self.0.write_str(&rest[..i])?;
            match rest.as_bytes()[i] {
                b'"' => self.0.write_str("\\\"")?,
                b'\\' => self.0.write_str("\\\\")?,
                b'\n' => self.0.write_str("\\n")?,
                b'\r' => self.0.write_str("\\r")?,
                b'\t' => self.0.write_str("\\t")?,
                0x08 => self.0.write_str("\\b")?,
                0x0c => self.0.write_str("\\f")?,
                c => write!(self.0, "\\u{c:04x}")?,
            }
            rest = &rest[i + 1..];
        }
        self.0.write_str(rest)
    }
}

/// `2026-12-01T21:33:46.567683Z`: UTC, microseconds, like `tracing_subscriber`'s clock.
fn push_timestamp(out: &mut impl fmt::Write, now: SystemTime) {
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, of_day) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days);
    let _ = write!(
        out,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60,
        since.subsec_micros()
    );
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar (Howard
/// Hinnant's `civil_from_days`, for non-negative days): a few divisions instead of a calendar
/// library call per log line.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests;
