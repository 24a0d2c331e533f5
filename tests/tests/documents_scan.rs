//! The antivirus policy against a real clamd (Debian's `clamav-daemon`): each test starts its
//! own clamd with a one-signature database (`tests/clamav/eicar.ndb`: the EICAR test string)
//! and a small `StreamMaxLength`, and stops it by PID. A machine without clamd fails these
//! tests (it never skips them): `scripts/test.sh` installs it.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;
mod documents_support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use documents_support::{Options, content_digest, records};
use http::Request;
use http_body_util::Full;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const EXCHANGE: &str = "/documents/exchanges/ex-1/documents";

/// clamd's `StreamMaxLength` in these tests.
const STREAM_MAX: usize = 1 << 20;

/// The EICAR test file, built here so that the source itself is no test file for a scanner.
fn eicar() -> Vec<u8> {
    let parts = [
        "X5O!P%@AP[4\\PZX54(P^)7CC)7}$",
        "EICAR-STANDARD-ANTIVIRUS-",
        "TEST-FILE!$H+H*",
    ];
    parts.concat().into_bytes()
}

/// A clamd of its own, stopped (by PID) when dropped.
struct Clamd {
    child: Option<Child>,
    dir: PathBuf,
    port: u16,
}

impl Clamd {
    async fn start() -> Self {
        let binary = find_clamd().unwrap_or_else(|| {
            panic!(
                "clamd is not installed: the antivirus tests need a real clamd \
                 (Debian: `apt-get install clamav-daemon`; scripts/test.sh installs it)"
            )
        });
        let dir = std::env::temp_dir().join(format!(
            "gw-clamd-{}-{}",
            std::process::id(),
            jiff::Timestamp::now().as_nanosecond()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("clamav");
        let conf = std::fs::read_to_string(fixtures.join("clamd.conf"))
            .unwrap()
            .replace("@DIR@", &dir.display().to_string())
            .replace("@PORT@", &port.to_string())
            .replace("@DATABASE@", &fixtures.display().to_string())
            .replace("@STREAM_MAX@", &STREAM_MAX.to_string());
        let conf_file = dir.join("clamd.conf");
        std::fs::write(&conf_file, conf).unwrap();
        let output = std::fs::File::create(dir.join("clamd.out")).unwrap();
        let child = Command::new(&binary)
            .arg("-c")
            .arg(&conf_file)
            .stdin(Stdio::null())
            .stdout(output.try_clone().unwrap())
            .stderr(output)
            .spawn()
            .unwrap_or_else(|e| panic!("{} could not be started: {e}", binary.display()));
        let mut clamd = Self {
            child: Some(child),
            dir,
            port,
        };
        clamd.wait_ready().await;
        clamd
    }

    /// Until clamd answers `PING` with `PONG` (a one-signature database loads in a second).
    async fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if ping(self.addr()).await {
                return;
            }
            let exited = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if exited.is_some() || Instant::now() > deadline {
                panic!(
                    "clamd did not start ({exited:?}):\n{}\n{}",
                    std::fs::read_to_string(self.dir.join("clamd.out")).unwrap_or_default(),
                    std::fs::read_to_string(self.dir.join("clamd.log")).unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// The route's `scan:` block for this clamd.
    fn route(&self, clamd: &str, on_unavailable: &str) -> String {
        let clamd = match clamd {
            "unix" => format!("unix:{}", self.dir.join("clamd.sock").display()),
            _ => format!("tcp://{}", self.addr()),
        };
        format!(
            "    scan:\n      clamd: {clamd}\n      on_unavailable: {on_unavailable}\n      timeout: 20s\n"
        )
    }

    /// Stops clamd (by its PID) and waits until it has exited.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Clamd {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn find_clamd() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/usr/local/sbin".into(), "/sbin".into()])
        .map(|dir| dir.join("clamd"))
        .find(|p| p.is_file())
}

async fn ping(addr: SocketAddr) -> bool {
    let exchange = async {
        let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
        s.write_all(b"zPING\0").await.ok()?;
        let mut answer = Vec::new();
        s.read_to_end(&mut answer).await.ok()?;
        Some(answer)
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(2), exchange).await,
        Ok(Some(answer)) if answer.starts_with(b"PONG")
    )
}

fn upload(body: Vec<u8>) -> Request<Full<Bytes>> {
    let digest = content_digest(&body);
    Request::post(format!("https://localhost{EXCHANGE}"))
        .header("host", "localhost")
        .header("content-type", "application/pdf")
        .header("content-digest", digest)
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

async fn list(addr: SocketAddr) -> Vec<serde_json::Value> {
    let answer = send(addr, Some("internal-app"), false, get(EXCHANGE))
        .await
        .unwrap();
    assert_eq!(answer.status, 200);
    answer.json().as_array().unwrap().clone()
}

/// A PDF-like body of `len` bytes.
fn pdf(len: usize) -> Vec<u8> {
    let mut body = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n".to_vec();
    body.extend((0..len.saturating_sub(body.len())).map(|i| b"0123456789abcdef"[i % 16]));
    body.truncate(len.max(8));
    body
}

/// The `/metrics` text of the gateway's admin listener.
async fn metrics(gw: &gateway::Gateway) -> String {
    let addr = gw.admin_addr();
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).await.unwrap();
    text
}

#[tokio::test]
async fn an_infected_upload_is_refused_naming_its_signature_and_never_stored() {
    let clamd = Clamd::start().await;
    let d = documents_support::start(Options {
        route_extra: clamd.route("tcp", "refuse"),
        ..Options::default()
    })
    .await;
    // The EICAR file alone, then inside a PDF-like body large enough to stream in pieces.
    let mut inside = pdf(300_000);
    inside.extend_from_slice(&eicar());
    inside.extend_from_slice(b"\n%%EOF\n");
    for body in [eicar(), inside] {
        let answer = send(d.addr, Some("portal"), false, upload(body))
            .await
            .unwrap();
        answer.assert_status(422);
        assert_eq!(answer.headers["content-type"], "application/problem+json");
        let problem = answer.json();
        assert_eq!(problem["type"], "urn:gateway:problem:infected");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("Eicar-Test-Signature"),
            "{problem}"
        );
    }
    assert!(
        list(d.addr).await.is_empty(),
        "the core holds an infected document"
    );
    let records = records(&d.trail);
    let refused: Vec<_> = records.iter().filter(|r| r["action"] == "upload").collect();
    assert_eq!(refused.len(), 2, "{records:?}");
    for r in refused {
        assert_eq!(r["outcome"], "refused", "{r}");
        let reason = r["reason"].as_str().unwrap();
        assert!(
            reason.starts_with("infected: ") && reason.contains("Eicar-Test-Signature"),
            "{reason}"
        );
        assert_eq!(r["client"]["cn"], "portal-whitelabel.test");
    }
    let metrics = metrics(&d.gw).await;
    assert!(
        metrics.lines().any(|l| l.starts_with("gateway_scans_total")
            && l.contains("verdict=\"infected\"")
            && l.contains("route=\"documents\"")),
        "{metrics}"
    );
    d.gw.shutdown().await;
}

/// The core must never receive a complete infected body, even a core that checks nothing.
#[tokio::test]
async fn a_core_that_checks_nothing_never_gets_a_complete_infected_body() {
    use http_body_util::BodyExt;
    let clamd = Clamd::start().await;
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
        route_extra: clamd.route("tcp", "refuse"),
        ..Options::default()
    })
    .await;
    let mut body = pdf(200_000);
    body.extend_from_slice(&eicar());
    let answer = send(d.addr, Some("internal-app"), false, upload(body.clone()))
        .await
        .unwrap();
    assert_eq!(answer.status, 422);
    let seen = tokio::time::timeout(Duration::from_secs(10), seen_rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(seen.is_err(), "the core received a complete body: {seen:?}");
    // A clean body of the same size: the same core gets it whole.
    let clean = pdf(body.len());
    let answer = send(d.addr, Some("internal-app"), false, upload(clean.clone()))
        .await
        .unwrap();
    assert_eq!(answer.status, 201);
    assert_eq!(seen_rx.recv().await.unwrap(), Ok(clean.len()));
    d.gw.shutdown().await;
}

#[tokio::test]
async fn a_clean_document_is_stored_over_tcp_and_over_the_unix_socket() {
    let clamd = Clamd::start().await;
    for transport in ["tcp", "unix"] {
        let d = documents_support::start(Options {
            route_extra: clamd.route(transport, "refuse"),
            ..Options::default()
        })
        .await;
        for (body, h2) in [(pdf(2_000), false), (pdf(600_000), true)] {
            let answer = send(d.addr, Some("internal-app"), h2, upload(body.clone()))
                .await
                .unwrap();
            assert_eq!(
                answer.status,
                201,
                "{transport}: {}",
                String::from_utf8_lossy(&answer.body)
            );
            let id = answer.json()["id"].as_str().unwrap().to_owned();
            let download = send(
                d.addr,
                Some("internal-app"),
                false,
                get(&format!("{EXCHANGE}/{id}")),
            )
            .await
            .unwrap();
            assert_eq!(download.status, 200);
            assert_eq!(download.body.len(), body.len());
            assert!(download.body[..] == body[..], "{transport}: bytes differ");
        }
        assert_eq!(list(d.addr).await.len(), 2);
        let stored: Vec<_> = records(&d.trail)
            .into_iter()
            .filter(|r| r["outcome"] == "stored")
            .collect();
        assert_eq!(stored.len(), 2);
        assert!(
            stored
                .iter()
                .all(|r| r["flags"].as_array().is_none_or(|f| f.is_empty()))
        );
        d.gw.shutdown().await;
    }
}

/// One HTTP/1.1 response (head and `Content-Length` body), or what came before the end.
async fn read_response<R: tokio::io::AsyncRead + Unpin>(rd: &mut R) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut piece = [0u8; 4096];
    loop {
        if let Some(head_end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if buf.len() >= head_end + 4 + length {
                return buf;
            }
        }
        match rd.read(&mut piece).await {
            Ok(0) | Err(_) => return buf,
            Ok(n) => buf.extend_from_slice(&piece[..n]),
        }
    }
}

#[tokio::test]
async fn a_body_over_clamds_stream_limit_is_refused_and_never_stored() {
    let clamd = Clamd::start().await;
    let d = documents_support::start(Options {
        route_extra: clamd.route("tcp", "refuse"),
        ..Options::default()
    })
    .await;
    let big = pdf(2 * STREAM_MAX);
    // Read while writing: the gateway answers (and stops reading) before the body's end.
    let s = connect(d.addr, client_config(Some("internal-app"), &[b"http/1.1"]))
        .await
        .unwrap();
    let (mut rd, mut wr) = tokio::io::split(s);
    let head = format!(
        "POST {EXCHANGE} HTTP/1.1\r\nHost: x\r\nContent-Type: application/pdf\r\n\
         Content-Length: {}\r\nContent-Digest: {}\r\n\r\n",
        big.len(),
        content_digest(&big)
    );
    let writer = tokio::spawn(async move {
        let _ = wr.write_all(head.as_bytes()).await;
        for piece in big.chunks(16 * 1024) {
            if wr.write_all(piece).await.is_err() {
                break;
            }
        }
        let _ = wr.flush().await;
        wr
    });
    let buf = tokio::time::timeout(Duration::from_secs(30), read_response(&mut rd))
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&buf);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(
        text.contains("urn:gateway:problem:too-large-to-scan"),
        "{text}"
    );
    writer.abort();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        list(d.addr).await.is_empty(),
        "the core holds a document clamd could not scan"
    );
    let records = records(&d.trail);
    let upload = records.iter().find(|r| r["action"] == "upload").unwrap();
    assert_eq!(upload["outcome"], "refused", "{upload}");
    assert!(
        upload["reason"]
            .as_str()
            .unwrap()
            .starts_with("too-large-to-scan"),
        "{upload}"
    );
    d.gw.shutdown().await;
}

#[tokio::test]
async fn without_clamd_refuse_answers_503_and_allow_passes_with_a_flag() {
    let mut clamd = Clamd::start().await;
    let refuse = documents_support::start(Options {
        route_extra: clamd.route("tcp", "refuse"),
        ..Options::default()
    })
    .await;
    let allow = documents_support::start(Options {
        route_extra: clamd.route("unix", "allow"),
        ..Options::default()
    })
    .await;
    // Running: both scan.
    let answer = send(refuse.addr, Some("internal-app"), false, upload(eicar()))
        .await
        .unwrap();
    assert_eq!(answer.status, 422);
    let answer = send(allow.addr, Some("internal-app"), false, upload(eicar()))
        .await
        .unwrap();
    assert_eq!(answer.status, 422, "allow still scans while clamd runs");
    clamd.stop();
    assert!(!ping(clamd.addr()).await, "clamd still answers");
    // Stopped: `refuse` answers 503 before the core is called.
    let answer = send(refuse.addr, Some("internal-app"), false, upload(pdf(5_000)))
        .await
        .unwrap();
    answer.assert_status(503);
    let problem = answer.json();
    assert_eq!(problem["type"], "urn:gateway:problem:scan-unavailable");
    assert!(
        !problem["detail"].as_str().unwrap().contains("127.0.0.1"),
        "clamd's address leaked: {problem}"
    );
    assert!(list(refuse.addr).await.is_empty());
    let records_refuse = records(&refuse.trail);
    let last = records_refuse
        .iter()
        .rfind(|r| r["action"] == "upload")
        .unwrap();
    assert_eq!(last["outcome"], "refused");
    assert!(
        last["reason"]
            .as_str()
            .unwrap()
            .starts_with("scan-unavailable"),
        "{last}"
    );
    // Downloads and lists do not need clamd.
    assert!(list(allow.addr).await.is_empty());
    // Stopped: `allow` lets the upload through, and its record says it was not scanned.
    let body = pdf(5_000);
    let answer = send(allow.addr, Some("internal-app"), false, upload(body))
        .await
        .unwrap();
    answer.assert_status(201);
    assert_eq!(list(allow.addr).await.len(), 1);
    let records_allow = records(&allow.trail);
    let stored = records_allow
        .iter()
        .find(|r| r["outcome"] == "stored")
        .unwrap();
    let flags: Vec<_> = stored["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert_eq!(flags, ["scan_skipped"], "{stored}");
    refuse.gw.shutdown().await;
    allow.gw.shutdown().await;
}
