//! CPS card identities against real TLS servers on loopback (seed 003): the card's certificate
//! comes from the practitioner's CPS agent (the fake of demo-upstream) and the card signs the
//! TLS 1.2 handshake through it; TLS 1.3 is refused clearly; every failure of the agent is a
//! typed error; two agents present two cards; and slow signatures do not stall the runtime.
#![allow(clippy::unwrap_used, missing_docs)]

mod partner;

use std::sync::Arc;
use std::time::{Duration, Instant};

use demo_upstream::cps_agent::{self, AgentFailure, AgentOptions, FakeAgent};
use mtls::{
    AgentClient, AgentOperation, AgentRefusal, AgentSettings, AgentTarget, AgentTrust,
    CertificateProblem, Fingerprint, IdentityError, OutboundIdentity, OutboundTlsBuilder, Secret,
    TlsVersions, signing_failure,
};
use partner::{TLS12, TLS13, call, partner, pki};

const MEDECIN_CN: &str = "899700000017/MEDECIN0001 Jean (TEST)";
const INFIRMIERE_CN: &str = "899700000025/INFIRMIERE0002 Marie (TEST)";

fn card(name: &str) -> AgentOptions {
    AgentOptions::from_files(
        &pki(&format!("cps/cards/{name}.pem")),
        &pki(&format!("cps/cards/{name}.key")),
    )
    .unwrap()
}

async fn agent(options: AgentOptions) -> FakeAgent {
    cps_agent::spawn(options).await.unwrap()
}

fn settings(agents: &[&FakeAgent]) -> AgentSettings {
    AgentSettings {
        request_timeout: Duration::from_secs(3),
        sign_timeout: Duration::from_secs(3),
        max_concurrent_signatures: 8,
        ..AgentSettings::new(AgentTrust::Fingerprints(
            agents.iter().map(|a| Fingerprint(a.fingerprint)).collect(),
        ))
    }
}

/// The route: the partner's CAs are the test PKI's (its `server` certificate).
fn route(versions: TlsVersions) -> OutboundTlsBuilder {
    OutboundTlsBuilder::from_files(&[pki("ca-bundle.pem")])
        .unwrap()
        .versions(versions)
        .alpn(vec![b"http/1.1".to_vec()])
}

fn client(agents: &[&FakeAgent]) -> AgentClient {
    route(TlsVersions::ALL)
        .agent_client(&settings(agents))
        .unwrap()
}

fn target(agent: &FakeAgent, session: Option<&str>) -> AgentTarget {
    AgentTarget::new(&agent.base_url(), session.map(Secret::new)).unwrap()
}

/// The partner: TLS 1.2 (or 1.3) requiring a certificate from the CPS test CA.
async fn dmp(versions: &[&'static rustls::SupportedProtocolVersion]) -> partner::Partner {
    partner(versions, &pki("cps/cps-ca.pem")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_authenticates_a_tls12_handshake_through_its_agent() {
    let server = dmp(TLS12).await;
    let mut options = card("medecin");
    options.session = Some("session-medecin".into());
    let agent = agent(options).await;
    let client = client(&[&agent]);
    assert_eq!(client.versions(), TlsVersions::TLS12_ONLY);
    let target = target(&agent, Some("session-medecin"));

    let config = client.identity(&target).await.unwrap();
    assert_eq!(call(config, server.addr).await.unwrap(), MEDECIN_CN);
    assert_eq!(server.authenticated(), vec![MEDECIN_CN.to_owned()]);

    // The certificate is cached for the agent and session; every connection is signed again
    // (no resumption for cards).
    let again = client.identity(&target).await.unwrap();
    assert_eq!(call(again, server.addr).await.unwrap(), MEDECIN_CN);
    assert_eq!(agent.stats.certificate_requests(), 1);
    assert_eq!(agent.stats.signatures(), 2);
    let counts = client.signatures();
    assert_eq!((counts.started, counts.succeeded, counts.failed), (2, 2, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_route_api_and_a_pem_chain_work_too() {
    let server = dmp(TLS12).await;
    let mut options = card("infirmiere");
    options.pem_chain = true;
    let agent = agent(options).await;
    let outbound = route(TlsVersions::ALL)
        .build(&OutboundIdentity::CpsAgent(settings(&[&agent])))
        .unwrap();
    assert_eq!(outbound.versions(), TlsVersions::TLS12_ONLY);
    assert!(matches!(
        outbound.config(None).await,
        Err(IdentityError::NoAgentTarget)
    ));
    let config = outbound.config(Some(&target(&agent, None))).await.unwrap();
    assert_eq!(call(config, server.addr).await.unwrap(), INFIRMIERE_CN);
    assert_eq!(outbound.signatures().succeeded, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls13_is_refused_clearly_for_a_card() {
    let agent = agent(card("medecin")).await;
    // A TLS-1.3-only route cannot be built for a card.
    let err = route(TlsVersions::TLS13_ONLY)
        .agent_client(&settings(&[&agent]))
        .unwrap_err();
    assert!(
        matches!(err, IdentityError::CannotSignForTls13 { .. }),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "this identity cannot sign for TLS 1.3: it signs with RSA_PKCS1_SHA256 only, which \
         TLS 1.3 forbids in CertificateVerify; allow TLS 1.2 on this route"
    );
    // A route allowing both speaks TLS 1.2: a TLS-1.3-only server answers protocol_version,
    // before any certificate is asked for, and the card signs nothing.
    let server = dmp(TLS13).await;
    let config = client(&[&agent])
        .identity(&target(&agent, None))
        .await
        .unwrap();
    let err = call(config, server.addr).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("received fatal alert: ProtocolVersion"),
        "{err}"
    );
    assert!(signing_failure(&err).is_none());
    assert_eq!(agent.stats.sign_requests(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_agents_present_two_cards() {
    let server = dmp(TLS12).await;
    let mut a = card("medecin");
    a.session = Some("a".into());
    let mut b = card("infirmiere");
    b.session = Some("b".into());
    let (a, b) = (agent(a).await, agent(b).await);
    let client = client(&[&a, &b]);
    let (ta, tb) = (target(&a, Some("a")), target(&b, Some("b")));
    let (ca, cb) = (
        client.identity(&ta).await.unwrap(),
        client.identity(&tb).await.unwrap(),
    );
    assert!(!Arc::ptr_eq(&ca, &cb));
    assert_eq!(call(cb, server.addr).await.unwrap(), INFIRMIERE_CN);
    assert_eq!(call(ca, server.addr).await.unwrap(), MEDECIN_CN);
    assert_eq!((a.stats.signatures(), b.stats.signatures()), (1, 1));
    // Another session on the same agent is another cache entry (and here, refused).
    let err = client.identity(&target(&a, Some("b"))).await.unwrap_err();
    assert!(
        matches!(
            err,
            IdentityError::AgentRefused {
                status: 401,
                refusal: AgentRefusal::Unauthorized,
                operation: AgentOperation::Certificate,
                ..
            }
        ),
        "{err}"
    );
    assert_ne!(ta, target(&a, Some("b")));
    assert_eq!(ta, target(&a, Some("a")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_failures_before_the_handshake_are_typed() {
    // Down.
    let mut options = card("medecin");
    options.failure = Some(AgentFailure::Down);
    let down = agent(options).await;
    let err = client(&[&down])
        .identity(&target(&down, None))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            IdentityError::AgentUnreachable {
                operation: AgentOperation::Certificate,
                ..
            }
        ),
        "{err}"
    );

    // Not the pinned TLS certificate.
    let up = agent(card("medecin")).await;
    let stranger = route(TlsVersions::ALL)
        .agent_client(&AgentSettings::new(AgentTrust::Fingerprints(vec![
            Fingerprint([7; 32]),
        ])))
        .unwrap();
    let err = stranger.identity(&target(&up, None)).await.unwrap_err();
    assert!(matches!(err, IdentityError::AgentUntrusted { .. }), "{err}");
    assert!(err.to_string().contains("is not pinned"), "{err}");

    // Refusals and failures.
    for (failure, check) in [
        (
            AgentFailure::Unauthorized,
            (|e: &IdentityError| {
                matches!(
                    e,
                    IdentityError::AgentRefused {
                        status: 401,
                        refusal: AgentRefusal::Unauthorized,
                        ..
                    }
                )
            }) as fn(&IdentityError) -> bool,
        ),
        (AgentFailure::CardAbsent, |e| {
            matches!(
                e,
                IdentityError::AgentRefused {
                    status: 409,
                    refusal: AgentRefusal::CardAbsent,
                    ..
                }
            )
        }),
        (AgentFailure::CardLocked, |e| {
            matches!(
                e,
                IdentityError::AgentRefused {
                    status: 423,
                    refusal: AgentRefusal::CardLocked,
                    ..
                }
            )
        }),
        (AgentFailure::ServerError, |e| {
            matches!(e, IdentityError::AgentFailed { status: 500, .. })
        }),
        (AgentFailure::WrongCertificate, |e| {
            matches!(
                e,
                IdentityError::WrongCertificate {
                    problem: CertificateProblem::Unparseable(_),
                    ..
                }
            )
        }),
    ] {
        up.set_failure(Some(failure));
        let err = client(&[&up])
            .identity(&target(&up, None))
            .await
            .unwrap_err();
        assert!(check(&err), "{failure:?}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_that_cannot_authenticate_a_card_client_are_refused() {
    // RSA, but serverAuth only.
    let server_only = AgentOptions::from_files(
        &pki("clients/no-client-eku.pem"),
        &pki("clients/no-client-eku.key"),
    )
    .unwrap();
    let a = agent(server_only).await;
    let err = client(&[&a]).identity(&target(&a, None)).await.unwrap_err();
    assert!(
        matches!(
            err,
            IdentityError::WrongCertificate {
                problem: CertificateProblem::NotForClientAuth(_),
                ..
            }
        ),
        "{err}"
    );

    // clientAuth, but an EC key: a card signs SHA256WithRSA.
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let cert = params.self_signed(&key).unwrap();
    let ec = AgentOptions::new(
        vec![cert.der().clone()],
        rustls_pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    );
    let b = agent(ec).await;
    let err = client(&[&b]).identity(&target(&b, None)).await.unwrap_err();
    assert!(
        matches!(
            err,
            IdentityError::WrongCertificate {
                problem: CertificateProblem::KeyTypeUnsupported(_),
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signature_failures_abort_the_handshake_with_a_typed_error() {
    let server = dmp(TLS12).await;
    let mut options = card("medecin");
    options.session = Some("s".into());
    let agent = agent(options).await;
    let mut slow = settings(&[&agent]);
    slow.sign_timeout = Duration::from_millis(200);
    let client = route(TlsVersions::ALL).agent_client(&slow).unwrap();
    let target = target(&agent, Some("s"));

    // A bad signature is detected and never sent.
    agent.set_failure(Some(AgentFailure::BadSignature));
    let config = client.identity(&target).await.unwrap();
    let err = call(config, server.addr).await.unwrap_err();
    assert!(
        matches!(
            signing_failure(&err),
            Some(IdentityError::BadSignature { .. })
        ),
        "{err}"
    );
    assert_eq!(agent.stats.signatures(), 1);

    // The session expires between the certificate and the signature.
    agent.set_failure(None);
    let config = client.identity(&target).await.unwrap();
    agent.set_failure(Some(AgentFailure::Unauthorized));
    let err = call(config, server.addr).await.unwrap_err();
    assert!(
        matches!(
            signing_failure(&err),
            Some(IdentityError::AgentRefused {
                status: 401,
                operation: AgentOperation::Sign,
                ..
            })
        ),
        "{err}"
    );

    // Slow: the card takes 1 s, the route allows 200 ms.
    agent.set_failure(None);
    agent.set_sign_delay(Duration::from_secs(1));
    let config = client.identity(&target).await.unwrap();
    let started = Instant::now();
    let err = call(config, server.addr).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_millis(900));
    let failure = signing_failure(&err).unwrap();
    assert!(
        matches!(
            failure,
            IdentityError::Timeout {
                operation: "signature",
                ..
            }
        ),
        "{failure}"
    );
    assert!(
        failure
            .to_string()
            .ends_with("signature took longer than 200ms"),
        "{failure}"
    );

    // The partner authenticated nobody; the counters saw it all.
    assert!(server.authenticated().is_empty());
    let counts = client.signatures();
    assert_eq!(
        (
            counts.started,
            counts.failed,
            counts.bad_signatures,
            counts.timed_out
        ),
        (3, 3, 1, 1)
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_current_thread_runtime_gets_an_error_not_a_panic() {
    let server = dmp(TLS12).await;
    let agent = agent(card("medecin")).await;
    let client = client(&[&agent]);
    let config = client.identity(&target(&agent, None)).await.unwrap();
    let err = call(config, server.addr).await.unwrap_err();
    assert!(
        matches!(
            signing_failure(&err),
            Some(IdentityError::CurrentThreadRuntime)
        ),
        "{err}"
    );
    assert_eq!(agent.stats.sign_requests(), 0);
}

#[test]
fn agent_targets_are_validated() {
    for (url, reason) in [
        ("http://127.0.0.1:9443", "must be https"),
        (
            "https://user:pw@127.0.0.1:9443",
            "must not carry credentials",
        ),
        ("https://127.0.0.1:9443/?session=x", "must not have a query"),
        ("not a url", "not a URL"),
    ] {
        let err = AgentTarget::new(url, None).unwrap_err();
        assert!(err.to_string().contains(reason), "{url}: {err}");
    }
    let err = AgentTarget::new("https://a.test", Some(Secret::new("bad\nvalue"))).unwrap_err();
    assert!(!err.to_string().contains("bad\nvalue"));
    let t = AgentTarget::new("https://poste-17.cabinet.test:9443/agent/", None).unwrap();
    assert_eq!(t.base_url(), "https://poste-17.cabinet.test:9443/agent");
    let with_session = AgentTarget::new("https://a.test", Some(Secret::new("top-secret"))).unwrap();
    assert!(!format!("{with_session:?}").contains("top-secret"));
}

/// (c) 8 handshakes whose card takes 300 ms each, and a 10 ms ticker on the same runtime: the
/// ticker must not notice (the signatures wait off the async workers).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_signatures_do_not_stall_the_runtime() {
    const HANDSHAKES: usize = 8;
    let server = dmp(TLS12).await;
    let mut options = card("medecin");
    options.sign_delay = Duration::from_millis(300);
    let agent = agent(options).await;
    let client = client(&[&agent]);
    let config = client.identity(&target(&agent, None)).await.unwrap();

    let stop = Arc::new(tokio::sync::Notify::new());
    let ticker = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut delays = Vec::new();
            loop {
                let before = Instant::now();
                tokio::select! {
                    () = stop.notified() => return delays,
                    () = tokio::time::sleep(Duration::from_millis(10)) => {}
                }
                delays.push(before.elapsed().saturating_sub(Duration::from_millis(10)));
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = Instant::now();
    let calls: Vec<_> = (0..HANDSHAKES)
        .map(|_| tokio::spawn(call(config.clone(), server.addr)))
        .collect();
    for c in calls {
        assert_eq!(c.await.unwrap().unwrap(), MEDECIN_CN);
    }
    let elapsed = started.elapsed();
    stop.notify_one();
    let delays = ticker.await.unwrap();
    let max = delays.iter().max().copied().unwrap_or_default();
    let mean = delays.iter().sum::<Duration>() / u32::try_from(delays.len().max(1)).unwrap();
    eprintln!(
        "{HANDSHAKES} handshakes at 300 ms per signature: {elapsed:?} in all, agent max \
         in flight {}; 10 ms ticker: {} ticks, late by {mean:?} on average, {max:?} at worst",
        agent.stats.max_in_flight(),
        delays.len()
    );
    assert_eq!(agent.stats.signatures(), HANDSHAKES);
    assert!(max < Duration::from_millis(150), "a tick was {max:?} late");
    // Signatures ran concurrently (8 allowed), not one after the other (2.4 s).
    assert!(elapsed < Duration::from_millis(1500), "{elapsed:?}");
}
