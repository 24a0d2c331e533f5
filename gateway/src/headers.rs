//! Headers the gateway removes and sets on proxied traffic.
//!
//! Identity headers sent upstream (any incoming header with these names, or starting with
//! `x-client-` or `x-gateway-`, is removed first so a caller cannot spoof them):
//!
//! | header | value |
//! |---|---|
//! | `X-Client-Verified` | `SUCCESS` when a verified certificate was presented, else `NONE` |
//! | `X-Client-Subject-DN` | subject DN, certificate order (`C=FR, ST=…, O=…, OU=…, CN=…`) |
//! | `X-Client-CN`, `X-Client-OU`, `X-Client-O` | first CN, OU, O of the subject |
//! | `X-Client-Serial` | serial, uppercase hex |
//! | `X-Client-Issuer-DN` | issuer DN |
//! | `X-Client-Cert-SHA256` | SHA-256 of the leaf DER, lowercase hex |
//! | `X-Client-Not-After` | end of validity, RFC 3339 UTC |
//! | `X-Gateway-Client` | the configured client name the route matched (pinned routes) |
//! | `X-Gateway-Route` | the route's name |
//! | `X-Request-Id` | the caller's if well-formed, else a new UUID v4 |
//! | `X-Forwarded-For` | the TCP peer address: replaced, not appended (the gateway is the edge) |
//! | `X-Forwarded-Proto` | `https` |
//! | `X-Forwarded-Host` | the Host (or HTTP/2 authority) the caller used |
//!
//! Values outside visible ASCII (a DN with accents) are percent-encoded as UTF-8, `%` included.

use http::header::{self, HeaderMap, HeaderName, HeaderValue};

use crate::routing::RequestContext;

/// Hop-by-hop headers (RFC 9110 §7.6.1) plus the proxy ones, never forwarded.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "proxy-authorization",
    "proxy-authenticate",
];

fn remove_hop_by_hop(headers: &mut HeaderMap) {
    let listed: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in listed {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(*name);
    }
}

/// Makes the caller's request headers fit to send upstream.
pub(crate) fn prepare_request(headers: &mut HeaderMap, ctx: &RequestContext) {
    remove_hop_by_hop(headers);
    let original_host = headers
        .remove(header::HOST)
        .or_else(|| ctx.authority.clone());
    let spoofable: Vec<HeaderName> = headers
        .keys()
        .filter(|k| {
            let k = k.as_str();
            k.starts_with("x-client-")
                || k.starts_with("x-gateway-")
                || k.starts_with("x-forwarded-")
                || k == "forwarded"
        })
        .cloned()
        .collect();
    for name in spoofable {
        headers.remove(name);
    }
    for (name, value) in &ctx.conn.connection_headers {
        headers.insert(name.clone(), value.clone());
    }
    let mut set = |name: &'static str, value: &str| {
        headers.insert(HeaderName::from_static(name), encode(value));
    };
    if let Some(client) = &ctx.client_name {
        set("x-gateway-client", client);
    }
    set("x-gateway-route", &ctx.route_name);
    set("x-request-id", &ctx.request_id);
    if let Some(host) = original_host {
        headers.insert(HeaderName::from_static("x-forwarded-host"), host);
    }
}

/// The headers that depend only on the connection (identity, peer), encoded once when it is
/// accepted: they cannot change during a connection, and encoding them per request showed in
/// the benchmark profile.
pub(crate) fn connection_headers(
    identity: Option<&mtls::PeerIdentity>,
    peer: std::net::SocketAddr,
) -> Vec<(HeaderName, HeaderValue)> {
    let mut out = Vec::with_capacity(12);
    let mut set = |name: &'static str, value: &str| {
        out.push((HeaderName::from_static(name), encode(value)));
    };
    match identity {
        Some(id) => {
            set("x-client-verified", "SUCCESS");
            set("x-client-subject-dn", &id.subject_dn);
            if let Some(cn) = &id.cn {
                set("x-client-cn", cn);
            }
            if let Some(ou) = &id.ou {
                set("x-client-ou", ou);
            }
            if let Some(o) = &id.o {
                set("x-client-o", o);
            }
            set("x-client-serial", &id.serial_hex);
            set("x-client-issuer-dn", &id.issuer_dn);
            set("x-client-cert-sha256", &id.sha256_fingerprint);
            set("x-client-not-after", &id.not_after);
        }
        None => set("x-client-verified", "NONE"),
    }
    set("x-forwarded-for", &peer.ip().to_string());
    set("x-forwarded-proto", "https");
    out
}

/// Makes the upstream's response headers fit to send back.
pub(crate) fn prepare_response(headers: &mut HeaderMap) {
    remove_hop_by_hop(headers);
}

/// Encodes a value for a header: visible ASCII and spaces pass, anything else (and `%`) is
/// percent-encoded as UTF-8.
pub(crate) fn encode(value: &str) -> HeaderValue {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if (b == b' ' || b.is_ascii_graphic()) && b != b'%' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    // Only visible ASCII and spaces remain, which HeaderValue always accepts.
    HeaderValue::from_str(&out).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The caller's `X-Request-Id` if it is a reasonable token, else a new UUID v4.
pub(crate) fn request_id(headers: &HeaderMap) -> String {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 128
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        })
        .map_or_else(new_uuid, str::to_owned)
}

fn new_uuid() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_non_ascii() {
        assert_eq!(encode("CN=Santé 100%"), "CN=Sant%C3%A9 100%25");
    }

    #[test]
    fn request_ids() {
        let mut h = HeaderMap::new();
        h.insert("x-request-id", HeaderValue::from_static("abc-123"));
        assert_eq!(request_id(&h), "abc-123");
        h.insert(
            "x-request-id",
            HeaderValue::from_static("bad value with spaces"),
        );
        let generated = request_id(&h);
        assert_eq!(generated.len(), 36);
        assert_eq!(&generated[14..15], "4");
    }
}
