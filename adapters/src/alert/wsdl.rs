//! The published contract: `wsdl/alert.wsdl` and `wsdl/alert.xsd`, embedded at build time.
//!
//! `GET <route>?wsdl` answers the WSDL with the schema inlined (a client then needs one
//! request, through the same mTLS connection) and the endpoint address of the route it was
//! asked on; `GET <route>?xsd=alert.xsd` answers the schema alone.

use bytes::Bytes;
use http::{Response, StatusCode, header};

use crate::alert::config::DEFAULT_NAMESPACE;

const WSDL: &str = include_str!("../../../wsdl/alert.wsdl");
const XSD: &str = include_str!("../../../wsdl/alert.xsd");
/// The address written in the file, replaced by the route's address when served.
const PLACEHOLDER_ADDRESS: &str = "https://gateway.invalid/aspone/alert";

/// The documents with the route's namespace, split around the endpoint address.
#[derive(Debug)]
pub(crate) struct Documents {
    wsdl_head: String,
    wsdl_tail: String,
    xsd: Bytes,
}

impl Documents {
    pub(crate) fn new(namespace: &str) -> Self {
        let schema = XSD.split_once("?>").map_or(XSD, |(_, rest)| rest).trim();
        // The file's `<xsd:schema>` that imports alert.xsd becomes the schema itself.
        let wsdl = match (WSDL.find("<xsd:schema>"), WSDL.find("</xsd:schema>")) {
            (Some(start), Some(end)) if start < end => {
                format!(
                    "{}{schema}{}",
                    &WSDL[..start],
                    &WSDL[end + "</xsd:schema>".len()..]
                )
            }
            _ => WSDL.to_owned(),
        };
        let mut escaped = String::new();
        soap::push_attr(&mut escaped, namespace);
        let wsdl = wsdl.replace(DEFAULT_NAMESPACE, &escaped);
        let (head, tail) = wsdl
            .split_once(PLACEHOLDER_ADDRESS)
            .map_or((wsdl.as_str(), ""), |(h, t)| (h, t));
        Self {
            wsdl_head: head.to_owned(),
            wsdl_tail: tail.to_owned(),
            xsd: Bytes::from(XSD.replace(DEFAULT_NAMESPACE, &escaped)),
        }
    }

    /// The WSDL whose endpoint is `address` (origin + route prefix).
    pub(crate) fn wsdl(&self, address: &str) -> Response<Bytes> {
        let mut out = String::with_capacity(self.wsdl_head.len() + self.wsdl_tail.len() + 128);
        out.push_str(&self.wsdl_head);
        soap::push_attr(&mut out, address);
        out.push_str(&self.wsdl_tail);
        xml(Bytes::from(out))
    }

    /// The schema.
    pub(crate) fn xsd(&self) -> Response<Bytes> {
        xml(self.xsd.clone())
    }
}

/// What a GET query asks for.
pub(crate) enum Asked {
    Wsdl,
    Xsd,
    Nothing,
}

pub(crate) fn asked(query: Option<&str>) -> Asked {
    match query {
        Some(q) if q.eq_ignore_ascii_case("wsdl") || q.eq_ignore_ascii_case("wsdl=") => Asked::Wsdl,
        Some("xsd=alert.xsd" | "xsd=1") => Asked::Xsd,
        _ => Asked::Nothing,
    }
}

fn xml(body: Bytes) -> Response<Bytes> {
    let mut r = Response::new(body);
    *r.status_mut() = StatusCode::OK;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/xml; charset=utf-8"),
    );
    r
}
