//! The `documents` handler: the streaming proxy, plus what only a document exchange knows,
//! which the trail records: the action (upload, download, list, delete) and the document's id.
//! Everything else a document route does (digests, limits, quota, trail) is a route policy any
//! route can switch on.
//!
//! The core's paths (`docs/openapi/documents.yaml`): `/exchanges/{exchange}/documents` (list,
//! create) and `/exchanges/{exchange}/documents/{id}` (read, replace, delete), under the route's
//! prefix. The id of a created document comes from the core's `Location`.

use axum::body::Body;
use http::{Method, Request, Response};
use integrity::Action;

use crate::policy::Witness;
use crate::problem::GatewayError;
use crate::proxy::{self, Upstream};
use crate::routing::{RequestContext, Route};

/// Forwards one exchange and notes its action and document for the trail.
pub(crate) async fn forward(
    req: Request<Body>,
    route: &Route,
    upstream: &Upstream,
    ctx: &RequestContext,
    witness: &mut Witness,
) -> Result<Response<Body>, GatewayError> {
    let (action, document) = classify(req.method(), req.uri().path());
    witness.action = action;
    witness.document_id = document;
    let response = proxy::forward(req, route, upstream, ctx).await?;
    if witness.document_id.is_none()
        && let Some(location) = response.headers().get(http::header::LOCATION)
    {
        witness.document_id = location
            .to_str()
            .ok()
            .and_then(|l| document_id(l.split('?').next().unwrap_or(l)));
    }
    Ok(response)
}

/// The action a request asks for, and the document it names (if any).
fn classify(method: &Method, path: &str) -> (Action, Option<String>) {
    let document = document_id(path);
    let action = match (method, document.is_some()) {
        (&Method::GET | &Method::HEAD, true) => Action::Download,
        (&Method::GET | &Method::HEAD, false) => Action::List,
        (&Method::POST | &Method::PUT, _) => Action::Upload,
        (&Method::DELETE, true) => Action::Delete,
        _ => Action::Other,
    };
    (action, document)
}

/// The segment after `/documents/`, when it is a plausible id (the core's syntax).
fn document_id(path: &str) -> Option<String> {
    let (_, rest) = path.rsplit_once("/documents/")?;
    let id = rest.trim_end_matches('/');
    let plausible = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    plausible.then(|| id.to_owned())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn actions_and_documents_come_from_method_and_path() {
        let p = "/documents/exchanges/ex-1/documents";
        assert_eq!(classify(&Method::GET, p), (Action::List, None));
        assert_eq!(classify(&Method::POST, p), (Action::Upload, None));
        let d = "/documents/exchanges/ex-1/documents/abc123";
        let id = Some("abc123".to_owned());
        assert_eq!(classify(&Method::GET, d), (Action::Download, id.clone()));
        assert_eq!(classify(&Method::PUT, d), (Action::Upload, id.clone()));
        assert_eq!(classify(&Method::DELETE, d), (Action::Delete, id));
        assert_eq!(document_id("/x/documents/a%2Fb"), None);
    }
}
