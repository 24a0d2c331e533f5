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
pub use outbound::{OutboundTlsError, OutboundTlsSettings, client_config};
pub use pinning::{ClientPin, ClientPolicy, PinRefusal};
pub use provider::{crypto_provider, install_default_provider};
pub use revocation::{
    Combine, CrlSettings, CrlSource, CrlStatus, MissingAtStart, OcspFetch, OcspMode, OcspSettings,
    PreparedChain, Revocation, RevocationError, RevocationScope, RevocationSettings,
    RevocationStatus, StalePolicy, Verdict,
};
pub use server::{ClientAuth, ServerTls, ServerTlsSettings, TrustAnchors};
