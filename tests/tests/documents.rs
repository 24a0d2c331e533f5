//! Document exchanges through the gateway to the demo core (on disk): digests checked while
//! streaming, nothing stored when a body is wrong, cut or too large, downloads checked against
//! the core's digest, a per-client daily volume, and a trail that records every case and
//! detects tampering.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;
mod documents_support;

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use documents_support::{Options, TRAIL_KEY, content_digest, records};
use http::Request;
use http_body_util::Full;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const EXCHANGE: &str = "/documents/exchanges/ex-1/documents";

fn upload(path: &str, body: &'static [u8], digest: Option<String>) -> Request<Full<Bytes>> {
    let mut req = Request::post(format!("https://localhost{path}"))
        .header("host", "localhost")
        .header("content-type", "application/octet-stream");
    if let Some(d) = digest {
        req = req.header("content-digest", d);
    }
    req.body(Full::new(Bytes::from_static(body))).unwrap()
}

/// Uploads `body` with its own `Content-Digest`, as `client`.
async fn upload_with_digest(
    addr: std::net::SocketAddr,
    client: &str,
    body: &'static [u8],
) -> Answer {
    send(
        addr,
        Some(client),
        false,
        upload(EXCHANGE, body, Some(content_digest(body))),
    )
    .await
    .unwrap()
}

async fn list(addr: std::net::SocketAddr) -> Vec<serde_json::Value> {
    let answer = send(addr, Some("internal-app"), false, get(EXCHANGE))
        .await
        .unwrap();
    answer.assert_status(200);
    answer.json().as_array().unwrap().clone()
}

fn verify(trail: &std::path::Path) -> Result<String, String> {
    gateway::trail::verify_files(TRAIL_KEY.as_bytes(), &[trail.to_owned()])
}

#[tokio::test]
async fn an_upload_is_stored_served_and_recorded_with_its_origin_and_digest() {
    let d = documents_support::start(Options::default()).await;
    let body: &'static [u8] = b"%PDF-1.7 client-side encrypted bytes";
    let answer = upload_with_digest(d.addr, "portal", body).await;
    answer.assert_status(201);
    let id = answer.json()["id"].as_str().unwrap().to_owned();
    // The core's Location, with the route's prefix back: followable through the gateway.
    assert_eq!(
        answer.headers["location"],
        format!("{EXCHANGE}/{id}").as_str()
    );
    let download = send(
        d.addr,
        Some("portal"),
        false,
        get(&format!("{EXCHANGE}/{id}")),
    )
    .await
    .unwrap();
    assert_eq!(download.status, 200);
    assert_eq!(&download.body[..], body);
    assert_eq!(
        download.headers["content-digest"],
        content_digest(body).as_str()
    );
    assert_eq!(list(d.addr).await.len(), 1);
    // The download's record is written when its stream ends.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let records = records(&d.trail);
    let stored = records.iter().find(|r| r["outcome"] == "stored").unwrap();
    assert_eq!(stored["action"], "upload");
    assert_eq!(stored["document_id"], id.as_str());
    assert_eq!(stored["size"], body.len());
    assert_eq!(stored["digest"], content_digest(body).as_str());
    assert_eq!(stored["client"]["cn"], "portal-whitelabel.test");
    assert_eq!(stored["client"]["ou"], "PARTNER-TEST");
    assert_eq!(
        stored["client"]["cert_sha256"],
        manifest("clients/portal")["sha256"]
    );
    assert_eq!(stored["core_status"], 201);
    assert_eq!(stored["instance"], "test-1");
    let served = records.iter().find(|r| r["outcome"] == "served").unwrap();
    assert_eq!(served["action"], "download");
    assert_eq!(served["size"], body.len());
    assert!(
        verify(&d.trail).unwrap().starts_with("ok: "),
        "{:?}",
        verify(&d.trail)
    );
    d.gw.shutdown().await;
}

#[tokio::test]
async fn a_wrong_digest_never_reaches_the_store_and_names_only_the_algorithm() {
    let d = documents_support::start(Options::default()).await;
    let wrong = content_digest(b"other bytes");
    let answer = send(
        d.addr,
        Some("internal-app"),
        false,
        upload(EXCHANGE, b"the real bytes", Some(wrong.clone())),
    )
    .await
    .unwrap();
    assert_eq!(answer.status, 400);
    let problem = answer.json();
    assert_eq!(problem["type"], "urn:gateway:problem:digest-mismatch");
    assert!(problem["detail"].as_str().unwrap().contains("sha-256"));
    let text = String::from_utf8_lossy(&answer.body);
    assert!(
        !text.contains(&wrong[9..30]),
        "the expected value leaked: {text}"
    );
    assert!(
        list(d.addr).await.is_empty(),
        "the core holds a document with a wrong digest"
    );
    // Required: an upload without a digest is refused before the core is called.
    let answer = send(
        d.addr,
        Some("internal-app"),
        false,
        upload(EXCHANGE, b"bytes", None),
    )
    .await
    .unwrap();
    assert_eq!(answer.status, 400);
    assert_eq!(answer.json()["type"], "urn:gateway:problem:digest-field");
    let records = records(&d.trail);
    let aborted = records.iter().find(|r| r["outcome"] == "aborted").unwrap();
    assert!(
        aborted["reason"]
            .as_str()
            .unwrap()
            .starts_with("digest-mismatch"),
        "{aborted}"
    );
    assert!(records.iter().any(|r| r["outcome"] == "refused"));
    d.gw.shutdown().await;
}

#[tokio::test]
async fn a_body_cut_mid_stream_or_over_the_limit_leaves_nothing_stored() {
    let d = documents_support::start(Options {
        max_body_size: "1KiB",
        ..Options::default()
    })
    .await;
    // Cut: 500 of 1,000 declared bytes, then the caller goes away.
    let mut s = connect(d.addr, client_config(Some("internal-app"), &[b"http/1.1"]))
        .await
        .unwrap();
    let digest = content_digest(&[b'a'; 1000]);
    s.write_all(
        format!("POST {EXCHANGE} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\nContent-Digest: {digest}\r\n\r\n")
            .as_bytes(),
    )
    .await
    .unwrap();
    s.write_all(&[b'a'; 500]).await.unwrap();
    s.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(s);
    // Declared over the limit: refused before the core is called.
    let big: &'static [u8] = &[b'b'; 2048];
    let answer = send(
        d.addr,
        Some("internal-app"),
        false,
        upload(EXCHANGE, big, Some(content_digest(big))),
    )
    .await
    .unwrap();
    assert_eq!(answer.status, 413);
    // Streamed (chunked) over the limit: aborted when it passes it.
    let mut s = connect(d.addr, client_config(Some("internal-app"), &[b"http/1.1"]))
        .await
        .unwrap();
    s.write_all(format!("POST {EXCHANGE} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Digest: {}\r\n\r\n", content_digest(big)).as_bytes())
        .await
        .unwrap();
    for _ in 0..4 {
        let _ = s.write_all(b"200\r\n").await;
        let _ = s.write_all(&[b'b'; 512]).await;
        let _ = s.write_all(b"\r\n").await;
    }
    let _ = s.write_all(b"0\r\n\r\n").await;
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf)).await;
    let text = String::from_utf8_lossy(&buf);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        list(d.addr).await.is_empty(),
        "the core holds a cut or oversized document"
    );
    let outcomes: Vec<_> = records(&d.trail)
        .iter()
        .map(|r| r["outcome"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        outcomes.iter().filter(|o| *o == "aborted").count() >= 1,
        "{outcomes:?}"
    );
    assert!(outcomes.iter().any(|o| o == "refused"), "{outcomes:?}");
    d.gw.shutdown().await;
}

#[tokio::test]
async fn a_download_that_does_not_match_the_cores_digest_never_looks_complete() {
    let d = documents_support::start(Options {
        corrupt_downloads: true,
        ..Options::default()
    })
    .await;
    let body: &'static [u8] = &[b'z'; 100_000];
    let answer = upload_with_digest(d.addr, "internal-app", body).await;
    assert_eq!(answer.status, 201);
    let id = answer.json()["id"].as_str().unwrap().to_owned();
    for h2 in [false, true] {
        let got = send(
            d.addr,
            Some("internal-app"),
            h2,
            get(&format!("{EXCHANGE}/{id}")),
        )
        .await;
        assert!(
            got.is_err(),
            "h2={h2}: a download with a wrong digest was delivered whole"
        );
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let records = records(&d.trail);
    let downloads: Vec<_> = records
        .iter()
        .filter(|r| r["action"] == "download")
        .collect();
    assert_eq!(downloads.len(), 2);
    assert!(
        downloads.iter().all(|r| r["outcome"] == "aborted"),
        "{downloads:?}"
    );
    d.gw.shutdown().await;
}

#[tokio::test]
async fn the_daily_volume_is_shared_by_two_instances_on_redis() {
    let core = demo_upstream::spawn("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let prefix = format!(
        "docs-quota-{}-{}",
        std::process::id(),
        jiff::Timestamp::now().as_millisecond()
    );
    let redis = || Options {
        daily_volume: "1000",
        core: Some(core),
        state: format!("state:\n  backend: redis\n  url_env: REDIS_URL\n  key_prefix: {prefix}\n"),
        env: HashMap::from([("REDIS_URL".to_owned(), "redis://127.0.0.1:6379".to_owned())]),
        ..Options::default()
    };
    let a = documents_support::start(redis()).await;
    let b = documents_support::start(redis()).await;
    let body: &'static [u8] = &[b'q'; 600];
    let first = upload_with_digest(a.addr, "internal-app", body).await;
    assert_eq!(first.status, 201);
    let second = upload_with_digest(b.addr, "internal-app", body).await;
    assert_eq!(
        second.status, 429,
        "the other instance did not see the volume used"
    );
    let retry: u64 = second.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0 && retry <= 86_400 + 3600, "{retry}");
    assert_eq!(second.json()["type"], "urn:gateway:problem:quota-exceeded");
    // Another client has its own volume.
    let other = upload_with_digest(b.addr, "portal", body).await;
    assert_eq!(other.status, 201);
    a.gw.shutdown().await;
    b.gw.shutdown().await;
}

#[tokio::test]
async fn the_trail_names_the_first_line_altered_removed_or_swapped() {
    let d = documents_support::start(Options::default()).await;
    for i in 0..4u8 {
        let body: &'static [u8] = Box::leak(vec![i; 10].into_boxed_slice());
        let answer = upload_with_digest(d.addr, "internal-app", body).await;
        assert_eq!(answer.status, 201);
    }
    d.gw.shutdown().await;
    let text = std::fs::read_to_string(&d.trail).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4);
    assert!(verify(&d.trail).is_ok());
    let check = |lines: Vec<String>| {
        let file = d.trail_dir.join("tampered.jsonl");
        std::fs::write(&file, lines.join("\n") + "\n").unwrap();
        gateway::trail::verify_files(TRAIL_KEY.as_bytes(), &[file]).unwrap_err()
    };
    let owned = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    // One byte of the third record changed.
    let mut altered = owned(&lines);
    altered[2] = altered[2].replacen("\"size\":10", "\"size\":11", 1);
    assert!(check(altered).contains("line 3"), "altered");
    // The second record removed: seen at the line after the gap.
    let mut removed = owned(&lines);
    removed.remove(1);
    assert!(check(removed).contains("line 2"), "removed");
    // Two swapped: seen at the first of them.
    let mut swapped = owned(&lines);
    swapped.swap(1, 2);
    assert!(check(swapped).contains("line 2"), "swapped");
}

/// The core must never receive a complete body with a wrong digest, even a core that checks
/// nothing itself: the gateway holds the last piece back and aborts the request instead.
#[tokio::test]
async fn a_core_that_checks_nothing_still_never_gets_a_complete_wrong_body() {
    use http_body_util::BodyExt;
    let (seen_tx, mut seen_rx) = tokio::sync::mpsc::unbounded_channel::<Result<usize, String>>();
    let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
        let seen = seen_tx.clone();
        async move {
            let got = req.into_body().collect().await;
            let _ = seen.send(got.map(|c| c.to_bytes().len()).map_err(|e| e.to_string()));
            (http::StatusCode::CREATED, "stored")
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let naive = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let d = documents_support::start(Options {
        core: Some(naive),
        ..Options::default()
    })
    .await;
    // Large enough to arrive in several pieces, with Content-Length and chunked.
    let body: &'static [u8] = Box::leak(vec![b'w'; 300_000].into_boxed_slice());
    let answer = send(
        d.addr,
        Some("internal-app"),
        false,
        upload(EXCHANGE, body, Some(content_digest(b"else"))),
    )
    .await
    .unwrap();
    assert_eq!(answer.status, 400);
    let seen = tokio::time::timeout(Duration::from_secs(5), seen_rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(seen.is_err(), "the core received a complete body: {seen:?}");
    // The right digest: the same core gets it whole.
    let answer = upload_with_digest(d.addr, "internal-app", body).await;
    assert_eq!(answer.status, 201);
    let seen = seen_rx.recv().await.unwrap();
    assert_eq!(seen, Ok(body.len()));
    d.gw.shutdown().await;
}

/// Past `rotate_at` a new file starts and the chain goes on: the files verify together, in
/// order, and not apart from the first.
#[tokio::test]
async fn a_rotated_trail_keeps_its_chain_across_files() {
    let d = documents_support::start(Options {
        trail_extra: "    rotate_at: 1KiB\n".into(),
        ..Options::default()
    })
    .await;
    for i in 0..6u8 {
        let body: &'static [u8] = Box::leak(vec![i; 10].into_boxed_slice());
        let answer = upload_with_digest(d.addr, "internal-app", body).await;
        assert_eq!(answer.status, 201);
    }
    d.gw.shutdown().await;
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&d.trail_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("trail-test-1.jsonl.")
        })
        .collect();
    assert!(!files.is_empty(), "no rotation happened");
    // Rotated files are named by time: oldest first, then the current file.
    files.sort();
    files.push(d.trail.clone());
    let all = gateway::trail::verify_files(TRAIL_KEY.as_bytes(), &files).unwrap();
    assert!(all.starts_with("ok: 6 records"), "{all}");
    // Each file verifies in turn from its predecessor's anchor: the first one alone too.
    assert!(gateway::trail::verify_files(TRAIL_KEY.as_bytes(), &files[..1]).is_ok());
}
