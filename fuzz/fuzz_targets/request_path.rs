//! The request path made canonical before routes are matched (`gateway/src/path.rs`), on
//! arbitrary ASCII: never panics, and what it accepts is canonical (starts with `/`, no empty,
//! `.` or `..` segment, no encoded `/`, `\` or NUL, no escape of an unreserved character), so
//! that the path a route was matched on is the path the upstream resolves.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // hyper hands the gateway ASCII request targets only.
    let Ok(path) = std::str::from_utf8(data) else {
        return;
    };
    if !path.is_ascii() {
        return;
    }
    match gateway::fuzzing::request_path(path) {
        Ok(canonical) => {
            assert!(canonical.starts_with('/'), "{path:?} -> {canonical:?}");
            assert!(!canonical.contains('\\'), "{path:?} -> {canonical:?}");
            let inner = canonical.trim_end_matches('/');
            for segment in inner.split('/').skip(1) {
                assert!(
                    !segment.is_empty() && segment != "." && segment != "..",
                    "{path:?} -> {canonical:?}"
                );
            }
            let upper = canonical.to_ascii_uppercase();
            for bad in ["%2F", "%5C", "%00", "%2E"] {
                assert!(!upper.contains(bad), "{path:?} -> {canonical:?}");
            }
            // Idempotent: the upstream normalising again finds the same path.
            assert_eq!(
                gateway::fuzzing::request_path(&canonical).as_deref(),
                Ok(canonical.as_str()),
                "{path:?}"
            );
        }
        Err(why) => assert!(!why.is_empty()),
    }
});
