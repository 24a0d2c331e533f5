//! Latency recording and the report (one JSON line plus one human line).

use std::time::Duration;

use serde_json::{Value, json};

/// Every latency of one run, in microseconds, plus the counters of one worker.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    /// One entry per completed operation, microseconds.
    pub(crate) latencies_us: Vec<u32>,
    /// Operations that failed (I/O, TLS, or a non-2xx status).
    pub(crate) errors: u64,
    /// Handshakes that were full (no resumption).
    pub(crate) full_handshakes: u64,
    /// Handshakes that resumed a session (0 unless `handshakes --resume`).
    pub(crate) resumed_handshakes: u64,
    /// First error seen, for the report.
    pub(crate) first_error: Option<String>,
}

impl Recorder {
    /// Records one successful operation.
    pub(crate) fn ok(&mut self, took: Duration) {
        let us = u32::try_from(took.as_micros()).unwrap_or(u32::MAX);
        self.latencies_us.push(us);
    }

    /// Records one failure.
    pub(crate) fn err(&mut self, e: impl std::fmt::Display) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(e.to_string());
        }
    }

    /// Folds another worker's recorder into this one.
    pub(crate) fn merge(&mut self, other: Recorder) {
        self.latencies_us.extend(other.latencies_us);
        self.errors += other.errors;
        self.full_handshakes += other.full_handshakes;
        self.resumed_handshakes += other.resumed_handshakes;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }
}

/// The value at quantile `q` (0..=1) of sorted microsecond samples, in milliseconds.
pub(crate) fn quantile_ms(sorted: &[u32], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    // Nearest-rank: the smallest sample with at least q of the samples at or below it.
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    f64::from(sorted[rank - 1]) / 1000.0
}

/// Builds the JSON report of one run.
pub(crate) fn report(
    mode: &str,
    target: &str,
    elapsed: Duration,
    mut rec: Recorder,
    extra: Value,
) -> Value {
    rec.latencies_us.sort_unstable();
    let ops = rec.latencies_us.len();
    let secs = elapsed.as_secs_f64();
    #[allow(clippy::cast_precision_loss)]
    let rate = if secs > 0.0 { ops as f64 / secs } else { 0.0 };
    let mut v = json!({
        "mode": mode,
        "target": target,
        "elapsed_s": round3(secs),
        "ops": ops,
        "rate_per_s": round3(rate),
        "errors": rec.errors,
        "p50_ms": round3(quantile_ms(&rec.latencies_us, 0.50)),
        "p99_ms": round3(quantile_ms(&rec.latencies_us, 0.99)),
        "max_ms": round3(quantile_ms(&rec.latencies_us, 1.0)),
        "full_handshakes": rec.full_handshakes,
        "resumed_handshakes": rec.resumed_handshakes,
        // Short aliases of the two above (newer scripts read these).
        "full": rec.full_handshakes,
        "resumed": rec.resumed_handshakes,
        "first_error": rec.first_error,
    });
    if let (Some(obj), Value::Object(more)) = (v.as_object_mut(), extra) {
        obj.extend(more);
    }
    v
}

pub(crate) fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Prints the report: the JSON line first (machine-readable), then a human line.
/// A closed stdout (the reader only wanted the JSON line) is not an error.
pub(crate) fn print(v: &Value) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{v}");
    let _ = writeln!(
        out,
        "# {} {}{}: {} ops in {}s = {}/s, p50 {} ms, p99 {} ms, max {} ms, errors {}, handshakes full {} resumed {}",
        v["mode"].as_str().unwrap_or("?"),
        v["target"].as_str().unwrap_or("?"),
        v["protocol"]
            .as_str()
            .map_or(String::new(), |p| format!(" ({p})")),
        v["ops"],
        v["elapsed_s"],
        v["rate_per_s"],
        v["p50_ms"],
        v["p99_ms"],
        v["max_ms"],
        v["errors"],
        v["full_handshakes"],
        v["resumed_handshakes"],
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_quantiles() {
        let s: Vec<u32> = (1..=100).map(|x| x * 1000).collect();
        assert!((quantile_ms(&s, 0.5) - 50.0).abs() < 1e-9);
        assert!((quantile_ms(&s, 0.99) - 99.0).abs() < 1e-9);
        assert!((quantile_ms(&s, 1.0) - 100.0).abs() < 1e-9);
        assert!((quantile_ms(&[], 0.5)).abs() < 1e-9);
    }
}
