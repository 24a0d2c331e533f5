//! Parse and verify of wsse:Security on arbitrary bytes placed inside a fixed
//! envelope prefix/suffix, under both policies.
#![no_main]

use libfuzzer_sys::fuzz_target;
use soap::{Envelope, Limits, Secret, SecurityHeader, SecurityPolicy, SoapVersion};

const PREFIX: &[u8] = br#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"><s:Header><wsse:Security s:mustUnderstand="1">"#;
const SUFFIX: &[u8] = b"</wsse:Security></s:Header><s:Body/></s:Envelope>";

fuzz_target!(|data: &[u8]| {
    let mut input = Vec::with_capacity(PREFIX.len() + data.len() + SUFFIX.len());
    input.extend_from_slice(PREFIX);
    input.extend_from_slice(data);
    input.extend_from_slice(SUFFIX);
    let Ok(env) = Envelope::parse(&input, &Limits::default(), SoapVersion::V11) else {
        return;
    };
    let Ok(header) = SecurityHeader::find(&env) else {
        return;
    };
    let credentials = |user: &str| (user == "portal").then(|| Secret::from("s3cret"));
    let now: jiff::Timestamp = "2024-06-01T12:00:00Z".parse().expect("constant");
    let paris = jiff::tz::TimeZone::get("Europe/Paris").expect("bundled tzdb");
    for policy in [
        SecurityPolicy::strict(),
        SecurityPolicy::lenient().allow_password_text(),
        SecurityPolicy::lenient().assume_z_means_local_time(paris),
    ] {
        match header.verify(&policy, &credentials, now) {
            Ok(token) => {
                let _ = token.replay_key();
            }
            Err(error) => {
                let _ = error.to_string();
                let _ = error.to_fault().to_xml(SoapVersion::V11);
            }
        }
    }
});
