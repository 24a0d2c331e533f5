//! A listener's connection lifetimes and caps: the settings that keep one client from holding
//! connections that others need (slow headers, idle keep-alive, a slow body, a flood from one
//! address, anonymous probes on an `optional` listener).
//!
//! Defaults, and how they compare (nginx 1.26 / Envoy 1.31 defaults):
//!
//! | key | default | nginx | Envoy |
//! |---|---|---|---|
//! | `handshake_timeout` | 10s | `ssl_handshake_timeout` 60s | `transport_socket_connect_timeout` none |
//! | `header_read_timeout` | 10s | `client_header_timeout` 60s | `request_headers_timeout` none |
//! | `idle_timeout` | 60s | `keepalive_timeout` 75s | `idle_timeout` 1h |
//! | `request_body_timeout` | 30s | `client_body_timeout` 60s | `stream_idle_timeout` 5m |
//! | `request_timeout` | 10m | none | `request_timeout` none |
//! | `http2_keepalive_interval` / `_timeout` | 60s / 20s | none | `connection_keepalive` none |
//! | `max_connections_per_address` | 256 | none (`limit_conn` opt-in) | none (overload manager) |
//! | `max_connections_without_certificate` | a quarter of `max_connections` | none | none |
//!
//! The gateway's defaults are shorter than nginx's because its callers are machines (the SAS
//! platform, portals, internal apps) that send a whole request at once: a human on a slow
//! mobile link is not the case to serve, a slowloris is.

use std::time::Duration;

use super::error::Collector;
use super::raw::{ClientAuthMode, RawListener};
use super::units::positive_duration;

/// How long each step of a connection may take. A reload applies new values to connections
/// accepted after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionTimeouts {
    /// Longest TLS handshake.
    pub handshake: Duration,
    /// HTTP/1.1: longest time from the first byte of a request (or from the end of the
    /// handshake, for the first request) until its headers are complete.
    pub header_read: Duration,
    /// Longest time a connection stays open with no request in flight (HTTP/1.1 keep-alive and
    /// HTTP/2 alike); HTTP/2 connections are closed with GOAWAY.
    pub idle: Duration,
    /// Longest silence while a request body is being received.
    pub request_body: Duration,
    /// Longest time from a request's headers to the end of its body.
    pub request: Duration,
    /// HTTP/2 PING interval on a connection (`None`: no pings).
    pub http2_keepalive_interval: Option<Duration>,
    /// How long an HTTP/2 PING may stay unanswered before the connection is closed.
    pub http2_keepalive_timeout: Duration,
}

/// How many connections a listener serves. Read at start: a reload that changes them is
/// refused with "needs a restart".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionCaps {
    /// Connections served at once; more wait in the kernel's backlog.
    pub max_connections: usize,
    /// Connections from one client IP address at once; more are closed when accepted.
    pub max_connections_per_address: usize,
    /// Connections without a client certificate at once (after the handshake), so that probes
    /// on an `optional` listener cannot take the slots verified clients need. Equal to
    /// `max_connections` where every connection is anonymous (mode `none`) or none can be
    /// (mode `required`).
    pub max_connections_without_certificate: usize,
}

pub(super) fn timeouts(
    c: &mut Collector,
    key: &str,
    l: &RawListener,
) -> Option<ConnectionTimeouts> {
    let mut get = |name: &str, value: Option<&str>, default: Duration| {
        c.timeout(format!("{key}.{name}"), value, default)
    };
    let handshake = get(
        "handshake_timeout",
        l.handshake_timeout.as_deref(),
        Duration::from_secs(10),
    );
    let header_read = get(
        "header_read_timeout",
        l.header_read_timeout.as_deref(),
        Duration::from_secs(10),
    );
    let idle = get(
        "idle_timeout",
        l.idle_timeout.as_deref(),
        Duration::from_secs(60),
    );
    let request_body = get(
        "request_body_timeout",
        l.request_body_timeout.as_deref(),
        Duration::from_secs(30),
    );
    let request = get(
        "request_timeout",
        l.request_timeout.as_deref(),
        Duration::from_secs(600),
    );
    let keepalive_timeout = get(
        "http2_keepalive_timeout",
        l.http2_keepalive_timeout.as_deref(),
        Duration::from_secs(20),
    );
    let keepalive_interval = match l.http2_keepalive_interval.as_deref() {
        Some("off") => Some(None),
        Some(text) => c
            .check(
                format!("{key}.http2_keepalive_interval"),
                positive_duration(text).map_err(|e| format!("{e}, or `off`")),
            )
            .map(Some),
        None => Some(Some(Duration::from_secs(60))),
    };
    Some(ConnectionTimeouts {
        handshake: handshake?,
        header_read: header_read?,
        idle: idle?,
        request_body: request_body?,
        request: request?,
        http2_keepalive_interval: keepalive_interval?,
        http2_keepalive_timeout: keepalive_timeout?,
    })
}

pub(super) fn caps(
    c: &mut Collector,
    key: &str,
    l: &RawListener,
    mode: ClientAuthMode,
) -> Option<ConnectionCaps> {
    let max = l.max_connections.unwrap_or(10_000);
    let mut ok = true;
    let mut at_least_one = |c: &mut Collector, name: &str, value: usize| {
        if value == 0 {
            c.push(format!("{key}.{name}"), "must be at least 1");
            ok = false;
        } else if value > max {
            c.push(
                format!("{key}.{name}"),
                format!("{value} is more than max_connections ({max})"),
            );
            ok = false;
        }
    };
    if max == 0 {
        c.push(format!("{key}.max_connections"), "must be at least 1");
        return None;
    }
    let per_address = l.max_connections_per_address.unwrap_or(256.min(max));
    at_least_one(c, "max_connections_per_address", per_address);
    let anonymous = match (mode, l.max_connections_without_certificate) {
        (ClientAuthMode::Optional, Some(n)) => {
            at_least_one(c, "max_connections_without_certificate", n);
            n
        }
        (ClientAuthMode::Optional, None) => (max / 4).max(1),
        (_, Some(_)) => {
            c.push(
                format!("{key}.max_connections_without_certificate"),
                "only applies to a listener whose client_auth mode is `optional`",
            );
            return None;
        }
        (_, None) => max,
    };
    ok.then_some(ConnectionCaps {
        max_connections: max,
        max_connections_per_address: per_address,
        max_connections_without_certificate: anonymous,
    })
}
