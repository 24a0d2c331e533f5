//! Envelope::parse on arbitrary bytes: must never panic, and whatever it accepts
//! must be navigable.
#![no_main]

use libfuzzer_sys::fuzz_target;
use soap::{Envelope, Limits, SoapVersion, check_must_understand};

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let _ = Envelope::parse(data, &limits, SoapVersion::V11);
    if let Ok(env) = Envelope::parse_any(data, &limits) {
        for block in env.header_blocks() {
            let _ = (block.must_understand(), block.targets_us(), block.role());
            let raw = env.raw(block.element());
            assert!(raw.starts_with(b"<") && raw.ends_with(b">"));
        }
        let _ = check_must_understand(&env, &[(soap::WSSE_NS, "Security")]);
        if let Some(payload) = env.payload() {
            let _ = payload.path_any_ns(&["a", "b"]);
            assert!(env.raw(payload).starts_with(b"<"));
        }
        let _ = soap::SecurityHeader::find(&env);
    }
    if let Err(error) = Envelope::parse_any(data, &limits) {
        let _ = error.to_string();
        let _ = error.to_fault().to_xml(SoapVersion::V12);
    }
});
