//! OCSP over real sockets: Debian's `openssl ocsp` as the real responder, responses built in
//! Rust for every failure case, responder down or slow, cache and coalescing.
#![allow(clippy::unwrap_used)]

mod common;
mod openssl_ocsp;

use std::process::{Child, Command};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::ocsp::{Responder, Scenario};
use common::*;
use mtls::{
    Combine, OcspMode, OcspSettings, Revocation, RevocationScope, RevocationSettings, Verdict,
};
use rustls_pki_types::CertificateDer;

fn settings(url: &str, mode: OcspMode, nonce: bool) -> RevocationSettings {
    RevocationSettings {
        crl: None,
        ocsp: OcspSettings {
            mode,
            responder_override: Some(url.to_owned()),
            send_nonce: nonce,
            timeout: Duration::from_millis(2000),
            ..OcspSettings::default()
        },
        scope: RevocationScope::LeafOnly,
        combine: Combine::Both,
    }
}

async fn start(url: &str, mode: OcspMode, nonce: bool) -> Arc<Revocation> {
    install_provider();
    Revocation::start(settings(url, mode, nonce), &anchors())
        .await
        .unwrap()
}

fn unknown_reason(v: &Verdict) -> &str {
    match v {
        Verdict::Unknown { reason, hard: true } => reason,
        other => panic!("expected a hard unknown verdict, got {other:?}"),
    }
}

/// Kills the responder at the end of the test, whatever happens.
struct Killer(Child);

impl Drop for Killer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A leaf issued at test time by the intermediate: not in `index.txt`.
fn stranger_chain() -> Vec<CertificateDer<'static>> {
    let key =
        rcgen::KeyPair::from_pem(&String::from_utf8(read("intermediate-ca.key")).unwrap()).unwrap();
    let issuer = rcgen::Issuer::from_ca_cert_pem(
        &String::from_utf8(read("intermediate-ca.pem")).unwrap(),
        key,
    )
    .unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["stranger.test".to_owned()]).unwrap();
    params.serial_number = Some(rcgen::SerialNumber::from_slice(&[
        0x11, 0x22, 0x33, 0x44, 0x55,
    ]));
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf = params.signed_by(&leaf_key, &issuer).unwrap();
    let mut chain = vec![leaf.der().clone()];
    chain.extend(mtls::load_certificates(&pki("intermediate-ca.pem")).unwrap());
    chain
}

#[tokio::test]
async fn openssl_responder_good_revoked_unknown() {
    let probe = Command::new("openssl").arg("version").output();
    assert!(
        probe.is_ok_and(|o| o.status.success()),
        "this test needs the `openssl` command (Debian package openssl): install it"
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _killer = Killer(openssl_ocsp::spawn(&pki(""), port));
    let addr = format!("127.0.0.1:{port}");
    let url = format!("http://{addr}/");
    let revocation = start(&url, OcspMode::Hard, true).await;

    assert_eq!(
        revocation.check_ocsp(&chain("sas-recette"), true).await,
        Verdict::Good
    );
    let revoked = revocation.check_ocsp(&chain("revoked"), true).await;
    assert!(
        matches!(&revoked, Verdict::Revoked { serial: s, reason } if *s == serial("clients/revoked") && reason.contains("keyCompromise")),
        "{revoked:?}"
    );
    let unknown = revocation.check_ocsp(&stranger_chain(), true).await;
    assert_eq!(
        unknown_reason(&unknown),
        "OCSP responder says the certificate is unknown"
    );

    // Soft mode lets an "unknown" through; "revoked" never.
    let soft = start(&url, OcspMode::Soft, false).await;
    assert!(!soft.check_ocsp(&stranger_chain(), true).await.refuse());
    assert!(soft.check_ocsp(&chain("revoked"), true).await.refuse());
    // Answers are cached: cache-only checks (network = false) find them.
    assert_eq!(
        revocation.check_ocsp(&chain("sas-recette"), false).await,
        Verdict::Good
    );
    assert_eq!(revocation.status().ocsp_cache_size, 3);
}

#[tokio::test]
async fn rust_built_good_answers_are_accepted() {
    for scenario in [Scenario::Good, Scenario::GoodByIssuer] {
        let responder = Responder::start(scenario).await;
        let revocation = start(&responder.url(), OcspMode::Hard, true).await;
        assert_eq!(
            revocation.check_ocsp(&chain("sas-recette"), true).await,
            Verdict::Good,
            "{scenario:?}"
        );
    }
    let responder = Responder::start(Scenario::Revoked).await;
    let revocation = start(&responder.url(), OcspMode::Soft, true).await;
    assert!(matches!(
        revocation.check_ocsp(&chain("sas-recette"), true).await,
        Verdict::Revoked { .. }
    ));
}

#[tokio::test]
async fn each_bad_response_is_refused_with_its_reason() {
    let cases = [
        (
            Scenario::BadSignature,
            "OCSP response signature does not verify",
        ),
        (
            Scenario::UntrustedResponder,
            "OCSP responder not authorized: C=FR, O=TEST PKI - NOT IGC SANTE, CN=OCSP RESPONDER UNTRUSTED (GATEWAY TEST PKI) is not certified by the issuer",
        ),
        (
            Scenario::NoEku,
            "lacks the id-kp-OCSPSigning extended key usage",
        ),
        (Scenario::Expired, "OCSP response expired: nextUpdate"),
        (
            Scenario::FromTheFuture,
            "is in the future (beyond the clock skew)",
        ),
        (
            Scenario::OtherCertId,
            "OCSP response is for another certificate (CertID mismatch)",
        ),
        (
            Scenario::NonceMismatch,
            "OCSP response nonce does not match the request's",
        ),
        (
            Scenario::TryLater,
            "OCSP responseStatus tryLater (not successful)",
        ),
        (
            Scenario::Unauthorized,
            "OCSP responseStatus unauthorized (not successful)",
        ),
        (Scenario::Garbage, "OCSP response malformed"),
    ];
    for (scenario, expected) in cases {
        let responder = Responder::start(scenario).await;
        let revocation = start(&responder.url(), OcspMode::Hard, true).await;
        let verdict = revocation.check_ocsp(&chain("sas-recette"), true).await;
        let reason = unknown_reason(&verdict);
        assert!(reason.contains(expected), "{scenario:?}: {reason}");
        // Failures are not cached.
        assert_eq!(revocation.status().ocsp_cache_size, 0, "{scenario:?}");
    }
}

#[tokio::test]
async fn responder_down_or_slow_soft_accepts_hard_refuses() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let down = format!("http://127.0.0.1:{port}/");
    let slow = Responder::start(Scenario::Slow).await;
    for (url, expected) in [
        (down.clone(), "unreachable"),
        (slow.url(), "did not answer within 2000 ms"),
    ] {
        let hard = start(&url, OcspMode::Hard, false).await;
        let verdict = hard.check_ocsp(&chain("sas-recette"), true).await;
        assert!(unknown_reason(&verdict).contains(expected), "{verdict:?}");

        let recorder = metrics_util::debugging::DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let soft = start(&url, OcspMode::Soft, false).await;
        let chain = chain("sas-recette");
        let verdict = {
            let _guard = metrics::set_default_local_recorder(&recorder);
            soft.check_connection(&chain, true).await
        };
        assert!(
            matches!(&verdict, Verdict::Unknown { hard: false, reason } if reason.contains(expected)),
            "{verdict:?}"
        );
        let counted = snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .any(|(key, _, _, value)| {
                key.key().name() == "gateway_revocation_soft_failures_total"
                    && value == metrics_util::debugging::DebugValue::Counter(1)
            });
        assert!(counted, "soft failure not counted for {url}");
    }
}

#[tokio::test]
async fn cache_hits_and_concurrent_checks_coalesce() {
    let responder = Responder::start(Scenario::Good).await;
    let revocation = start(&responder.url(), OcspMode::Hard, false).await;
    let chain = chain("sas-recette");
    assert_eq!(revocation.check_ocsp(&chain, true).await, Verdict::Good);
    assert_eq!(revocation.check_ocsp(&chain, true).await, Verdict::Good);
    assert_eq!(
        responder.requests.load(Ordering::SeqCst),
        1,
        "second check must hit the cache"
    );

    // Twenty concurrent first checks of another certificate: one request.
    let other = common::chain("sas-production");
    let checks = (0..20).map(|_| revocation.check_ocsp(&other, true));
    let verdicts = futures_join_all(checks).await;
    assert!(verdicts.iter().all(|v| *v == Verdict::Good), "{verdicts:?}");
    assert_eq!(
        responder.requests.load(Ordering::SeqCst),
        2,
        "concurrent checks must coalesce"
    );

    // Cache-only on a never-seen certificate: no request, hard refusal.
    let verdict = revocation
        .check_ocsp(&common::chain("sas-preproduction"), false)
        .await;
    assert_eq!(
        unknown_reason(&verdict),
        "no cached OCSP answer (cache-only check)"
    );
    assert_eq!(responder.requests.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn background_fetch_never_makes_a_connection_wait() {
    let responder = Responder::start(Scenario::Good).await;
    install_provider();
    let mut settings = settings(&responder.url(), OcspMode::Hard, false);
    settings.ocsp.fetch = mtls::OcspFetch::Background;
    let revocation = Revocation::start(settings, &anchors()).await.unwrap();
    let chain = chain("sas-recette");

    // A miss answers at once with the hard "not cached" verdict and starts one fetch, even when
    // several connections miss together.
    for _ in 0..3 {
        let verdict = revocation.check_connection(&chain, true).await;
        assert_eq!(
            unknown_reason(&verdict),
            "no cached OCSP answer (cache-only check)"
        );
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while revocation.status().ocsp_cache_size == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "background fetch never filled the cache"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(responder.requests.load(Ordering::SeqCst), 1);

    // The next connection is answered from the cache.
    assert_eq!(
        revocation.check_connection(&chain, true).await,
        Verdict::Good
    );
    assert_eq!(responder.requests.load(Ordering::SeqCst), 1);
}

/// `join_all` without the futures crate: spawnless, polls all on this task.
async fn futures_join_all<F: std::future::Future>(
    futures: impl IntoIterator<Item = F>,
) -> Vec<F::Output> {
    let mut set: Vec<std::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = set.iter().map(|_| None).collect();
    std::future::poll_fn(move |cx| {
        let mut pending = false;
        for (i, f) in set.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(out.iter_mut().map(|o| o.take().unwrap()).collect())
        }
    })
    .await
}
