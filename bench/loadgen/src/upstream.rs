//! A minimal HTTP/1.1 upstream that reads the whole request body before answering.
//!
//! Answering before the body is read makes proxies see a half-consumed request and drop the
//! upstream connection (no keep-alive reuse), which would distort the 100 KiB figures.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http::{Request, Response, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::tls::BoxError;

/// Serves until killed.
pub(crate) async fn serve(bind: SocketAddr) -> Result<(), BoxError> {
    let listener = TcpListener::bind(bind).await?;
    loop {
        let (tcp, _) = match listener.accept().await {
            Ok(x) => x,
            Err(_) => continue,
        };
        // Best effort: a failure only costs latency.
        let _ = tcp.set_nodelay(true);
        tokio::spawn(async move {
            let service = service_fn(handle);
            let _ = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(tcp), service)
                .await;
        });
    }
}

async fn handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (code, body) = match req.into_body().collect().await {
        Ok(b) => (200, format!("ok {}\n", b.to_bytes().len())),
        Err(_) => (400, "body read failed\n".to_owned()),
    };
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = http::StatusCode::from_u16(code).unwrap_or(http::StatusCode::OK);
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain"),
    );
    Ok(resp)
}
