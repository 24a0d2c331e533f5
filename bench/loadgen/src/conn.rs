//! The connection every client mode makes: the target options, and a TCP connection with an
//! mTLS handshake (ALPN checked for HTTP/2, descriptor exhaustion reported as such).

use std::net::SocketAddr;
use std::sync::Arc;

use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::tls::{self, Alpn, BoxError, TlsArgs};

/// Where to connect and what to ask for: shared by every client mode.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct Endpoint {
    /// Address of the proxy under test (loopback only in the benchmark).
    #[arg(long)]
    pub(crate) target: SocketAddr,
    /// Request path.
    #[arg(long, default_value = "/")]
    pub(crate) path: String,
    /// Free-form label copied into the JSON report (e.g. `gateway`, `nginx`).
    #[arg(long, default_value = "")]
    pub(crate) label: String,
    /// TLS options.
    #[command(flatten)]
    pub(crate) tls: TlsArgs,
}

/// The process ran out of file descriptors: a setup problem, not a server failure, so the modes
/// that open many sockets stop at once and say how to fix it.
#[derive(Debug)]
pub(crate) struct FdLimit(std::io::Error);

impl std::fmt::Display for FdLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "cannot open a socket: {} (raise the limit first, e.g. `ulimit -n 20000`: \
             one descriptor per connection plus ~100)",
            self.0
        )
    }
}

impl std::error::Error for FdLimit {}

/// EMFILE (process limit) or ENFILE (system limit), from the raw errno: std has no stable kind.
fn fd_exhausted(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(23 | 24))
}

fn alpn_refused(e: &std::io::Error) -> bool {
    matches!(
        e.get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>()),
        Some(rustls::Error::AlertReceived(
            rustls::AlertDescription::NoApplicationProtocol
        ))
    )
}

/// One target, one TLS configuration.
pub(crate) struct Ctx {
    pub(crate) config: Arc<ClientConfig>,
    pub(crate) connector: TlsConnector,
    name: ServerName<'static>,
    pub(crate) ep: Endpoint,
    pub(crate) alpn: Alpn,
}

impl Ctx {
    pub(crate) fn new(ep: Endpoint, alpn: Alpn) -> Result<Arc<Self>, BoxError> {
        let config = tls::client_config(&ep.tls, alpn)?;
        Ok(Arc::new(Self {
            connector: TlsConnector::from(Arc::clone(&config)),
            config,
            name: tls::server_name(&ep.tls)?,
            ep,
            alpn,
        }))
    }

    /// A new TCP connection and TLS handshake with the shared configuration.
    pub(crate) async fn connect(&self) -> Result<TlsStream<TcpStream>, BoxError> {
        self.connect_with(&self.connector).await
    }

    /// The same with another connector (`handshakes --resume`: one session store per worker).
    pub(crate) async fn connect_with(
        &self,
        connector: &TlsConnector,
    ) -> Result<TlsStream<TcpStream>, BoxError> {
        let tcp = match TcpStream::connect(self.ep.target).await {
            Ok(tcp) => tcp,
            Err(e) if fd_exhausted(&e) => return Err(Box::new(FdLimit(e))),
            Err(e) => return Err(e.into()),
        };
        tcp.set_nodelay(true)?;
        let no_h2 = |what: &str| -> BoxError {
            format!(
                "server {} did not negotiate HTTP/2 ({what}); is h2 enabled on it?",
                self.ep.target
            )
            .into()
        };
        let tls = match connector.connect(self.name.clone(), tcp).await {
            Ok(tls) => tls,
            // A server that knows ALPN but not h2 refuses the handshake with this alert.
            Err(e) if self.alpn == Alpn::H2 && alpn_refused(&e) => {
                return Err(no_h2(
                    "it refused ALPN h2 with a no_application_protocol alert",
                ));
            }
            Err(e) => return Err(e.into()),
        };
        // A server without ALPN completes the handshake without answering: HTTP/2 frames would
        // then hit an HTTP/1.1 parser, so stop here instead.
        let got = tls.get_ref().1.alpn_protocol();
        if self.alpn == Alpn::H2 && got != Some(b"h2".as_slice()) {
            let got = got.map_or("none".into(), String::from_utf8_lossy);
            return Err(no_h2(&format!("ALPN answer: {got}")));
        }
        Ok(tls)
    }

    pub(crate) fn host(&self) -> &str {
        &self.ep.tls.server_name
    }

    /// The absolute URI of `--path`: HTTP/2 takes `:scheme` and `:authority` from it.
    pub(crate) fn uri(&self) -> String {
        format!("https://{}{}", self.host(), self.ep.path)
    }
}
