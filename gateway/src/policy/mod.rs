//! A route is a stack of policies in front of one handler. The whole stack is [`run`]: one
//! function that reads top to bottom in the order the policies apply, each step one line that
//! calls the policy's own module. A policy a route does not switch on costs nothing.
//!
//! | order | policy | module | refuses with |
//! |---|---|---|---|
//! | 1 | trail: outermost, so that every refusal below is recorded too | [`record`] | 503 when it cannot be written |
//! | 2 | caller authentication: revocation, then the route's client pins | [`authn`] | 401, 403 |
//! | 3 | the route's methods | here | 405 |
//! | 4 | limits: declared size, then the client's daily volume | [`crate::body`], [`quota`] | 413, 429 |
//! | 5 | the caller's body: size, inactivity and whole-request time as it streams | [`crate::body`] | 413, 408, 400 |
//! | 6 | integrity: the upload's digest, checked as it streams (the upstream request is aborted before its end on a mismatch) | [`digest`] | 400 |
//! | 7 | the handler (proxy, adapter, documents) | [`crate::routing`] | 502, 504 |
//! | 8 | on the way out: the download's digest, checked as it streams (the stream is cut on a mismatch) | [`digest`] | — |
//!
//! Policies return typed errors ([`GatewayError`]); responses are built in one place
//! (`routing::refusal`).

pub(crate) mod authn;
pub(crate) mod digest;
mod quota;
pub(crate) mod record;

use std::sync::Arc;

use axum::body::Body;
use http::{Request, Response};
use hyper::body::Incoming;

use crate::body::{BodyFaultCell, CallerBody};
use crate::problem::GatewayError;
use crate::routing::{RequestContext, Route};
use crate::server::ConnectionInfo;

pub(crate) use quota::Quota;
pub(crate) use record::Witness;

/// The policies a route switched on, built once per (re)load.
#[derive(Default)]
pub(crate) struct Stack {
    pub(crate) quota: Option<Quota>,
    pub(crate) digest: Option<crate::config::DigestSettings>,
    pub(crate) trail: Option<Arc<crate::trail::Trail>>,
}

/// Runs one request through the route's stack and handler.
pub(crate) async fn run(
    route: &Route,
    req: Request<Incoming>,
    conn: &Arc<ConnectionInfo>,
    request_id: &str,
) -> Result<Response<Body>, GatewayError> {
    let mut witness = Witness::new(req.method(), req.uri().path());
    // 1. The trail is outermost: it records what everything below decided.
    let result = inner(route, req, conn, request_id, &mut witness).await;
    match &route.stack.trail {
        Some(trail) => record::record(trail, route, conn, request_id, witness, result).await,
        None => result,
    }
}

async fn inner(
    route: &Route,
    req: Request<Incoming>,
    conn: &Arc<ConnectionInfo>,
    request_id: &str,
    witness: &mut Witness,
) -> Result<Response<Body>, GatewayError> {
    let settings = &route.settings;
    // 2. Who is calling: refused before anything is read.
    let client_name = authn::check(settings, conn)?;
    // 3. What may be asked.
    if let Some(methods) = &settings.methods
        && !methods.contains(req.method())
    {
        return Err(GatewayError::MethodNotAllowed {
            allowed: methods.clone(),
        });
    }
    // 4. Limits known from the headers: before the upstream is called.
    crate::body::check_declared_length(req.headers(), settings.max_body_size)?;
    let declared = crate::body::declared_length(req.headers());
    let charge = match &route.stack.quota {
        Some(quota) => Some(
            quota
                .reserve(conn, client_name.as_deref(), declared)
                .await?,
        ),
        None => None,
    };
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
    let body = CallerBody::new(
        body,
        ctx.body_limits(settings.max_body_size),
        Arc::clone(&ctx.tally),
    );
    // 6. Integrity of what is uploaded.
    let (body, upload) = match &route.stack.digest {
        Some(d) => digest::request(&parts.headers, body, &ctx.tally, d)?,
        None => (Body::new(body), None),
    };
    // 7. The handler.
    let result =
        crate::routing::handle_with(route, Request::from_parts(parts, body), &ctx, witness).await;
    witness.upload(&ctx.tally, upload.as_deref());
    if let (Some(quota), Some(charge)) = (&route.stack.quota, charge) {
        // Only what the upstream accepted counts against the client's volume.
        let accepted = matches!(&result, Ok(r) if r.status().is_success());
        quota.settle(charge, accepted, ctx.tally.seen()).await;
    }
    // 8. Integrity of what is downloaded.
    let response = result?;
    Ok(match &route.stack.digest {
        Some(d) => digest::response(response, d, witness),
        None => response,
    })
}
