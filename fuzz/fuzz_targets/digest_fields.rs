//! The Digest Field parsers on arbitrary header values: must never panic, and
//! whatever they accept must survive a round trip through the serialiser.
#![no_main]

use integrity::{StreamDigest, WantDigest, format_digest_field, parse_digest_field};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Content-Digest / Repr-Digest.
    match parse_digest_field(data) {
        Ok(digests) => {
            assert!(!digests.is_empty());
            for digest in &digests {
                assert_eq!(digest.value().len(), digest.algorithm().output_len());
            }
            let value = format_digest_field(&digests).expect("non-empty");
            assert_eq!(parse_digest_field(&value).expect("round trip"), digests);
            // Checking an (empty) body against whatever was accepted never panics,
            // and a mismatch never repeats a value.
            let stream = StreamDigest::for_expected(&digests);
            if let Err(mismatch) = stream.verify(&digests) {
                let rendered = mismatch.to_string();
                assert!(rendered.len() < 64, "{rendered}");
            }
        }
        Err(error) => {
            let _ = error.to_string();
        }
    }

    // Want-Content-Digest / Want-Repr-Digest.
    match WantDigest::parse(data) {
        Ok(want) => {
            let chosen = want.choose();
            if let Some(algorithm) = chosen {
                let preference = want.preference(algorithm).expect("chosen from the field");
                assert!((1..=10).contains(&preference));
            }
            if let Some(value) = want.to_field_value() {
                let again = WantDigest::parse(&value).expect("round trip");
                assert_eq!(again, want);
                assert_eq!(again.choose(), chosen);
            }
        }
        Err(error) => {
            let _ = error.to_string();
        }
    }
});
