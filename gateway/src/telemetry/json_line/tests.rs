#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::*;

/// Collects what a subscriber writes.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Capture {
        self.clone()
    }
}

fn events() {
    let peer: std::net::SocketAddr = "127.0.0.1:44018".parse().unwrap();
    let error = std::io::Error::other("upstream said \"no\"\n\tthen\u{1}closed — é");
    tracing::info!(
        target: "gateway::access",
        listener = "bench", route = "sas-bench", method = "POST", path = "/sas/bench",
        status = 200_u16, latency_ms = 2.076, request_id = "0315fc8a", client_cn = "sas-agregateur-recette",
        peer = %peer, "request"
    );
    tracing::warn!(
        target: "gateway::access",
        status = 502_u16, latency_ms = 12.0, error = %error, whole = 1e21, tiny = 1.5e-7,
        "request refused"
    );
    tracing::error!(negative = -3_i64, flag = true, debug = ?Some("a\\b"), big = u128::MAX,
        "a \"quoted\" message\r\n");
    tracing::info!(nan = f64::NAN, "no finite number");
}

/// Both formatters' lines, without their timestamps (the clock moved between them).
fn lines_of(ours: bool) -> Vec<String> {
    let capture = Capture::default();
    let builder = tracing_subscriber::fmt()
        .with_writer(capture.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::TRACE);
    if ours {
        tracing::subscriber::with_default(builder.event_format(JsonLine).finish(), events);
    } else {
        let reference = builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .finish();
        tracing::subscriber::with_default(reference, events);
    }
    let text = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    text.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            assert!(v["timestamp"].as_str().unwrap().ends_with('Z'), "{l}");
            let rest = &l[l.find("\"level\"").unwrap()..];
            format!("{{{rest}")
        })
        .collect()
}

#[test]
fn the_lines_are_those_of_tracing_subscribers_json_format() {
    let ours = lines_of(true);
    let theirs = lines_of(false);
    assert_eq!(ours.len(), 4);
    assert_eq!(ours, theirs);
}

#[test]
fn the_timestamp_is_utc_to_the_microsecond() {
    for secs in [
        0_u64,
        951_782_400,
        1_709_164_799,
        1_764_624_826,
        4_102_444_800,
        253_402_207_199,
    ] {
        let at = UNIX_EPOCH + Duration::new(secs, 567_683_999);
        let mut ours = String::new();
        push_timestamp(&mut ours, at);
        let expected = jiff::Timestamp::from_second(i64::try_from(secs).unwrap())
            .unwrap()
            .strftime("%Y-%m-%dT%H:%M:%S.567683Z")
            .to_string();
        assert_eq!(ours, expected);
    }
    // And every day of four centuries, against jiff's calendar.
    let mut day = jiff::civil::date(1970, 1, 1);
    for days in 0..146_097_u64 {
        let (y, m, d) = civil_from_days(days);
        assert_eq!(
            (y, m, d),
            (
                u64::try_from(day.year()).unwrap(),
                u64::try_from(day.month()).unwrap(),
                u64::try_from(day.day()).unwrap()
            )
        );
        day = day.tomorrow().unwrap();
    }
    let mut now = String::new();
    push_timestamp(&mut now, SystemTime::now());
    assert_eq!(now.len(), 27, "{now}");
}
