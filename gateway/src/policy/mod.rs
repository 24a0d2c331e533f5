//! A route is a stack of policies in front of one handler. The whole stack is [`run`]: one
//! function that reads top to bottom in the order the policies apply, each step one line that
//! calls the policy's own module. A policy a route does not switch on costs nothing.
//!
//! | order | policy | module | refuses with |
//! |---|---|---|---|
//! | 1 | trail: outermost, so that every refusal below is recorded too | [`record`] | 503 when it cannot be written |
//! | 2 | caller authentication: revocation, then the route's client pins | [`authn`] | 401, 403 |
//! | 3 | the route's methods | here | 405 |
//! | 4 | what the headers say: declared size, media type, minimum size | [`crate::body`], [`content`] | 413, 415, 400 |
//! | 5 | the caller's body: size, inactivity and whole-request time as it streams | [`crate::body`] | 413, 408, 400 |
//! | 6 | what the body starts with (`%PDF-`), read ahead before the upstream is called | [`content`] | 415, 400 |
//! | 7 | integrity: the upload's digest, checked as it streams (the upstream request is aborted before its end on a mismatch) | [`digest`] | 400 |
//! | 7b | antivirus: the upload streams to clamd too; its last piece waits for a clean verdict | [`scan`] | 422, 413, 503 |
//! | 8 | the client's daily volume | [`quota`] | 429 |
//! | 9 | the upstream's known health, then a slot at it (bounded queue), last, so a request waits only when nothing else can refuse it | [`crate::health`], [`queue`] | 503 |
//! | 10 | the handler (proxy, adapter, documents) | [`crate::routing`] | 502, 504 |
//! | 11 | on the way out: the download's digest, checked as it streams (cut on a mismatch); the slot is held until the response is sent | [`digest`] | — |
//! | 12 | on the way out: an RFC 3161 timestamp of the answer (`Timestamp-Token`) | [`timestamp`] | 502, 504 (`required`) |
//!
//! Policies return typed errors ([`GatewayError`]); responses are built in one place
//! (`routing::refusal`).

pub(crate) mod authn;
mod content;
pub(crate) mod digest;
mod queue;
mod quota;
pub(crate) mod record;
pub(crate) mod scan;
pub(crate) mod signature;
mod timestamp;

use std::sync::Arc;

use axum::body::Body;
use http::{Request, Response};

use crate::body::{BodyFaultCell, CallerBody};
use crate::problem::GatewayError;
use crate::routing::{RequestContext, Route};
use crate::server::ConnectionInfo;

pub(crate) use queue::Queue;
pub(crate) use quota::Quota;
pub(crate) use record::Witness;

/// The policies a route switched on, built once per (re)load.
#[derive(Default)]
pub(crate) struct Stack {
    pub(crate) quota: Option<Quota>,
    pub(crate) digest: Option<crate::config::DigestSettings>,
    pub(crate) trail: Option<Arc<crate::trail::Trail>>,
    pub(crate) scan: Option<scan::Scanner>,
    pub(crate) content: Option<crate::config::ContentSettings>,
    pub(crate) queue: Option<Arc<Queue>>,
    pub(crate) health: Option<Arc<crate::health::Health>>,
    pub(crate) signature: Option<signature::Signatures>,
    pub(crate) timestamp: Option<timestamp::Timestamper>,
}

pub(crate) use timestamp::Timestamper;

/// The caller's identity as the logs name it (a certificate's CN or a signature's `keyid`),
/// carried out of the stack on the response.
#[derive(Debug, Clone)]
pub(crate) struct Caller(pub(crate) String);

/// Runs one request through the route's stack and handler.
pub(crate) async fn run(
    route: &Route,
    req: Request<crate::body::Draining>,
    conn: &Arc<ConnectionInfo>,
    request_id: &str,
) -> Result<Response<Body>, GatewayError> {
    let mut witness = Witness::new(req.method());
    // 1. The trail is outermost: it records what everything below decided.
    let result = inner(route, req, conn, request_id, &mut witness).await;
    match &route.stack.trail {
        Some(trail) => record::record(trail, route, conn, request_id, witness, result).await,
        None => result,
    }
}

async fn inner(
    route: &Route,
    req: Request<crate::body::Draining>,
    conn: &Arc<ConnectionInfo>,
    request_id: &str,
    witness: &mut Witness,
) -> Result<Response<Body>, GatewayError> {
    let settings = &route.settings;
    // 2. Who is calling: refused before anything is read.
    let mut client_name = authn::check(settings, conn)?;
    // A signed request: its `keyid` is the caller (on top of, or instead of, a certificate).
    let signer = match &route.stack.signature {
        Some(signatures) => Some(signatures.check(&req).await?),
        None => None,
    };
    if let Some(signer) = &signer {
        witness.keyid = Some(signer.keyid.clone());
        client_name.get_or_insert_with(|| signer.keyid.clone());
    }
    // 3. What may be asked.
    if let Some(methods) = &settings.methods
        && !methods.contains(req.method())
    {
        return Err(GatewayError::MethodNotAllowed {
            allowed: methods.clone(),
        });
    }
    // 4. Limits known from the headers: before a byte of the body is read.
    let declared = crate::body::declared_length(req.headers());
    if declared.is_some_and(|n| n > settings.max_body_size) {
        return Err(GatewayError::PayloadTooLarge {
            limit: settings.max_body_size,
        });
    }
    if let Some(content) = &route.stack.content {
        content::check_headers(content, declared, req.headers())?;
    }
    let ctx = RequestContext {
        conn: Arc::clone(conn),
        request_id: request_id.to_owned(),
        route_name: settings.name.clone(),
        client_name,
        authority: req
            .uri()
            .authority()
            .and_then(|a| http::HeaderValue::from_str(a.as_str()).ok()),
        tally: BodyFaultCell::default(),
    };
    let (parts, body) = req.into_parts();
    // 5. The caller's body, bounded as it streams.
    let body = Body::new(CallerBody::new(
        body,
        ctx.body_limits(settings.max_body_size),
        Arc::clone(&ctx.tally),
    ));
    // 6. What the body starts with, read ahead: before the upstream is called.
    let body = match &route.stack.content {
        Some(content) => content::check_start(content, body, &ctx.tally).await?,
        None => body,
    };
    // 7. Integrity of what is uploaded, checked as it streams (always when a signature covers
    // `content-digest`: the signature binds the digest, this binds the body).
    const SIGNED: crate::config::DigestSettings = crate::config::DigestSettings {
        require: true,
        responses: crate::config::ResponseDigest::Off,
    };
    let digest_policy = match (&route.stack.digest, &signer) {
        (Some(d), _) => Some(d),
        (None, Some(s)) if s.covers_digest => Some(&SIGNED),
        (None, _) => None,
    };
    let (body, upload) = match digest_policy {
        Some(d) => digest::request(&parts.headers, body, &ctx.tally, d)?,
        None => (body, None),
    };
    // Antivirus: the upload streams to clamd too; its last piece waits for a clean verdict.
    let body = scan::request(route.stack.scan.as_ref(), &parts, body, &ctx.tally, witness).await?;
    // Before a slot at a queued upstream (a single signing token), the body is read whole,
    // bounded by `max_body_size`: a caller trickling its body must not hold the token while
    // the others wait. Digest and antivirus verdicts are known by then.
    let body = match &route.stack.queue {
        Some(_) => Body::from(
            crate::body::read_whole(body, &ctx.tally)
                .await
                .map_err(|e| signed_digest(e, signer.as_ref()))?,
        ),
        None => body,
    };
    // 8. The client's daily volume: refused before the upstream is called.
    let charge = match &route.stack.quota {
        Some(quota) => Some(
            quota
                .reserve(conn, ctx.client_name.as_deref(), declared)
                .await?,
        ),
        None => None,
    };
    // 9. A slot at the upstream, last: a request waits only once nothing else can refuse it,
    // and never for an upstream its health check knows to be down.
    if route.stack.health.as_ref().is_some_and(|h| !h.is_up()) {
        settle(route, charge, false, &ctx).await;
        return Err(GatewayError::UpstreamDown);
    }
    let slot = match &route.stack.queue {
        Some(queue) => match queue.enter().await {
            Ok(slot) => Some(slot),
            Err(e) => {
                settle(route, charge, false, &ctx).await;
                return Err(e);
            }
        },
        None => None,
    };
    // 10. The handler.
    let result =
        crate::routing::handle_with(route, Request::from_parts(parts, body), &ctx, witness).await;
    witness.upload(&ctx.tally, upload.as_deref());
    // Only what the upstream accepted counts against the client's volume.
    let accepted = matches!(&result, Ok(r) if r.status().is_success());
    settle(route, charge, accepted, &ctx).await;
    let mut response = result.map_err(|e| signed_digest(e, signer.as_ref()))?;
    if let Some(signer) = &signer {
        response
            .extensions_mut()
            .insert(Caller(signer.keyid.clone()));
    }
    // 11. Integrity of what is downloaded; the slot is held until the response is sent whole.
    let response = match &route.stack.digest {
        Some(d) => digest::response(response, d, witness),
        None => response,
    };
    // 12. A timestamp of the answer, obtained before it is sent; the upstream's slot is freed
    // as soon as its answer is read, not held while the TSA answers.
    let (response, slot) = match (&route.stack.timestamp, slot) {
        (Some(stamper), slot) => (stamper.stamp(response, witness, slot).await?, None),
        (None, slot) => (response, slot),
    };
    Ok(match slot {
        Some(slot) => response.map(|b| Body::new(crate::body::Holding::new(b, slot))),
        None => response,
    })
}

/// On a signed route the body's digest is part of the signature: its mismatch is the
/// signature's refusal (401), wherever the body was read.
fn signed_digest(e: GatewayError, signer: Option<&signature::Signer>) -> GatewayError {
    match e {
        GatewayError::DigestMismatch { algorithm } if signer.is_some() => signature::refused(
            "digest_mismatch",
            format!("the body does not match the signed {algorithm} Content-Digest"),
        ),
        other => other,
    }
}

async fn settle(
    route: &Route,
    charge: Option<quota::Charge>,
    accepted: bool,
    ctx: &RequestContext,
) {
    if let (Some(quota), Some(charge)) = (&route.stack.quota, charge) {
        quota.settle(charge, accepted, ctx.tally.seen()).await;
    }
}
