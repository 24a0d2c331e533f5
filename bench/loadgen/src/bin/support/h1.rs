//! HTTP/1.1 client connections of the process benchmarks (`outbound`, `sealing`): one
//! connection, one request at a time, as a caller keeps its connection.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;

use super::BoxError;

pub(crate) type Sender = http1::SendRequest<Full<Bytes>>;

/// A cleartext connection (the stand-ins' and the admin listener).
pub(crate) async fn connect_plain(addr: SocketAddr) -> Result<Sender, BoxError> {
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let (sender, conn) = http1::handshake(TokioIo::new(tcp)).await?;
    tokio::spawn(conn);
    Ok(sender)
}

/// A TLS connection to the gateway (`localhost` in the test PKI).
pub(crate) async fn connect_tls(
    addr: SocketAddr,
    tls: &Arc<rustls::ClientConfig>,
) -> Result<Sender, BoxError> {
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let stream = tokio_rustls::TlsConnector::from(Arc::clone(tls))
        .connect(ServerName::try_from("localhost")?, tcp)
        .await?;
    let (sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    Ok(sender)
}
