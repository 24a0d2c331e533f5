//! All TLS policy of the gateway lives here: which protocol versions and cipher suites are spoken,
//! how trust anchors are loaded, how client certificate chains are verified, how the verified
//! identity is extracted, and how a client is pinned by CN and OU.
//!
//! The `gateway` and `adapters` crates receive built `Arc<rustls::ServerConfig>` /
//! `Arc<rustls::ClientConfig>` values and [`PeerIdentity`] values; they never touch PEM or
//! rustls verifiers themselves. Every relaxation of the default policy is an explicit, named
//! option (for example [`ClientAuth::Optional`] or [`ClientPolicy::AnyVerifiedClient`]).
//!
//! Revocation of client certificates (CRLs refreshed on a schedule, OCSP with verified and
//! cached answers, soft and hard failure) is the [`Revocation`] handle of a trust store; see
//! the `revocation` module documentation for how resumed sessions and open connections are
//! covered.
//!
//! # Outbound identities
//!
//! A route that calls a partner with a client certificate says who the gateway is with an
//! [`OutboundIdentity`]: a key in a file, a key on a PKCS#11 token, or a practitioner's CPS card
//! behind the CPS agent of their workstation (seed 003; the agent binding is in
//! `docs/cps-agent.md`). The route's TLS is built once, at configuration load, by an
//! [`OutboundTlsBuilder`] that fixes the partner's trust anchors (the only ones trusted; the
//! server name is checked by the standard verifier), the [`TlsVersions`] of the route and
//! ALPN:
//!
//! ```no_run
//! # async fn route() -> Result<(), mtls::IdentityError> {
//! use mtls::{AgentSettings, AgentTarget, AgentTrust, OutboundIdentity, OutboundTlsBuilder};
//! use mtls::{Secret, TlsVersions};
//!
//! // At configuration load (blocking for a PKCS#11 identity, which logs in here).
//! let pin: mtls::Fingerprint = "00".repeat(32).parse().expect("from the YAML");
//! let identity = OutboundIdentity::CpsAgent(AgentSettings::new(AgentTrust::Fingerprints(vec![pin])));
//! let outbound = OutboundTlsBuilder::from_files(&["dmp-ca.pem"])?
//!     .versions(TlsVersions::ALL) // a card narrows this to TLS 1.2; TLS 1.3 only is an error
//!     .alpn(vec![b"http/1.1".to_vec()])
//!     .build(&identity)?;
//!
//! // Per call: the agent the caller names (CPS identities only; `None` otherwise).
//! let agent = AgentTarget::new("https://poste-17.cabinet.test:9443", Some(Secret::new("…")))?;
//! let config = outbound.config(Some(&agent)).await?; // Arc<rustls::ClientConfig>
//! # let _ = config; Ok(()) }
//! ```
//!
//! What the gateway's integration relies on:
//!
//! - **Pooling.** A file or PKCS#11 identity has one configuration ([`OutboundTls::fixed`]):
//!   pool connections per route. A CPS identity has one configuration per [`AgentTarget`]
//!   (agent base URL and session; `Eq + Hash` without exposing the session): key the
//!   connection pool by the target and never hand a connection authenticated by one card to
//!   a call for another. Card configurations disable TLS resumption, so every new
//!   connection is signed by the card; keep-alive amortises it.
//! - **Choosing the agent per call.** Build the [`AgentTarget`] from the request once
//!   ([`IdentityError::InvalidAgentTarget`] is the caller's fault); the card's certificate is
//!   cached per target for `certificate_ttl` and never shared across agents.
//!   [`AgentClient::forget`] drops it (logout).
//! - **Errors.** Building returns [`IdentityError`] (startup errors). Per call,
//!   [`OutboundTls::config`] can fail with the agent's errors (unreachable, untrusted, refused
//!   401/409/423, failed 5xx, timeout, wrong certificate). A signature that fails during the
//!   handshake aborts it; [`signing_failure`] finds the [`IdentityError`] inside the error the
//!   connector or HTTP client returns (bad signature — never sent —, timeout, agent refusal,
//!   PIN, token absent). Who is at fault: an agent refusal (session, card absent or locked)
//!   is the caller's side; unreachable, timeout and 5xx are the agent's; PIN and token
//!   errors are the gateway's own.
//! - **Runtime.** Remote signatures (agent, token) run on a dedicated signing thread and are
//!   awaited with `tokio::task::block_in_place`: use a multi-thread runtime. On a
//!   current-thread runtime a handshake needing a remote signature fails with
//!   [`IdentityError::CurrentThreadRuntime`] (no panic, nothing sent).
//! - **Secrets.** Resolve a PIN (or a session) from wherever the configuration says, wrap it
//!   in a [`Secret`] at once; no error or log ever carries it or the signed data.
//! - **Metrics.** [`OutboundTls::signatures`] returns [`SignatureCounts`] (started,
//!   succeeded, failed, timed out, bad signatures, in flight, time spent) for the scrape.
//!
//! [`client_config`] and [`OutboundTlsSettings`] remain for the SAS adapter: a file identity
//! with TLS 1.2 and 1.3.
#![forbid(unsafe_code)]

mod error;
mod handshake;
mod identity;
mod material;
mod outbound;
mod pinning;
mod provider;
mod revocation;
mod server;

pub use error::TlsError;
pub use handshake::{HandshakeFailure, classify_handshake_error};
pub use identity::PeerIdentity;
pub use material::{load_certificates, load_private_key};
pub use outbound::{
    AgentClient, AgentOperation, AgentRefusal, AgentSettings, AgentTarget, AgentTrust,
    BadFingerprint, CertificateProblem, Fingerprint, IdentityError, OutboundIdentity, OutboundTls,
    OutboundTlsBuilder, OutboundTlsError, OutboundTlsSettings, Pkcs11Certificate, Pkcs11Identity,
    Secret, SignatureCounts, TlsVersions, client_config, signing_failure,
};
pub use pinning::{ClientPin, ClientPolicy, PinRefusal};
pub use provider::{crypto_provider, install_default_provider};
pub use revocation::{
    Combine, CrlSettings, CrlSource, CrlStatus, MissingAtStart, OcspFetch, OcspMode, OcspSettings,
    PreparedChain, Revocation, RevocationError, RevocationScope, RevocationSettings,
    RevocationStatus, StalePolicy, Verdict,
};
pub use server::{ClientAuth, ServerTls, ServerTlsSettings, TrustAnchors};
