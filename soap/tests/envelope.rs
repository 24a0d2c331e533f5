//! Envelope parsing, navigation and mustUnderstand.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use soap::{Envelope, EnvelopeError, FaultCode, Limits, SoapVersion, check_must_understand};

fn parse11(xml: &str) -> Result<Envelope<'_>, EnvelopeError> {
    Envelope::parse(xml.as_bytes(), &Limits::default(), SoapVersion::V11)
}

#[test]
fn aspone_request_is_navigable_by_namespace_whatever_the_prefixes() {
    let xml = aspone_request(&digest_token(
        "mb",
        "pw",
        &[7; 16],
        "2024-01-01T00:00:00.000Z",
    ));
    let env = parse11(&xml).unwrap();
    assert_eq!(env.version(), SoapVersion::V11);
    let version = env.header_block(ASPONE_V1, "serviceVersion").unwrap();
    assert_eq!(version.element().text(), "1.1");
    assert!(!version.must_understand());
    // context/user lives in the v0 namespace: reachable in any namespace.
    let context = env.header_block_any_ns("context").unwrap().element();
    assert_eq!(context.ns(), Some(ASPONE_V0));
    let login = context.path_any_ns(&["user", "login"]).unwrap();
    assert_eq!(login.text(), "jdupont01");
    let security = env.header_block(WSSE, "Security").unwrap();
    assert!(security.must_understand() && security.targets_us());

    let op = env.payload().unwrap();
    assert!(op.is(ASPONE_V1, "setAlertActive"));
    assert_eq!(op.child(ASPONE_V1, "account").unwrap().text(), "CPT000123");
    let services: Vec<_> = op
        .child(ASPONE_V1, "teleprocedureAlert")
        .unwrap()
        .children_named(ASPONE_V1, "messageService")
        .map(|m| m.child(ASPONE_V1, "type").unwrap().text().to_owned())
        .collect();
    assert_eq!(services, ["ACS", "ARS"]);
    // Raw bytes of a header block, for logging or forwarding.
    let raw = env.raw(version.element());
    assert_eq!(raw, b"<ns1:serviceVersion>1.1</ns1:serviceVersion>");
    assert!(env.raw(op).starts_with(b"<ns1:setAlertActive>"));
    assert!(env.raw(op).ends_with(b"</ns1:setAlertActive>"));
}

#[test]
fn default_namespaces_and_unusual_prefixes() {
    let xml = r#"<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body><op xmlns="urn:x" a="1" xmlns:p="urn:p" p:b="2">x &amp; y &#233;<![CDATA[<z>]]></op></Body></Envelope>"#;
    let env = parse11(xml).unwrap();
    let op = env.payload().unwrap();
    assert!(op.is("urn:x", "op"));
    assert_eq!(op.attr(None, "a"), Some("1"));
    assert_eq!(op.attr(Some("urn:p"), "b"), Some("2"));
    assert_eq!(op.text(), "x & y é<z>");
    assert!(env.header().is_none());
}

#[test]
fn soap12_envelope_and_roles() {
    let xml = r#"<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Header>
        <h:a xmlns:h="urn:h" e:mustUnderstand="true" e:role="http://www.w3.org/2003/05/soap-envelope/role/ultimateReceiver"/>
        <h:b xmlns:h="urn:h" e:mustUnderstand="true" e:role="urn:someone-else"/>
        <h:c xmlns:h="urn:h" e:mustUnderstand="false"/>
        </e:Header><e:Body/></e:Envelope>"#;
    let env = Envelope::parse(xml.as_bytes(), &Limits::default(), SoapVersion::V12).unwrap();
    let blocks: Vec<_> = env.header_blocks().collect();
    assert_eq!(blocks.len(), 3);
    assert!(blocks[0].targets_us() && blocks[0].must_understand());
    assert!(!blocks[1].targets_us());
    assert!(!blocks[2].must_understand());
    assert!(env.payload().is_none());
    // b targets someone else, c is optional: only a matters.
    assert!(check_must_understand(&env, &[("urn:h", "a")]).is_ok());
    let err = check_must_understand(&env, &[]).unwrap_err();
    assert_eq!(err.name, "a");
    assert_eq!(
        err.to_string(),
        r#"header block "a" in namespace Some("urn:h") has mustUnderstand set and is not understood"#
    );
    let fault = err.to_fault_xml(SoapVersion::V12);
    assert!(
        fault.contains(r#"<env:NotUnderstood qname="nu:a" xmlns:nu="urn:h"/>"#),
        "{fault}"
    );
    assert!(
        fault.contains("<env:Value>env:MustUnderstand</env:Value>"),
        "{fault}"
    );
}

#[test]
fn must_understand_soap11_with_actor() {
    let xml = format!(
        r#"<s:Envelope xmlns:s="{}"><s:Header>
        <x:t xmlns:x="urn:x" s:mustUnderstand="1" s:actor="http://schemas.xmlsoap.org/soap/actor/next"/>
        <x:u xmlns:x="urn:x" s:mustUnderstand="1" s:actor="urn:other"/>
        <wsse:Security xmlns:wsse="{WSSE}" s:mustUnderstand="1"/>
        </s:Header><s:Body/></s:Envelope>"#,
        soap::SOAP11_NS
    );
    let env = parse11(&xml).unwrap();
    let err = check_must_understand(&env, &[(WSSE, "Security")]).unwrap_err();
    assert_eq!((err.ns.as_deref(), err.name.as_str()), (Some("urn:x"), "t"));
    assert_eq!(err.to_fault().code(), FaultCode::MustUnderstand);
    assert!(
        err.to_fault_xml(SoapVersion::V11)
            .contains("<faultcode>soap:MustUnderstand</faultcode>")
    );
    assert!(check_must_understand(&env, &[(WSSE, "Security"), ("urn:x", "t")]).is_ok());
}

#[test]
fn invalid_must_understand_value() {
    let xml = format!(
        r#"<s:Envelope xmlns:s="{}"><s:Header><x:t xmlns:x="urn:x" s:mustUnderstand="yes"/></s:Header><s:Body/></s:Envelope>"#,
        soap::SOAP11_NS
    );
    let err = parse11(&xml).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"header block "t" has an invalid mustUnderstand value "yes""#
    );
}

#[test]
fn parse_any_accepts_both_versions() {
    let v11 = format!(
        r#"<s:Envelope xmlns:s="{}"><s:Body/></s:Envelope>"#,
        soap::SOAP11_NS
    );
    let v12 = format!(
        r#"<s:Envelope xmlns:s="{}"><s:Body/></s:Envelope>"#,
        soap::SOAP12_NS
    );
    let limits = Limits::default();
    assert_eq!(
        Envelope::parse_any(v11.as_bytes(), &limits)
            .unwrap()
            .version(),
        SoapVersion::V11
    );
    assert_eq!(
        Envelope::parse_any(v12.as_bytes(), &limits)
            .unwrap()
            .version(),
        SoapVersion::V12
    );
}

#[test]
fn structure_errors() {
    let ns = soap::SOAP11_NS;
    let cases: &[(String, &str)] = &[
        (
            format!(r#"<s:Envelope xmlns:s="{ns}"><s:Header/></s:Envelope>"#),
            "Envelope has no Body",
        ),
        (
            format!(r#"<s:Envelope xmlns:s="{ns}"><s:Header/><s:Header/><s:Body/></s:Envelope>"#),
            "Envelope has more than one Header",
        ),
        (
            format!(r#"<s:Envelope xmlns:s="{ns}"><s:Body/><s:Header/></s:Envelope>"#),
            "Header appears after the Body",
        ),
        (
            format!(r#"<s:Envelope xmlns:s="{ns}"><s:Body/><x:y xmlns:x="urn:x"/></s:Envelope>"#),
            r#"unexpected element "y" (namespace Some("urn:x")) in the Envelope"#,
        ),
        (
            format!(r#"<s:Envelope xmlns:s="{ns}">hello<s:Body/></s:Envelope>"#),
            "text directly inside the SOAP Envelope",
        ),
        (
            format!(r#"<s:Envelope xmlns:s="{ns}"><s:Body>text</s:Body></s:Envelope>"#),
            "text directly inside the SOAP Body",
        ),
        (
            r#"<Envelope><Body/></Envelope>"#.to_owned(),
            "Envelope is in namespace None, which is not a SOAP envelope namespace",
        ),
        (
            format!(r#"<s:Body xmlns:s="{ns}"/>"#),
            r#"root element is "Body" in namespace Some("http://schemas.xmlsoap.org/soap/envelope/"), not a SOAP Envelope"#,
        ),
        ("".to_owned(), "document has no root element"),
        (
            "  <!-- only a comment -->  ".to_owned(),
            "document has no root element",
        ),
        (
            format!(r#"<s:Envelope xmlns:s="{ns}"><x:Body/></s:Envelope>"#),
            r#"namespace prefix "x" is not declared (byte 73)"#,
        ),
    ];
    for (xml, message) in cases {
        let err = parse11(xml).unwrap_err();
        assert_eq!(err.to_string(), *message, "for {xml}");
        let expected = match err {
            EnvelopeError::WrongNamespace { .. } => FaultCode::VersionMismatch,
            _ => FaultCode::Sender,
        };
        assert_eq!(err.to_fault().code(), expected, "for {xml}");
    }
}

#[test]
fn xml_declaration_rules() {
    let body = format!(
        r#"<s:Envelope xmlns:s="{}"><s:Body/></s:Envelope>"#,
        soap::SOAP11_NS
    );
    for decl in [
        r#"<?xml version="1.0"?>"#,
        r#"<?xml version="1.0" encoding="utf-8"?>"#,
        r#"<?xml version="1.0" encoding="US-ASCII" standalone="yes"?>"#,
    ] {
        assert!(parse11(&format!("{decl}{body}")).is_ok(), "{decl}");
    }
    let latin1 = format!(r#"<?xml version="1.0" encoding="ISO-8859-1"?>{body}"#);
    assert_eq!(
        parse11(&latin1).unwrap_err().to_string(),
        r#"unsupported document encoding "iso-8859-1"; only UTF-8 is accepted"#
    );
    let utf8_bom = format!("\u{FEFF}{body}");
    assert!(parse11(&utf8_bom).is_ok());
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(body.encode_utf16().flat_map(u16::to_le_bytes));
    assert_eq!(
        Envelope::parse(&utf16, &Limits::default(), SoapVersion::V11).unwrap_err(),
        EnvelopeError::UnsupportedEncoding {
            encoding: "UTF-16".into()
        }
    );
}

#[test]
fn invalid_utf8_and_control_characters() {
    let ns = soap::SOAP11_NS;
    let mut bytes = format!(r#"<s:Envelope xmlns:s="{ns}"><s:Body><a>"#).into_bytes();
    bytes.extend([0xC3, 0x28]);
    bytes.extend(b"</a></s:Body></s:Envelope>");
    let err = Envelope::parse(&bytes, &Limits::default(), SoapVersion::V11).unwrap_err();
    assert!(matches!(err, EnvelopeError::InvalidUtf8 { .. }), "{err}");

    let ctrl = format!(r#"<s:Envelope xmlns:s="{ns}"><s:Body><a>&#1;</a></s:Body></s:Envelope>"#);
    let err = parse11(&ctrl).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("character U+0001 is not allowed in XML"),
        "{err}"
    );
    let raw_ctrl =
        format!("<s:Envelope xmlns:s=\"{ns}\"><s:Body><a>\u{8}</a></s:Body></s:Envelope>");
    assert!(matches!(
        parse11(&raw_ctrl).unwrap_err(),
        EnvelopeError::InvalidCharacter { codepoint: 8, .. }
    ));
}

#[test]
fn duplicate_attributes_through_different_prefixes() {
    let xml = format!(
        r#"<s:Envelope xmlns:s="{}"><s:Body><a xmlns:p="urn:p" xmlns:q="urn:p" p:x="1" q:x="2"/></s:Body></s:Envelope>"#,
        soap::SOAP11_NS
    );
    let err = parse11(&xml).unwrap_err();
    assert!(
        err.to_string().contains(r#"duplicate attribute "x""#),
        "{err}"
    );
}

#[test]
fn whitespace_text_model() {
    let xml = format!(
        "<s:Envelope xmlns:s=\"{}\">\n <s:Body>\n  <op>\n    <blank>   </blank>\n    <ref>&#32;</ref>\n    <v> x </v>\n  </op>\n </s:Body>\n</s:Envelope>",
        soap::SOAP11_NS
    );
    let env = parse11(&xml).unwrap();
    let op = env.payload().unwrap();
    assert_eq!(op.text(), "", "indentation of a parent is dropped");
    assert_eq!(
        op.child_any_ns("blank").unwrap().text(),
        "   ",
        "a leaf keeps its whitespace"
    );
    assert_eq!(op.child_any_ns("ref").unwrap().text(), " ");
    assert_eq!(op.child_any_ns("v").unwrap().text(), " x ");
    assert_eq!(op.child_any_ns("v").unwrap().text_trimmed(), "x");
}

#[test]
fn namespace_scoping_rules() {
    let ns = soap::SOAP11_NS;
    // Declarations apply to their element whatever the attribute order, and go
    // out of scope with it.
    let xml = format!(
        r#"<s:Envelope xmlns:s="{ns}"><s:Body><p:a p:x="1" xmlns:p="urn:p"><p:b/></p:a><c xmlns="urn:d"><d xmlns=""/></c></s:Body></s:Envelope>"#
    );
    let env = parse11(&xml).unwrap();
    let body = env.body();
    let a = &body.children()[0];
    assert!(a.is("urn:p", "a"));
    assert_eq!(a.attr(Some("urn:p"), "x"), Some("1"));
    assert!(a.children()[0].is("urn:p", "b"));
    let c = &body.children()[1];
    assert!(c.is("urn:d", "c"));
    assert_eq!(
        c.children()[0].ns(),
        None,
        "xmlns=\"\" undeclares the default"
    );
    let xml_lang =
        format!(r#"<s:Envelope xmlns:s="{ns}"><s:Body><t xml:lang="fr"/></s:Body></s:Envelope>"#);
    let env = parse11(&xml_lang).unwrap();
    assert_eq!(
        env.payload()
            .unwrap()
            .attr(Some("http://www.w3.org/XML/1998/namespace"), "lang"),
        Some("fr")
    );

    let out_of_scope = format!(
        r#"<s:Envelope xmlns:s="{ns}"><s:Body><p:a xmlns:p="urn:p"/><p:b/></s:Body></s:Envelope>"#
    );
    assert!(
        matches!(parse11(&out_of_scope).unwrap_err(), EnvelopeError::UnboundPrefix { ref prefix, .. } if prefix == "p")
    );
    for (decl, detail) in [
        (r#"xmlns:p="""#, "a prefix cannot be undeclared in XML 1.0"),
        (r#"xmlns:xml="urn:x""#, "the xml prefix cannot be rebound"),
        (
            r#"xmlns:xmlns="urn:x""#,
            "the xmlns prefix cannot be declared",
        ),
        (
            r#"xmlns:p="http://www.w3.org/2000/xmlns/""#,
            "a reserved namespace cannot be bound to another prefix",
        ),
    ] {
        let xml =
            format!(r#"<s:Envelope xmlns:s="{ns}"><s:Body><a {decl}/></s:Body></s:Envelope>"#);
        let err = parse11(&xml).unwrap_err();
        assert!(
            matches!(err, EnvelopeError::Malformed { detail: ref d, .. } if d == detail),
            "{decl}: {err}"
        );
    }
    let unbound_attr =
        format!(r#"<s:Envelope xmlns:s="{ns}"><s:Body><a q:x="1"/></s:Body></s:Envelope>"#);
    assert!(matches!(
        parse11(&unbound_attr).unwrap_err(),
        EnvelopeError::UnboundPrefix { .. }
    ));
}

#[test]
fn line_ends_are_normalised_and_text_assembled() {
    let xml = format!(
        "<s:Envelope xmlns:s=\"{}\"><s:Body><a>l1\r\nl2\rl3</a><b>x&amp;y<![CDATA[\r\n]]>z</b></s:Body></s:Envelope>",
        soap::SOAP11_NS
    );
    let env = parse11(&xml).unwrap();
    let body = env.body();
    assert_eq!(body.children()[0].text(), "l1\nl2\nl3");
    assert_eq!(body.children()[1].text(), "x&y\nz");
}
