//! A real OCSP responder for tests: Debian OpenSSL's `openssl ocsp` answering for the test
//! PKI's intermediate (`ocsp/index.txt`), signed by the delegated responder. Shared by
//! `mtls/tests/ocsp.rs` and the gateway's fault suite (included there by path).
#![allow(dead_code, clippy::unwrap_used, unreachable_pub)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Starts `openssl ocsp` on `127.0.0.1:port` with the PKI in `pki_dir`, and returns once it
/// waits for connections (a TCP probe would not do: it serves one connection at a time). The
/// caller stops it by killing the child.
///
/// # Panics
/// When `openssl` cannot run or does not start listening within 10 s.
pub fn spawn(pki_dir: &Path, port: u16) -> Child {
    let mut child = Command::new("openssl")
        .args(["ocsp", "-index"])
        .arg(pki_dir.join("ocsp/index.txt"))
        .args(["-port", &port.to_string(), "-rsigner"])
        .arg(pki_dir.join("ocsp/responder.pem"))
        .arg("-rkey")
        .arg(pki_dir.join("ocsp/responder.key"))
        .arg("-CA")
        .arg(pki_dir.join("intermediate-ca.pem"))
        .args(["-nmin", "5"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot run openssl (Debian package openssl)");
    let (tx, rx) = std::sync::mpsc::channel();
    let pipes: Vec<Box<dyn std::io::Read + Send>> = [
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
    ]
    .into_iter()
    .flatten()
    .collect();
    for pipe in pipes {
        let tx = tx.clone();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok) {
                if line.contains("waiting for OCSP client connections") {
                    let _ = tx.send(());
                }
            }
        });
    }
    if rx.recv_timeout(Duration::from_secs(10)).is_err() {
        let _ = child.kill();
        let _ = child.wait();
        panic!("openssl ocsp did not start listening on port {port}");
    }
    child
}
