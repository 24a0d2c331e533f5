//! Helpers of the hostile-input suite: one gateway with the demo's kinds of routes (the ASPOne
//! alert SOAP service, the SAS FHIR base, proxy routes to the demo echo) in front of a demo
//! upstream that notes every request it parses, raw HTTP/1.1 and HTTP/2 over TLS for the bytes
//! well-behaved clients never send, and the normal requests that must still succeed after each
//! attack.
#![allow(dead_code, clippy::unwrap_used, missing_docs, unreachable_pub)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::Request;
use http_body_util::Full;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use crate::alert_support::{self, Call};
use crate::common::{self, Answer};
use crate::sas_support;

/// The alert route (`max_body_size: 256KiB`, as in the demo).
pub const ALERT: &str = "/aspone/alert";
/// The same service on a route that lets 10 MiB bodies through to the adapter.
pub const ALERT_LARGE: &str = "/aspone/alert-large";

/// What the upstream parsed: one line per request.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    /// `X-Client-CN` as the gateway set it.
    pub cn: Option<String>,
}

/// The gateway and what its upstream saw.
pub struct Stack {
    pub gateway: gateway::Gateway,
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Stack {
    /// Every request the upstream parsed so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Requests the upstream parsed whose path contains `fragment`.
    pub fn seen_paths(&self, fragment: &str) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| s.path.contains(fragment))
            .collect()
    }

    pub async fn shutdown(self) {
        self.gateway.shutdown().await;
    }
}

/// Starts the demo upstream (noting what it parses) and a gateway on an `optional` listener with
/// `header_read_timeout: 1s`, `handshake_timeout: 2s` and `idle_timeout: 3s`, and the routes:
///
/// - `/aspone/alert` (`aspone_alert`, 256 KiB) and `/aspone/alert-large` (the same, 10 MiB),
///   partner `portal-a`, any verified client;
/// - `/sas/recette/fhir` (`sas_fhir`, 64 KiB), for sas-recette;
/// - `/sas` (proxy to the echo, 10 MiB), for sas-recette;
/// - `/internal` (proxy to the echo, 10 MiB), any verified client.
pub async fn stack() -> Stack {
    stack_with("").await
}

/// [`stack`] with more listener keys (each line indented by four spaces).
pub async fn stack_with(listener_keys: &str) -> Stack {
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let noted = Arc::clone(&seen);
    let app = demo_upstream::router().layer(axum::middleware::map_request(
        move |req: axum::extract::Request| {
            let noted = Arc::clone(&noted);
            async move {
                noted.lock().unwrap().push(Seen {
                    method: req.method().to_string(),
                    path: req.uri().path().to_owned(),
                    cn: req
                        .headers()
                        .get("x-client-cn")
                        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
                });
                req
            }
        },
    ));
    let upstream = demo_upstream::spawn_with("127.0.0.1:0".parse().unwrap(), app)
        .await
        .unwrap();
    let listener = common::listener("optional").replacen(
        "    tls:\n",
        &format!(
            "    header_read_timeout: 1s\n    handshake_timeout: 2s\n    idle_timeout: 3s\n{listener_keys}    tls:\n"
        ),
        1,
    );
    let alert_route = |name: &str, prefix: &str, max: &str| {
        format!(
            r#"
  - name: {name}
    path_prefix: {prefix}
    methods: [GET, POST]
    handler: aspone_alert
    upstream: demo
    allow_any_verified_client: true
    max_body_size: {max}
    aspone_alert:
      backoff_step: 1s
      partners:
        - username: {partner}
          secret_env: ALERT_A_SECRET
          sso_key_env: ALERT_A_SSO
"#,
            partner = alert_support::PARTNER_A,
        )
    };
    let yaml = format!(
        r#"{listener}  internal-app:
    cn: internal-app.test
    ou: INTERNAL-TEST
    environment: test
state:
  backend: memory
upstreams:
  demo:
    url: http://{upstream}
    connect_timeout: 1s
    request_timeout: 10s
routes:{alert}{alert_large}
  - name: sas-recette-fhir
    path_prefix: {fhir}
    methods: [GET, POST, PUT]
    handler: sas_fhir
    upstream: demo
    allowed_clients: [sas-recette]
    max_body_size: 64KiB
    sas_fhir:
      deadline: 3s
  - name: sas
    path_prefix: /sas
    handler: proxy
    upstream: demo
    allowed_clients: [sas-recette]
    max_body_size: 10MiB
  - name: internal
    path_prefix: /internal
    handler: proxy
    upstream: demo
    allow_any_verified_client: true
    max_body_size: 10MiB
"#,
        alert = alert_route("aspone-alert", ALERT, "256KiB"),
        alert_large = alert_route("aspone-alert-large", ALERT_LARGE, "10MiB"),
        fhir = sas_support::BASE,
    );
    let env: HashMap<String, String> = [
        ("ALERT_A_SECRET", alert_support::SECRET_A),
        ("ALERT_A_SSO", alert_support::SSO_KEY_A),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let gateway = common::start_with_env(&yaml, &env).await;
    let addr = gateway.addr("edge").unwrap();
    Stack {
        gateway,
        addr,
        seen,
    }
}

// --- the normal requests -----------------------------------------------------------------------

/// A well-formed alert call (`getAlertConfig` for the demo account CPT01).
pub fn alert_call() -> Call {
    Call::new(
        "CPT01",
        "Primary-01-pass",
        "getAlertConfig",
        "<a:accountName>CPT01</a:accountName>",
    )
}

/// POSTs `body` as a SOAP 1.1 request to `path`, as the portal; the error chain when the
/// exchange failed (reset, closed).
pub async fn soap_post(
    stack: &Stack,
    path: &str,
    body: impl Into<Bytes>,
) -> Result<Answer, String> {
    let req = Request::post(format!("https://localhost{path}"))
        .header("host", "localhost")
        .header("content-type", "text/xml; charset=utf-8")
        .header("soapaction", "\"\"")
        .body(Full::new(body.into()))
        .unwrap();
    common::send(stack.addr, Some("portal"), false, req)
        .await
        .map_err(|e| common::describe(e.as_ref()))
}

/// The faultcode of a SOAP fault answer.
pub fn faultcode(answer: &Answer) -> Option<String> {
    let body = String::from_utf8_lossy(&answer.body);
    let start = body.find("<faultcode")?;
    let rest = &body[start..];
    let open = rest.find('>')? + 1;
    let close = rest.find("</faultcode>")?;
    Some(rest[open..close].to_owned())
}

/// Asserts a SOAP 1.1 fault with this HTTP status and `faultcode`; the fault string.
pub fn assert_fault(answer: &Answer, status: u16, code: &str) -> String {
    let body = String::from_utf8_lossy(&answer.body).into_owned();
    assert_eq!(answer.status, status, "{body}");
    assert_eq!(
        answer.headers["content-type"], "text/xml; charset=utf-8",
        "{body}"
    );
    assert_eq!(faultcode(answer).as_deref(), Some(code), "{body}");
    let start = body.find("<faultstring>").map_or(0, |i| i + 13);
    let end = body.find("</faultstring>").unwrap_or(body.len());
    body[start..end].to_owned()
}

/// A FHIR `POST [base]/Practitioner` with these body bytes, as SAS.
pub async fn fhir_post(stack: &Stack, body: impl Into<Bytes>) -> Answer {
    let req = Request::post(format!(
        "https://localhost{}/Practitioner",
        sas_support::BASE
    ))
    .header("host", "localhost")
    .header("accept", "application/fhir+json")
    .header("content-type", "application/fhir+json")
    .body(Full::new(body.into()))
    .unwrap();
    common::send(stack.addr, Some("sas-recette"), false, req)
        .await
        .unwrap()
}

/// Asserts an OperationOutcome with this status and issue code.
pub fn assert_outcome(answer: &Answer, status: u16, code: &str) {
    let text = String::from_utf8_lossy(&answer.body);
    assert_eq!(answer.status, status, "{text}");
    assert_eq!(
        answer.headers["content-type"], "application/fhir+json; charset=utf-8",
        "{text}"
    );
    let v = answer.json();
    assert_eq!(v["resourceType"], "OperationOutcome", "{text}");
    assert_eq!(v["issue"][0]["code"], code, "{text}");
}

/// The normal requests of every route kind, each on a new connection, all of which must
/// succeed: a SOAP alert call, a SAS slot search, a proxied GET to the echo (and HTTP/2 too).
pub async fn assert_still_serving(stack: &Stack) {
    let soap = async {
        let a = soap_post(stack, ALERT, alert_call().xml()).await.unwrap();
        let body = String::from_utf8_lossy(&a.body).into_owned();
        assert_eq!(a.status, 200, "alert call after the attack: {body}");
        assert!(
            body.contains("<responseType>SUCCESS</responseType>"),
            "alert call after the attack: {body}"
        );
    };
    let fhir = async {
        let req = Request::get(format!(
            "https://localhost{}{}",
            sas_support::BASE,
            sas_support::kit_query(&["810002909371"], 3)
        ))
        .header("host", "localhost")
        .header("accept", "application/fhir+json")
        .body(Full::new(Bytes::new()))
        .unwrap();
        let a = common::send(stack.addr, Some("sas-recette"), false, req)
            .await
            .unwrap();
        assert_eq!(
            a.status,
            200,
            "slot search after the attack: {}",
            String::from_utf8_lossy(&a.body)
        );
        assert_eq!(a.json()["resourceType"], "Bundle");
    };
    let echo = async {
        for h2 in [false, true] {
            let a = common::send(
                stack.addr,
                Some("internal-app"),
                h2,
                common::get("/internal/after"),
            )
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "proxied request (h2: {h2}) after the attack: {}",
                    common::describe(e.as_ref())
                )
            });
            assert_eq!(a.status, 200, "proxied request (h2: {h2}) after the attack");
            assert_eq!(a.json()["path"], "/internal/after");
        }
    };
    tokio::time::timeout(Duration::from_secs(20), async {
        tokio::join!(soap, fhir, echo);
    })
    .await
    .expect("the normal requests after the attack did not complete in time");
}

// --- raw HTTP/1.1 over TLS ---------------------------------------------------------------------

pub async fn tls(addr: SocketAddr, client: &str, alpn: &[u8]) -> TlsStream<TcpStream> {
    common::connect(addr, common::client_config(Some(client), &[alpn]))
        .await
        .unwrap()
}

/// What came back on a raw connection.
#[derive(Debug)]
pub struct Raw {
    pub bytes: Vec<u8>,
    /// The connection was closed by the gateway (EOF or an error) within the wait.
    pub closed: bool,
    /// The read error, if the connection ended with one (a reset).
    pub error: Option<String>,
}

impl Raw {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    /// The responses on the connection, parsed in order.
    pub fn responses(&self) -> Vec<Response1> {
        parse_responses(&self.bytes)
    }

    pub fn statuses(&self) -> Vec<u16> {
        self.responses().iter().map(|r| r.status).collect()
    }
}

/// Reads until the gateway closes the connection or `within` passes.
pub async fn read_all<S: tokio::io::AsyncRead + Unpin>(s: &mut S, within: Duration) -> Raw {
    let mut bytes = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut closed = false;
    let mut error = None;
    let _ = tokio::time::timeout(within, async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) => {
                    closed = true;
                    return;
                }
                Ok(n) => bytes.extend_from_slice(&buf[..n]),
                Err(e) => {
                    closed = true;
                    error = Some(common::describe(&e));
                    return;
                }
            }
        }
    })
    .await;
    Raw {
        bytes,
        closed,
        error,
    }
}

/// Sends `request` as it is on a new TLS connection presenting `client`, and reads what comes
/// back until the gateway closes the connection (or 5 s pass).
pub async fn raw_exchange(addr: SocketAddr, client: &str, request: &[u8]) -> Raw {
    let s = tls(addr, client, b"http/1.1").await;
    let (mut read, mut write) = tokio::io::split(s);
    let request = request.to_vec();
    // Written while reading: the gateway may answer (and close) before it has read everything.
    let writer = tokio::spawn(async move {
        for piece in request.chunks(64 * 1024) {
            if write.write_all(piece).await.is_err() {
                return;
            }
        }
        let _ = write.flush().await;
        // Kept open (not shut down): the gateway decides when the connection ends.
        tokio::time::sleep(Duration::from_secs(10)).await;
        drop(write);
    });
    let raw = read_all(&mut read, Duration::from_secs(5)).await;
    writer.abort();
    raw
}

/// Sends `head` then `body`, written while the answer is read.
pub async fn raw_upload(addr: SocketAddr, client: &str, head: &[u8], body: Vec<u8>) -> Raw {
    let mut request = head.to_vec();
    request.extend_from_slice(&body);
    raw_exchange(addr, client, &request).await
}

/// One HTTP/1.1 response.
#[derive(Debug, Clone)]
pub struct Response1 {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response1 {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Parses consecutive HTTP/1.1 responses (Content-Length or chunked bodies); stops at the first
/// incomplete one.
pub fn parse_responses(mut bytes: &[u8]) -> Vec<Response1> {
    let mut out = Vec::new();
    loop {
        let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") else {
            return out;
        };
        let head = String::from_utf8_lossy(&bytes[..end]).into_owned();
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let Some(status) = status_line
            .strip_prefix("HTTP/1.1 ")
            .and_then(|s| s.get(..3))
            .and_then(|s| s.parse().ok())
        else {
            return out;
        };
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
            .collect();
        let mut rest = &bytes[end + 4..];
        let find = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        let mut body = Vec::new();
        if find("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
            loop {
                let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") else {
                    return out;
                };
                let size = std::str::from_utf8(&rest[..eol])
                    .ok()
                    .and_then(|s| usize::from_str_radix(s.split(';').next()?.trim(), 16).ok());
                let Some(size) = size else { return out };
                rest = &rest[eol + 2..];
                if size == 0 {
                    // Trailers (none expected), then the blank line.
                    let Some(e) = rest.windows(2).position(|w| w == b"\r\n") else {
                        return out;
                    };
                    rest = &rest[e + 2..];
                    break;
                }
                if rest.len() < size + 2 {
                    return out;
                }
                body.extend_from_slice(&rest[..size]);
                rest = &rest[size + 2..];
            }
        } else {
            let len: usize = find("content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            if rest.len() < len {
                return out;
            }
            body.extend_from_slice(&rest[..len]);
            rest = &rest[len..];
        }
        out.push(Response1 {
            status,
            headers,
            body,
        });
        bytes = rest;
    }
}

/// An HTTP/2 connection driven by the `h2` crate (which sends what it is told, unlike hyper),
/// ready to send; the task ends with the connection (`Err` for a GOAWAY with an error).
pub async fn h2_client(
    addr: SocketAddr,
    client: &str,
) -> (
    h2::client::SendRequest<Bytes>,
    tokio::task::JoinHandle<Result<(), h2::Error>>,
) {
    let tls = tls(addr, client, b"h2").await;
    let (send, conn) = h2::client::handshake(tls).await.unwrap();
    let driver = tokio::spawn(conn);
    (send.ready().await.unwrap(), driver)
}

// --- raw HTTP/2 over TLS -----------------------------------------------------------------------

pub mod h2raw {
    //! Just enough HTTP/2 framing (RFC 9113) and HPACK (RFC 7541, literals only) to send
    //! frames the `h2` crate refuses to produce, and to see how the gateway answers them.

    use super::*;

    pub const DATA: u8 = 0x0;
    pub const HEADERS: u8 = 0x1;
    pub const RST_STREAM: u8 = 0x3;
    pub const SETTINGS: u8 = 0x4;
    pub const PING: u8 = 0x6;
    pub const GOAWAY: u8 = 0x7;
    pub const CONTINUATION: u8 = 0x9;
    pub const END_STREAM: u8 = 0x1;
    pub const END_HEADERS: u8 = 0x4;
    pub const ACK: u8 = 0x1;
    pub const PROTOCOL_ERROR: u32 = 0x1;
    pub const COMPRESSION_ERROR: u32 = 0x9;
    pub const ENHANCE_YOUR_CALM: u32 = 0xb;

    pub fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let len = u32::try_from(payload.len()).unwrap();
        assert!(len < 1 << 24);
        let mut out = Vec::with_capacity(9 + payload.len());
        out.extend_from_slice(&len.to_be_bytes()[1..]);
        out.push(kind);
        out.push(flags);
        out.extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
        out.extend_from_slice(payload);
        out
    }

    /// An HPACK integer with an `n`-bit prefix (RFC 7541 §5.1), `first` holding the high bits.
    fn integer(out: &mut Vec<u8>, first: u8, n: u32, mut value: usize) {
        let max = (1usize << n) - 1;
        if value < max {
            out.push(first | u8::try_from(value).unwrap());
            return;
        }
        out.push(first | u8::try_from(max).unwrap());
        value -= max;
        while value >= 128 {
            out.push(u8::try_from(value % 128).unwrap() | 0x80);
            value /= 128;
        }
        out.push(u8::try_from(value).unwrap());
    }

    /// A literal header field without indexing, new name, no Huffman (RFC 7541 §6.2.2): any
    /// bytes at all, which is the point.
    pub fn literal(name: &[u8], value: &[u8]) -> Vec<u8> {
        let mut out = vec![0x00];
        integer(&mut out, 0, 7, name.len());
        out.extend_from_slice(name);
        integer(&mut out, 0, 7, value.len());
        out.extend_from_slice(value);
        out
    }

    /// The header block of a request: the pseudo-headers, then `extra`.
    pub fn request_block(method: &str, path: &[u8], extra: &[(&[u8], &[u8])]) -> Vec<u8> {
        let mut block = Vec::new();
        block.extend(literal(b":method", method.as_bytes()));
        block.extend(literal(b":scheme", b"https"));
        block.extend(literal(b":authority", b"localhost"));
        block.extend(literal(b":path", path));
        for (n, v) in extra {
            block.extend(literal(n, v));
        }
        block
    }

    /// A TLS connection speaking h2 with its preface and (empty) SETTINGS sent.
    pub async fn connect(addr: SocketAddr, client: &str) -> TlsStream<TcpStream> {
        let mut s = tls(addr, client, b"h2").await;
        assert_eq!(s.get_ref().1.alpn_protocol(), Some(b"h2".as_slice()));
        s.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
            .await
            .unwrap();
        s.write_all(&frame(SETTINGS, 0, 0, &[])).await.unwrap();
        s.flush().await.unwrap();
        s
    }

    /// One frame read: (type, flags, stream, payload).
    pub type Frame = (u8, u8, u32, Vec<u8>);

    pub async fn read_frame<S: tokio::io::AsyncRead + Unpin>(s: &mut S) -> Option<Frame> {
        let mut head = [0u8; 9];
        s.read_exact(&mut head).await.ok()?;
        let len = usize::from(head[0]) << 16 | usize::from(head[1]) << 8 | usize::from(head[2]);
        let mut payload = vec![0u8; len];
        s.read_exact(&mut payload).await.ok()?;
        let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
        Some((head[3], head[4], stream, payload))
    }

    /// How the gateway answered a stream.
    #[derive(Debug, Default, Clone, PartialEq, Eq)]
    pub struct Seen {
        /// The response's `:status`, if a HEADERS frame came for the stream.
        pub status: Option<u16>,
        /// RST_STREAM's error code for the stream.
        pub reset: Option<u32>,
        /// GOAWAY's error code.
        pub goaway: Option<u32>,
        /// GOAWAY's debug data.
        pub goaway_debug: String,
        /// The connection ended (EOF or error) within the wait.
        pub closed: bool,
    }

    impl Seen {
        pub fn describe(&self) -> String {
            let code = |c: u32| match c {
                0 => "NO_ERROR".to_owned(),
                PROTOCOL_ERROR => "PROTOCOL_ERROR".to_owned(),
                COMPRESSION_ERROR => "COMPRESSION_ERROR".to_owned(),
                ENHANCE_YOUR_CALM => "ENHANCE_YOUR_CALM".to_owned(),
                other => format!("0x{other:x}"),
            };
            let mut parts = Vec::new();
            if let Some(s) = self.status {
                parts.push(format!("status {s}"));
            }
            if let Some(r) = self.reset {
                parts.push(format!("RST_STREAM {}", code(r)));
            }
            if let Some(g) = self.goaway {
                parts.push(format!("GOAWAY {} {:?}", code(g), self.goaway_debug));
            }
            if self.closed {
                parts.push("closed".to_owned());
            }
            parts.join(", ")
        }
    }

    /// Reads frames (acknowledging SETTINGS) until the stream is answered or reset, a GOAWAY
    /// arrives and the connection ends, or `within` passes.
    pub async fn outcome<S>(s: &mut S, stream: u32, within: Duration) -> Seen
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        let mut seen = Seen::default();
        let _ = tokio::time::timeout(within, async {
            loop {
                let Some((kind, flags, id, payload)) = read_frame(s).await else {
                    seen.closed = true;
                    return;
                };
                match kind {
                    SETTINGS if flags & ACK == 0 => {
                        let _ = s.write_all(&frame(SETTINGS, ACK, 0, &[])).await;
                    }
                    HEADERS if id == stream => {
                        seen.status = status(&payload, flags);
                        if seen.goaway.is_some() {
                            continue;
                        }
                        return;
                    }
                    RST_STREAM if id == stream => {
                        seen.reset = payload
                            .get(..4)
                            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]));
                        return;
                    }
                    GOAWAY => {
                        seen.goaway = payload
                            .get(4..8)
                            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]));
                        seen.goaway_debug =
                            String::from_utf8_lossy(payload.get(8..).unwrap_or_default())
                                .into_owned();
                        // Keep reading: the connection should end now.
                    }
                    _ => {}
                }
            }
        })
        .await;
        seen
    }

    /// The `:status` of a response header block, as the `h2` crate encodes it: the first field,
    /// indexed (200, 204, 206, 304, 400, 404, 500) or a literal with the indexed name `:status`.
    fn status(payload: &[u8], flags: u8) -> Option<u16> {
        let mut block = payload;
        if flags & 0x8 != 0 {
            let pad = usize::from(*block.first()?);
            block = block.get(1..block.len().checked_sub(pad)?)?;
        }
        if flags & 0x20 != 0 {
            block = block.get(5..)?;
        }
        let first = *block.first()?;
        let indexed = [200, 204, 206, 304, 400, 404, 500];
        if (0x88..=0x8e).contains(&first) {
            return Some(indexed[usize::from(first - 0x88)]);
        }
        // Literal with incremental indexing (0x48) or without / never indexed (0x08, 0x18),
        // name index 8..=14 (all `:status`).
        let len_byte = *block.get(1)?;
        let len = usize::from(len_byte & 0x7f);
        let value = block.get(2..2 + len)?;
        let digits = if len_byte & 0x80 == 0 {
            String::from_utf8(value.to_vec()).ok()?
        } else {
            huffman_digits(value, 3)?
        };
        digits.parse().ok()
    }

    /// Decodes `n` Huffman-coded ASCII digits (RFC 7541 Appendix B: `0`-`2` are 5 bits,
    /// `3`-`9` are 6 bits).
    fn huffman_digits(bytes: &[u8], n: usize) -> Option<String> {
        let bit = |i: usize| bytes.get(i / 8).map(|b| (b >> (7 - i % 8)) & 1);
        let mut pos = 0;
        let mut out = String::new();
        for _ in 0..n {
            let mut v = 0u8;
            for _ in 0..5 {
                v = v << 1 | bit(pos)?;
                pos += 1;
            }
            if v <= 2 {
                out.push(char::from(b'0' + v));
                continue;
            }
            v = v << 1 | bit(pos)?;
            pos += 1;
            if !(0x19..=0x1f).contains(&v) {
                return None;
            }
            out.push(char::from(b'3' + (v - 0x19)));
        }
        Some(out)
    }
}
