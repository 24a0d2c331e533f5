//! The published contract: `wsdl/alert.wsdl` and `wsdl/alert.xsd`, embedded at build time.
//!
//! `GET <route>?wsdl` answers the WSDL with the schema inlined (a client then needs one
//! request, through the same mTLS connection) and the endpoint address of the route it was
//! asked on, in both ports (`AlertPort`, SOAP 1.1, and `AlertSoap12Port`, SOAP 1.2);
//! `GET <route>?xsd=alert.xsd` answers the schema alone.

use bytes::Bytes;
use http::{Response, StatusCode, header};

use crate::alert::config::DEFAULT_NAMESPACE;

const WSDL: &str = include_str!("../../../wsdl/alert.wsdl");
const XSD: &str = include_str!("../../../wsdl/alert.xsd");
/// The address written in the file (once per port), replaced by the route's address when
/// served.
const PLACEHOLDER_ADDRESS: &str = "https://gateway.invalid/aspone/alert";

/// The documents with the route's namespace, the WSDL split around its endpoint addresses.
#[derive(Debug)]
pub(crate) struct Documents {
    /// The WSDL's text between the addresses (one more piece than addresses).
    wsdl_pieces: Vec<String>,
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
        Self {
            wsdl_pieces: wsdl.split(PLACEHOLDER_ADDRESS).map(str::to_owned).collect(),
            xsd: Bytes::from(XSD.replace(DEFAULT_NAMESPACE, &escaped)),
        }
    }

    /// The WSDL whose endpoints (every port's) are `address` (origin + route prefix).
    pub(crate) fn wsdl(&self, address: &str) -> Response<Bytes> {
        let len: usize = self.wsdl_pieces.iter().map(String::len).sum();
        let mut out = String::with_capacity(len + self.wsdl_pieces.len() * (address.len() + 16));
        for (i, piece) in self.wsdl_pieces.iter().enumerate() {
            if i > 0 {
                soap::push_attr(&mut out, address);
            }
            out.push_str(piece);
        }
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn served(namespace: &str, address: &str) -> String {
        let r = Documents::new(namespace).wsdl(address);
        String::from_utf8(r.body().to_vec()).unwrap()
    }

    #[test]
    fn both_bindings_are_published_with_the_route_address() {
        let text = served(DEFAULT_NAMESPACE, "https://gw.example:8443/aspone/alert");
        assert!(!text.contains(PLACEHOLDER_ADDRESS), "{text}");
        assert!(
            text.contains(r#"<soap:address location="https://gw.example:8443/aspone/alert"/>"#)
        );
        assert!(
            text.contains(r#"<soap12:address location="https://gw.example:8443/aspone/alert"/>"#)
        );
        assert!(text.contains(r#"xmlns:soap12="http://schemas.xmlsoap.org/wsdl/soap12/""#));
        assert!(text.contains(r#"<wsdl:port name="AlertPort" binding="tns:AlertBinding">"#));
        assert!(
            text.contains(r#"<wsdl:port name="AlertSoap12Port" binding="tns:AlertSoap12Binding">"#)
        );
        // Each binding says its version in every operation, with an absolute action URI.
        for op in ["setAlertActive", "updateAlertConfig", "getAlertConfig"] {
            assert!(text.contains(&format!(
                r#"<soap:operation soapAction="{DEFAULT_NAMESPACE}/{op}" style="document"/>"#
            )));
            assert!(text.contains(&format!(
                r#"<soap12:operation soapAction="{DEFAULT_NAMESPACE}/{op}" soapActionRequired="false" style="document"/>"#
            )));
        }
        let (v11, v12) = text.split_once("AlertSoap12Binding\"").unwrap();
        let v12 = v12.split_once("</wsdl:binding>").unwrap().0;
        assert!(
            !v12.contains("<soap:"),
            "a SOAP 1.1 element in the 1.2 binding"
        );
        assert_eq!(v12.matches("<soap12:body").count(), 6);
        assert_eq!(v12.matches("<soap12:header").count(), 6);
        assert!(!v11.contains("<soap12:body"));
    }

    #[test]
    fn the_address_and_namespace_are_escaped_and_rewritten_everywhere() {
        let text = served("urn:example:alert", "https://h/a?x=1&y=\"2\"");
        assert_eq!(
            text.matches("https://h/a?x=1&amp;y=&quot;2&quot;").count(),
            2
        );
        assert!(!text.contains(DEFAULT_NAMESPACE));
        assert!(text.contains(r#"soapAction="urn:example:alert/getAlertConfig""#));
    }
}
