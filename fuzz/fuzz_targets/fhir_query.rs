//! The SAS slot search's query parsing on arbitrary query strings (percent-decoding, repeated
//! and missing parameters, date bounds, identifier lists): never panics, refusals render.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(raw) = std::str::from_utf8(data) {
        if let Err(e) = adapters::sas::fuzzing::slot_query(raw) {
            assert!(!e.is_empty());
        }
    }
});
