//! The configuration loader on arbitrary YAML: it parses with unknown fields denied, validates
//! and builds (TLS material included), and must answer every input with settings or errors
//! naming a key, never a panic.
#![no_main]

use std::collections::HashMap;
use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let env: HashMap<String, String> = HashMap::new();
    // Relative paths resolve in the test PKI, so valid files can reach the TLS build too.
    let base = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../certs-test/pki"));
    if let Err(errors) = gateway::config::from_yaml(text, Path::new("fuzz.yaml"), base, &env) {
        assert!(!errors.0.is_empty());
        for e in &errors.0 {
            assert!(!e.key.is_empty() && !e.reason.is_empty(), "{e}");
        }
    }
});
