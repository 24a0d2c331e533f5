//! Session resumption against revocation, through the gateway: a TLS 1.3 session resumed from
//! the listener's session cache skips rustls' client-certificate verifier, so a certificate
//! revoked since the session was made must still be refused by the gateway's own re-check
//! (after the handshake and on every request), while resumption itself stays on.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;
#[path = "../../mtls/tests/common/crl.rs"]
mod crl;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;

/// Signs a CRL as the test PKI's intermediate CA, listing `serials` (hex), valid from an hour
/// ago for a day.
fn intermediate_crl(serials: &[&str], number: u64) -> Vec<u8> {
    crl::sign(&pki_dir(), "intermediate-ca", serials, number, 3600, 86_400)
}

/// A listener requiring client certificates of the test PKI, checking the CRL in file `crl`
/// (hard policy), with a session cache of its own size.
fn resumable_crl_listener(crl: &Path) -> String {
    listener("required")
        .replace(
            "      key: server.key\n",
            "      key: server.key\n      session_cache_size: 64\n",
        )
        .replace(
            "trust_anchors: [root-ca.cer, intermediate-ca.cer]\n",
            &format!(
                "trust_anchors: [root-ca.cer, intermediate-ca.cer]
        revocation:
          crl:
            sources: [{}]
            on_stale: hard
",
                crl.display()
            ),
        )
}

/// One request to `path` over a new HTTP/1.1 connection made with `config` (whose session
/// store is kept by the caller, so that a later call can resume): how the handshake went, and
/// the answer with its body read (which also reads the TLS 1.3 tickets sent before it).
/// An error is the flattened chain (a TLS alert arrives at the first read under TLS 1.3).
async fn exchange(
    addr: SocketAddr,
    config: &Arc<rustls::ClientConfig>,
    path: &str,
) -> Result<(Option<rustls::HandshakeKind>, Answer), String> {
    let work = async {
        let tls = connect(addr, Arc::clone(config))
            .await
            .map_err(|e| describe(&e))?;
        let kind = tls.get_ref().1.handshake_kind();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| describe(&e))?;
        tokio::spawn(conn);
        let response = sender
            .send_request(get(path))
            .await
            .map_err(|e| describe(&e))?;
        let status = response.status().as_u16();
        let version = response.version();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| describe(&e))?
            .to_bytes();
        Ok((
            kind,
            Answer {
                status,
                headers,
                body,
                version,
            },
        ))
    };
    tokio::time::timeout(Duration::from_secs(10), work)
        .await
        .map_err(|_| "client timeout".to_owned())?
}

#[tokio::test]
async fn a_resumed_session_of_a_certificate_revoked_since_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let crl = dir.path().join("intermediate.crl");
    let serial = manifest("clients/revoked")["serial"]
        .as_str()
        .unwrap()
        .to_owned();
    // A CRL of the right issuer that does not (yet) list the client.
    write_file(&crl, &intermediate_crl(&[], 1));
    let gw = echo_gateway(
        &resumable_crl_listener(&crl),
        "    name: any\n    path_prefix: /any\n    allow_any_verified_client: true\n",
    )
    .await;
    let addr = gw.addr("edge").unwrap();

    // Full handshake; the session goes into the gateway's cache and its ticket into the
    // client's in-memory store (rustls' default resumption).
    let client = client_config(Some("revoked"), &[b"http/1.1"]);
    let (kind, first) = exchange(addr, &client, "/any/x").await.unwrap();
    assert_eq!(kind, Some(rustls::HandshakeKind::Full));
    first.assert_status(200);

    // Resumption is on: the same client config resumes, and is served.
    let (kind, second) = exchange(addr, &client, "/any/x").await.unwrap();
    assert_eq!(
        kind,
        Some(rustls::HandshakeKind::Resumed),
        "the second connection was not resumed: this test would prove nothing"
    );
    second.assert_status(200);

    // The client's certificate is revoked: a new CRL in the file, loaded now.
    write_file(&crl, &intermediate_crl(&[&serial], 2));
    let (status, body) = admin_post(gw.admin_addr(), "/revocation/refresh").await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = admin_get(gw.admin_addr(), "/revocation").await;
    assert_eq!(status, 200, "{body}");
    let loaded: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(loaded["edge"]["crls"][0]["entries"], 1, "{body}");

    // The session is still in both caches: the handshake resumes (no verifier, no alert), and
    // the gateway's own re-check refuses the request.
    let (kind, third) = exchange(addr, &client, "/any/x").await.unwrap();
    assert_eq!(
        kind,
        Some(rustls::HandshakeKind::Resumed),
        "the session was not resumed after the CRL refresh"
    );
    third.assert_status(403);
    assert_eq!(
        third.json()["type"],
        "urn:gateway:problem:client-certificate-revoked"
    );

    // A full handshake with the same certificate is refused in the handshake.
    let fresh = client_config(Some("revoked"), &[b"http/1.1"]);
    let err = exchange(addr, &fresh, "/any/x").await.err().unwrap();
    assert!(err.contains("AlertReceived(CertificateRevoked)"), "{err}");

    // The refusal is that certificate's, not everyone's: another client of the same CA is served.
    let other = client_config(Some("sas-recette"), &[b"http/1.1"]);
    let (kind, answer) = exchange(addr, &other, "/any/x").await.unwrap();
    assert_eq!(kind, Some(rustls::HandshakeKind::Full));
    answer.assert_status(200);
    gw.shutdown().await;
}
