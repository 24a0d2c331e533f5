//! Shared helpers of the end-to-end tests: the test PKI, a gateway started from YAML on
//! loopback, TLS clients presenting test certificates, and small upstreams.
#![allow(dead_code, clippy::unwrap_used, missing_docs, unreachable_pub)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

pub fn pki_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../certs-test/pki")
}

pub fn pki(rel: &str) -> PathBuf {
    pki_dir().join(rel)
}

/// One certificate of the test PKI's manifest.
pub fn manifest(name: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(pki("manifest.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["certificates"][name].clone()
}

/// Builds settings from YAML whose relative paths resolve in the test PKI folder.
pub fn settings(yaml: &str) -> Result<gateway::config::Settings, gateway::config::ConfigErrors> {
    settings_with_env(yaml, &HashMap::new())
}

/// [`settings`] with environment variables (the secrets a file names by variable).
pub fn settings_with_env(
    yaml: &str,
    env: &HashMap<String, String>,
) -> Result<gateway::config::Settings, gateway::config::ConfigErrors> {
    gateway::config::from_yaml(yaml, Path::new("test.yaml"), &pki_dir(), env)
}

pub async fn start(yaml: &str) -> gateway::Gateway {
    start_with_env(yaml, &HashMap::new()).await
}

/// [`start`] with environment variables.
pub async fn start_with_env(yaml: &str, env: &HashMap<String, String>) -> gateway::Gateway {
    mtls::install_default_provider();
    let s = settings_with_env(yaml, env).unwrap_or_else(|e| panic!("invalid test config:\n{e}"));
    gateway::Gateway::start(s).await.unwrap()
}

/// A listener block, requiring or optionally accepting client certificates.
pub fn listener(mode: &str) -> String {
    format!(
        r#"
listeners:
  - name: edge
    bind: 127.0.0.1:0
    tls:
      cert: server.pem
      key: server.key
      client_auth:
        mode: {mode}
        trust_anchors: [root-ca.cer, intermediate-ca.cer]
admin:
  bind: 127.0.0.1:0
clients:
  sas-recette:
    cn: sas-agregateur-recette
    ou: "499700234190004"
    environment: recette
"#
    )
}

/// Starts the demo echo upstream and a gateway with `listener` (see [`listener`]) and one proxy
/// route to it; `route` holds the route's own keys (name, prefix, policy, limits), indented by
/// four spaces.
pub async fn echo_gateway(listener: &str, route: &str) -> gateway::Gateway {
    let upstream = demo_upstream::spawn("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    start(&format!(
        "{listener}\nupstreams:\n  echo:\n    url: http://{upstream}\nroutes:\n  - handler: proxy\n    upstream: echo\n{route}"
    ))
    .await
}

/// A client TLS configuration trusting the test CA, presenting `client` (a name under
/// `clients/`), with the given ALPN protocols.
pub fn client_config(client: Option<&str>, alpn: &[&[u8]]) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(pki("ca-bundle.pem")).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    let mut config = match client {
        Some(name) => {
            let chain: Vec<CertificateDer<'static>> =
                CertificateDer::pem_file_iter(pki(&format!("clients/{name}.pem")))
                    .unwrap()
                    .map(Result::unwrap)
                    .collect();
            let key = PrivateKeyDer::from_pem_file(pki(&format!("clients/{name}.key"))).unwrap();
            builder.with_client_auth_cert(chain, key).unwrap()
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

pub async fn connect(
    addr: SocketAddr,
    config: Arc<rustls::ClientConfig>,
) -> std::io::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    TlsConnector::from(config)
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
}

/// Opens one kept-alive HTTP/1.1 connection presenting `client`, for tests that send several
/// requests (or a streamed body) on it.
pub async fn h1_sender<B>(
    addr: SocketAddr,
    client: &str,
) -> hyper::client::conn::http1::SendRequest<B>
where
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let tls = connect(addr, client_config(Some(client), &[b"http/1.1"]))
        .await
        .unwrap();
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .unwrap();
    tokio::spawn(conn);
    sender
}

/// A response with its body collected.
pub struct Answer {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
    pub version: http::Version,
}

impl Answer {
    /// Asserts the status, showing the body when it is another.
    #[track_caller]
    pub fn assert_status(&self, status: u16) {
        assert_eq!(
            self.status,
            status,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

/// Sends one request over a new connection presenting `client`; HTTP/2 when `h2`.
pub async fn send(
    addr: SocketAddr,
    client: Option<&str>,
    h2: bool,
    req: Request<Full<Bytes>>,
) -> Result<Answer, Box<dyn std::error::Error + Send + Sync>> {
    let alpn: &[&[u8]] = if h2 { &[b"h2"] } else { &[b"http/1.1"] };
    let tls = connect(addr, client_config(client, alpn)).await?;
    let io = TokioIo::new(tls);
    let response: Response<hyper::body::Incoming> = if h2 {
        let (mut sender, conn) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), io).await?;
        tokio::spawn(conn);
        sender.send_request(req).await?
    } else {
        let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await?;
        tokio::spawn(conn);
        sender.send_request(req).await?
    };
    let status = response.status().as_u16();
    let version = response.version();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await?.to_bytes();
    Ok(Answer {
        status,
        headers,
        body,
        version,
    })
}

pub fn get(path: &str) -> Request<Full<Bytes>> {
    Request::get(format!("https://localhost{path}"))
        .header("host", "localhost")
        .body(Full::new(Bytes::new()))
        .unwrap()
}

/// The error chain of a failed exchange, flattened for assertions.
pub fn describe(err: &(dyn std::error::Error + 'static)) -> String {
    std::iter::successors(Some(err), |e| e.source())
        .map(|e| format!("{e:?}"))
        .collect::<Vec<_>>()
        .join(" <- ")
}

/// An upstream that waits before answering.
pub async fn slow_upstream(delay: Duration) -> SocketAddr {
    let app = axum::Router::new().fallback(move || async move {
        tokio::time::sleep(delay).await;
        "slow answer"
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// A loopback port with nothing listening.
pub async fn closed_port() -> SocketAddr {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    addr
}

/// A loopback port nothing listens on (it was free a moment ago).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// How a test signs a request (RFC 9421, `hmac-sha256`, over method, target and
/// `Content-Digest`); tests that expect a refusal change one field.
pub struct Signing<'a> {
    pub key: &'a str,
    pub keyid: &'a str,
    pub created: i64,
    pub nonce: Option<String>,
    /// The path the signature covers (the request's own, unless a test wants a mismatch).
    pub path: &'a str,
}

/// A POST of `body` to `path` on `port`, signed with `key` (key id, secret), created now, with
/// `nonce`.
pub fn signed_post(
    port: u16,
    path: &str,
    body: &'static [u8],
    key: (&str, &str),
    nonce: &str,
) -> Request<Full<Bytes>> {
    let signing = Signing {
        key: key.1,
        keyid: key.0,
        created: jiff::Timestamp::now().as_second(),
        nonce: Some(nonce.to_owned()),
        path,
    };
    signed_request(port, path, &signing, body, body)
}

/// A POST of `body` to `path` on `port`, signed as `s` says, carrying the `Content-Digest` of
/// `digest_of`.
pub fn signed_request(
    port: u16,
    path: &str,
    s: &Signing<'_>,
    body: &'static [u8],
    digest_of: &[u8],
) -> Request<Full<Bytes>> {
    use base64::Engine as _;
    use sha2::Digest as _;
    let authority = format!("localhost:{port}");
    let digest = format!(
        "sha-256=:{}:",
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(digest_of))
    );
    let headers = [("content-digest", digest.as_bytes())];
    let parts = httpsig::RequestParts {
        method: "POST",
        scheme: "https",
        authority: &authority,
        path: s.path,
        query: None,
        headers: &headers,
    };
    let covered: Vec<httpsig::Component> = ["@method", "@target-uri", "content-digest"]
        .iter()
        .map(|c| c.parse().unwrap())
        .collect();
    let params = httpsig::SignatureParams {
        created: Some(s.created),
        expires: None,
        keyid: s.keyid.to_owned(),
        alg: true,
        nonce: s.nonce.clone(),
        tag: None,
    };
    let sig = httpsig::sign(&parts, "sig1", &covered, &params, s.key.as_bytes()).unwrap();
    Request::post(format!("https://{authority}{path}"))
        .header("host", &authority)
        .header("content-type", "application/pdf")
        .header("content-digest", &digest)
        .header("signature-input", sig.signature_input)
        .header("signature", sig.signature)
        .body(Full::new(Bytes::from_static(body)))
        .unwrap()
}

// === admin endpoints, metrics, files ===

async fn admin(addr: SocketAddr, method: http::Method, path: &str) -> (u16, String) {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .unwrap();
    tokio::spawn(conn);
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "admin")
        .body(http_body_util::Empty::<Bytes>::new())
        .unwrap();
    let res = sender.send_request(req).await.unwrap();
    let status = res.status().as_u16();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// `GET` on the admin listener: status and body.
pub async fn admin_get(addr: SocketAddr, path: &str) -> (u16, String) {
    admin(addr, http::Method::GET, path).await
}

/// `POST` on the admin listener: status and body.
pub async fn admin_post(addr: SocketAddr, path: &str) -> (u16, String) {
    admin(addr, http::Method::POST, path).await
}

/// The value of one Prometheus series of this process (`name{labels}` exactly as rendered), 0
/// when absent.
pub fn metric(series: &str) -> f64 {
    let text = gateway::prometheus().render();
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

/// Writes `text` to `path` atomically (a rename), as an operator's deploy tool would.
pub fn write_file(path: &Path, text: &[u8]) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}
