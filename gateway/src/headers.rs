//! Headers the gateway removes and sets on proxied traffic.
//!
//! Identity headers sent upstream (any incoming header with these names, or another proxy's
//! identity convention listed in [`STRIPPED`] and [`STRIPPED_PREFIXES`], is removed first so a
//! caller cannot spoof them):
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

use crate::config::RouteHeaders;
use crate::routing::RequestContext;

/// Hop-by-hop headers (RFC 9110 §7.6.1) plus the proxy ones, never forwarded.
const HOP_BY_HOP: &[&str] = &[
    // The gateway answers `100 Continue` itself when it reads the body; forwarded, the header
    // would make the upstream send a second one.
    "expect",
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

fn is_hop_by_hop(name: &HeaderName) -> bool {
    HOP_BY_HOP.contains(&name.as_str())
}

/// Removes the hop-by-hop headers, those the `Connection` header lists included, and the ones
/// `also` selects, in one pass over the names: most requests carry none of them, and the
/// former one `remove` per listed name (a hash of each) showed in the profile of small
/// requests (issue 16).
fn remove_hop_by_hop_and(headers: &mut HeaderMap, also: impl Fn(&HeaderName) -> bool) {
    let listed: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    remove_where(headers, |k| {
        is_hop_by_hop(k) || listed.contains(k) || also(k)
    });
}

/// Identity and routing headers of other proxies' conventions, removed from every request so
/// that a service written for nginx, an AWS or Azure load balancer, IIS, Cloudflare or Envoy
/// cannot be fooled by a caller sending them itself. Names starting with one of
/// [`STRIPPED_PREFIXES`] go too. A route may add names (`strip_headers`).
pub(crate) const STRIPPED: &[&str] = &[
    "forwarded",
    "client-cert",       // RFC 9440
    "client-cert-chain", // RFC 9440
    "x-arr-clientcert",  // IIS ARR
    "x-real-ip",
    "true-client-ip",
    "cf-connecting-ip",
    "x-cluster-client-ip",
    "remote-user",
    "x-user",
    "x-partner",
    "x-original-url", // IIS rewrite
    "x-rewrite-url",  // IIS rewrite
    "x-original-uri", // nginx auth_request
    "x-original-host",
    "x-original-forwarded-for",
    "x-http-method-override", // would turn a route's allowed GET into a DELETE
    "x-http-method",
    "x-method-override",
];

/// Prefixes of removed header names (see [`STRIPPED`]).
pub(crate) const STRIPPED_PREFIXES: &[&str] = &[
    "x-client-",             // the gateway's own identity headers
    "x-gateway-",            // the gateway's own routing headers
    "x-forwarded-",          // X-Forwarded-For/-Proto/-Host/-Client-Cert…
    "x-ssl-", // nginx, HAProxy conventions: X-SSL-Client-Cert, X-SSL-Client-S-DN, X-SSL-Cert
    "ssl-client-", // Apache mod_ssl conventions
    "x-tls-", // X-Tls-Client-Cert…
    "x-amzn-mtls-", // AWS ALB mTLS
    "x-amzn-oidc-", // AWS ALB authentication
    "cf-client-", // Cloudflare
    "x-ms-client-principal", // Azure App Service authentication
    "x-envoy-", // Envoy internal headers (peer metadata, retries, timeouts)
    "x-remote-", // X-Remote-User, X-Remote-Addr
    "x-authenticated-", // X-Authenticated-User…
];

/// Whether a request header is one the gateway removes by default.
pub(crate) fn is_stripped(name: &str) -> bool {
    STRIPPED.contains(&name) || STRIPPED_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// Makes the caller's request headers fit to send upstream.
pub(crate) fn prepare_request(headers: &mut HeaderMap, ctx: &RequestContext, route: &RouteHeaders) {
    let original_host = headers
        .remove(header::HOST)
        .or_else(|| ctx.authority.clone());
    remove_hop_by_hop_and(headers, |k| {
        is_stripped(k.as_str()) || route.strip.contains(k)
    });
    // Room for what is added below at once: growing the map one insert at a time rehashes it
    // (it showed in the HTTP/2 profile, whose decoded maps are sized for the caller's headers).
    headers.reserve(ctx.conn.connection_headers.len() + 6); // + the six names set below
    for (name, value) in &ctx.conn.connection_headers {
        headers.insert(name.clone(), value.clone());
    }
    if route.forward_client_cert
        && let Some(cert) = &ctx.conn.client_cert
    {
        headers.insert(HeaderName::from_static("client-cert"), cert.leaf.clone());
        if let Some(chain) = &cert.chain {
            headers.insert(HeaderName::from_static("client-cert-chain"), chain.clone());
        }
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

/// The client's certificates as RFC 9440 fields: `Client-Cert: :BASE64(leaf DER):` and
/// `Client-Cert-Chain: :BASE64:, :BASE64:` (the rest of what it presented).
#[derive(Debug, Clone)]
pub(crate) struct ClientCertFields {
    pub(crate) leaf: HeaderValue,
    pub(crate) chain: Option<HeaderValue>,
}

/// Encodes the presented chain (leaf first) once per connection.
pub(crate) fn client_cert_fields(
    chain: &[rustls::pki_types::CertificateDer<'_>],
) -> Option<ClientCertFields> {
    use base64::Engine as _;
    let item = |der: &rustls::pki_types::CertificateDer<'_>| {
        format!(
            ":{}:",
            base64::engine::general_purpose::STANDARD.encode(der.as_ref())
        )
    };
    let (leaf, rest) = chain.split_first()?;
    let leaf = HeaderValue::from_str(&item(leaf)).ok()?;
    let chain = (!rest.is_empty())
        .then(|| rest.iter().map(item).collect::<Vec<_>>().join(", "))
        .and_then(|v| HeaderValue::from_str(&v).ok());
    Some(ClientCertFields { leaf, chain })
}

/// Makes an internal application's request headers fit to send to an external partner: hop-by-hop
/// headers, every identity or routing header (the caller's and the gateway's conventions: the
/// partner learns nothing about the inside) and the CPS agent's headers go; `Host` is the
/// partner's (set by the client from the URL).
pub(crate) fn prepare_outbound(headers: &mut HeaderMap) {
    headers.remove(header::HOST);
    remove_hop_by_hop_and(headers, |k| {
        is_stripped(k.as_str())
            || k.as_str() == crate::outbound::AGENT_HEADER
            || k.as_str() == crate::outbound::SESSION_HEADER
    });
}

/// Removes every header whose name `strip` selects (`HeaderMap` has no `retain`). Allocates
/// nothing when none is selected.
fn remove_where(headers: &mut HeaderMap, strip: impl Fn(&HeaderName) -> bool) {
    let names: Vec<HeaderName> = headers.keys().filter(|k| strip(k)).cloned().collect();
    for name in names {
        headers.remove(name);
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
    remove_hop_by_hop_and(headers, |_| false);
}

/// Gives each header value an allocation of its own. hyper parses an upstream's response
/// without copying: every value is a slice of the connection's 8 KiB read buffer, and the
/// buffer lives while any of them does. An HTTP/2 connection keeps the values it sends in its
/// HPACK table for its whole life, so without a copy each idle HTTP/2 connection held a whole
/// read buffer of some upstream connection (8 KiB, measured with heaptrack). The server calls it
/// on every response to an HTTP/2 request, whichever handler made it. Sensitive values are left
/// as they are: HPACK sends them as never-indexed literals, so the table never holds them (the
/// gateway's own `X-Request-Id` is one, and needs no second copy).
pub(crate) fn unshare_values(headers: &mut HeaderMap) {
    for value in headers.values_mut().filter(|v| !v.is_sensitive()) {
        // A valid value's bytes are valid again.
        if let Ok(mut copy) = HeaderValue::from_bytes(value.as_bytes()) {
            copy.set_sensitive(value.is_sensitive());
            *value = copy;
        }
    }
}

/// Encodes a value for a header: visible ASCII and spaces pass, anything else (and `%`) is
/// percent-encoded as UTF-8.
pub(crate) fn encode(value: &str) -> HeaderValue {
    let passes = |b: u8| (b == b' ' || b.is_ascii_graphic()) && b != b'%';
    // The common case (a route name, a request id): nothing to encode, one copy.
    if value.bytes().all(passes)
        && let Ok(v) = HeaderValue::from_str(value)
    {
        return v;
    }
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if passes(b) {
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

/// A UUID v4 in its 36-character form, written in place (no intermediate hex string).
fn new_uuid() -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let mut out = String::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unshared_values_keep_their_bytes_and_only_sensitive_ones_still_point_into_the_read_buffer() {
        // As hyper parses a response: values are slices of one read buffer.
        let buffer = bytes::Bytes::from(b"text/plain; charset=utf-8 secret-token".to_vec());
        let range = buffer.as_ptr() as usize..buffer.as_ptr() as usize + buffer.len();
        let mut headers = HeaderMap::new();
        let shared = |r: std::ops::Range<usize>| {
            HeaderValue::from_maybe_shared(buffer.slice(r)).expect("valid value")
        };
        headers.insert(header::CONTENT_TYPE, shared(0..25));
        let mut token = shared(26..38);
        token.set_sensitive(true);
        headers.insert(header::AUTHORIZATION, token);
        headers.append(header::VARY, shared(0..4));

        unshare_values(&mut headers);

        for value in headers.values() {
            let at = value.as_bytes().as_ptr() as usize;
            // Never indexed by HPACK, so never kept: not copied.
            assert_eq!(
                range.contains(&at),
                value.is_sensitive(),
                "{value:?}: points into the buffer if and only if it is sensitive"
            );
        }
        assert_eq!(headers[header::CONTENT_TYPE], "text/plain; charset=utf-8");
        assert_eq!(headers[header::AUTHORIZATION], "secret-token");
        assert!(headers[header::AUTHORIZATION].is_sensitive());
        assert!(!headers[header::CONTENT_TYPE].is_sensitive());
        assert_eq!(headers[header::VARY], "text");
    }

    #[test]
    fn other_proxies_identity_conventions_are_stripped() {
        for name in [
            "x-ssl-client-cert",
            "x-ssl-client-s-dn",
            "x-ssl-client-verify",
            "ssl-client-cert",
            "ssl-client-verify",
            "x-amzn-mtls-clientcert",
            "x-amzn-mtls-clientcert-subject",
            "x-arr-clientcert",
            "client-cert",
            "client-cert-chain",
            "x-ssl-cert",
            "x-tls-client-cert",
            "cf-client-cert",
            "x-real-ip",
            "remote-user",
            "x-remote-user",
            "x-authenticated-user",
            "x-user",
            "x-partner",
            "x-ms-client-principal-name",
            "x-original-url",
            "x-rewrite-url",
            "x-envoy-peer-metadata",
            "x-forwarded-client-cert",
            "forwarded",
            "x-http-method-override",
        ] {
            assert!(is_stripped(name), "{name} must be stripped");
        }
        for name in [
            "content-type",
            "soapaction",
            "x-request-id",
            "user-agent",
            "authorization",
        ] {
            assert!(!is_stripped(name), "{name} must pass");
        }
    }

    #[test]
    fn encodes_non_ascii() {
        assert_eq!(encode("CN=Santé 100%"), "CN=Sant%C3%A9 100%25");
        assert_eq!(encode("sas-bench 1"), "sas-bench 1");
        assert_eq!(encode("a\tb"), "a%09b");
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
        let groups: Vec<usize> = generated.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12], "{generated}");
        assert!(
            generated
                .bytes()
                .all(|b| b == b'-' || b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert!(
            matches!(&generated[19..20], "8" | "9" | "a" | "b"),
            "{generated}"
        );
        assert_ne!(request_id(&h), generated);
    }
}
