//! The client TLS configuration: a client certificate, X25519 only, no session resumption unless
//! a mode asks for it ([`resuming`]), HTTP/1.1 or HTTP/2 ALPN.

use std::error::Error;
use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, aws_lc_rs};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};

/// Boxed error used throughout the load generator.
pub(crate) type BoxError = Box<dyn Error + Send + Sync>;

/// Where the client identity and the trust anchors come from.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct TlsArgs {
    /// PEM bundle of CA certificates used to verify the server.
    #[arg(long)]
    pub(crate) ca: std::path::PathBuf,
    /// PEM client certificate chain presented to the server.
    #[arg(long)]
    pub(crate) cert: std::path::PathBuf,
    /// PEM private key of the client certificate.
    #[arg(long)]
    pub(crate) key: std::path::PathBuf,
    /// Name checked against the server certificate (SNI is sent for DNS names only).
    #[arg(long, default_value = "localhost")]
    pub(crate) server_name: String,
    /// Skip verifying the server certificate and its handshake signature. Saves client CPU so
    /// that the proxy under test, not the load generator, is the bottleneck.
    #[arg(long)]
    pub(crate) no_verify_server: bool,
    /// Offer TLS 1.2 only (default: TLS 1.3 and 1.2, so 1.3 is negotiated by the gateway).
    #[arg(long)]
    pub(crate) tls12: bool,
}

/// The application protocol offered in ALPN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Alpn {
    /// `http/1.1` only.
    Http1,
    /// `h2` only: a server that cannot speak HTTP/2 must not silently fall back to HTTP/1.1.
    H2,
}

impl Alpn {
    /// The short name used in the JSON reports.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Http1 => "h1",
            Self::H2 => "h2",
        }
    }

    fn wire(self) -> &'static [u8] {
        match self {
            Self::Http1 => b"http/1.1",
            Self::H2 => b"h2",
        }
    }
}

/// Builds a client configuration with resumption disabled (every handshake is a full one),
/// `alpn` as the only ALPN protocol, and X25519 as the only key exchange group (what both peers
/// support, so the gateway is not handed a costlier post-quantum hybrid that nginx on OpenSSL
/// 3.0 lacks). `--tls12` restricts it to TLS 1.2.
pub(crate) fn client_config(args: &TlsArgs, alpn: Alpn) -> Result<Arc<ClientConfig>, BoxError> {
    let mut provider = aws_lc_rs::default_provider();
    provider.kx_groups = vec![aws_lc_rs::kx_group::X25519];
    let provider = Arc::new(provider);

    let mut roots = RootCertStore::empty();
    for cert in load_certs(&args.ca)? {
        roots.add(cert)?;
    }
    let chain = load_certs(&args.cert)?;
    let key = PrivateKeyDer::from_pem_file(&args.key)
        .map_err(|e| format!("{}: {e}", args.key.display()))?;

    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider));
    let builder = if args.tls12 {
        builder.with_protocol_versions(&[&rustls::version::TLS12])?
    } else {
        builder.with_safe_default_protocol_versions()?
    };
    let mut config = if args.no_verify_server {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyServer(provider)))
            .with_client_auth_cert(chain, key)?
    } else {
        builder
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)?
    };
    config.resumption = rustls::client::Resumption::disabled();
    config.alpn_protocols = vec![alpn.wire().to_vec()];
    Ok(Arc::new(config))
}

/// A copy of `config` with its own in-memory session store, so that connections made with it
/// after the first resume (TLS 1.3 tickets, TLS 1.2 session ids). One store per worker, not one
/// shared store: a shared store keeps at most 8 TLS 1.3 tickets per server, fewer than the
/// handshakes in flight at high concurrency, and a stateful server takes each ticket once, so
/// workers would race for tickets and the resumed share would depend on scheduling.
pub(crate) fn resuming(config: &ClientConfig) -> Arc<ClientConfig> {
    let mut config = config.clone();
    // One server: the store holds up to 8 TLS 1.3 tickets per server and sizes itself for
    // ceil(n / 8) servers.
    config.resumption = rustls::client::Resumption::in_memory_sessions(4);
    Arc::new(config)
}

/// The server name to verify, from `--server-name`.
pub(crate) fn server_name(args: &TlsArgs) -> Result<ServerName<'static>, BoxError> {
    Ok(ServerName::try_from(args.server_name.clone())?)
}

fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, BoxError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no certificate found", path.display()).into());
    }
    Ok(certs)
}

/// Accepts any server: benchmark use only, behind `--no-verify-server`.
#[derive(Debug)]
struct AcceptAnyServer(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyServer {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
