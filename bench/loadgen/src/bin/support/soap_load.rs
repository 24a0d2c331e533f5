//! SOAP alert calls as a portal sends them (a fresh WS-Security UsernameToken each, over mutual
//! TLS and keep-alive), and the closed-loop runner that measures them (`alert`, `fleet`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use sha1::{Digest as _, Sha1};

use super::BoxError;

/// The demo upstream's alert partner, its WS-Security secret, and a primary account of it
/// (`demo-upstream/src/alert/data.rs`).
pub(crate) const NS: &str = "http://www.cegedim.com/aspone/mb/webservices";
pub(crate) const PARTNER: &str = "portal-a";
pub(crate) const SECRET: &str = "partner-a-secret";
pub(crate) const LOGIN: &str = "CPT01";
pub(crate) const PASSWORD: &str = "Primary-01-pass";

/// What a run measured: successful calls' latencies (sorted) and the errors.
pub(crate) struct Calls {
    pub(crate) latencies: Vec<Duration>,
    pub(crate) count: usize,
    pub(crate) errors: usize,
}

impl Calls {
    pub(crate) fn pct(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * (self.latencies.len() - 1) as f64).round() as usize;
        self.latencies[rank.min(self.latencies.len() - 1)]
    }

    pub(crate) fn rate(&self, measured: Duration) -> f64 {
        self.count as f64 / measured.as_secs_f64()
    }
}

/// One worker: sends calls in a loop on one connection until the deadline; each call answers
/// whether it succeeded.
pub(crate) trait Worker: Send {
    fn call(
        &mut self,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<bool, BoxError>> + Send + '_>>;
}

pub(crate) type WorkerFuture =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Box<dyn Worker>, BoxError>> + Send>>;

pub(crate) async fn run(
    connections: usize,
    warmup: Duration,
    measured: Duration,
    make: impl Fn() -> WorkerFuture,
) -> Result<Calls, BoxError> {
    let start = Instant::now() + warmup;
    let end = start + measured;
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let mut worker = make().await?;
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut errors) = (Vec::new(), 0usize);
            loop {
                let t0 = Instant::now();
                if t0 >= end {
                    break;
                }
                let ok = worker.call().await.unwrap_or(false);
                if t0 >= start {
                    if ok {
                        lat.push(t0.elapsed());
                    } else {
                        errors += 1;
                    }
                }
            }
            (lat, errors)
        }));
    }
    let mut out = Calls {
        latencies: Vec::new(),
        count: 0,
        errors: 0,
    };
    for t in tasks {
        let (lat, errors) = t.await?;
        out.count += lat.len();
        out.latencies.extend(lat);
        out.errors += errors;
    }
    out.latencies.sort_unstable();
    Ok(out)
}

// === SOAP through the gateway ===

struct Via {
    sender: http1::SendRequest<Full<Bytes>>,
    set: bool,
    flip: bool,
    counter: u64,
}

pub(crate) async fn gateway_worker(
    addr: SocketAddr,
    tls: Arc<rustls::ClientConfig>,
    set: bool,
) -> Result<Box<dyn Worker>, BoxError> {
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let stream = tokio_rustls::TlsConnector::from(tls)
        .connect(ServerName::try_from("localhost")?, tcp)
        .await?;
    let (sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    Ok(Box::new(Via {
        sender,
        set,
        flip: false,
        counter: 0,
    }))
}

impl Worker for Via {
    fn call(
        &mut self,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<bool, BoxError>> + Send + '_>>
    {
        Box::pin(async move {
            self.counter += 1;
            let body = if self.set {
                self.flip = !self.flip;
                format!(
                    r#"<a:setAlertActive xmlns:a="{NS}"><a:alertActive>{}</a:alertActive></a:setAlertActive>"#,
                    self.flip
                )
            } else {
                format!(r#"<a:getAlertConfig xmlns:a="{NS}"/>"#)
            };
            let xml = envelope(self.counter, &body);
            let req = http::Request::post("/aspone/alert")
                .header("host", "localhost")
                .header("content-type", "text/xml; charset=utf-8")
                .header("soapaction", "\"\"")
                .body(Full::new(Bytes::from(xml)))?;
            let resp = self.sender.send_request(req).await?;
            let status = resp.status();
            let body = resp.into_body().collect().await?.to_bytes();
            Ok(status == 200 && body.windows(7).any(|w| w == b"SUCCESS"))
        })
    }
}

/// A request as a portal builds it: fresh 16-byte nonce, Created now, PasswordDigest.
pub(crate) fn envelope(counter: u64, body: &str) -> String {
    let mut nonce = counter.to_le_bytes().to_vec();
    nonce.extend_from_slice(&(jiff::Timestamp::now().as_nanosecond() as u64).to_le_bytes());
    let created = jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S.%3fZ")
        .to_string();
    let mut h = Sha1::new();
    h.update(&nonce);
    h.update(created.as_bytes());
    h.update(SECRET.as_bytes());
    let b64 = base64::engine::general_purpose::STANDARD;
    format!(
        r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:a="{NS}" xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"><soapenv:Header><a:serviceVersion>1.1</a:serviceVersion><a:context><a:user><a:login>{LOGIN}</a:login><a:password>{PASSWORD}</a:password></a:user></a:context><wsse:Security soapenv:mustUnderstand="1"><wsse:UsernameToken><wsse:Username>{PARTNER}</wsse:Username><wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest">{}</wsse:Password><wsse:Nonce EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary">{}</wsse:Nonce><wsu:Created>{created}</wsu:Created></wsse:UsernameToken></wsse:Security></soapenv:Header><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"#,
        b64.encode(h.finalize()),
        b64.encode(&nonce),
    )
}
