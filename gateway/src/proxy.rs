//! The streaming reverse proxy handler.
//!
//! Bodies are never buffered: the request body streams to the upstream through a size limiter,
//! the response body streams back. Identity headers are the gateway's own (see
//! [`crate::headers`]); whatever the caller sent under those names is dropped.

use axum::body::Body;
use http::{Request, Response, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::config::UpstreamSettings;
use crate::headers;
use crate::problem::GatewayError;
use crate::routing::{RequestContext, Route};

/// An upstream with its connection pool.
pub(crate) struct Upstream {
    pub(crate) settings: UpstreamSettings,
    client: Client<HttpConnector, Body>,
}

impl Upstream {
    pub(crate) fn new(settings: UpstreamSettings) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(settings.connect_timeout));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(settings.max_idle_per_host)
            .pool_idle_timeout(settings.idle_timeout)
            .build(connector);
        Self { settings, client }
    }
}

/// Forwards one request (its body already bounded by the route's policies).
pub(crate) async fn forward(
    req: Request<Body>,
    route: &Route,
    upstream: &Upstream,
    ctx: &RequestContext,
) -> Result<Response<Body>, GatewayError> {
    let (mut parts, body) = req.into_parts();
    parts.uri = upstream_uri(&upstream.settings.url, &route.settings, &parts.uri)?;
    // The upstream side speaks HTTP/1.1 whatever the caller spoke.
    parts.version = http::Version::HTTP_11;
    headers::prepare_request(&mut parts.headers, ctx, &route.settings.headers);
    let request = Request::from_parts(parts, body);

    let name = &upstream.settings.name;
    let sent = tokio::time::timeout(route.settings.timeout, upstream.client.request(request)).await;
    // A body the caller broke makes the upstream request fail too: that is the caller's fault.
    if let Some(fault) = ctx.tally.fault() {
        return Err(fault.clone().into());
    }
    let response = match sent {
        Err(_) => {
            return Err(GatewayError::UpstreamTimeout {
                upstream: name.clone(),
                after: route.settings.timeout,
            });
        }
        Ok(Err(e)) => {
            return Err(classify(name, upstream.settings.connect_timeout, &e));
        }
        Ok(Ok(response)) => response,
    };
    let (mut parts, body) = response.into_parts();
    headers::prepare_response(&mut parts.headers);
    if route.settings.strip_prefix {
        restore_prefix(&mut parts.headers, &route.settings.path_prefix);
    }
    let watched = Truncation {
        inner: body,
        upstream: name.clone(),
        request_id: ctx.request_id.clone(),
    };
    Ok(Response::from_parts(parts, Body::new(watched)))
}

pin_project_lite::pin_project! {
    /// The upstream's response body, passed through; when it fails mid-stream (the upstream
    /// closed early) the failure is counted and logged: the access line already said 200.
    struct Truncation<B> {
        #[pin]
        inner: B,
        upstream: String,
        request_id: String,
    }
}

impl<B> http_body::Body for Truncation<B>
where
    B: http_body::Body,
    B::Error: std::fmt::Display,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let polled = this.inner.poll_frame(cx);
        if let std::task::Poll::Ready(Some(Err(e))) = &polled {
            metrics::counter!("gateway_upstream_errors_total",
                "upstream" => this.upstream.clone(), "kind" => "truncated")
            .increment(1);
            tracing::warn!(upstream = %this.upstream, request_id = %this.request_id, error = %e,
                "the upstream's response ended before its end; the caller got a truncated body");
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// A route that strips its prefix on the way in puts it back in the upstream's `Location`
/// (an absolute path such as `/exchanges/e/documents/1`), so that the caller can follow it
/// through the gateway.
fn restore_prefix(headers: &mut http::HeaderMap, prefix: &str) {
    let Some(location) = headers
        .get(http::header::LOCATION)
        .and_then(|v| v.to_str().ok())
    else {
        return;
    };
    if !location.starts_with('/') || location.starts_with("//") {
        return;
    }
    let restored = format!("{}{location}", prefix.trim_end_matches('/'));
    if let Ok(v) = http::HeaderValue::from_str(&restored) {
        headers.insert(http::header::LOCATION, v);
    }
}

/// An upstream request that failed before any answer: 504 when the connection timed out, else
/// 502 with the whole error chain for the log. Shared by the proxy and outbound routes.
pub(crate) fn classify(
    name: &str,
    connect_timeout: std::time::Duration,
    err: &hyper_util::client::legacy::Error,
) -> GatewayError {
    let timed_out = error_chain(err).any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
    });
    if err.is_connect() && timed_out {
        return GatewayError::UpstreamTimeout {
            upstream: name.to_owned(),
            after: connect_timeout,
        };
    }
    let reason = error_chain(err)
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ");
    GatewayError::UpstreamUnavailable {
        upstream: name.to_owned(),
        reason,
    }
}

fn error_chain<'a>(
    err: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(err), |e| e.source())
}

/// The upstream URI: the upstream's base path, then the request path (without the route prefix
/// when `strip_prefix` is set), then the query untouched.
pub(crate) fn upstream_uri(
    base: &Uri,
    route: &crate::config::RouteSettings,
    incoming: &Uri,
) -> Result<Uri, GatewayError> {
    let path = incoming.path();
    let rest = if route.strip_prefix {
        path.strip_prefix(route.path_prefix.trim_end_matches('/'))
            .unwrap_or(path)
    } else {
        path
    };
    let mut target = base.path().trim_end_matches('/').to_owned();
    if !rest.starts_with('/') {
        target.push('/');
    }
    target.push_str(rest);
    if let Some(q) = incoming.query() {
        target.push('?');
        target.push_str(q);
    }
    let mut parts = base.clone().into_parts();
    parts.path_and_query = Some(
        target
            .parse()
            .map_err(|e| GatewayError::Internal(format!("bad upstream path: {e}")))?,
    );
    Uri::from_parts(parts).map_err(|e| GatewayError::Internal(format!("bad upstream URI: {e}")))
}
