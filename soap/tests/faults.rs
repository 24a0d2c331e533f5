//! Fault and response writing for both SOAP versions.
#![allow(clippy::unwrap_used)]

use soap::{
    CONTENT_TYPE_SOAP11, CONTENT_TYPE_SOAP12, Envelope, Fault, FaultCode, Limits, SOAP11_NS,
    SOAP12_NS, SecurityFault, SoapVersion, WSSE_NS, write_response,
};

fn reparse(xml: &str, version: SoapVersion) -> Envelope<'_> {
    Envelope::parse(xml.as_bytes(), &Limits::default(), version).unwrap()
}

#[test]
fn content_types() {
    assert_eq!(SoapVersion::V11.content_type(), "text/xml; charset=utf-8");
    assert_eq!(
        SoapVersion::V12.content_type(),
        "application/soap+xml; charset=utf-8"
    );
    assert_eq!(CONTENT_TYPE_SOAP11, SoapVersion::V11.content_type());
    assert_eq!(CONTENT_TYPE_SOAP12, SoapVersion::V12.content_type());
}

#[test]
fn wsse_fault_soap11() {
    let xml = SecurityFault::FailedAuthentication
        .to_fault()
        .to_xml(SoapVersion::V11);
    assert_eq!(
        xml,
        format!(
            r#"<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="{SOAP11_NS}"><soap:Body><soap:Fault><faultcode xmlns:wsse="{WSSE_NS}">wsse:FailedAuthentication</faultcode><faultstring>The security token could not be authenticated or authorized</faultstring></soap:Fault></soap:Body></soap:Envelope>"#
        )
    );
    let env = reparse(&xml, SoapVersion::V11);
    let fault = env.payload().unwrap();
    assert!(fault.is(SOAP11_NS, "Fault"));
    assert_eq!(
        fault.child_any_ns("faultcode").unwrap().text(),
        "wsse:FailedAuthentication"
    );
}

#[test]
fn wsse_fault_soap12() {
    let xml = SecurityFault::MessageExpired
        .to_fault()
        .to_xml(SoapVersion::V12);
    assert_eq!(
        xml,
        format!(
            r#"<?xml version="1.0" encoding="utf-8"?><env:Envelope xmlns:env="{SOAP12_NS}"><env:Body><env:Fault><env:Code><env:Value>env:Sender</env:Value><env:Subcode><env:Value xmlns:wsse="{WSSE_NS}">wsse:MessageExpired</env:Value></env:Subcode></env:Code><env:Reason><env:Text xml:lang="en">The message has expired</env:Text></env:Reason></env:Fault></env:Body></env:Envelope>"#
        )
    );
    let env = reparse(&xml, SoapVersion::V12);
    let text = env
        .payload()
        .unwrap()
        .path_any_ns(&["Reason", "Text"])
        .unwrap();
    assert_eq!(
        text.attr(Some("http://www.w3.org/XML/1998/namespace"), "lang"),
        Some("en")
    );
}

#[test]
fn plain_codes_and_escaping() {
    let fault = Fault::new(FaultCode::Receiver, "a < b & \"c\" \u{0}")
        .with_lang("fr")
        .with_detail_xml("<d:info xmlns:d=\"urn:d\">x</d:info>");
    let v11 = fault.to_xml(SoapVersion::V11);
    assert!(v11.contains("<faultcode>soap:Server</faultcode>"), "{v11}");
    assert!(
        v11.contains("<faultstring>a &lt; b &amp; \"c\" \u{FFFD}</faultstring>"),
        "{v11}"
    );
    assert!(
        v11.contains("<detail><d:info xmlns:d=\"urn:d\">x</d:info></detail>"),
        "{v11}"
    );
    let env = reparse(&v11, SoapVersion::V11);
    assert_eq!(
        env.payload()
            .unwrap()
            .child_any_ns("faultstring")
            .unwrap()
            .text(),
        "a < b & \"c\" \u{FFFD}"
    );
    let v12 = fault.to_xml(SoapVersion::V12);
    assert!(v12.contains("<env:Value>env:Receiver</env:Value>"), "{v12}");
    assert!(v12.contains(r#"<env:Text xml:lang="fr">"#), "{v12}");
    assert!(v12.contains("<env:Detail><d:info"), "{v12}");
    reparse(&v12, SoapVersion::V12);

    let client = Fault::new(FaultCode::Sender, "x").to_xml(SoapVersion::V11);
    assert!(client.contains("<faultcode>soap:Client</faultcode>"));
}

#[test]
fn hostile_subcode_prefix_and_namespace_stay_well_formed() {
    let fault = Fault::new(FaultCode::Sender, "x").with_subcode("urn:a\"b<c", "bad prefix", "Code");
    assert_eq!(fault.subcode().unwrap().prefix(), "ns1");
    for version in [SoapVersion::V11, SoapVersion::V12] {
        let xml = fault.to_xml(version);
        assert!(xml.contains(r#"xmlns:ns1="urn:a&quot;b&lt;c""#), "{xml}");
        reparse(&xml, version);
    }
}

#[test]
fn response_envelopes() {
    let body = r#"<r:setAlertActiveResponse xmlns:r="urn:r"><r:responseType>OK</r:responseType></r:setAlertActiveResponse>"#;
    let xml = write_response(SoapVersion::V11, &[], body);
    assert_eq!(
        xml,
        format!(
            r#"<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="{SOAP11_NS}"><soap:Body>{body}</soap:Body></soap:Envelope>"#
        )
    );
    let env = reparse(&xml, SoapVersion::V11);
    assert!(env.payload().unwrap().is("urn:r", "setAlertActiveResponse"));

    let header = r#"<h:trace xmlns:h="urn:h">42</h:trace>"#;
    let xml = write_response(SoapVersion::V12, &[header], body);
    let env = reparse(&xml, SoapVersion::V12);
    assert_eq!(
        env.header_block("urn:h", "trace").unwrap().element().text(),
        "42"
    );
}
