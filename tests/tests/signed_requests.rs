//! Signed requests (RFC 9421, hmac-sha256) as a route's caller authentication: accepted when
//! whole, and each refusal class named in a 401 problem+json, replays refused across two
//! instances sharing Redis. The requests are signed with `common::signed_request` (the
//! project's `httpsig::sign`); `sealing_python.rs` signs with an outside implementation
//! (`requests-http-signature`).
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::collections::HashMap;

use bytes::Bytes;
use common::*;
use http::Request;
use http_body_util::Full;

const SECRET: &str = "sealing-client-secret-0123456789abcdef";

fn yaml(upstream: std::net::SocketAddr, state: &str) -> String {
    format!(
        r#"{listener}
upstreams:
  sealer:
    url: http://{upstream}
routes:
  - name: seal
    path_prefix: /signed
    handler: proxy
    upstream: sealer
    allow_anonymous: true
    signature:
      keys:
        odentas-app: SEAL_KEY
      components: ["@method", "@target-uri", "content-digest"]
      max_age: 60s
{state}"#,
        listener = listener("optional")
    )
}

async fn gateway(state: &str) -> gateway::Gateway {
    let upstream = demo_upstream::spawn("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let env = HashMap::from([
        ("SEAL_KEY".to_owned(), SECRET.to_owned()),
        ("REDIS_URL".to_owned(), "redis://127.0.0.1:6379".to_owned()),
    ]);
    start_with_env(&yaml(upstream, state), &env).await
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

fn nonce() -> String {
    format!(
        "n-{}-{}",
        std::process::id(),
        jiff::Timestamp::now().as_nanosecond()
    )
}

fn good() -> Signing<'static> {
    Signing {
        key: SECRET,
        keyid: "odentas-app",
        created: now(),
        nonce: Some(nonce()),
        path: "/signed",
    }
}

/// A POST of `body` to `/signed`, signed as `s` says, carrying the digest of `digest_of`.
fn signed(
    port: u16,
    s: &Signing<'_>,
    body: &'static [u8],
    digest_of: &[u8],
) -> Request<Full<Bytes>> {
    signed_request(port, "/signed", s, body, digest_of)
}

async fn refused(addr: std::net::SocketAddr, req: Request<Full<Bytes>>, slug: &str) {
    let answer = send(addr, None, false, req).await.unwrap();
    assert_eq!(
        answer.status,
        401,
        "{slug}: {}",
        String::from_utf8_lossy(&answer.body)
    );
    assert_eq!(answer.json()["type"], format!("urn:gateway:problem:{slug}"));
    assert_eq!(answer.headers["www-authenticate"], "Signature");
    let text = String::from_utf8_lossy(&answer.body);
    assert!(!text.contains(SECRET), "{text}");
}

#[tokio::test]
async fn a_signed_request_passes_and_its_keyid_is_the_caller() {
    let gw = gateway("").await;
    let addr = gw.addr("edge").unwrap();
    let body = b"%PDF-1.7 contract";
    let answer = send(addr, None, false, signed(addr.port(), &good(), body, body))
        .await
        .unwrap();
    answer.assert_status(200);
    assert_eq!(answer.json()["headers"]["x-gateway-client"], "odentas-app");
    gw.shutdown().await;
}

#[tokio::test]
async fn each_refusal_class_is_named() {
    let gw = gateway("").await;
    let addr = gw.addr("edge").unwrap();
    let port = addr.port();
    let body: &'static [u8] = b"%PDF-1.7 contract";
    let unsigned = Request::post(format!("https://localhost:{port}/signed"))
        .header("host", format!("localhost:{port}"))
        .body(Full::new(Bytes::from_static(body)))
        .unwrap();
    refused(addr, unsigned, "signature-missing").await;
    let unknown = Signing {
        keyid: "someone-else",
        ..good()
    };
    refused(
        addr,
        signed(port, &unknown, body, body),
        "signature-unknown-key",
    )
    .await;
    let old = Signing {
        created: now() - 3600,
        ..good()
    };
    refused(addr, signed(port, &old, body, body), "signature-expired").await;
    let wrong_key = Signing {
        key: "another-secret-of-enough-length-0123456789",
        ..good()
    };
    refused(addr, signed(port, &wrong_key, body, body), "signature-bad").await;
    let other_path = Signing {
        path: "/signed/other",
        ..good()
    };
    refused(addr, signed(port, &other_path, body, body), "signature-bad").await;
    // Signed over a digest of other bytes than the body sent.
    refused(
        addr,
        signed(port, &good(), body, b"other bytes"),
        "signature-digest-mismatch",
    )
    .await;
    let no_nonce = Signing {
        nonce: None,
        ..good()
    };
    refused(
        addr,
        signed(port, &no_nonce, body, body),
        "signature-malformed",
    )
    .await;
    gw.shutdown().await;
}

#[tokio::test]
async fn a_replayed_nonce_is_refused_by_the_other_instance_too() {
    let state = format!(
        "state:\n  backend: redis\n  url_env: REDIS_URL\n  key_prefix: sig-{}-{}\n",
        std::process::id(),
        now()
    );
    let a = gateway(&state).await;
    let b = gateway(&state).await;
    let body: &'static [u8] = b"%PDF-1.7 contract";
    let once = good();
    let first = send(
        a.addr("edge").unwrap(),
        None,
        false,
        signed(a.addr("edge").unwrap().port(), &once, body, body),
    )
    .await
    .unwrap();
    assert_eq!(first.status, 200);
    // The same signature (same nonce), sent to the other instance.
    let replay = Signing { ..once };
    let mut req = signed(a.addr("edge").unwrap().port(), &replay, body, body);
    // Keep the signed authority: the replayer sends the captured request as it was.
    *req.uri_mut() = format!(
        "https://localhost:{}/signed",
        a.addr("edge").unwrap().port()
    )
    .parse()
    .unwrap();
    refused(b.addr("edge").unwrap(), req, "signature-replay").await;
    a.shutdown().await;
    b.shutdown().await;
}
