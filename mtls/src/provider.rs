//! The one place that chooses the crypto provider, protocol versions and cipher suites.

use std::sync::Arc;

use rustls::crypto::CryptoProvider;

/// The gateway's crypto provider: aws-lc-rs with its default cipher suites (TLS 1.3 suites and
/// the ECDHE/AEAD TLS 1.2 suites only; no CBC, no RSA key exchange), AES-128-GCM first.
///
/// Why AES-128 first: the listeners choose by their own order (`ignore_client_order`), and
/// most clients (rustls, OpenSSL) list `TLS13_AES_256_GCM_SHA384` first, whose SHA-384
/// transcript hash and key schedule run on the generic SHA-512 code: 7.5 % of a full
/// handshake's CPU in `bench/profile.sh handshakes` (issue 16), where SHA-256 has the
/// processor's SHA instructions. Both suites are among those ANSSI's TLS guide recommends.
#[must_use]
pub fn crypto_provider() -> Arc<CryptoProvider> {
    let mut provider = rustls::crypto::aws_lc_rs::default_provider();
    // A stable sort: the rest keeps aws-lc-rs' order.
    provider
        .cipher_suites
        .sort_by_key(|s| s.suite() != rustls::CipherSuite::TLS13_AES_128_GCM_SHA256);
    Arc::new(provider)
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

#[cfg(test)]
mod tests {
    #[test]
    fn aes_128_gcm_is_preferred_and_nothing_is_lost() {
        let ours = super::crypto_provider();
        let default = rustls::crypto::aws_lc_rs::default_provider();
        assert_eq!(
            ours.cipher_suites[0].suite(),
            rustls::CipherSuite::TLS13_AES_128_GCM_SHA256
        );
        assert_eq!(ours.cipher_suites.len(), default.cipher_suites.len());
        for suite in &default.cipher_suites {
            assert!(
                ours.cipher_suites
                    .iter()
                    .any(|s| s.suite() == suite.suite())
            );
        }
    }
}
