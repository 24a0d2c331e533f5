//! Connection lifetimes and caps over real sockets: one client must not be able to hold the
//! slots others need (slow headers, idle keep-alive, idle HTTP/2, a slow body, one address, a
//! crowd of anonymous connections), and a refused certificate gets its alert, not a reset.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::*;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A gateway whose `/sas` route is open to sas-recette, with the listener keys given.
async fn gateway_with(mode: &str, listener_keys: &str) -> gateway::Gateway {
    let listener = listener(mode).replacen("    tls:\n", &format!("{listener_keys}    tls:\n"), 1);
    echo_gateway(
        &listener,
        "    name: sas\n    path_prefix: /sas\n    allowed_clients: [sas-recette]\n    max_body_size: 1MiB\n",
    )
    .await
}

/// Reads until the gateway closes the connection; the time it took, or `None` if it stayed open
/// for `within`.
async fn closed_within<S: tokio::io::AsyncRead + Unpin>(
    stream: &mut S,
    within: Duration,
) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    tokio::time::timeout(within, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return started.elapsed(),
                Ok(_) => {}
            }
        }
    })
    .await
    .ok()
}

async fn raw(
    addr: SocketAddr,
    client: Option<&str>,
) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    connect(addr, client_config(client, &[b"http/1.1"]))
        .await
        .unwrap()
}

#[tokio::test]
async fn slow_header_senders_are_cut_off_and_do_not_lock_others_out() {
    // Every slot taken by a slowloris: without a header-read timeout the next client waits forever.
    let gw = gateway_with(
        "required",
        "    max_connections: 4\n    max_connections_per_address: 4\n    header_read_timeout: 500ms\n",
    )
    .await;
    let addr = gw.addr("edge").unwrap();
    let mut slow = Vec::new();
    for _ in 0..4 {
        let mut s = raw(addr, Some("sas-recette")).await;
        s.write_all(b"GET /sas/Slot HTTP/1.1\r\nHost: x\r\nX-a: ")
            .await
            .unwrap();
        s.flush().await.unwrap();
        slow.push(s);
    }
    let started = Instant::now();
    let answer = tokio::time::timeout(
        Duration::from_secs(5),
        send(addr, Some("sas-recette"), false, get("/sas/Slot")),
    )
    .await
    .expect("a normal request must get through once the slow ones are cut off")
    .unwrap();
    assert_eq!(answer.status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    for mut s in slow {
        let closed = closed_within(&mut s, Duration::from_secs(3)).await;
        assert!(closed.is_some(), "a slow header sender stayed connected");
    }
    let metrics = gateway::prometheus().render();
    assert!(metrics.contains(r#"reason="header_timeout""#), "{metrics}");
    gw.shutdown().await;
}

#[tokio::test]
async fn a_connection_that_never_sends_a_request_is_closed_after_the_header_timeout() {
    let gw = gateway_with(
        "required",
        "    header_read_timeout: 300ms\n    idle_timeout: 30s\n",
    )
    .await;
    let mut s = raw(gw.addr("edge").unwrap(), Some("sas-recette")).await;
    let closed = closed_within(&mut s, Duration::from_secs(5)).await;
    let took = closed.expect("a silent connection stayed open");
    assert!(took < Duration::from_secs(2), "{took:?}");
    gw.shutdown().await;
}

#[tokio::test]
async fn idle_http1_keep_alive_is_closed_after_the_idle_timeout_not_the_header_one() {
    let gw = gateway_with(
        "required",
        "    header_read_timeout: 200ms\n    idle_timeout: 800ms\n",
    )
    .await;
    let mut s = raw(gw.addr("edge").unwrap(), Some("sas-recette")).await;
    s.write_all(b"GET /sas/a HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 16 * 1024];
    let n = s.read(&mut buf).await.unwrap();
    assert!(
        buf[..n].starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&buf[..n])
    );
    let started = Instant::now();
    let closed = closed_within(&mut s, Duration::from_secs(5)).await;
    let took = closed.expect("an idle keep-alive connection stayed open");
    // Kept past the header timeout (nothing was being sent), closed at the idle one.
    assert!(
        took >= Duration::from_millis(600) && took < Duration::from_secs(3),
        "{took:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(4));
    gw.shutdown().await;
}

#[tokio::test]
async fn idle_http2_connections_are_closed_with_goaway() {
    let gw = gateway_with("required", "    idle_timeout: 500ms\n").await;
    let tls = connect(
        gw.addr("edge").unwrap(),
        client_config(Some("sas-recette"), &[b"h2"]),
    )
    .await
    .unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
            .await
            .unwrap();
    let driver = tokio::spawn(conn);
    let response = sender.send_request(get("/sas/a")).await.unwrap();
    assert_eq!(response.status(), 200);
    drop(response);
    // The connection task ends when the gateway closes the connection.
    let ended = tokio::time::timeout(Duration::from_secs(5), driver).await;
    assert!(ended.is_ok(), "an idle HTTP/2 connection stayed open");
    gw.shutdown().await;
}

#[tokio::test]
async fn one_address_cannot_take_every_connection() {
    let gw = gateway_with(
        "required",
        "    max_connections: 10\n    max_connections_per_address: 2\n",
    )
    .await;
    let addr = gw.addr("edge").unwrap();
    let first = raw(addr, Some("sas-recette")).await;
    let _second = raw(addr, Some("sas-recette")).await;
    let third = connect(addr, client_config(Some("sas-recette"), &[b"http/1.1"])).await;
    assert!(
        third.is_err(),
        "a third connection from one address was accepted"
    );
    drop(first);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let answer = send(addr, Some("sas-recette"), false, get("/sas/a"))
        .await
        .unwrap();
    assert_eq!(
        answer.status, 200,
        "a closed connection frees its address's slot"
    );
    let metrics = gateway::prometheus().render();
    assert!(metrics.contains(r#"reason="per_address""#), "{metrics}");
    gw.shutdown().await;
}

#[tokio::test]
async fn anonymous_connections_cannot_starve_verified_clients() {
    let gw = gateway_with(
        "optional",
        "    max_connections: 10\n    max_connections_per_address: 10\n    max_connections_without_certificate: 2\n",
    )
    .await;
    let addr = gw.addr("edge").unwrap();
    let _a = raw(addr, None).await;
    let _b = raw(addr, None).await;
    // The third anonymous connection completes its handshake, then is closed unanswered.
    let mut c = raw(addr, None).await;
    let _ = c.write_all(b"GET /sas/a HTTP/1.1\r\nHost: x\r\n\r\n").await;
    let mut buf = vec![0u8; 1024];
    let got = tokio::time::timeout(Duration::from_secs(3), c.read(&mut buf))
        .await
        .unwrap();
    assert!(
        matches!(got, Ok(0) | Err(_)),
        "a third anonymous connection was served"
    );
    let answer = send(addr, Some("sas-recette"), false, get("/sas/a"))
        .await
        .unwrap();
    assert_eq!(answer.status, 200, "a verified client is still served");
    gw.shutdown().await;
}

#[tokio::test]
async fn a_stalled_body_gets_408_and_a_broken_one_400_never_502() {
    let gw = gateway_with("required", "    request_body_timeout: 300ms\n").await;
    let addr = gw.addr("edge").unwrap();
    let cases: [(&[u8], u16, &str); 3] = [
        (
            b"POST /sas/a HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789",
            408,
            "request-timeout",
        ),
        (
            b"POST /sas/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
            400,
            "body-unreadable",
        ),
        (
            b"POST /sas/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\n0\n\n",
            400,
            "body-unreadable",
        ),
    ];
    for (request, status, slug) in cases {
        let mut s = raw(addr, Some("sas-recette")).await;
        s.write_all(request).await.unwrap();
        let mut buf = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf)).await;
        let text = String::from_utf8_lossy(&buf);
        assert!(
            text.starts_with(&format!("HTTP/1.1 {status}")),
            "{slug}: {text}"
        );
        assert!(
            text.contains(&format!("urn:gateway:problem:{slug}")),
            "{text}"
        );
    }
    let metrics = gateway::prometheus().render();
    assert!(
        !metrics.contains(r#"gateway_upstream_errors_total{upstream="echo""#),
        "the caller's fault was counted against the upstream: {metrics}"
    );
    gw.shutdown().await;
}

/// Under TLS 1.3 the client sends its request before it learns the verdict on its certificate:
/// the gateway must let the alert arrive rather than reset the connection.
#[tokio::test]
async fn a_refused_certificate_gets_its_alert_even_with_a_request_in_flight() {
    let gw = gateway_with("required", "").await;
    let addr = gw.addr("edge").unwrap();
    let body = vec![b'x'; 64 * 1024];
    for round in 0..20 {
        let mut s = raw(addr, Some("untrusted")).await;
        let head = format!(
            "POST /sas/a HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        // What curl does: write the request, and report the first error it meets. A reset
        // would fail these writes (broken pipe) before the alert is ever read.
        let written = async {
            s.write_all(head.as_bytes()).await?;
            for piece in body.chunks(8 * 1024) {
                s.write_all(piece).await?;
                s.flush().await?;
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            Ok::<_, std::io::Error>(())
        }
        .await;
        if let Err(e) = written {
            assert!(
                describe(&e).contains("AlertReceived(UnknownCA)"),
                "round {round}: the request could not be sent: {}",
                describe(&e)
            );
            continue;
        }
        let mut buf = [0u8; 64];
        let err = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
            .await
            .unwrap()
            .err()
            .unwrap_or_else(|| panic!("round {round}: no error"));
        let text = describe(&err);
        assert!(
            text.contains("AlertReceived(UnknownCA)"),
            "round {round}: {text}"
        );
    }
    gw.shutdown().await;
}

/// A refusal answered before the body is read must reach an HTTP/2 caller that is still sending
/// as an answer, not as a reset stream (the unread body is drained in the background). curl is
/// the client that reported the reset (exit 92) about one call in twenty.
#[tokio::test(flavor = "multi_thread")]
async fn an_early_refusal_reaches_an_http2_caller_still_sending_its_body() {
    let gw = gateway_with("optional", "").await;
    let port = gw.addr("edge").unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("body.bin");
    std::fs::write(&file, vec![b'x'; 256 * 1024]).unwrap();
    let ca = pki("ca-bundle.pem");
    let outcomes = tokio::task::spawn_blocking(move || {
        (0..40)
            .map(|_| {
                let out = std::process::Command::new("curl")
                    .args([
                        "-s",
                        "--http2",
                        "-o",
                        "/dev/null",
                        "-w",
                        "%{http_code}",
                        "--cacert",
                    ])
                    .arg(&ca)
                    .arg("--data-binary")
                    .arg(format!("@{}", file.display()))
                    .arg(format!("https://localhost:{port}/sas/upload"))
                    .output()
                    .expect("curl must be installed (scripts/test.sh installs it)");
                (
                    out.status.code(),
                    String::from_utf8_lossy(&out.stdout).into_owned(),
                )
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    // No certificate on a pinned route: 401, before a byte of the body is read.
    for (round, (code, status)) in outcomes.iter().enumerate() {
        assert_eq!(
            (*code, status.as_str()),
            (Some(0), "401"),
            "round {round}: {outcomes:?}"
        );
    }
    gw.shutdown().await;
}

/// Reads one HTTP/1.1 response framed by `Content-Length`; its status line and body.
async fn read_response<S: tokio::io::AsyncRead + Unpin>(
    s: &mut S,
    pending: &mut Vec<u8>,
) -> (String, String) {
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&pending[..end]).to_string();
            let length: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .expect("a content-length");
            while pending.len() < end + 4 + length {
                let n = s.read(&mut buf).await.unwrap();
                assert!(n > 0, "closed in a body: {head}");
                pending.extend_from_slice(&buf[..n]);
            }
            let body = String::from_utf8_lossy(&pending[end + 4..end + 4 + length]).to_string();
            pending.drain(..end + 4 + length);
            return (head.lines().next().unwrap_or_default().to_owned(), body);
        }
        let n = s.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed before a response");
        pending.extend_from_slice(&buf[..n]);
    }
}

/// An HTTP/1.1 connection idle for more than a second gives its buffers back (parked: only the
/// TLS stream is kept) and is served again when the client sends: GET, POST with a body, and two
/// requests pipelined in one write, each after a pause longer than the parking delay, all on the
/// same connection, parked after each pause.
#[tokio::test]
async fn a_parked_http1_connection_serves_the_next_requests() {
    let gw = gateway_with("required", "").await;
    let mut s = raw(gw.addr("edge").unwrap(), Some("sas-recette")).await;
    let mut pending = Vec::new();
    let pause = Duration::from_millis(1600);
    let requests: [&[u8]; 4] = [
        b"GET /sas/one HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /sas/two HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /sas/three HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
        b"GET /sas/four HTTP/1.1\r\nHost: x\r\n\r\nGET /sas/five HTTP/1.1\r\nHost: x\r\n\r\n",
    ];
    let parked = || metric("gateway_connections_parked_total{listener=\"edge\"}");
    let parked_before = parked();
    let mut seen = Vec::new();
    for request in requests {
        s.write_all(request).await.unwrap();
        let answers = request.windows(4).filter(|w| *w == b"HTTP").count();
        for _ in 0..answers {
            let (status, body) =
                tokio::time::timeout(Duration::from_secs(5), read_response(&mut s, &mut pending))
                    .await
                    .expect("no answer after the pause");
            assert!(status.starts_with("HTTP/1.1 200"), "{status}: {body}");
            let echoed: serde_json::Value = serde_json::from_str(&body).unwrap();
            seen.push(echoed["path"].as_str().unwrap_or_default().to_owned());
        }
        tokio::time::sleep(pause).await;
    }
    assert_eq!(
        seen,
        [
            "/sas/one",
            "/sas/two",
            "/sas/three",
            "/sas/four",
            "/sas/five"
        ]
    );
    // A refusal answered before its body is read (no route): the body is drained, then the
    // connection parks and serves the next request.
    s.write_all(b"POST /elsewhere HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
        .await
        .unwrap();
    let (status, _) = read_response(&mut s, &mut pending).await;
    assert!(status.starts_with("HTTP/1.1 404"), "{status}");
    tokio::time::sleep(pause).await;
    s.write_all(b"GET /sas/six HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let (status, body) = read_response(&mut s, &mut pending).await;
    assert!(status.starts_with("HTTP/1.1 200"), "{status}: {body}");
    // Parked after each pause: the GETs, the POST (its body read to its end), the pipelined
    // pair, the refused POST; other tests of this binary may park theirs too, so at least that
    // many.
    let parked_now = parked();
    assert!(
        parked_now >= parked_before + 5.0,
        "parked {parked_before} -> {parked_now}"
    );
    gw.shutdown().await;
}
