//! What the in-process benchmarks (`alert`, `sas`) share: the error type, the client TLS
//! configuration from the test PKI and starting the gateway from YAML.

use std::collections::HashMap;
use std::path::Path;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// The gateway as a child process (`outbound`, `sealing`).
#[allow(dead_code)]
pub(crate) mod process;

/// HTTP/1.1 client connections (`outbound`, `sealing`).
#[allow(dead_code)]
pub(crate) mod h1;

/// SOAP alert calls and their closed-loop runner (`alert`, `fleet`).
#[allow(dead_code)]
pub(crate) mod soap_load;

/// Percentiles, means and milliseconds (`outbound`, `sealing`).
#[allow(dead_code)]
pub(crate) mod stats;

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A client configuration trusting the test PKI's CA bundle and presenting the certificate
/// `clients/{client}.pem` (key `clients/{client}.key`) of the test PKI at `pki`.
pub(crate) fn client_tls(pki: &Path, client: &str) -> Result<rustls::ClientConfig, BoxError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(pki.join("ca-bundle.pem"))? {
        roots.add(cert?)?;
    }
    let clients = pki.join("clients");
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(clients.join(format!("{client}.pem")))?
            .collect::<Result<_, _>>()?;
    let key = PrivateKeyDer::from_pem_file(clients.join(format!("{client}.key")))?;
    Ok(
        rustls::ClientConfig::builder_with_provider(mtls::crypto_provider())
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)?,
    )
}

/// Starts a gateway from `yaml`, whose relative paths resolve in `pki` and whose `*_env` keys
/// read `env`.
pub(crate) async fn start_gateway(
    yaml: &str,
    pki: &Path,
    env: &HashMap<String, String>,
) -> Result<gateway::Gateway, BoxError> {
    mtls::install_default_provider();
    let settings = gateway::config::from_yaml(yaml, &pki.join("bench.yaml"), pki, env)
        .map_err(|e| format!("bench config: {e}"))?;
    Ok(gateway::Gateway::start(settings).await?)
}
