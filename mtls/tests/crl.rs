//! CRL checking over real sockets: a CRL served over HTTP and replaced while running, expired
//! CRLs under hard and soft policies, leaf-only and whole-chain scopes.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::*;
use mtls::{
    Combine, CrlSettings, CrlSource, MissingAtStart, OcspSettings, Revocation, RevocationError,
    RevocationScope, RevocationSettings, StalePolicy, Verdict,
};

fn settings(
    sources: Vec<CrlSource>,
    scope: RevocationScope,
    on_stale: StalePolicy,
) -> RevocationSettings {
    RevocationSettings {
        crl: Some(CrlSettings {
            sources,
            on_stale,
            ..CrlSettings::default()
        }),
        ocsp: OcspSettings::default(),
        scope,
        combine: Combine::CrlOnly,
    }
}

/// A revocation handle over `sources` against the test PKI's anchors.
async fn start(
    sources: Vec<CrlSource>,
    scope: RevocationScope,
    stale: StalePolicy,
) -> Arc<Revocation> {
    Revocation::start(settings(sources, scope, stale), &anchors())
        .await
        .unwrap()
}

#[tokio::test]
async fn crl_replaced_while_running_refuses_new_and_resumed_sessions() {
    install_provider();
    let recette = serial("clients/sas-recette");
    let server = CrlServer::start(intermediate_crl(&[], 1)).await;
    let revocation = start(
        vec![CrlSource::Url(server.url())],
        RevocationScope::LeafOnly,
        StalePolicy::Hard,
    )
    .await;
    let addr = tls_server(Arc::clone(&revocation)).await;
    let client = client_config("sas-recette");
    assert_eq!(handshake(addr, &client).await.unwrap(), "full:good");

    // Unchanged CRL: the second fetch is a conditional GET answered 304.
    revocation.refresh_now().await.unwrap();
    assert_eq!(server.requests.load(Ordering::SeqCst), 2);
    assert_eq!(server.not_modified.load(Ordering::SeqCst), 1);
    let status = revocation.status();
    assert_eq!(status.crls[0].entries, Some(0));
    assert!(status.crls[0].last_fetch.is_some());
    assert!(status.crls[0].last_error.is_none());

    // sas-recette is revoked mid-run.
    server.publish(intermediate_crl(&[&recette], 2));
    revocation.refresh_now().await.unwrap();
    assert_eq!(revocation.status().crls[0].entries, Some(1));

    // The chain of a connection opened earlier: the gateway's per-request re-check.
    let verdict = revocation.check_crl(&chain("sas-recette"));
    assert!(
        matches!(&verdict, Verdict::Revoked { serial, .. } if *serial == recette),
        "{verdict:?}"
    );
    assert!(verdict.refuse());

    // A resumed session skips the verifier, but the post-handshake re-check catches it.
    assert_eq!(handshake(addr, &client).await.unwrap(), "resumed:revoked");

    // A full handshake is refused with a certificate_revoked alert.
    let fresh = client_config("sas-recette");
    let err = handshake(addr, &fresh).await.unwrap_err();
    assert!(err.contains("CertificateRevoked"), "{err}");

    // Another client of the same CA still gets in.
    assert_eq!(
        handshake(addr, &client_config("sas-production"))
            .await
            .unwrap(),
        "full:good"
    );
}

#[tokio::test]
async fn forged_crl_is_refused_and_the_previous_one_kept() {
    install_provider();
    let server = CrlServer::start(intermediate_crl(&[], 1)).await;
    let revocation = start(
        vec![CrlSource::Url(server.url())],
        RevocationScope::LeafOnly,
        StalePolicy::Hard,
    )
    .await;
    // A CRL listing sas-recette whose signature was tampered with.
    let mut forged = intermediate_crl(&[&serial("clients/sas-recette")], 2);
    let last = forged.len() - 1;
    forged[last] ^= 0xff;
    server.publish(forged);
    let err = revocation.refresh_now().await.unwrap_err();
    assert!(
        matches!(err, RevocationError::BadCrlSignature { .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains("signature does not verify"),
        "{err}"
    );
    assert_eq!(revocation.check_crl(&chain("sas-recette")), Verdict::Good);
    let status = revocation.status();
    assert!(
        status.crls[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("signature does not verify")
    );
    assert_eq!(status.crls[0].entries, Some(0));
}

#[tokio::test]
async fn expired_crl_hard_refuses_and_reports_not_ready() {
    install_provider();
    let source = CrlSource::File(pki("crl/intermediate-expired.crl"));
    let revocation = start(vec![source], RevocationScope::LeafOnly, StalePolicy::Hard).await;
    let verdict = revocation.check_crl(&chain("sas-recette"));
    assert!(verdict.refuse());
    assert!(
        verdict
            .to_string()
            .contains("expired at 2020-01-08T00:00:00Z"),
        "{verdict}"
    );
    let err = revocation.readiness().unwrap_err();
    assert!(
        err.contains("expired (nextUpdate 2020-01-08T00:00:00Z)"),
        "{err}"
    );

    // During the handshake: refused with its own alert (not "revoked").
    let addr = tls_server(Arc::clone(&revocation)).await;
    let err = handshake(addr, &client_config("sas-recette"))
        .await
        .unwrap_err();
    assert!(err.contains("alert"), "{err}");
    assert!(!err.contains("CertificateRevoked"), "{err}");

    // A revoked certificate stays revoked even under a stale CRL.
    assert!(matches!(
        revocation.check_crl(&chain("revoked")),
        Verdict::Revoked { .. }
    ));
}

#[tokio::test]
async fn expired_crl_soft_accepts_and_counts() {
    install_provider();
    let recorder = metrics_util::debugging::DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let source = CrlSource::File(pki("crl/intermediate-expired.crl"));
    let revocation = start(vec![source], RevocationScope::LeafOnly, StalePolicy::Soft).await;
    let verdict =
        metrics::with_local_recorder(&recorder, || revocation.check_crl(&chain("sas-recette")));
    assert!(!verdict.refuse(), "{verdict}");
    assert!(matches!(verdict, Verdict::Unknown { hard: false, .. }));
    assert!(revocation.readiness().is_ok());
    let counted = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .any(|(key, _, _, value)| {
            key.key().name() == "gateway_revocation_soft_failures_total"
                && key.key().labels().any(|l| l.value() == "crl_expired")
                && value == metrics_util::debugging::DebugValue::Counter(1)
        });
    assert!(counted, "soft failure not counted");
    // The handshake goes through.
    let addr = tls_server(Arc::clone(&revocation)).await;
    assert_eq!(
        handshake(addr, &client_config("sas-recette"))
            .await
            .unwrap(),
        "full:unknown_soft"
    );
}

#[tokio::test]
async fn leaf_scope_needs_no_root_crl_whole_chain_does() {
    install_provider();
    let intermediate = CrlSource::File(pki("crl/intermediate.crl"));
    let root = CrlSource::File(pki("crl/root.crl"));

    let leaf = start(
        vec![intermediate.clone()],
        RevocationScope::LeafOnly,
        StalePolicy::Hard,
    )
    .await;
    assert_eq!(leaf.check_crl(&chain("sas-recette")), Verdict::Good);
    assert!(leaf.readiness().is_ok());

    let whole = start(
        vec![intermediate.clone()],
        RevocationScope::WholeChain,
        StalePolicy::Hard,
    )
    .await;
    let verdict = whole.check_crl(&chain("sas-recette"));
    assert!(verdict.refuse(), "{verdict}");
    assert!(
        verdict
            .to_string()
            .contains("no CRL loaded for issuer C=FR, O=TEST PKI - NOT IGC SANTE, CN=ACR-EL-TEST"),
        "{verdict}"
    );

    let whole = start(
        vec![intermediate, root],
        RevocationScope::WholeChain,
        StalePolicy::Hard,
    )
    .await;
    assert_eq!(whole.check_crl(&chain("sas-recette")), Verdict::Good);
    assert!(matches!(
        whole.check_crl(&chain("revoked")),
        Verdict::Revoked { .. }
    ));

    // An intermediate revoked by the root is caught in whole-chain scope only.
    let intermediate_serial = serial("intermediate-ca");
    let dir = tempfile::tempdir().unwrap();
    let root_crl = dir.path().join("root.crl");
    std::fs::write(
        &root_crl,
        sign_crl("root-ca", &[&intermediate_serial], 2, 60, 86_400),
    )
    .unwrap();
    let whole = start(
        vec![
            CrlSource::File(pki("crl/intermediate.crl")),
            CrlSource::File(root_crl),
        ],
        RevocationScope::WholeChain,
        StalePolicy::Hard,
    )
    .await;
    let verdict = whole.check_crl(&chain("sas-recette"));
    assert!(
        matches!(&verdict, Verdict::Revoked { serial, .. } if *serial == intermediate_serial),
        "{verdict:?}"
    );
}

#[tokio::test]
async fn missing_crl_at_start_refuses_or_starts_degraded() {
    install_provider();
    // A closed port: bind, read the port, drop.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/crl");
    let mut s = settings(
        vec![CrlSource::Url(url.clone())],
        RevocationScope::LeafOnly,
        StalePolicy::Hard,
    );
    let err = Revocation::start(s.clone(), &anchors()).await.unwrap_err();
    assert!(err.to_string().starts_with(&format!("CRL {url} unavailable at start (on_missing_at_start = refuse): CRL {url}: download failed")), "{err}");

    if let Some(crl) = s.crl.as_mut() {
        crl.on_missing_at_start = MissingAtStart::StartDegraded;
        crl.retry_initial = Duration::from_secs(3600);
    }
    let revocation = Revocation::start(s, &anchors()).await.unwrap();
    assert!(revocation.readiness().unwrap_err().contains("missing"));
    let verdict = revocation.check_crl(&chain("sas-recette"));
    assert!(verdict.refuse(), "{verdict}");
    assert!(revocation.status().crls[0].last_error.is_some());
    revocation.shutdown();
}
