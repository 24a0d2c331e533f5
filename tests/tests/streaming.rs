//! A 200 MB upload streams through the gateway intact while memory stays bounded. Its own test
//! binary, so the process's peak RSS is this test's alone.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use common::*;
use http_body_util::BodyExt;
use sha2::{Digest, Sha256};

const TOTAL: u64 = 200 * 1000 * 1000;
const CHUNK: usize = 64 * 1024;

/// Generates `TOTAL` bytes in chunks without holding them.
struct Generated {
    sent: u64,
}

fn chunk(index: u64) -> Bytes {
    let seed = index.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    Bytes::from(
        (0..CHUNK)
            .map(|i| (seed >> ((i % 8) * 8)) as u8 ^ i as u8)
            .collect::<Vec<u8>>(),
    )
}

impl http_body::Body for Generated {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        if self.sent >= TOTAL {
            return Poll::Ready(None);
        }
        let mut data = chunk(self.sent / CHUNK as u64);
        let left = TOTAL - self.sent;
        if (left as usize) < data.len() {
            data.truncate(left as usize);
        }
        self.sent += data.len() as u64;
        Poll::Ready(Some(Ok(http_body::Frame::data(data))))
    }
}

fn expected_sha256() -> String {
    let mut hasher = Sha256::new();
    let mut sent = 0u64;
    let mut i = 0u64;
    while sent < TOTAL {
        let mut data = chunk(i);
        let left = TOTAL - sent;
        if (left as usize) < data.len() {
            data.truncate(left as usize);
        }
        sent += data.len() as u64;
        hasher.update(&data);
        i += 1;
    }
    hex::encode(hasher.finalize())
}

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_200_mb_upload_streams_intact_in_bounded_memory() {
    let gw = echo_gateway(
        &listener("required"),
        "    name: upload\n    path_prefix: /upload\n    allowed_clients: [sas-recette]\n    max_body_size: 1GiB\n    timeout: 300s\n",
    )
    .await;
    let expected = expected_sha256();
    let before = peak_rss_kib();
    let mut sender = h1_sender(gw.addr("edge").unwrap(), "sas-recette").await;
    let req = http::Request::post("https://localhost/upload/file.bin")
        .header("host", "localhost")
        .header("content-length", TOTAL.to_string())
        .body(Generated { sent: 0 })
        .unwrap();
    let response = sender.send_request(req).await.unwrap();
    assert_eq!(response.status(), 200);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let echo: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(echo["body_len"], TOTAL);
    assert_eq!(echo["body_sha256"], expected);
    let growth_mib = (peak_rss_kib().saturating_sub(before)) / 1024;
    // Client, gateway and upstream share this process: had any of them buffered the body, the
    // peak would have grown by at least 200 MB.
    eprintln!("peak RSS growth during the 200 MB upload: {growth_mib} MiB");
    assert!(growth_mib < 64, "peak RSS grew by {growth_mib} MiB");
    gw.shutdown().await;
}
