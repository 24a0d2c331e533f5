//! `requests --http2`: `--connections` HTTP/2 connections, each carrying `--streams`
//! concurrent request loops, so connections x streams requests in flight.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, header};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http2;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::sync::Mutex;

use crate::client::{self, Common, Driver, Load, Tally};
use crate::conn::Ctx;
use crate::tls::{Alpn, BoxError};

pub(crate) type Sender = http2::SendRequest<Full<Bytes>>;

/// The current sender of one connection, shared by its loops. The lock is taken only to
/// replace a closed connection, so that its loops reconnect once, not once each.
type Slot = Arc<Mutex<Sender>>;

/// A new HTTP/2 connection. Its task must keep running while the connection is idle: it
/// answers the server's PINGs and SETTINGS. Dropping every sender closes it (GOAWAY).
pub(crate) async fn open(ctx: &Ctx) -> Result<(Sender, Driver), BoxError> {
    let tls = ctx.connect().await?;
    let (sender, conn) = http2::handshake(TokioExecutor::new(), TokioIo::new(tls)).await?;
    Ok((sender, tokio::spawn(conn)))
}

/// Runs the load and prints the report.
pub(crate) async fn requests(common: Common, load: Load) -> Result<(), BoxError> {
    let ctx = Ctx::new(common.endpoint, Alpn::H2)?;
    let body = Bytes::from(vec![b'x'; load.body_size]);
    // Connect everything first: handshakes are not part of this figure, and a server without
    // HTTP/2 fails the run here, before any measurement.
    let mut slots = Vec::with_capacity(load.connections);
    for _ in 0..load.connections.max(1) {
        slots.push(Arc::new(Mutex::new(open(&ctx).await?.0)));
    }
    let begin = Instant::now() + load.warmup;
    let end = begin + common.duration;
    let mut handles = Vec::with_capacity(slots.len() * load.streams.max(1));
    for slot in &slots {
        for _ in 0..load.streams.max(1) {
            let (ctx, slot, body) = (Arc::clone(&ctx), Arc::clone(slot), body.clone());
            handles.push(tokio::spawn(request_loop(ctx, slot, body, begin, end)));
        }
    }
    let mut total = Tally::default();
    for h in handles {
        total.merge(h.await?);
    }
    client::report_requests(&ctx, &load, total, begin, end);
    Ok(())
}

async fn request_loop(
    ctx: Arc<Ctx>,
    slot: Slot,
    body: Bytes,
    begin: Instant,
    end: Instant,
) -> Tally {
    let mut tally = Tally::default();
    let mut sender = slot.lock().await.clone();
    loop {
        let t = Instant::now();
        if t >= end {
            break;
        }
        match post(&ctx, &mut sender, body.clone()).await {
            Ok(()) => tally.done(t, begin),
            Err(e) => {
                tally.rec.err(e);
                // A failed stream (an error status, a reset) leaves the connection usable.
                if sender.is_closed() {
                    sender = reconnect(&ctx, &slot, &mut tally).await;
                }
            }
        }
    }
    tally
}

/// The slot's sender, after replacing it if it is closed (unless another loop already did).
async fn reconnect(ctx: &Ctx, slot: &Slot, tally: &mut Tally) -> Sender {
    let mut current = slot.lock().await;
    if current.is_closed() {
        match open(ctx).await {
            Ok((fresh, _)) => {
                *current = fresh;
                tally.reconnects += 1;
            }
            Err(e) => {
                tally.rec.err(e);
                // The next request fails at once on the closed sender and retries.
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
    current.clone()
}

async fn post(ctx: &Ctx, sender: &mut Sender, body: Bytes) -> Result<(), BoxError> {
    sender.ready().await?;
    let req = Request::post(ctx.uri())
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .body(Full::new(body))?;
    let resp = sender.send_request(req).await?;
    let status = resp.status();
    resp.into_body().collect().await?;
    client::check(status)
}
