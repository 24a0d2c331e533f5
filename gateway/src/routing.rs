//! Matching a request to a route, enforcing the route's client policy, and dispatching to its
//! handler. One access-log line and the request metrics are written here for every request.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use http::{HeaderValue, Request, Response};

use crate::config::{RouteSettings, Settings};
use crate::problem::GatewayError;
use crate::proxy::{self, Upstream};
use crate::server::ConnectionInfo;
use crate::{adapter, headers, telemetry};

/// What a handler knows about the request besides the request itself.
pub(crate) struct RequestContext {
    pub(crate) conn: Arc<ConnectionInfo>,
    pub(crate) request_id: String,
    pub(crate) route_name: String,
    pub(crate) client_name: Option<String>,
    pub(crate) authority: Option<HeaderValue>,
    /// What the caller's body did (its fault, its size), shared with the policies.
    pub(crate) tally: crate::body::BodyFaultCell,
}

impl RequestContext {
    /// The limits the caller's body is read under: the route's size, the listener's timeouts.
    pub(crate) fn body_limits(&self, max_size: u64) -> crate::body::BodyLimits {
        crate::body::BodyLimits {
            max_size,
            inactivity: self.conn.timeouts.request_body,
            total: self.conn.timeouts.request,
        }
    }
}

/// A route with its handler built.
pub(crate) struct Route {
    pub(crate) settings: RouteSettings,
    /// The policies in front of the handler (see [`crate::policy`]).
    pub(crate) stack: crate::policy::Stack,
    handler: Handler,
}

enum Handler {
    Proxy(Arc<Upstream>),
    /// The proxy, naming each exchange's action and document for the trail.
    Documents(Arc<Upstream>),
    /// An external HTTPS partner with a client identity.
    Outbound(Arc<crate::outbound::Outbound>),
    /// A dialect adapter: it gets the whole (size-limited) body and answers in its dialect.
    Adapter(Arc<dyn adapters::Adapter>),
}

/// What lives as long as the gateway, across reloads: trails (one writer per file) and upstream
/// queues (a slot taken before a reload must count after it).
#[derive(Default)]
pub(crate) struct Shared {
    pub(crate) trails: HashMap<String, Arc<crate::trail::Trail>>,
    pub(crate) queues: HashMap<String, Arc<crate::policy::Queue>>,
    pub(crate) health: HashMap<String, Arc<crate::health::Health>>,
    /// Set once a shutdown signal starts the drain: answers then ask HTTP/1.1 clients to close
    /// (`Connection: close`), so that their next request opens a connection the load balancer
    /// sends to another instance.
    pub(crate) draining: Arc<std::sync::atomic::AtomicBool>,
}

/// Everything a reload replaces at once: routes per listener and upstream pools.
pub(crate) struct Runtime {
    tables: HashMap<String, Vec<Arc<Route>>>,
    draining: Arc<std::sync::atomic::AtomicBool>,
}

// === impl Runtime ===

impl Runtime {
    /// Builds every route's handler.
    ///
    /// # Errors
    /// When an adapter cannot be built from its (validated) settings, e.g. an outbound client
    /// certificate that no longer loads.
    pub(crate) fn build(
        settings: &Settings,
        deps: &adapters::Deps,
        shared: &Shared,
    ) -> Result<Self, adapters::BuildError> {
        let upstreams: BTreeMap<String, Arc<Upstream>> = settings
            .upstreams
            .iter()
            .map(|(name, u)| (name.clone(), Arc::new(Upstream::new(u.clone()))))
            .collect();
        let mut tables: HashMap<String, Vec<Arc<Route>>> = HashMap::new();
        for route in &settings.routes {
            // Validation guarantees adapter routes carry their settings and proxy routes an
            // existing upstream.
            let handler = match (&route.adapter, &route.outbound) {
                (_, Some(outbound)) => Handler::Outbound(Arc::new(
                    crate::outbound::Outbound::build(outbound, &route.name)?,
                )),
                (Some(adapter), None) => {
                    Handler::Adapter(adapter.build(deps).map_err(|e| adapters::BuildError {
                        key: format!("route `{}`: {}", route.name, e.key),
                        reason: e.reason,
                    })?)
                }
                (None, None) => {
                    let Some(upstream) = route.upstream.as_ref().and_then(|u| upstreams.get(u))
                    else {
                        continue;
                    };
                    if route.handler == crate::config::HandlerKind::Documents {
                        Handler::Documents(Arc::clone(upstream))
                    } else {
                        Handler::Proxy(Arc::clone(upstream))
                    }
                }
            };
            let stack = crate::policy::Stack {
                quota: route
                    .quota
                    .clone()
                    .map(|q| crate::policy::Quota::new(q, &route.name, Arc::clone(&deps.store))),
                digest: route.digest,
                // Validation guarantees the trail exists.
                trail: route
                    .trail
                    .as_ref()
                    .and_then(|t| shared.trails.get(t))
                    .cloned(),
                scan: route
                    .scan
                    .clone()
                    .map(|s| crate::policy::scan::Scanner::new(s, &route.name)),
                content: route.content.clone(),
                queue: route
                    .upstream
                    .as_ref()
                    .and_then(|u| shared.queues.get(u))
                    .cloned(),
                health: route
                    .upstream
                    .as_ref()
                    .and_then(|u| shared.health.get(u))
                    .cloned(),
                timestamp: route.timestamp.clone().map(crate::policy::Timestamper::new),
                signature: route.signature.as_ref().map(|s| {
                    crate::policy::signature::Signatures::new(
                        s,
                        &route.name,
                        Arc::clone(&deps.store),
                    )
                }),
            };
            tables
                .entry(route.listener.clone())
                .or_default()
                .push(Arc::new(Route {
                    settings: route.clone(),
                    stack,
                    handler,
                }));
        }
        // Longest prefix first, so `/sas/fhir/` wins over `/sas/`.
        for routes in tables.values_mut() {
            routes.sort_by_key(|r| std::cmp::Reverse(r.settings.path_prefix.len()));
        }
        Ok(Self {
            tables,
            draining: Arc::clone(&shared.draining),
        })
    }

    fn find(&self, listener: &str, path: &str) -> Option<&Arc<Route>> {
        self.tables
            .get(listener)?
            .iter()
            .find(|r| prefix_matches(&r.settings.path_prefix, path))
    }
}

/// A prefix matches on segment boundaries: `/sas` matches `/sas` and `/sas/x`, not `/sasx`.
fn prefix_matches(prefix: &str, path: &str) -> bool {
    match path.strip_prefix(prefix) {
        Some(rest) => prefix.ends_with('/') || rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

/// Handles one request of a connection.
pub(crate) async fn handle(
    runtime: Arc<Runtime>,
    conn: Arc<ConnectionInfo>,
    req: Request<crate::body::Draining>,
) -> Response<Body> {
    let started = Instant::now();
    let request_id = headers::request_id(req.headers());
    let method = req.method().clone();
    let version = req.version();
    let path = req.uri().path().to_owned();
    // Matched and forwarded in canonical form: what the route's policy saw is what the
    // upstream gets (see `path`).
    let (route, result) = match canonical(req) {
        Err(e) => (None, Err(e)),
        Ok(req) => match runtime.find(&conn.listener, req.uri().path()).cloned() {
            None => (None, Err(GatewayError::RouteNotFound)),
            Some(route) => {
                let result = dispatch(&route, req, &conn, &request_id).await;
                (Some(route), result)
            }
        },
    };
    let route_name = route
        .as_ref()
        .map_or_else(|| "(none)".to_owned(), |r| r.settings.name.clone());
    let (mut response, error) = match result {
        Ok(response) => (response, None),
        Err(e) => (refusal(route.as_deref(), &e, &request_id), Some(e)),
    };
    let mut id = headers::encode(&request_id);
    // Unique to this response: HPACK (HTTP/2) would add it to the connection's table, where it is
    // never used again and evicts entries that are. Sent as a never-indexed literal instead;
    // HTTP/1.1 ignores the flag.
    id.set_sensitive(true);
    response.headers_mut().insert("x-request-id", id);
    if version == http::Version::HTTP_11
        && runtime.draining.load(std::sync::atomic::Ordering::Relaxed)
    {
        response.headers_mut().insert(
            http::header::CONNECTION,
            http::HeaderValue::from_static("close"),
        );
    }
    telemetry::record_request(&telemetry::AccessRecord {
        listener: &conn.listener,
        route: &route_name,
        method: method.as_str(),
        path: &path,
        status: response.status().as_u16(),
        elapsed: started.elapsed(),
        request_id: &request_id,
        client_cn: response
            .extensions()
            .get::<crate::policy::Caller>()
            .map(|c| c.0.as_str())
            .or_else(|| conn.identity.as_ref().and_then(|i| i.cn.as_deref())),
        peer: conn.peer,
        error: error.as_ref(),
    });
    response
}

/// The request with its path made canonical, or the reason it cannot be.
fn canonical(
    req: Request<crate::body::Draining>,
) -> Result<Request<crate::body::Draining>, GatewayError> {
    // hyper decodes `chunked` only: any other transfer coding (`gzip, chunked`) would reach the
    // upstream as undecoded bytes without its header (RFC 9112 §6.1: 501).
    let other_coding = req
        .headers()
        .get_all(http::header::TRANSFER_ENCODING)
        .iter()
        .flat_map(|v| v.to_str().unwrap_or("?").split(','))
        .any(|coding| !coding.trim().eq_ignore_ascii_case("chunked"));
    if other_coding {
        return Err(GatewayError::TransferCoding);
    }
    let normalized = match crate::path::normalize(req.uri().path()) {
        Err(reason) => return Err(GatewayError::BadPath(reason)),
        Ok(std::borrow::Cow::Borrowed(_)) => return Ok(req),
        Ok(std::borrow::Cow::Owned(path)) => path,
    };
    let (mut parts, body) = req.into_parts();
    if let Some(sent) = parts.uri.path_and_query() {
        let sent = crate::policy::signature::OriginalTarget(sent.as_str().to_owned());
        parts.extensions.insert(sent);
    }
    let path_and_query = match parts.uri.query() {
        Some(q) => format!("{normalized}?{q}"),
        None => normalized,
    };
    let mut uri = parts.uri.into_parts();
    uri.path_and_query = Some(
        path_and_query
            .parse()
            .map_err(|_| GatewayError::BadPath("the path is not valid once normalised"))?,
    );
    parts.uri =
        http::Uri::from_parts(uri).map_err(|_| GatewayError::BadPath("the path is not valid"))?;
    Ok(Request::from_parts(parts, body))
}

/// The gateway's own refusal: in the route adapter's dialect when it renders one, otherwise
/// problem+json.
fn refusal(route: Option<&Route>, e: &GatewayError, request_id: &str) -> Response<Body> {
    if let Some(Route {
        handler: Handler::Adapter(adapter),
        ..
    }) = route
    {
        let detail = e.public_detail();
        let rendered = adapter.render_refusal(&adapters::Refusal {
            status: e.status(),
            detail: &detail,
        });
        if let Some(response) = rendered {
            return response.map(Body::from);
        }
    }
    e.to_response(request_id)
}

async fn dispatch(
    route: &Route,
    req: Request<crate::body::Draining>,
    conn: &Arc<ConnectionInfo>,
    request_id: &str,
) -> Result<Response<Body>, GatewayError> {
    crate::policy::run(route, req, conn, request_id).await
}

/// The route's handler, once every policy in front of it let the request through.
pub(crate) async fn handle_with(
    route: &Route,
    req: Request<Body>,
    ctx: &RequestContext,
    witness: &mut crate::policy::Witness,
) -> Result<Response<Body>, GatewayError> {
    match &route.handler {
        Handler::Proxy(upstream) => proxy::forward(req, route, upstream, ctx).await,
        Handler::Documents(upstream) => {
            crate::documents::forward(req, route, upstream, ctx, witness).await
        }
        Handler::Adapter(adapter) => adapter::call(adapter.as_ref(), req, route, ctx).await,
        Handler::Outbound(outbound) => crate::outbound::forward(req, route, outbound, ctx).await,
    }
}

#[cfg(test)]
mod tests {
    use super::prefix_matches;

    #[test]
    fn prefixes_match_on_segments() {
        assert!(prefix_matches("/sas", "/sas"));
        assert!(prefix_matches("/sas", "/sas/Slot"));
        assert!(!prefix_matches("/sas", "/sasx"));
        assert!(prefix_matches("/sas/", "/sas/Slot"));
        assert!(!prefix_matches("/sas/", "/sas"));
        assert!(prefix_matches("/", "/anything"));
    }
}
