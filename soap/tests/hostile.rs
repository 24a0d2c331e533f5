//! Hostile XML: each attack gives its own typed error, quickly, without panicking.
#![allow(clippy::unwrap_used)]

use soap::{Envelope, EnvelopeError, Limits, SOAP11_NS, SOAP12_NS, SoapVersion};

fn parse(xml: &[u8]) -> EnvelopeError {
    parse_with(xml, &Limits::default())
}

/// The error; never prints the (possibly megabyte-sized) document on failure.
fn parse_with(xml: &[u8], limits: &Limits) -> EnvelopeError {
    match Envelope::parse(xml, limits, SoapVersion::V11) {
        Ok(_) => panic!("a {}-byte hostile document was accepted", xml.len()),
        Err(e) => e,
    }
}

fn wrap(body: &str) -> String {
    format!(r#"<s:Envelope xmlns:s="{SOAP11_NS}"><s:Body>{body}</s:Body></s:Envelope>"#)
}

#[test]
fn billion_laughs_is_refused_at_the_doctype() {
    let xml = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><a>&lol9;</a></s:Body></s:Envelope>"#;
    let err = parse(xml.as_bytes());
    assert!(matches!(err, EnvelopeError::Doctype { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("document type declarations are not allowed")
    );
}

#[test]
fn external_entity_is_refused_at_the_doctype() {
    let xml = r#"<?xml version="1.0"?><!DOCTYPE s:Envelope [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><a>&xxe;</a></s:Body></s:Envelope>"#;
    assert!(matches!(
        parse(xml.as_bytes()),
        EnvelopeError::Doctype { .. }
    ));
}

#[test]
fn undeclared_entity_without_doctype() {
    let err = parse(wrap("<a>&xxe;</a>").as_bytes());
    assert_eq!(
        err,
        EnvelopeError::UndefinedEntity {
            name: "xxe".into(),
            position: 80
        }
    );
    assert_eq!(
        err.to_string(),
        r#"reference to undeclared entity "xxe" (byte 80)"#
    );
    let err = parse(wrap(r#"<a b="&xxe;"/>"#).as_bytes());
    assert!(
        matches!(err, EnvelopeError::UndefinedEntity { ref name, .. } if name == "xxe"),
        "{err:?}"
    );
}

#[test]
fn deep_nesting() {
    let body = "<a>".repeat(10_000) + &"</a>".repeat(10_000);
    let err = parse(wrap(&body).as_bytes());
    assert!(
        matches!(err, EnvelopeError::TooDeep { limit: 32, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("element nesting exceeds the depth limit of 32")
    );
    // Exactly at the limit is fine: Envelope, Body and 30 more.
    let ok = "<a>".repeat(30) + &"</a>".repeat(30);
    assert!(Envelope::parse(wrap(&ok).as_bytes(), &Limits::default(), SoapVersion::V11).is_ok());
    let over = "<a>".repeat(31) + &"</a>".repeat(31);
    assert!(matches!(
        parse(wrap(&over).as_bytes()),
        EnvelopeError::TooDeep { .. }
    ));
}

#[test]
fn huge_attribute() {
    let value = "x".repeat(300 * 1024);
    let err = parse(wrap(&format!(r#"<a b="{value}"/>"#)).as_bytes());
    assert!(
        matches!(err, EnvelopeError::TextTooLong { limit: 262_144, .. }),
        "{err:?}"
    );
    let big = "x".repeat(2 * 1024 * 1024);
    let err = parse(wrap(&format!(r#"<a b="{big}"/>"#)).as_bytes());
    assert!(
        matches!(
            err,
            EnvelopeError::TooLarge {
                limit: 1_048_576,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().ends_with("exceeds the 1048576-byte limit"),
        "{err}"
    );
}

#[test]
fn huge_text() {
    let text = "y".repeat(300 * 1024);
    let err = parse(wrap(&format!("<a>{text}</a>")).as_bytes());
    assert!(matches!(err, EnvelopeError::TextTooLong { .. }), "{err:?}");
    // Many small text pieces (split by references) add up too.
    let pieces = "&amp;a".repeat(2_000);
    let limits = Limits {
        max_text_len: 1_000,
        ..Limits::default()
    };
    let err = parse_with(wrap(&format!("<a>{pieces}</a>")).as_bytes(), &limits);
    assert!(matches!(err, EnvelopeError::TextTooLong { .. }), "{err:?}");
}

#[test]
fn ten_thousand_attributes() {
    let attrs: String = (0..10_000).map(|i| format!(r#" a{i}="v""#)).collect();
    let err = parse(wrap(&format!("<a{attrs}/>")).as_bytes());
    assert!(
        matches!(err, EnvelopeError::TooManyAttributes { limit: 64, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with(r#"element "a" has more than 64 attributes"#)
    );
    let decls: String = (0..10_000)
        .map(|i| format!(r#" xmlns:p{i}="urn:{i}""#))
        .collect();
    let err = parse(wrap(&format!("<a{decls}/>")).as_bytes());
    assert!(
        matches!(err, EnvelopeError::TooManyAttributes { .. }),
        "{err:?}"
    );
}

#[test]
fn too_many_elements() {
    let body = "<a/>".repeat(20_000);
    let err = parse(wrap(&body).as_bytes());
    assert!(
        matches!(err, EnvelopeError::TooManyElements { limit: 10_000, .. }),
        "{err:?}"
    );
}

#[test]
fn truncated_documents() {
    let full = wrap("<a>text</a>");
    for cut in [10, 30, 60, full.len() - 1, full.len() - 12] {
        let err = parse(&full.as_bytes()[..cut]);
        assert!(
            matches!(err, EnvelopeError::Truncated { .. }),
            "cut at {cut}: {err:?}"
        );
    }
    assert!(
        parse(b"<s:Envelope xmlns:s=\"")
            .to_string()
            .starts_with("document is truncated")
    );
}

#[test]
fn wrong_namespaces() {
    let err = parse(br#"<s:Envelope xmlns:s="http://example.com/soap"><s:Body/></s:Envelope>"#);
    assert_eq!(
        err.to_string(),
        r#"Envelope is in namespace Some("http://example.com/soap"), which is not a SOAP envelope namespace"#
    );
    // Body in the wrong namespace inside a good Envelope.
    let xml = format!(
        r#"<s:Envelope xmlns:s="{SOAP11_NS}" xmlns:t="{SOAP12_NS}"><t:Body/></s:Envelope>"#
    );
    assert!(matches!(
        parse(xml.as_bytes()),
        EnvelopeError::UnexpectedElement { .. }
    ));
}

#[test]
fn soap12_where_soap11_expected() {
    let xml = format!(r#"<env:Envelope xmlns:env="{SOAP12_NS}"><env:Body/></env:Envelope>"#);
    let err = parse(xml.as_bytes());
    assert_eq!(
        err,
        EnvelopeError::VersionMismatch {
            expected: SoapVersion::V11,
            found: SoapVersion::V12
        }
    );
    assert_eq!(
        err.to_string(),
        "expected a SOAP 1.1 envelope, got SOAP 1.2"
    );
    let fault = err.to_fault().to_xml(SoapVersion::V11);
    assert!(
        fault.contains("<faultcode>soap:VersionMismatch</faultcode>"),
        "{fault}"
    );
}

#[test]
fn two_bodies() {
    let xml = format!(r#"<s:Envelope xmlns:s="{SOAP11_NS}"><s:Body/><s:Body/></s:Envelope>"#);
    assert_eq!(parse(xml.as_bytes()), EnvelopeError::DuplicateBody);
}

#[test]
fn content_after_envelope() {
    let good = wrap("");
    for tail in ["<x/>", "text", "<s:Envelope/>", "<![CDATA[x]]>", "&amp;"] {
        let err = parse(format!("{good}{tail}").as_bytes());
        assert!(
            matches!(err, EnvelopeError::ContentAfterEnvelope { .. }),
            "{tail}: {err:?}"
        );
    }
    // Whitespace and comments after the root are fine.
    let ok = format!("{good}\n  <!-- trailing comment -->\n");
    assert!(Envelope::parse(ok.as_bytes(), &Limits::default(), SoapVersion::V11).is_ok());
    let err = parse(format!("junk{good}").as_bytes());
    assert!(
        matches!(err, EnvelopeError::TextOutsideRoot { .. }),
        "{err:?}"
    );
}

#[test]
fn processing_instructions() {
    let err = parse(format!(r#"<?xml-stylesheet href="x.xsl"?>{}"#, wrap("")).as_bytes());
    assert_eq!(
        err.to_string(),
        r#"processing instruction "xml-stylesheet" is not allowed (byte 31)"#
    );
    let err = parse(wrap("<?php evil() ?>").as_bytes());
    assert!(
        matches!(err, EnvelopeError::ProcessingInstruction { ref target, .. } if target == "php")
    );
    // An XML declaration anywhere but first is not a declaration.
    let err = parse(format!(r#"  <?xml version="1.0"?>{}"#, wrap("")).as_bytes());
    assert!(err.to_string().starts_with("malformed XML"), "{err}");
}

#[test]
fn mismatched_tags_and_garbage() {
    let err = parse(wrap("<a></b>").as_bytes());
    assert!(matches!(err, EnvelopeError::Malformed { .. }), "{err:?}");
    for junk in [
        &b"\x00\x01\x02"[..],
        b"<",
        b"<<<>>>",
        b"</a>",
        b"<a =\"1\"/>",
        b"<!-- x",
        b"<![CDATA[",
    ] {
        let _ = parse(junk);
    }
}

#[test]
fn limits_are_configurable() {
    let limits = Limits {
        max_depth: 3,
        ..Limits::default()
    };
    let err = parse_with(wrap("<a><b/></a>").as_bytes(), &limits);
    assert!(matches!(err, EnvelopeError::TooDeep { limit: 3, .. }));
}

#[test]
fn long_namespaces() {
    // Namespaces are bounded (2 KiB) because every element in one refers to it.
    let huge = format!("urn:{}", "n".repeat(300 * 1024));
    let err = parse(wrap(&format!(r#"<a xmlns:p="{huge}"/>"#)).as_bytes());
    assert!(matches!(err, EnvelopeError::TextTooLong { .. }), "{err:?}");
    let long = format!("urn:{}", "n".repeat(3000));
    let err = parse(wrap(&format!(r#"<a xmlns="{long}"/>"#)).as_bytes());
    assert!(
        matches!(err, EnvelopeError::NamespaceTooLong { limit: 2048, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("namespace URI longer than 2048 bytes")
    );
    // Within the bound, one shared copy serves every element.
    let ns = format!("urn:{}", "n".repeat(2000));
    let body = format!(r#"<a xmlns="{ns}">{}</a>"#, "<b/>".repeat(9_000));
    let xml = wrap(&body);
    let env = Envelope::parse(xml.as_bytes(), &Limits::default(), SoapVersion::V11).unwrap();
    let a = env.payload().unwrap();
    let (first, last) = (&a.children()[0], &a.children()[8_999]);
    assert_eq!(first.ns(), Some(ns.as_str()));
    assert!(
        std::ptr::eq(first.ns().unwrap(), last.ns().unwrap()),
        "one shared copy"
    );
}
