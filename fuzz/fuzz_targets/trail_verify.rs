//! `verify` and `Chain::resume` on arbitrary text: must never panic, and a file
//! that verifies must be one the writer can continue.
//!
//! Random bytes almost never carry a valid MAC, so each input is also verified a
//! second time with every line re-signed under the fuzz key (an existing `mac`
//! member is replaced): that lets the fuzzer reach the JSON, version, instance,
//! `seq` and `prev` checks. The seeds are files sealed with that key.
#![no_main]

use hmac::{Hmac, Mac};
use integrity::{Action, Anchor, Chain, Entry, Key, LineHash, Outcome, verify};
use libfuzzer_sys::fuzz_target;
use sha2::Sha256;

/// The key the seeds in `seeds/trail_verify` were sealed with.
const KEY: &[u8; 32] = b"integrity-fuzz-key-0123456789abc";

/// `line` with its `mac` member (if it ends with one) replaced by a valid one.
fn resign(line: &str) -> String {
    let cut = line.len().saturating_sub(74);
    let unsigned = match line.get(cut..) {
        Some(suffix)
            if line.len() >= 74
                && suffix.starts_with(r#","mac":""#)
                && suffix.ends_with(r#""}"#) =>
        {
            format!("{}}}", &line[..cut])
        }
        _ => line.to_owned(),
    };
    let Some(open) = unsigned.strip_suffix('}') else {
        return unsigned;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(KEY).expect("HMAC takes any key length");
    mac.update(unsigned.as_bytes());
    let tag: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("{open},\"mac\":\"{tag}\"}}")
}

fn check(key: &Key, lines: &[&str]) {
    match verify(key, lines.iter().copied(), None) {
        Ok(summary) => {
            assert_eq!(summary.records, lines.len());
            let span = summary.last_seq - summary.first_seq;
            assert_eq!(usize::try_from(span).ok(), Some(lines.len() - 1));
            let last = lines[lines.len() - 1];
            assert_eq!(summary.head, LineHash::of(last));
            // The same file also verifies against its own first link…
            let first = Anchor {
                prev: summary.first_prev,
                next_seq: summary.first_seq,
            };
            assert_eq!(
                verify(key, lines.iter().copied(), Some(first)),
                Ok(summary.clone())
            );
            // …and the writer can continue it, with a line that verifies after it.
            let mut chain =
                Chain::resume(key.clone(), &summary.instance, last).expect("last line verified");
            assert_eq!(chain.anchor(), summary.anchor());
            let entry = Entry::new(
                "2025-01-31T12:00:00Z",
                "fuzz",
                "/",
                Action::Other,
                Outcome::Ok,
            );
            if let Ok(next) = chain.seal(entry) {
                let continued = verify(key, [next.as_str()], Some(summary.anchor()));
                assert!(continued.is_ok(), "{continued:?}");
            }
        }
        Err(broken) => {
            assert!((1..=lines.len().max(1)).contains(&broken.line));
            let _ = broken.to_string();
        }
    }
    let _ = verify(key, lines.iter().copied(), Some(Anchor::GENESIS));
    if let Some(last) = lines.last() {
        let _ = Chain::resume(key.clone(), "gw-a", last);
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let key = Key::new(KEY).expect("32 bytes");
    let lines: Vec<&str> = text.lines().collect();
    check(&key, &lines);
    let resigned: Vec<String> = lines.iter().map(|line| resign(line)).collect();
    let resigned: Vec<&str> = resigned.iter().map(String::as_str).collect();
    check(&key, &resigned);
});
