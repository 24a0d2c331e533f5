//! Calling a dialect adapter: the body is read whole (adapters parse SOAP and FHIR documents,
//! which are small and bounded by the route's `max_body_size`), and the adapter's answer is sent
//! as it is, since adapters map their own errors to their dialect.

use axum::body::Body;
use bytes::Bytes;
use http::{Request, Response, header};

use crate::problem::GatewayError;
use crate::routing::{RequestContext, Route};

/// Reads the body (bounded by the route's policies) and hands the request to the adapter.
pub(crate) async fn call(
    adapter: &dyn adapters::Adapter,
    req: Request<Body>,
    route: &Route,
    ctx: &RequestContext,
) -> Result<Response<Body>, GatewayError> {
    let origin = origin(req.uri(), req.headers());
    let (parts, body) = req.into_parts();
    let body: Bytes = crate::body::read_whole(body, &ctx.tally).await?;
    let call = adapters::CallContext {
        request_id: ctx.request_id.clone(),
        route_name: route.settings.name.clone(),
        route_prefix: route.settings.path_prefix.trim_end_matches('/').to_owned(),
        origin,
        client_name: ctx.client_name.clone(),
        identity: ctx.conn.identity.clone(),
    };
    let response = adapter
        .handle(Request::from_parts(parts, body), &call)
        .await;
    Ok(response.map(Body::from))
}

/// `https://host[:port]` as the caller addressed the gateway: the HTTP/2 authority, else the
/// Host header. Adapters put it in addresses they publish (WSDL endpoint, FHIR links).
fn origin(uri: &http::Uri, headers: &http::HeaderMap) -> String {
    let host = uri
        .authority()
        .map(|a| a.as_str().to_owned())
        .or_else(|| {
            headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_owned)
        })
        // The value is echoed into documents: anything but a host name or address is dropped.
        .filter(|h| {
            h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        // HTTP/1.1 requires Host, so this only serves HTTP/1.0 callers.
        .unwrap_or_else(|| "localhost".to_owned());
    format!("https://{host}")
}

#[cfg(test)]
mod tests {
    use super::origin;

    fn with_host(host: &str) -> String {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::HOST,
            http::HeaderValue::from_str(host).expect("header value"),
        );
        origin(&http::Uri::from_static("/aspone/alert?wsdl"), &headers)
    }

    #[test]
    fn origin_comes_from_the_authority_then_the_host_header() {
        let uri = http::Uri::from_static("https://gw.example:8443/x");
        assert_eq!(
            origin(&uri, &http::HeaderMap::new()),
            "https://gw.example:8443"
        );
        assert_eq!(with_host("gw.example:8443"), "https://gw.example:8443");
        assert_eq!(with_host("[::1]:8443"), "https://[::1]:8443");
    }

    #[test]
    fn a_host_header_that_is_not_a_host_is_not_echoed() {
        assert_eq!(with_host("evil\"><x"), "https://localhost");
        assert_eq!(with_host("a/b"), "https://localhost");
    }
}
