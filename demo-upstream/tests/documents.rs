//! The core's document API over a real socket, with a raw HTTP/1.1 client so uploads can be
//! cut short: a body short of its `Content-Length`, or chunked without its last chunk, must
//! leave nothing stored and no temporary file behind.
#![allow(clippy::unwrap_used, missing_docs)]

mod http_support;

use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use demo_upstream::documents::{Documents, DocumentsConfig};
use http_support::{Reply, chunked, parse, send};
use serde_json::Value;
use sha2::{Digest, Sha256, Sha512};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const MISMATCH: &str = "urn:secure-echange:problem:digest-mismatch";

async fn start(config: DocumentsConfig) -> (SocketAddr, Documents) {
    let docs = Documents::new(config).unwrap();
    let app = demo_upstream::router_with(docs.router());
    let addr = demo_upstream::spawn_with("127.0.0.1:0".parse().unwrap(), app)
        .await
        .unwrap();
    (addr, docs)
}

async fn get(addr: SocketAddr, path: &str, extra: &str) -> Reply {
    send(addr, &format!("GET {path} HTTP/1.1{extra}"), b"").await
}

fn sha256_field(bytes: &[u8]) -> String {
    format!("sha-256=:{}:", STANDARD.encode(Sha256::digest(bytes)))
}

/// Uploads `bytes` with `Content-Length` and the given extra header lines.
async fn upload(addr: SocketAddr, method_path: &str, bytes: &[u8], extra: &str) -> Reply {
    let head = format!(
        "{method_path} HTTP/1.1\r\nContent-Length: {}{extra}",
        bytes.len()
    );
    send(addr, &head, bytes).await
}

fn sample(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

async fn listed(addr: SocketAddr, exchange: &str) -> Vec<Value> {
    let r = get(addr, &format!("/exchanges/{exchange}/documents"), "").await;
    assert_eq!(r.status, 200);
    r.json().as_array().unwrap().clone()
}

/// Waits until `check` holds for the store's files (uploads are cleaned up asynchronously).
async fn wait_files(docs: &Documents, what: &str, check: impl Fn(&[std::path::PathBuf]) -> bool) {
    for _ in 0..200 {
        if check(&docs.files().unwrap()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{what}: files are {:?}", docs.files().unwrap());
}

fn has_part(files: &[std::path::PathBuf]) -> bool {
    files
        .iter()
        .any(|f| f.extension().is_some_and(|e| e == "part"))
}

#[tokio::test]
async fn upload_then_download_round_trips_with_digests() {
    let (addr, docs) = start(DocumentsConfig::default()).await;
    // Above axum's 2 MB default body limit: the upload is streamed, not buffered.
    let bytes = sample(3 * 1024 * 1024 + 17);
    let extra = format!(
        "\r\nContent-Type: application/pdf\r\nContent-Digest: {}",
        sha256_field(&bytes)
    );
    let r = upload(addr, "POST /exchanges/ex-1/documents", &bytes, &extra).await;
    assert_eq!(r.status, 201, "{r:?}");
    let doc = r.json();
    let id = doc["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 32);
    assert_eq!(
        r.header("location"),
        Some(format!("/exchanges/ex-1/documents/{id}").as_str())
    );
    assert_eq!(doc["exchange_id"], "ex-1");
    assert_eq!(doc["size"], bytes.len());
    assert_eq!(doc["content_type"], "application/pdf");
    assert_eq!(doc["sha256"], hex::encode(Sha256::digest(&bytes)));
    assert_eq!(doc["sha512"], hex::encode(Sha512::digest(&bytes)));
    assert_eq!(doc["created"], doc["updated"]);

    let r = get(addr, &format!("/exchanges/ex-1/documents/{id}"), "").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/pdf"));
    assert_eq!(
        r.header("content-length"),
        Some(bytes.len().to_string().as_str())
    );
    assert_eq!(
        r.header("content-digest"),
        Some(sha256_field(&bytes).as_str())
    );
    assert!(r.body == bytes, "downloaded bytes differ");

    let want = "\r\nWant-Content-Digest: sha-256=10, sha-512=3";
    let r = get(addr, &format!("/exchanges/ex-1/documents/{id}"), want).await;
    let sha512 = format!("sha-512=:{}:", STANDARD.encode(Sha512::digest(&bytes)));
    assert_eq!(
        r.header("content-digest"),
        Some(format!("{}, {sha512}", sha256_field(&bytes)).as_str())
    );

    assert_eq!(listed(addr, "ex-1").await, vec![doc]);
    assert_eq!(listed(addr, "ex-2").await, Vec::<Value>::new());
    assert_eq!(
        docs.files().unwrap().len(),
        2,
        "the bytes and their sidecar"
    );
}

#[tokio::test]
async fn chunked_upload_and_replace() {
    let (addr, _docs) = start(DocumentsConfig::default()).await;
    let first = sample(100_000);
    let head = "POST /exchanges/ex/documents HTTP/1.1\r\nTransfer-Encoding: chunked";
    let r = send(addr, head, &chunked(&first, 7000)).await;
    assert_eq!(r.status, 201, "{r:?}");
    let created = r.json();
    assert_eq!(created["content_type"], "application/octet-stream");
    let path = format!(
        "/exchanges/ex/documents/{}",
        created["id"].as_str().unwrap()
    );

    let second = b"second version".to_vec();
    let extra = format!(
        "\r\nContent-Type: text/plain\r\nContent-Digest: sha-512=:{}:",
        STANDARD.encode(Sha512::digest(&second))
    );
    let r = upload(addr, &format!("PUT {path}"), &second, &extra).await;
    assert_eq!(r.status, 200, "{r:?}");
    let replaced = r.json();
    assert_eq!(replaced["id"], created["id"]);
    assert_eq!(replaced["created"], created["created"]);
    assert_eq!(replaced["size"], second.len());

    let r = get(addr, &path, "").await;
    assert_eq!((r.status, &r.body), (200, &second));
    assert_eq!(r.header("content-type"), Some("text/plain"));
    assert_eq!(listed(addr, "ex").await, vec![replaced]);
}

#[tokio::test]
async fn wrong_or_malformed_digest_stores_nothing() {
    let (addr, docs) = start(DocumentsConfig::default()).await;
    let bytes = sample(5000);
    let wrong = format!("\r\nContent-Digest: {}", sha256_field(b"other bytes"));
    let r = upload(addr, "POST /exchanges/ex/documents", &bytes, &wrong).await;
    r.assert_problem(400, Some(MISMATCH));

    let malformed = "\r\nContent-Digest: sha-256=:AAAA:";
    let r = upload(addr, "POST /exchanges/ex/documents", &bytes, malformed).await;
    r.assert_problem(400, Some("urn:secure-echange:problem:bad-digest-field"));

    // A right sha-256 does not excuse a wrong sha-512.
    let both = format!(
        "\r\nContent-Digest: {}, sha-512=:{}:",
        sha256_field(&bytes),
        STANDARD.encode(Sha512::digest(b"x"))
    );
    let r = upload(addr, "POST /exchanges/ex/documents", &bytes, &both).await;
    r.assert_problem(400, Some(MISMATCH));

    assert!(listed(addr, "ex").await.is_empty());
    wait_files(&docs, "refused uploads leave no file", <[_]>::is_empty).await;
}

#[tokio::test]
async fn body_short_of_its_content_length_stores_nothing() {
    let (addr, docs) = start(DocumentsConfig::default()).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = "POST /exchanges/ex/documents HTTP/1.1\r\nHost: core\r\nContent-Length: 100\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&sample(50)).await.unwrap();
    wait_files(&docs, "the upload is being written", has_part).await;
    // The client stops sending: the core sees the end of the stream 50 bytes early.
    stream.shutdown().await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .unwrap()
        .unwrap();
    // A client that only stopped sending still reads why nothing was stored.
    parse(&answer).assert_problem(400, Some("urn:secure-echange:problem:incomplete-body"));
    drop(stream);
    wait_files(&docs, "the temporary file is deleted", <[_]>::is_empty).await;
    assert!(listed(addr, "ex").await.is_empty());
}

#[tokio::test]
async fn chunked_upload_cut_before_its_last_chunk_stores_nothing() {
    let (addr, docs) = start(DocumentsConfig::default()).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head =
        "POST /exchanges/ex/documents HTTP/1.1\r\nHost: core\r\nTransfer-Encoding: chunked\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    let body = chunked(&sample(50), 50);
    // Everything but the terminating `0\r\n\r\n`.
    stream.write_all(&body[..body.len() - 5]).await.unwrap();
    wait_files(&docs, "the upload is being written", has_part).await;
    // As when the gateway aborts an upload whose digest it found wrong.
    drop(stream);
    wait_files(&docs, "the temporary file is deleted", <[_]>::is_empty).await;
    assert!(listed(addr, "ex").await.is_empty());
}

#[tokio::test]
async fn too_large_uploads_are_refused() {
    let config = DocumentsConfig {
        max_size: 1000,
        ..DocumentsConfig::default()
    };
    let (addr, docs) = start(config).await;
    let at_limit = sample(1000);
    let r = upload(addr, "POST /exchanges/ex/documents", &at_limit, "").await;
    assert_eq!(r.status, 201);

    let r = upload(addr, "POST /exchanges/ex/documents", &sample(1001), "").await;
    r.assert_problem(413, Some("urn:secure-echange:problem:too-large"));
    assert_eq!(r.json()["max_size"], 1000);

    // Without a length, the limit is found while streaming.
    let head = "POST /exchanges/ex/documents HTTP/1.1\r\nTransfer-Encoding: chunked";
    let r = send(addr, head, &chunked(&sample(5000), 300)).await;
    r.assert_problem(413, Some("urn:secure-echange:problem:too-large"));

    assert_eq!(listed(addr, "ex").await.len(), 1);
    wait_files(&docs, "only the stored document", |f| f.len() == 2).await;
}

#[tokio::test]
async fn delete_then_unknown_is_404() {
    let (addr, docs) = start(DocumentsConfig::default()).await;
    let r = upload(addr, "POST /exchanges/ex/documents", b"bytes", "").await;
    let path = r.header("location").unwrap().to_owned();

    let r = send(addr, &format!("DELETE {path} HTTP/1.1"), b"").await;
    assert_eq!(r.status, 204);
    assert!(r.body.is_empty());
    get(addr, &path, "")
        .await
        .assert_problem(404, Some("about:blank"));
    let r = send(addr, &format!("DELETE {path} HTTP/1.1"), b"").await;
    r.assert_problem(404, None);
    assert!(listed(addr, "ex").await.is_empty());
    assert!(docs.files().unwrap().is_empty());
}

#[tokio::test]
async fn unknown_documents_are_404() {
    let (addr, docs) = start(DocumentsConfig::default()).await;
    let unknown = "/exchanges/ex/documents/0123456789abcdef0123456789abcdef";
    get(addr, unknown, "").await.assert_problem(404, None);
    let r = upload(addr, &format!("PUT {unknown}"), b"bytes", "").await;
    r.assert_problem(404, None);
    let r = send(addr, &format!("DELETE {unknown} HTTP/1.1"), b"").await;
    r.assert_problem(404, None);
    // A document of another exchange is not found through this one.
    let r = upload(addr, "POST /exchanges/other/documents", b"bytes", "").await;
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let r = get(addr, &format!("/exchanges/ex/documents/{id}"), "").await;
    r.assert_problem(404, None);
    assert_eq!(docs.files().unwrap().len(), 2);
}

#[tokio::test]
async fn malformed_ids_are_400() {
    let (addr, docs) = start(DocumentsConfig::default()).await;
    let bad_id = Some("urn:secure-echange:problem:bad-id");
    let long = "x".repeat(65);
    for path in [
        "/exchanges/a.b/documents".to_owned(),
        "/exchanges/a%20b/documents".to_owned(),
        format!("/exchanges/{long}/documents"),
        "/exchanges/ex/documents/a.b".to_owned(),
        format!("/exchanges/ex/documents/{long}"),
        "/exchanges/ex/documents/%FF".to_owned(),
    ] {
        get(addr, &path, "").await.assert_problem(400, bad_id);
    }
    let r = upload(addr, "POST /exchanges/a.b/documents", b"bytes", "").await;
    r.assert_problem(400, bad_id);
    let r = upload(addr, "PUT /exchanges/ex/documents/a.b", b"bytes", "").await;
    r.assert_problem(400, bad_id);
    let r = send(addr, "DELETE /exchanges/ex/documents/a.b HTTP/1.1", b"").await;
    r.assert_problem(400, bad_id);
    assert!(docs.files().unwrap().is_empty());
}

#[tokio::test]
async fn corrupting_core_sends_a_wrong_digest_with_the_right_bytes() {
    let app = demo_upstream::router_with(demo_upstream::documents::corrupting_router());
    let addr = demo_upstream::spawn_with("127.0.0.1:0".parse().unwrap(), app)
        .await
        .unwrap();
    let bytes = sample(4096);
    let extra = format!("\r\nContent-Digest: {}", sha256_field(&bytes));
    let r = upload(addr, "POST /exchanges/ex/documents", &bytes, &extra).await;
    assert_eq!(r.status, 201, "uploads are still checked");
    let path = r.header("location").unwrap().to_owned();
    let r = get(addr, &path, "\r\nWant-Content-Digest: sha-512=1").await;
    assert_eq!(r.status, 200);
    assert!(r.body == bytes);
    let field = r.header("content-digest").unwrap();
    assert!(
        field.starts_with("sha-256=:") && field.contains(", sha-512=:"),
        "{field}"
    );
    assert!(!field.contains(&sha256_field(&bytes)), "{field}");
    let sha512 = STANDARD.encode(Sha512::digest(&bytes));
    assert!(!field.contains(&sha512), "{field}");
}

#[tokio::test]
async fn the_default_router_serves_documents() {
    let addr = demo_upstream::spawn("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let r = upload(addr, "POST /exchanges/ex/documents", b"hello", "").await;
    assert_eq!(r.status, 201);
    let r = get(addr, r.header("location").unwrap(), "").await;
    assert_eq!((r.status, r.body.as_slice()), (200, &b"hello"[..]));
    assert_eq!(
        r.header("content-digest"),
        Some(sha256_field(b"hello").as_str())
    );
    // Other paths still reach the echo.
    let r = get(addr, "/exchanges/ex/other", "").await;
    assert_eq!(r.json()["service"], "demo-upstream echo");
}
