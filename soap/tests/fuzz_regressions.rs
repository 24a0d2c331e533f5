//! Inputs found by the fuzz targets (`fuzz/`), kept as ordinary regression tests.
#![allow(clippy::unwrap_used)]

use soap::{Envelope, Limits, SOAP11_NS, SoapVersion, check_must_understand};

/// The checks the `envelope` fuzz target makes, on one input.
fn envelope_target(data: &[u8]) {
    let limits = Limits::default();
    let _ = Envelope::parse(data, &limits, SoapVersion::V11);
    match Envelope::parse_any(data, &limits) {
        Ok(env) => {
            for block in env.header_blocks() {
                let raw = env.raw(block.element());
                assert!(raw.starts_with(b"<") && raw.ends_with(b">"), "{raw:?}");
            }
            let _ = check_must_understand(&env, &[(soap::WSSE_NS, "Security")]);
            if let Some(payload) = env.payload() {
                assert!(env.raw(payload).starts_with(b"<"));
            }
            let _ = soap::SecurityHeader::find(&env);
        }
        Err(error) => {
            let _ = error.to_fault().to_xml(SoapVersion::V12);
        }
    }
}

fn input(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_inputs")
        .join(name);
    std::fs::read(path).unwrap()
}

#[test]
fn envelope_crash_3bdaae14() {
    envelope_target(&input("envelope-crash-3bdaae14.bin"));
}

/// envelope target, crash-3bdaae14: with a UTF-8 byte order mark, every raw span
/// was off by the BOM's three bytes (quick-xml does not count the BOM it skips).
#[test]
fn raw_spans_account_for_a_utf8_bom() {
    let xml = format!(
        "\u{FEFF}<?xml version='1.0' encoding='utf-8'?>\n<s:Envelope xmlns:s=\"{SOAP11_NS}\"><s:Header><h:a xmlns:h=\"urn:h\">1</h:a></s:Header><s:Body><m:op xmlns:m=\"urn:m\"/></s:Body></s:Envelope>"
    );
    let env = Envelope::parse(xml.as_bytes(), &Limits::default(), SoapVersion::V11).unwrap();
    assert_eq!(
        env.raw(env.payload().unwrap()),
        br#"<m:op xmlns:m="urn:m"/>"#
    );
    let block = env.header_blocks().next().unwrap();
    assert_eq!(env.raw(block.element()), br#"<h:a xmlns:h="urn:h">1</h:a>"#);
}
