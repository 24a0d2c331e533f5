//! Hostile input (issue 14): one test per class of attack, over real sockets, against one
//! gateway with the demo's kinds of routes (see `hostile_support::stack`: the ASPOne alert SOAP
//! route, the SAS FHIR base, proxy routes to the demo echo, whose every parsed request is
//! noted), each followed by the normal requests of every route kind (a SOAP alert call, a SAS
//! slot search, a proxied GET over HTTP/1.1 and HTTP/2), which must still succeed.
//!
//! Each row: what was sent, what the attacker got (asserted by the tests below), and whether the
//! normal requests sent right after succeeded. 13 of the 13 classes are handled; one extra
//! variant, HTTP/2 slow headers, was a defect (a client that never answers the graceful
//! close's PING kept its connection): fixed, the gateway drops it `header_read_timeout` later.
//!
//! | class | what the attacker gets | normal request after |
//! |---|---|---|
//! | billion laughs (9 levels of `lol` entities) to the SOAP route; `&lol9;` without a DOCTYPE | 400 SOAP fault `soap:Client` "The message is not a valid SOAP envelope" (any DOCTYPE is refused: no entity is declared, let alone expanded), under 1 KiB, at once; the same for the undeclared reference; the alert upstream never called | served |
//! | XXE: `SYSTEM "file:///etc/passwd"`, a parameter entity and an `http://` entity to a listening port; XInclude of `/etc/passwd` | 400 fault "not a valid SOAP envelope"; nothing connects to the port; XInclude is not processed: 400 fault "The context header must hold user/login and user/password"; no file content in any answer | served |
//! | 1,000-deep nesting: elements in the SOAP body, arrays in a FHIR Practitioner | 400 fault "The message exceeds the size limits of this endpoint" (depth bound 32); 400 OperationOutcome `structure` | served |
//! | a 5 MiB attribute within `max_body_size` (10 MiB route) and beyond it (256 KiB, declared and chunked); 10,000 attributes | within: 400 fault "exceeds the size limits" (the adapter's 256 KiB parse bound); beyond: 413 SOAP fault, before the body is read (declared) or where the limit is crossed (chunked: "request body larger than 262144 bytes"); 10,000 attributes: 400 fault "exceeds the size limits" | served |
//! | 20 MB body on a 10 MiB proxy route, declared and chunked | declared: 413 problem+json `payload-too-large`, connection closed, the upstream never called; chunked: 413 "request body larger than 10485760 bytes", the upstream's request aborted | served |
//! | truncated XML: the document cut in half; a body shorter than its Content-Length, then close_notify | 400 fault "not a valid SOAP envelope"; 400 fault "request body could not be read", connection closed | served |
//! | invalid UTF-8: in the SOAP login (4 kinds), a FHIR JSON body, `%FF%FE` in a FHIR search, raw in the request target, in `X-Request-Id` | 400 fault "not a valid SOAP envelope"; 400 OperationOutcome `structure`; 400 OperationOutcome `invalid`; 400 from the HTTP parser (empty body); a fresh UUID replaces the request id | served |
//! | slowloris: 10 connections sending headers a byte per 100 ms, `header_read_timeout: 1s`; a TCP connection that never starts TLS, `handshake_timeout: 2s` | each closed at 1.0 s without an answer (TCP close, no close_notify); the silent one at 2.0 s | served during and after |
//! | HTTP/2 slow headers: HEADERS without END_HEADERS, then silence, `idle_timeout: 3s` | GOAWAY(NO_ERROR) and a PING at 3 s; the connection dropped 1 s later (`header_read_timeout`), as the client never lets the graceful close finish (before the fix: open until the keep-alive gave up, 80 s, or forever with `http2_keepalive_interval: off`) | served |
//! | HTTP/1.1 smuggling, framed one way: CL.TE, TE.CL, CL.TE with bare LF, `Transfer-Encoding: chunked` twice, a GET with a Content-Length body | 200: Transfer-Encoding wins (RFC 9112 §6.3), the body re-framed upstream (chunked, no Content-Length), the hidden request delivered as body bytes, the connection closed after the answer (the GET's at the idle timeout) | served; `/internal/smuggled` never reached the upstream |
//! | HTTP/1.1 smuggling, refused by the parser: two Content-Lengths that differ, `0, N`, `+N`, obs-folded TE, a folded first line, a space before the colon, a bare CR, `xchunked`, `"chunked"`, `chunked` then `identity`, TE in HTTP/1.0 | 400 (empty body), connection closed | served |
//! | HTTP/1.1 smuggling, refused while the body is read: chunk size 2^64 (0 if it wrapped), 18 hex digits | 400 problem+json `body-unreadable`, connection closed | served |
//! | HTTP/1.1 malformed chunk extension (`2;x="`) followed by a request | the extension ends at CR LF (as in nginx): the request after the last chunk is the connection's next, pipelined request, answered in turn (200, 200) under its route's policy | served |
//! | HTTP/2 smuggling: H2.CL (`content-length: 0` and a request in DATA), H2.TE, CR LF and a request in a value or in `:path`, an upper-case name | RST_STREAM PROTOCOL_ERROR (H2.CL, H2.TE, `:path`); GOAWAY PROTOCOL_ERROR and close (CR LF in a value, upper-case name); nothing reaches the upstream | served |
//! | HTTP/1.1 header flood: 1,000 headers, one 1 MiB header, a 100 KiB request target | 431, 431, 414 (empty bodies), connection closed | served |
//! | HTTP/2 header flood: one 20 KiB header; one 1 MiB header (HEADERS + CONTINUATION); 10,000 headers; a CONTINUATION flood (10,000 frames, no END_HEADERS); an HPACK bomb (a 4 KB field indexed 4,000 times) | 431 on the stream, the connection kept; GOAWAY ENHANCE_YOUR_CALM `too_many_continuations`; GOAWAY COMPRESSION_ERROR; GOAWAY ENHANCE_YOUR_CALM `too_many_continuations`; GOAWAY ENHANCE_YOUR_CALM `header_list_way_too_large`; each closed | served |
//! | HTTP/2 rapid reset: 1,000 HEADERS + RST_STREAM(CANCEL), with the h2 crate and as raw frames | GOAWAY ENHANCE_YOUR_CALM `too_many_resets` and close; a stream sent after them is refused (REFUSED_STREAM); in our runs none of the reset requests reached the upstream | served |
//! | garbage before a ClientHello; plain HTTP and 64 KiB of noise to the TLS port | the handshake fails with a `decode_error` alert; the 7-byte `decode_error` alert record, then close, at once; never an HTTP answer | served |
//! | path tricks, as internal-app (allowed on `/internal`, not on `/sas`) | `/internal/../sas/Slot`, `%2e%2e`, `%2E%2E`, `.%2e`, `//sas/Slot`, `/internal//..//sas`, `/%69nternal/..`, the absolute form: matched as `/sas/Slot`, 403 `client-not-allowed`; `..%2F`, `..%2f`, `..\`, `..%5C`, `%00`, `..` above the root, `*`: 400 `bad-path`; `%252e%252e`, `%c0%ae%c0%ae`, `..;`: not dot-segments, forwarded as they are on `/internal`; no request reached a `/sas` path upstream | served |
#![allow(clippy::unwrap_used, missing_docs)]

mod alert_support;
mod common;
mod hostile_support;
mod sas_support;

use std::time::{Duration, Instant};

use bytes::Bytes;
use hostile_support::*;
use tokio::io::AsyncWriteExt;

/// A request a parser with another reading of the framing would find inside the attacker's
/// bytes; it must never reach the upstream.
const SMUGGLED: &str = "GET /internal/smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n";

const NOT_AN_ENVELOPE: &str = "The message is not a valid SOAP envelope";
const TOO_BIG: &str = "The message exceeds the size limits of this endpoint";

/// The well-formed alert call with `doctype` after the XML declaration and `login` as the user.
fn alert_xml_with(doctype: &str, login: &str) -> String {
    let xml = alert_call().xml();
    let xml = xml.replacen("?>\n", &format!("?>\n{doctype}\n"), 1);
    assert!(xml.contains("<v0:login>CPT01</v0:login>"));
    xml.replacen(
        "<v0:login>CPT01</v0:login>",
        &format!("<v0:login>{login}</v0:login>"),
        1,
    )
}

/// Calls the alert service's upstream received (none, for a call refused before it).
fn alert_upstream_calls(stack: &Stack) -> Vec<Seen> {
    stack.seen_paths("/v1/")
}

/// A raw `POST` head with a declared length and `Connection: close`.
fn post_head(path: &str, content_type: &str, len: usize) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: {content_type}\r\nSOAPAction: \"\"\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
    )
    .into_bytes()
}

/// `body` in chunks of 64 KiB.
fn chunked(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + body.len() / 1000 + 16);
    for piece in body.chunks(64 * 1024) {
        out.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        out.extend_from_slice(piece);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

/// The only response of a raw exchange.
fn only_response(raw: &Raw, case: &str) -> Response1 {
    let responses = raw.responses();
    assert_eq!(responses.len(), 1, "{case}: {}", raw.text());
    responses[0].clone()
}

#[tokio::test]
async fn billion_laughs_is_refused_before_any_entity_is_expanded() {
    let stack = stack().await;
    let mut doctype = String::from("<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n");
    for i in 1..=9 {
        let prev = if i == 1 {
            "lol".to_owned()
        } else {
            format!("lol{}", i - 1)
        };
        let value = format!("&{prev};").repeat(10);
        doctype.push_str(&format!("<!ENTITY lol{i} \"{value}\">\n"));
    }
    doctype.push_str("]>");
    let started = Instant::now();
    let answer = soap_post(&stack, ALERT, alert_xml_with(&doctype, "&lol9;"))
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(assert_fault(&answer, 400, "soap:Client"), NOT_AN_ENVELOPE);
    assert!(answer.body.len() < 1024, "{}", answer.body.len());
    assert!(took < Duration::from_secs(2), "{took:?}");
    // Without a DOCTYPE, a reference to an entity nobody declared is refused too.
    let answer = soap_post(&stack, ALERT, alert_xml_with("", "&lol9;"))
        .await
        .unwrap();
    assert_eq!(assert_fault(&answer, 400, "soap:Client"), NOT_AN_ENVELOPE);
    assert_eq!(alert_upstream_calls(&stack).len(), 0);
    assert_still_serving(&stack).await;
    stack.shutdown().await;
}

#[tokio::test]
async fn external_entities_and_xinclude_are_never_fetched() {
    let stack = stack().await;
    // Whatever dereferences an entity connects here (out-of-band XXE).
    let trap = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let trap_addr = trap.local_addr().unwrap();
    let cases = [
        (
            "SYSTEM file:///etc/passwd in the login",
            "<!DOCTYPE foo [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>".to_owned(),
            "&xxe;",
        ),
        (
            "parameter entity to a listening port",
            format!(
                "<!DOCTYPE foo [<!ENTITY % ext SYSTEM \"http://{trap_addr}/evil.dtd\"> %ext;]>"
            ),
            "CPT01",
        ),
        (
            "SYSTEM http:// entity in the login",
            format!("<!DOCTYPE foo [<!ENTITY xxe SYSTEM \"http://{trap_addr}/x\">]>"),
            "&xxe;",
        ),
    ];
    for (name, doctype, login) in cases {
        let answer = soap_post(&stack, ALERT, alert_xml_with(&doctype, login))
            .await
            .unwrap();
        assert_eq!(
            assert_fault(&answer, 400, "soap:Client"),
            NOT_AN_ENVELOPE,
            "{name}"
        );
    }
    // XInclude is not processed: the login is an element, not text, so there is no user.
    let answer = soap_post(
        &stack,
        ALERT,
        alert_xml_with(
            "",
            "<xi:include xmlns:xi=\"http://www.w3.org/2001/XInclude\" href=\"file:///etc/passwd\" parse=\"text\"/>",
        ),
    )
    .await
    .unwrap();
    assert_eq!(
        assert_fault(&answer, 400, "soap:Client"),
        "The context header must hold user/login and user/password"
    );
    assert!(!String::from_utf8_lossy(&answer.body).contains("root:"));
    let connected = tokio::time::timeout(Duration::from_millis(300), trap.accept()).await;
    assert!(connected.is_err(), "the gateway fetched an external entity");
    assert_eq!(alert_upstream_calls(&stack).len(), 0);
    assert_still_serving(&stack).await;
    stack.shutdown().await;
}

#[tokio::test]
async fn deep_nesting_is_refused_in_xml_and_json() {
    let stack = stack().await;
    // 1,000 nested elements in the SOAP body.
    let inner = format!(
        "{}{}<a:accountName>CPT01</a:accountName>",
        "<a:x>".repeat(1000),
        "</a:x>".repeat(1000)
    );
    let xml = alert_support::Call::new("CPT01", "Primary-01-pass", "getAlertConfig", &inner).xml();
    let started = Instant::now();
    let answer = soap_post(&stack, ALERT, xml).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(assert_fault(&answer, 400, "soap:Client"), TOO_BIG);
    assert_eq!(alert_upstream_calls(&stack).len(), 0);
    // 1,000 nested arrays in a FHIR resource.
    let json = format!(
        r#"{{"resourceType":"Practitioner","extension":{}{}}}"#,
        "[".repeat(1000),
        "]".repeat(1000)
    );
    let answer = fhir_post(&stack, json).await;
    assert_outcome(&answer, 400, "structure");
    assert!(stack.seen_paths("/v1/regulators").is_empty());
    assert_still_serving(&stack).await;
    stack.shutdown().await;
}

#[tokio::test]
async fn a_huge_attribute_is_refused_within_and_beyond_the_routes_limit() {
    let stack = stack().await;
    let attribute = "A".repeat(5 * 1024 * 1024);
    let xml = alert_call().xml().replacen(
        "<a:accountName>",
        &format!("<a:accountName huge=\"{attribute}\">"),
        1,
    );
    // Within the route's max_body_size (10 MiB): the adapter's own bound refuses it.
    let answer = soap_post(&stack, ALERT_LARGE, xml.clone()).await.unwrap();
    assert_eq!(assert_fault(&answer, 400, "soap:Client"), TOO_BIG);
    // Beyond it (256 KiB), declared: 413 before the body is read, as a SOAP fault.
    let raw = raw_upload(
        stack.addr,
        "portal",
        &post_head(ALERT, "text/xml; charset=utf-8", xml.len()),
        xml.clone().into_bytes(),
    )
    .await;
    let response = only_response(&raw, "declared");
    assert_eq!(response.status, 413);
    assert!(
        response
            .text()
            .contains("<faultcode>soap:Client</faultcode>"),
        "{}",
        response.text()
    );
    // Beyond it, streamed (chunked): cut at the limit, 413 as a SOAP fault.
    let raw = raw_upload(
        stack.addr,
        "portal",
        format!("POST {ALERT} HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n").as_bytes(),
        chunked(xml.as_bytes()),
    )
    .await;
    let response = only_response(&raw, "streamed");
    assert_eq!(response.status, 413);
    assert!(
        response
            .text()
            .contains("<faultstring>request body larger than 262144 bytes</faultstring>"),
        "{}",
        response.text()
    );
    // 10,000 attributes on one element.
    let attributes: String = (0..10_000).map(|i| format!(" a{i}=\"v\"")).collect();
    let xml = alert_call().xml().replacen(
        "<a:accountName>",
        &format!("<a:accountName{attributes}>"),
        1,
    );
    let answer = soap_post(&stack, ALERT, xml).await.unwrap();
    assert_eq!(assert_fault(&answer, 400, "soap:Client"), TOO_BIG);
    assert_eq!(alert_upstream_calls(&stack).len(), 0);
    assert_still_serving(&stack).await;
    stack.shutdown().await;
}

#[tokio::test]
async fn twenty_megabytes_on_a_ten_mebibyte_route_get_413() {
    let stack = stack().await;
    let body = vec![b'x'; 20 * 1000 * 1000];
    // Declared: refused before the upstream is called.
    let raw = raw_upload(
        stack.addr,
        "internal-app",
        &post_head("/internal/declared", "application/octet-stream", body.len()),
        body.clone(),
    )
    .await;
    let response = only_response(&raw, "declared");
    assert_eq!(response.status, 413);
    assert!(
        response
            .text()
            .contains("urn:gateway:problem:payload-too-large"),
        "{}",
        response.text()
    );
    assert!(raw.closed);
    assert!(stack.seen_paths("/internal/declared").is_empty());
    // Streamed (chunked, no length): cut at the limit; the upstream's request is aborted.
    let raw = raw_upload(
        stack.addr,
        "internal-app",
        b"POST /internal/streamed HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        chunked(&body),
    )
    .await;
    let response = only_response(&raw, "streamed");
    assert_eq!(response.status, 413);
    assert!(
        response
            .text()
            .contains("request body larger than 10485760 bytes"),
        "{}",
        response.text()
    );
    assert!(raw.closed);
    assert_still_serving(&stack).await;
    stack.shutdown().await;
}

#[tokio::test]
async fn truncated_xml_is_a_fault_not_a_hang() {
    let stack = stack().await;
    let xml = alert_call().xml();
    // The document cut in the middle, framed correctly.
    let half = &xml.as_bytes()[..xml.len() / 2];
    let answer = soap_post(&stack, ALERT, Bytes::copy_from_slice(half))
        .await
        .unwrap();
    assert_eq!(assert_fault(&answer, 400, "soap:Client"), NOT_AN_ENVELOPE);
    // The body shorter than its Content-Length, then the caller closes its side (close_notify).
    let s = tls(stack.addr, "portal", b"http/1.1").await;
    let (mut read, mut write) = tokio::io::split(s);
    write
        .write_all(&post_head(ALERT, "text/xml; charset=utf-8", xml.len()))
        .await
        .unwrap();
    write.write_all(half).await.unwrap();
    write.shutdown().await.unwrap();
    let raw = read_all(&mut read, Duration::from_secs(5)).await;
    let response = only_response(&raw, "short body");
    assert_eq!(response.status, 400);
    assert!(
        response.text().contains(
            "<faultcode>soap:Client</faultcode><faultstring>request body could not be read"
        ),
        "{}",
        response.text()
    );
    assert!(raw.closed);
    assert_eq!(alert_upstream_calls(&stack).len(), 0);
    assert_still_serving(&stack).await;
    stack.shutdown().await;
}

#[tokio::test]
async fn invalid_utf8_is_refused_in_xml_and_in_fhir_json() {
    let stack = stack().await;
    let xml = alert_call().xml();
    let (before, after) = xml.split_once("CPT01</v0:login>").unwrap();
    // Not UTF-8: stray bytes, a bad continuation, an encoded surrogate, a 5-byte form.
    for bad in [
        &b"\xff\xfe"[..],
        b"\xc3\x28",
        b"\xed\xa0\x80",
        b"\xf8\x88\x80\x80\x80",
    ] {
        let mut body = before.as_bytes().to_vec();
        body.extend_from_slice(b"CPT");
        body.extend_from_slice(bad);
        body.extend_from_slice(b"01</v0:login>");
        body.extend_from_slice(after.as_bytes());
        let answer = soap_post(&stack, ALERT, body).await.unwrap();
        assert_eq!(
            assert_fault(&answer, 400, "soap:Client"),
            NOT_AN_ENVELOPE,
            "{bad:?}"
        );
    }
    assert_eq!(alert_upstream_calls(&stack).len(), 0);
    // In a FHIR JSON body.
    let json = br#"{"resourceType":"Practitioner","identifier":[{"system":"urn:oid:1.2.250.1.71.4.2.1","value":"3456780581/11242343"}],"active":true,"name":[{"family":"MAR_US","given":["Jules"]}]}"#;
    let at = json.windows(4).position(|w| w == b"MAR_").unwrap() + 3;
    let mut body = json.to_vec();
    body.splice(at..at + 1, [0xc3, 0x28]);
    let answer = fhir_post(&stack, body).await;
    assert_outcome(&answer, 400, "structure");
    assert!(stack.seen_paths("/v1/regulators").is_empty());
    // Percent-encoded in a FHIR search.
    let request = format!(
        "GET {}/Slot?schedule.actor:Practitioner.identifier=urn:oid:1.2.250.1.71.4.2.1%7C%FF%FE&start=ge2030-01-01&start=le2030-01-02 HTTP/1.1\r\nHost: localhost\r\nAccept: application/fhir+json\r\nConnection: close\r\n\r\n",
        sas_support::BASE
    );
    let raw = raw_exchange(stack.addr, "sas-recette", request.as_bytes()).await;
    let response = only_response(&raw, "query");
    assert_eq!(response.status, 400);
    let outcome: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    assert_eq!(outcome["issue"][0]["code"], "invalid");
    // Raw in the request target: refused by the HTTP parser.
    for request in [
        &b"GET /internal/\xff\xfe HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"[..],
        b"GET /internal/x?q=\xff\xfe HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    ] {
        let raw = raw_exchange(stack.addr, "internal-app", request).await;
        assert_eq!(only_response(&raw, "target").status, 400, "{}", raw.text());
    }
    // In X-Request-Id, which is echoed and logged: replaced by a fresh one.
    let raw = raw_exchange(
        stack.addr,
        "internal-app",
        b"GET /internal/id HTTP/1.1\r\nHost: localhost\r\nX-Request-Id: \xff\xfe-1\r\nConnection: close\r\n\r\n",
    )
    .await;
    let response = only_response(&raw, "request id");
    assert_eq!(response.status, 200);
    let id = response.header("x-request-id").unwrap();
    assert!(
        id.len() == 36 && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-'),
        "{id}"
    );
    assert_still_serving(&stack).await;
    stack.shutdown().await;
}

#[tokio::test]
async fn slowloris_connections_are_closed_and_others_served() {
    let stack = stack().await;
    // Headers one byte every 100 ms (11 s in all) against `header_read_timeout: 1s`.
    let head = b"GET /internal/slow HTTP/1.1\r\nHost: localhost\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let mut slow = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let s = tls(stack.addr, "internal-app", b"http/1.1").await;
        slow.spawn(async move {
            let (mut read, mut write) = tokio::io::split(s);
            let started = Instant::now();
            let writer = tokio::spawn(async move {
                for byte in head {
                    if write.write_all(&[*byte]).await.is_err() || write.flush().await.is_err() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            });
            let raw = read_all(&mut read, Duration::from_secs(8)).await;
            writer.abort();
            (started.elapsed(), raw)
        });
    }
    // A connection that never starts its handshake (`handshake_timeout: 2s`).
    let mut silent = tokio::net::TcpStream::connect(stack.addr).await.unwrap();
    let silent_started = Instant::now();
    // Meanwhile, others are served.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    assert_still_serving(&stack).await;
    assert!(started.elapsed() < Duration::from_secs(5));
    while let Some(done) = slow.join_next().await {
        let (took, raw) = done.unwrap();
        assert!(raw.closed, "a slow header sender stayed connected");
        assert!(
            took >= Duration::from_millis(900) && took < Duration::from_secs(3),
            "{took:?}"
        );
        // Closed without an answer.
        assert!(raw.bytes.is_empty(), "{}", raw.text());
    }
    let raw = read_all(&mut silent, Duration::from_secs(5)).await;
    let took = silent_started.elapsed();
    assert!(raw.closed, "a connection without a handshake stayed open");
    assert!(raw.bytes.is_empty());
    assert!(
        took >= Duration::from_millis(1900) && took < Duration::from_secs(4),
        "{took:?}"
    );
    assert!(stack.seen_paths("/internal/slow").is_empty());
    assert_still_serving(&stack).await;
    stack.shutdown().await;
}

/// HTTP/2 slowloris (was a defect, fixed in `server.rs`). `idle_timeout` promises that a
/// connection with no request in flight is closed, "HTTP/2 with GOAWAY". The GOAWAY (last
/// stream 2^31-1, NO_ERROR) and the PING of hyper's graceful shutdown go out at the idle
/// timeout, but hyper closes only once the client answers that PING, which a client in the
/// middle of a header block never does (a PING ACK inside a header block is a protocol error).
/// Before the fix such a connection stayed open until the keep-alive gave up (80 s with the
/// defaults, never with `http2_keepalive_interval: off`); the watchdog now drops it
/// `header_read_timeout` after the GOAWAY.
#[tokio::test]
async fn http2_slow_headers_are_closed_after_the_idle_timeout() {
    let stack = stack().await;
    let started = Instant::now();
    let mut s = h2raw::connect(stack.addr, "internal-app").await;
    let block = h2raw::request_block("GET", b"/internal/h2slow", &[]);
    // HEADERS without END_HEADERS, then silence.
    s.write_all(&h2raw::frame(h2raw::HEADERS, 0, 1, &block))
        .await
        .unwrap();
    let mut silent = tokio::io::join(&mut s, tokio::io::sink());
    let closing = h2raw::outcome(&mut silent, 1, Duration::from_secs(10)).await;
    let took = started.elapsed();
    assert_still_serving(&stack).await;
    assert!(stack.seen_paths("/internal/h2slow").is_empty());
    assert!(closing.goaway.is_some(), "{}", closing.describe());
    // idle_timeout (3 s), then header_read_timeout (1 s) for the graceful close to finish.
    assert!(
        took < Duration::from_secs(7),
        "{took:?}: {}",
        closing.describe()
    );
    assert!(
        closing.closed,
        "an HTTP/2 connection with no request in flight was still open {took:?} after it \
         started, with idle_timeout: 3s ({})",
        closing.describe()
    );
    stack.shutdown().await;
}

#[tokio::test]
async fn http1_request_smuggling_is_refused_or_framed_one_way() {
    let stack = stack().await;
    let clte = format!("0\r\n\r\n{SMUGGLED}");
    let n = clte.len();
    let tecl = format!("{:x}\r\n{SMUGGLED}\r\n0\r\n\r\n", SMUGGLED.len());
    let s = SMUGGLED.len();
    // (case, request, status, what the upstream must have received when it was called)
    let cases: Vec<(&str, String, u16, Option<&str>)> = vec![
        // Transfer-Encoding wins (RFC 9112 §6.3), the connection is closed after the answer.
        (
            "CL.TE: Content-Length covers a request after the last chunk",
            format!(
                "POST /internal/clte HTTP/1.1\r\nHost: localhost\r\nContent-Length: {n}\r\nTransfer-Encoding: chunked\r\n\r\n{clte}"
            ),
            200,
            Some(""),
        ),
        (
            "TE.CL: a chunk holds a request, Content-Length: 4",
            format!(
                "POST /internal/tecl HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n{tecl}"
            ),
            200,
            Some(SMUGGLED),
        ),
        (
            "CL.TE with bare LF line ends",
            format!(
                "POST /internal/lf HTTP/1.1\nHost: localhost\nContent-Length: {n}\nTransfer-Encoding: chunked\n\n{clte}"
            ),
            200,
            Some(""),
        ),
        (
            "Transfer-Encoding: chunked twice",
            format!(
                "POST /internal/twice HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n{tecl}"
            ),
            200,
            Some(SMUGGLED),
        ),
        (
            "a GET with a Content-Length body holding a request",
            format!(
                "GET /internal/getbody HTTP/1.1\r\nHost: localhost\r\nContent-Length: {s}\r\n\r\n{SMUGGLED}"
            ),
            200,
            Some(SMUGGLED),
        ),
        // Refused by the HTTP/1.1 parser (400, empty body), connection closed.
        (
            "two Content-Length fields that differ",
            format!(
                "POST /internal/cl2 HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nContent-Length: {s}\r\n\r\n{SMUGGLED}"
            ),
            400,
            None,
        ),
        (
            "one Content-Length field with two values",
            format!(
                "POST /internal/cllist HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0, {s}\r\n\r\n{SMUGGLED}"
            ),
            400,
            None,
        ),
        (
            "a signed Content-Length",
            format!(
                "POST /internal/clsign HTTP/1.1\r\nHost: localhost\r\nContent-Length: +{s}\r\n\r\n{SMUGGLED}"
            ),
            400,
            None,
        ),
        (
            "Transfer-Encoding folded (obs-fold), with a Content-Length",
            format!(
                "POST /internal/fold HTTP/1.1\r\nHost: localhost\r\nContent-Length: {n}\r\nTransfer-Encoding:\r\n chunked\r\n\r\n{clte}"
            ),
            400,
            None,
        ),
        (
            "the first header line folded",
            format!(
                "POST /internal/fold1 HTTP/1.1\r\n Transfer-Encoding: chunked\r\nHost: localhost\r\nContent-Length: {n}\r\n\r\n{clte}"
            ),
            400,
            None,
        ),
        (
            "a space before the colon of Transfer-Encoding",
            format!(
                "POST /internal/space HTTP/1.1\r\nHost: localhost\r\nContent-Length: {n}\r\nTransfer-Encoding : chunked\r\n\r\n{clte}"
            ),
            400,
            None,
        ),
        (
            "a bare CR in a header value",
            format!(
                "POST /internal/cr HTTP/1.1\r\nHost: localhost\r\nX-A: a\rTransfer-Encoding: chunked\r\nContent-Length: {n}\r\n\r\n{clte}"
            ),
            400,
            None,
        ),
        (
            "Transfer-Encoding: xchunked",
            format!(
                "POST /internal/xchunked HTTP/1.1\r\nHost: localhost\r\nContent-Length: {n}\r\nTransfer-Encoding: xchunked\r\n\r\n{clte}"
            ),
            400,
            None,
        ),
        (
            "Transfer-Encoding: \"chunked\" (quoted)",
            format!(
                "POST /internal/quoted HTTP/1.1\r\nHost: localhost\r\nContent-Length: {n}\r\nTransfer-Encoding: \"chunked\"\r\n\r\n{clte}"
            ),
            400,
            None,
        ),
        (
            "Transfer-Encoding: chunked, then identity",
            format!(
                "POST /internal/identity HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\nContent-Length: {n}\r\n\r\n{clte}"
            ),
            400,
            None,
        ),
        (
            "Transfer-Encoding in HTTP/1.0",
            format!(
                "POST /internal/http10 HTTP/1.0\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nContent-Length: {n}\r\n\r\n{clte}"
            ),
            400,
            None,
        ),
        // Refused while the body is read: 400 body-unreadable.
        (
            "chunk size 2^64 (0 if it wrapped), then a request",
            format!(
                "POST /internal/wrap HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n\r\n{SMUGGLED}"
            ),
            400,
            None,
        ),
        (
            "a chunk size of 18 hex digits",
            format!(
                "POST /internal/overflow HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff0\r\n{SMUGGLED}\r\n0\r\n\r\n"
            ),
            400,
            None,
        ),
    ];
    let mut runs = tokio::task::JoinSet::new();
    for (name, request, status, upstream_body) in cases {
        let addr = stack.addr;
        runs.spawn(async move {
            let raw = raw_exchange(addr, "internal-app", request.as_bytes()).await;
            (name, raw, status, upstream_body)
        });
    }
    while let Some(done) = runs.join_next().await {
        let (name, raw, status, upstream_body) = done.unwrap();
        // One answer, then the connection is closed (at once, or by the idle timeout after the
        // kept-alive GET): nothing after the framed message is read as a request.
        let response = only_response(&raw, name);
        assert_eq!(response.status, status, "{name}: {}", raw.text());
        assert!(raw.closed, "{name}: the connection stayed open");
        match upstream_body {
            Some(body) => {
                let echo: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
                assert_eq!(echo["body_text"], body, "{name}");
                // Re-framed: the upstream never sees the caller's framing headers.
                assert!(echo["headers"]["content-length"].is_null() || name.starts_with("a GET"));
            }
            None if response.header("content-type").is_some() => {
                assert!(
                    response
                        .text()
                        .contains("urn:gateway:problem:body-unreadable"),
                    "{name}: {}",
                    response.text()
                );
            }
            None => assert!(response.body.is_empty(), "{name}"),
        }
    }
    // A malformed chunk extension (an unterminated quoted string) ends at CR LF, as nginx reads
    // it: what follows the last chunk is the connection's next request, answered in turn and
    // under the route's policy, as any pipelined request.
    let raw = raw_exchange(
        stack.addr,
        "internal-app",
        b"POST /internal/ext HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n2;x=\"\r\nab\r\n0\r\n\r\nGET /internal/pipelined HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(raw.statuses(), [200, 200], "{}", raw.text());
    assert_eq!(stack.seen_paths("/internal/pipelined").len(), 1);
    assert!(
        stack.seen_paths("smuggled").is_empty(),
        "a smuggled request reached the upstream: {:?}",
        stack.seen()
    );
    assert_still_serving(&stack).await;
    stack.shutdown().await;
}

#[tokio::test]
async fn http2_request_smuggling_is_refused() {
    let stack = stack().await;
    // H2.CL: a content-length of 0 with a request in the DATA (the h2 crate sends it).
    let (mut client, driver) = h2_client(stack.addr, "internal-app").await;
    let req = http::Request::post("https://localhost/internal/h2cl")
        .header("content-length", "0")
        .body(())
        .unwrap();
    let (response, mut body) = client.send_request(req, false).unwrap();
    body.send_data(Bytes::from_static(SMUGGLED.as_bytes()), true)
        .unwrap();
    let err = tokio::time::timeout(Duration::from_secs(5), response)
        .await
        .unwrap()
        .unwrap_err();
    assert!(err.is_reset() && err.is_remote(), "{err:?}");
    assert_eq!(err.reason(), Some(h2::Reason::PROTOCOL_ERROR));
    drop(client);
    driver.abort();
    // What the h2 crate refuses to send: raw frames. (case, header block, expected)
    let cases: [(&str, Vec<u8>, &str); 4] = [
        (
            "H2.TE: transfer-encoding: chunked",
            h2raw::request_block(
                "POST",
                b"/internal/h2te",
                &[(b"transfer-encoding", b"chunked")],
            ),
            "RST_STREAM PROTOCOL_ERROR",
        ),
        (
            "CR LF and a request in a header value",
            h2raw::request_block(
                "GET",
                b"/internal/h2crlf",
                &[(b"x-a", format!("a\r\n\r\n{SMUGGLED}").as_bytes())],
            ),
            "GOAWAY PROTOCOL_ERROR \"\", closed",
        ),
        (
            "CR LF and a request in :path",
            h2raw::request_block(
                "GET",
                format!("/internal/h2path HTTP/1.1\r\nHost: localhost\r\n\r\n{SMUGGLED}")
                    .as_bytes(),
                &[],
            ),
            "RST_STREAM PROTOCOL_ERROR",
        ),
        (
            "an upper-case header name",
            h2raw::request_block("GET", b"/internal/h2upper", &[(b"Transfer-Encoding", b"x")]),
            "GOAWAY PROTOCOL_ERROR \"\", closed",
        ),
    ];
    for (name, block, expected) in cases {
        let mut s = h2raw::connect(stack.addr, "internal-app").await;
        let mut frames = h2raw::frame(h2raw::HEADERS, h2raw::END_HEADERS, 1, &block);
        frames.extend(h2raw::frame(
            h2raw::DATA,
            h2raw::END_STREAM,
            1,
            format!("0\r\n\r\n{SMUGGLED}").as_bytes(),
        ));
        s.write_all(&frames).await.unwrap();
        let seen = h2raw::outcome(&mut s, 1, Duration::from_secs(5)).await;
        assert_eq!(seen.describe(), expected, "{name}");
    }
    let reached: Vec<_> = stack
        .seen()
        .into_iter()
        .filter(|s| s.path.contains("/internal/h2") || s.path.contains("smuggled"))
        .collect();
    assert!(reached.is_empty(), "{reached:?}");
    assert_still_serving(&stack).await;
    stack.shutdown().await;
}

#[tokio::test]
async fn http1_header_floods_get_431_and_a_closed_connection() {
    let stack = stack().await;
    let mut many = String::from("GET /internal/flood HTTP/1.1\r\nHost: localhost\r\n");
    for i in 0..1000 {
        many.push_str(&format!("X-Flood-{i}: v\r\n"));
    }
    many.push_str("\r\n");
    let huge = format!(
        "GET /internal/flood HTTP/1.1\r\nHost: localhost\r\nX-Huge: {}\r\n\r\n",
        "a".repeat(1024 * 1024)
    );
    let long_target = format!(
        "GET /internal/flood/{} HTTP/1.1\r\nHost: localhost\r\n\r\n",
        "a".repeat(100 * 1024)
    );
    for (name, request, status) in [
        ("1,000 headers", many, 431),
        ("one 1 MiB header", huge, 431),
        ("a 100 KiB request target", long_target, 414),
    ] {
        let raw = raw_exchange(stack.addr, "internal-app", request.as_bytes()).await;
        assert_eq!(only_response(&raw, name).status, status, "{name}");
        assert!(raw.closed, "{name}");
    }
    assert!(stack.seen_paths("/internal/flood").is_empty());
    assert_still_serving(&stack).await;
    stack.shutdown().await;
}

/// Sends one GET with these extra headers with the h2 crate: the status, or the error.
async fn h2_get_with(
    stack: &Stack,
    headers: &[(String, String)],
) -> (Result<u16, h2::Error>, Option<Result<(), h2::Error>>) {
    let (mut client, driver) = h2_client(stack.addr, "internal-app").await;
    let mut req = http::Request::get("https://localhost/internal/h2flood");
    for (n, v) in headers {
        req = req.header(n, v);
    }
    let got = match client.send_request(req.body(()).unwrap(), true) {
        Ok((response, _)) => tokio::time::timeout(Duration::from_secs(5), response)
            .await
            .unwrap()
            .map(|r| r.status().as_u16()),
        Err(e) => Err(e),
    };
    // How the connection ended, if it did within a second.
    let ended = tokio::time::timeout(Duration::from_secs(1), driver)
        .await
        .ok()
        .map(Result::unwrap);
    (got, ended)
}

#[tokio::test]
async fn http2_header_floods_are_refused() {
    let stack = stack().await;
    // Over the 16 KiB header list limit: 431 on the stream; the connection stays.
    let (got, ended) = h2_get_with(&stack, &[("x-huge".into(), "a".repeat(20 * 1024))]).await;
    assert_eq!(got.unwrap(), 431);
    assert!(ended.is_none(), "{ended:?}");
    // Far over it: HEADERS and CONTINUATION frames, GOAWAY.
    let (got, _) = h2_get_with(&stack, &[("x-huge".into(), "a".repeat(1024 * 1024))]).await;
    let err = got.unwrap_err();
    assert!(err.is_go_away() && err.is_remote(), "{err:?}");
    assert_eq!(err.reason(), Some(h2::Reason::ENHANCE_YOUR_CALM), "{err:?}");
    let many: Vec<(String, String)> = (0..10_000)
        .map(|i| (format!("x-flood-{i}"), "v".to_owned()))
        .collect();
    let (got, _) = h2_get_with(&stack, &many).await;
    let err = got.unwrap_err();
    assert!(err.is_go_away() && err.is_remote(), "{err:?}");
    assert_eq!(err.reason(), Some(h2::Reason::COMPRESSION_ERROR), "{err:?}");
    // CONTINUATION flood: a header block that never ends (raw frames).
    let mut s = h2raw::connect(stack.addr, "internal-app").await;
    let block = h2raw::request_block("GET", b"/internal/h2flood", &[]);
    s.write_all(&h2raw::frame(h2raw::HEADERS, 0, 1, &block))
        .await
        .unwrap();
    let (mut read, mut write) = tokio::io::split(s);
    let writer = tokio::spawn(async move {
        let piece = h2raw::literal(b"x-c", b"v");
        for _ in 0..100 {
            let mut batch = Vec::new();
            for _ in 0..100 {
                batch.extend(h2raw::frame(h2raw::CONTINUATION, 0, 1, &piece));
            }
            if write.write_all(&batch).await.is_err() {
                return;
            }
        }
    });
    let seen = h2raw::outcome(
        &mut tokio::io::join(&mut read, tokio::io::sink()),
        1,
        Duration::from_secs(5),
    )
    .await;
    writer.abort();
    assert_eq!(
        seen.describe(),
        "GOAWAY ENHANCE_YOUR_CALM \"too_many_continuations\", closed"
    );
    // HPACK bomb: one 4 KiB field in the dynamic table, referenced 4,000 times (16 MiB decoded
    // from 8 KiB).
    let mut s = h2raw::connect(stack.addr, "internal-app").await;
    let mut block = h2raw::request_block("GET", b"/internal/h2flood", &[]);
    block.push(0x40);
    block.extend(&h2raw::literal(b"x-bomb", "b".repeat(4000).as_bytes())[1..]);
    block.extend(std::iter::repeat_n(0xbe, 4000));
    s.write_all(&h2raw::frame(
        h2raw::HEADERS,
        h2raw::END_HEADERS | h2raw::END_STREAM,
        1,
        &block,
    ))
    .await
    .unwrap();
    let seen = h2raw::outcome(&mut s, 1, Duration::from_secs(5)).await;
    assert_eq!(
        seen.describe(),
        "GOAWAY ENHANCE_YOUR_CALM \"header_list_way_too_large\", closed"
    );
    assert!(stack.seen_paths("/internal/h2flood").is_empty());
    assert_still_serving(&stack).await;
    stack.shutdown().await;
}

#[tokio::test]
async fn http2_rapid_reset_ends_the_connection() {
    let stack = stack().await;
    // With the h2 crate: 1,000 requests, each cancelled at once.
    let (mut client, driver) = h2_client(stack.addr, "internal-app").await;
    let mut sent = 0;
    for i in 0..1000 {
        if std::future::poll_fn(|cx| client.poll_ready(cx))
            .await
            .is_err()
        {
            break;
        }
        let req = http::Request::get(format!("https://localhost/internal/rapid/{i}"))
            .body(())
            .unwrap();
        let Ok((_response, mut stream)) = client.send_request(req, true) else {
            break;
        };
        stream.send_reset(h2::Reason::CANCEL);
        sent += 1;
    }
    assert!(sent > 20, "{sent}");
    // Either the connection ends (a request sent after them is refused, the connection closes)
    // or it keeps serving.
    let after = async {
        let req = http::Request::get("https://localhost/internal/after-rapid")
            .body(())
            .unwrap();
        let (response, _) = client.send_request(req, true)?;
        response.await.map(|r| r.status())
    }
    .await;
    match after {
        Ok(status) => assert_eq!(status, 200),
        Err(e) => {
            assert!(e.is_remote(), "{e:?}");
            let ended = tokio::time::timeout(Duration::from_secs(3), driver).await;
            assert!(ended.is_ok(), "refused, yet the connection stayed open");
        }
    }
    // With raw frames, to see the GOAWAY: HEADERS and RST_STREAM(CANCEL) for 1,000 streams.
    let s = h2raw::connect(stack.addr, "internal-app").await;
    let mut frames = Vec::new();
    for i in 0..1000u32 {
        let id = 1 + 2 * i;
        let block = h2raw::request_block("GET", format!("/internal/rapid/{i}").as_bytes(), &[]);
        frames.extend(h2raw::frame(
            h2raw::HEADERS,
            h2raw::END_HEADERS | h2raw::END_STREAM,
            id,
            &block,
        ));
        frames.extend(h2raw::frame(h2raw::RST_STREAM, 0, id, &8u32.to_be_bytes()));
    }
    let (mut read, mut write) = tokio::io::split(s);
    let writer = tokio::spawn(async move { write.write_all(&frames).await });
    let seen = h2raw::outcome(
        &mut tokio::io::join(&mut read, tokio::io::sink()),
        0,
        Duration::from_secs(5),
    )
    .await;
    writer.abort();
    assert_eq!(
        seen.describe(),
        "GOAWAY ENHANCE_YOUR_CALM \"too_many_resets\", closed"
    );
    assert_still_serving(&stack).await;
    stack.shutdown().await;
}

#[tokio::test]
async fn garbage_before_the_client_hello_and_plain_http_are_closed() {
    let stack = stack().await;
    // A fatal decode_error alert: TLS record 21, version 3.3, length 2, level 2, code 50.
    const DECODE_ERROR: &[u8] = &[21, 3, 3, 0, 2, 2, 50];
    // Garbage, then a real ClientHello on the same connection.
    let mut tcp = tokio::net::TcpStream::connect(stack.addr).await.unwrap();
    tcp.write_all(b"\x00\xffGARBAGE\r\n\r\n").await.unwrap();
    let handshake = tokio::time::timeout(
        Duration::from_secs(5),
        tokio_rustls::TlsConnector::from(common::client_config(Some("internal-app"), &[b"h2"]))
            .connect(
                rustls_pki_types::ServerName::try_from("localhost").unwrap(),
                tcp,
            ),
    )
    .await
    .unwrap();
    let Err(err) = handshake else {
        panic!("a handshake after garbage succeeded");
    };
    assert!(
        common::describe(&err).contains("AlertReceived(DecodeError)"),
        "{}",
        common::describe(&err)
    );
    // Plain HTTP, and 64 KiB of noise, to the TLS port.
    let noise: Vec<u8> = (0..64 * 1024u32)
        .map(|i| i.wrapping_mul(2_654_435_761).to_be_bytes()[1])
        .collect();
    for (name, bytes) in [
        (
            "plain HTTP",
            b"GET /internal/plain HTTP/1.1\r\nHost: localhost\r\n\r\n".to_vec(),
        ),
        ("noise", noise),
    ] {
        let mut tcp = tokio::net::TcpStream::connect(stack.addr).await.unwrap();
        let started = Instant::now();
        let _ = tcp.write_all(&bytes).await;
        let raw = read_all(&mut tcp, Duration::from_secs(5)).await;
        assert!(raw.closed, "{name}");
        assert!(started.elapsed() < Duration::from_secs(3), "{name}");
        assert_eq!(raw.bytes, DECODE_ERROR, "{name}");
    }
    assert!(stack.seen_paths("/internal/plain").is_empty());
    assert_still_serving(&stack).await;
    stack.shutdown().await;
}

#[tokio::test]
async fn path_tricks_cannot_reach_another_routes_path() {
    let stack = stack().await;
    // internal-app may use /internal, not /sas (pinned to sas-recette). (target, status, slug)
    let cases: [(&str, u16, &str); 20] = [
        ("/internal/../sas/Slot", 403, "client-not-allowed"),
        ("/internal/%2e%2e/sas/Slot", 403, "client-not-allowed"),
        ("/internal/%2E%2E/sas/Slot", 403, "client-not-allowed"),
        ("/internal/.%2e/sas/Slot", 403, "client-not-allowed"),
        ("//sas/Slot", 403, "client-not-allowed"),
        ("/internal//..//sas/Slot", 403, "client-not-allowed"),
        ("/%69nternal/../sas/Slot", 403, "client-not-allowed"),
        (
            "https://localhost/internal/../sas/Slot",
            403,
            "client-not-allowed",
        ),
        ("/internal/..%2Fsas/Slot", 400, "bad-path"),
        ("/internal/..%2fsas/Slot", 400, "bad-path"),
        ("/internal/..\\sas/Slot", 400, "bad-path"),
        ("/internal/..%5Csas/Slot", 400, "bad-path"),
        ("/internal/a%00b", 400, "bad-path"),
        ("/internal/%00/../../sas/Slot", 400, "bad-path"),
        ("/internal/../../sas/Slot", 400, "bad-path"),
        ("/sas/recette/fhir/..%2F..%2Finternal", 400, "bad-path"),
        ("*", 400, "bad-path"),
        // Not dot-segments: forwarded as they are, on the route they were matched to.
        ("/internal/%252e%252e/sas/Slot", 200, ""),
        ("/internal/%c0%ae%c0%ae/sas/Slot", 200, ""),
        ("/internal/..;/sas/Slot", 200, ""),
    ];
    for (target, status, slug) in cases {
        let request =
            format!("GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        let raw = raw_exchange(stack.addr, "internal-app", request.as_bytes()).await;
        let response = only_response(&raw, target);
        assert_eq!(response.status, status, "{target}: {}", raw.text());
        if status == 200 {
            let echo: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
            assert_eq!(echo["headers"]["x-gateway-route"], "internal", "{target}");
        } else {
            assert!(
                response
                    .text()
                    .contains(&format!("urn:gateway:problem:{slug}")),
                "{target}: {}",
                response.text()
            );
        }
    }
    assert_eq!(
        stack
            .seen()
            .iter()
            .map(|s| s.path.as_str())
            .collect::<Vec<_>>(),
        [
            "/internal/%252e%252e/sas/Slot",
            "/internal/%C0%AE%C0%AE/sas/Slot",
            "/internal/..;/sas/Slot"
        ]
    );
    assert_still_serving(&stack).await;
    stack.shutdown().await;
}
