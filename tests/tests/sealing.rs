//! Fronting a fragile signer (seed 001): one PDF at a time through a bounded queue, and content
//! checks that keep what is not a PDF away from it.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use http::Request;
use http_body_util::Full;

async fn sealing_gateway(
    took: Duration,
) -> (
    gateway::Gateway,
    std::sync::Arc<demo_upstream::sealer::SealerStats>,
) {
    let (app, stats) = demo_upstream::sealer::router(took);
    let sealer = demo_upstream::spawn_with("127.0.0.1:0".parse().unwrap(), app)
        .await
        .unwrap();
    let gw = start(&format!(
        r#"{listener}
  internal-app:
    cn: internal-app.test
    ou: INTERNAL-TEST
upstreams:
  sealer:
    url: http://{sealer}
    concurrency:
      max_in_flight: 1
      max_queue: 5
      queue_timeout: 10s
    health_check:
      path: /health
      interval: 100ms
      timeout: 100ms
      unhealthy_threshold: 2
      healthy_threshold: 1
routes:
  - name: seal
    path_prefix: /seal-contract
    methods: [POST]
    handler: proxy
    upstream: sealer
    allowed_clients: [internal-app]
    max_body_size: 1KiB
    content:
      types: [application/pdf]
      magic: "%PDF-"
      min_size: 1
"#,
        listener = listener("required")
    ))
    .await;
    (gw, stats)
}

fn seal(body: &'static [u8], content_type: &str) -> Request<Full<Bytes>> {
    Request::post("https://localhost/seal-contract")
        .header("host", "localhost")
        .header("content-type", content_type)
        .body(Full::new(Bytes::from_static(body)))
        .unwrap()
}

/// Sends `body` to seal as internal-app.
async fn seal_at(addr: std::net::SocketAddr, body: &'static [u8], content_type: &str) -> Answer {
    send(addr, Some("internal-app"), false, seal(body, content_type))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn twenty_callers_one_token_never_an_overlap() {
    let (gw, stats) = sealing_gateway(Duration::from_millis(200)).await;
    let addr = gw.addr("edge").unwrap();
    let callers: Vec<_> = (0..20)
        .map(|_| {
            tokio::spawn(
                async move { seal_at(addr, b"%PDF-1.7 contract", "application/pdf").await },
            )
        })
        .collect();
    let mut sealed = 0;
    let mut busy = 0;
    for caller in callers {
        let answer = caller.await.unwrap();
        match answer.status {
            200 => {
                assert!(answer.body.ends_with(b"%% sealed by the demo token\n"));
                sealed += 1;
            }
            503 => {
                let retry: u64 = answer.headers["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!(retry >= 1, "{retry}");
                assert_eq!(answer.json()["type"], "urn:gateway:problem:upstream-busy");
                busy += 1;
            }
            other => panic!(
                "unexpected {other}: {}",
                String::from_utf8_lossy(&answer.body)
            ),
        }
    }
    assert_eq!(
        stats.overlaps.load(Ordering::SeqCst),
        0,
        "two requests reached the token at once"
    );
    assert_eq!(stats.sealed.load(Ordering::SeqCst), sealed);
    // One in flight and five waiting at most when the twenty arrive together.
    assert!(
        sealed >= 6 && busy >= 1 && sealed + busy == 20,
        "sealed {sealed}, busy {busy}"
    );
    let metrics = gateway::prometheus().render();
    assert!(
        metrics.contains("gateway_upstream_queue_wait_duration_seconds"),
        "{metrics}"
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn what_is_not_a_pdf_never_reaches_the_signer() {
    let (gw, stats) = sealing_gateway(Duration::from_millis(10)).await;
    let addr = gw.addr("edge").unwrap();
    for (body, content_type, status) in [
        (
            &b"just a text file renamed contract.pdf"[..],
            "application/pdf",
            415,
        ),
        (&b"%PDF-1.7 but declared as text"[..], "text/plain", 415),
        (&b""[..], "application/pdf", 400),
        (&[b'%'; 1025][..], "application/pdf", 413),
    ] {
        let answer = seal_at(addr, body, content_type).await;
        assert_eq!(
            answer.status,
            status,
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
        assert_eq!(answer.headers["content-type"], "application/problem+json");
    }
    assert_eq!(
        stats.sealed.load(Ordering::SeqCst),
        0,
        "the signer was bothered"
    );
    let ok = seal_at(addr, b"%PDF-1.4 ok", "application/pdf").await;
    assert_eq!(ok.status, 200);
    gw.shutdown().await;
}

#[tokio::test]
async fn an_unplugged_token_fails_fast_and_shows_in_readiness() {
    let (gw, stats) = sealing_gateway(Duration::from_millis(10)).await;
    let addr = gw.addr("edge").unwrap();
    let admin = gw.admin_addr();
    let readyz = || async move {
        let mut s = tokio::net::TcpStream::connect(admin).await.unwrap();
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        s.write_all(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    };
    stats.unplugged.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = std::time::Instant::now();
    let answer = seal_at(addr, b"%PDF-1.7 x", "application/pdf").await;
    assert_eq!(answer.status, 503);
    assert_eq!(answer.json()["type"], "urn:gateway:problem:upstream-down");
    assert!(started.elapsed() < Duration::from_secs(1));
    let ready = readyz().await;
    assert!(ready.contains(r#""upstream.sealer":"down""#), "{ready}");
    assert!(
        ready.starts_with("HTTP/1.1 200"),
        "a down signer must not make the gateway unready: {ready}"
    );
    stats.unplugged.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let answer = seal_at(addr, b"%PDF-1.7 x", "application/pdf").await;
    assert_eq!(answer.status, 200);
    assert!(readyz().await.contains(r#""upstream.sealer":"healthy""#));
    gw.shutdown().await;
}

/// A caller trickling its body does not hold the single token: the body is read whole before
/// a slot is taken, and the others are served meanwhile.
#[tokio::test(flavor = "multi_thread")]
async fn a_trickling_caller_does_not_hold_the_token() {
    use tokio::io::AsyncWriteExt;
    let (gw, _stats) = sealing_gateway(Duration::from_millis(50)).await;
    let addr = gw.addr("edge").unwrap();
    let mut slow = connect(addr, client_config(Some("internal-app"), &[b"http/1.1"]))
        .await
        .unwrap();
    slow.write_all(b"POST /seal-contract HTTP/1.1\r\nHost: x\r\nContent-Type: application/pdf\r\nContent-Length: 105\r\n\r\n%PDF-")
        .await
        .unwrap();
    let trickle = tokio::spawn(async move {
        for _ in 0..10 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let _ = slow.write_all(b"xxxxxxxxxx").await;
        }
        slow
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = std::time::Instant::now();
    let answer = seal_at(addr, b"%PDF-1.7 quick", "application/pdf").await;
    assert_eq!(answer.status, 200);
    assert!(
        started.elapsed() < Duration::from_millis(1000),
        "a normal caller waited {:?} behind a trickling one",
        started.elapsed()
    );
    drop(trickle.await);
    gw.shutdown().await;
}
