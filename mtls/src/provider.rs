//! The one place that chooses the crypto provider, protocol versions and cipher suites.

use std::sync::Arc;

use rustls::crypto::CryptoProvider;

/// The gateway's crypto provider: aws-lc-rs with its default cipher suites (TLS 1.3 suites and
/// the ECDHE/AEAD TLS 1.2 suites only; no CBC, no RSA key exchange).
#[must_use]
pub fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Protocol versions spoken: TLS 1.2 is the minimum the ANS platforms speak, TLS 1.3 is preferred.
pub(crate) static PROTOCOL_VERSIONS: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

/// Installs the gateway's provider as the process default, for libraries (such as an HTTP
/// client) that build their own rustls configuration. Calling it twice is harmless.
pub fn install_default_provider() {
    // Err means a provider is already installed: by us, or by a test harness; both are fine.
    let _already = rustls::crypto::aws_lc_rs::default_provider().install_default();
}
