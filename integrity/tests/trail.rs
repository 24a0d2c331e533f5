//! Tampering with a sealed trail, through the public API only: every kind of
//! change must be caught at the right line.

use integrity::{
    Action, Algorithm, Anchor, Broken, Chain, Client, Entry, Key, LineFault, LineHash, Outcome,
    Record, verify,
};

fn key() -> Key {
    Key::new(&[0x5a; 32]).expect("key")
}

fn entry(n: u64) -> Entry {
    let mut entry = Entry::new(
        format!("2025-01-31T12:00:{n:02}Z"),
        format!("req-{n}"),
        "/documents",
        Action::Upload,
        Outcome::Stored,
    );
    entry.client = Client {
        cn: Some("partner-a".to_owned()),
        serial: Some("01:02".to_owned()),
        ..Client::default()
    };
    entry.document_id = Some(format!("doc-{n}"));
    entry.size = Some(n * 100);
    entry.digest = Some(Algorithm::Sha256.digest(&n.to_be_bytes()).to_string());
    entry
}

/// Five records of a new chain.
fn five() -> Vec<String> {
    let mut chain = Chain::new(key(), "gw-a");
    (1..=5)
        .map(|n| chain.seal(entry(n)).expect("seal"))
        .collect()
}

fn check(lines: &[String]) -> Result<integrity::Summary, Broken> {
    verify(&key(), lines.iter().map(String::as_str), None)
}

#[test]
fn an_untouched_trail_verifies() {
    let lines = five();
    let summary = check(&lines).expect("verifies");
    assert_eq!(summary.records, 5);
    assert_eq!((summary.first_seq, summary.last_seq), (1, 5));
    assert_eq!(summary.first_prev, LineHash::GENESIS);
    assert_eq!(summary.head, LineHash::of(&lines[4]));
    assert_eq!(summary.instance, "gw-a");
    // The same check on file text, split the usual way.
    let file = lines.join("\n") + "\n";
    assert_eq!(verify(&key(), file.lines(), None), Ok(summary));
}

#[test]
fn a_line_reads_back_as_the_documented_json() {
    let lines = five();
    let record: Record = serde_json::from_str(&lines[1]).expect("json");
    assert_eq!((record.v, record.seq, record.size), (1, 2, Some(200)));
    assert_eq!(record.prev, LineHash::of(&lines[0]));
    assert!(lines[1].starts_with(r#"{"v":1,"seq":2,"time":"2025-01-31T12:00:02Z","instance":"gw-a","request_id":"req-2","route":"/documents","action":"upload","client":{"cn":"partner-a","serial":"01:02"},"document_id":"doc-2","size":200,"digest":"sha-256=:"#));
    assert!(lines[1].contains(r#":","outcome":"stored","prev":""#));
}

#[test]
fn flipping_one_byte_fails_at_that_line() {
    let mut lines = five();
    let mut bytes = lines[2].clone().into_bytes();
    // Inside `"size":300`.
    let at = lines[2].find("300").expect("size");
    bytes[at] = b'9';
    lines[2] = String::from_utf8(bytes).expect("utf-8");
    let broken = check(&lines).expect_err("tampered");
    assert_eq!(
        broken,
        Broken {
            line: 3,
            fault: LineFault::BadMac
        }
    );
    assert_eq!(
        broken.to_string(),
        "audit trail broken at line 3: MAC does not match (line altered, or written with another key)"
    );
}

#[test]
fn removing_a_record_fails_at_the_line_after_the_gap() {
    let mut lines = five();
    lines.remove(2);
    let broken = check(&lines).expect_err("gap");
    assert_eq!(
        broken,
        Broken {
            line: 3,
            fault: LineFault::UnexpectedSeq {
                expected: 3,
                found: 4
            }
        }
    );
    assert_eq!(
        broken.to_string(),
        "audit trail broken at line 3: expected seq 3, found 4 (records removed, reordered or duplicated)"
    );
    // Removing the first one is seen at line 1 (a genesis chain starts at 1 with
    // zeros; here line 1 has neither, and without an anchor the second record is
    // taken as the start of a continued chain: supply the anchor to catch it).
    let mut headless = five();
    headless.remove(0);
    let anchored = verify(
        &key(),
        headless.iter().map(String::as_str),
        Some(Anchor::GENESIS),
    );
    assert_eq!(
        anchored.expect_err("head cut").fault,
        LineFault::UnexpectedSeq {
            expected: 1,
            found: 2
        }
    );
}

#[test]
fn swapping_two_records_fails_at_the_first_of_them() {
    let mut lines = five();
    lines.swap(1, 3);
    let broken = check(&lines).expect_err("swapped");
    assert_eq!(
        broken,
        Broken {
            line: 2,
            fault: LineFault::UnexpectedSeq {
                expected: 2,
                found: 4
            }
        }
    );
}

#[test]
fn a_duplicated_record_fails_at_the_copy() {
    let mut lines = five();
    lines.insert(3, lines[2].clone());
    assert_eq!(check(&lines).expect_err("duplicate").line, 4);
}

#[test]
fn the_wrong_key_fails_at_line_1() {
    let other = Key::new(&[0x5b; 32]).expect("key");
    let broken = verify(&other, five().iter().map(String::as_str), None).expect_err("key");
    assert_eq!(
        broken,
        Broken {
            line: 1,
            fault: LineFault::BadMac
        }
    );
}

#[test]
fn a_line_from_another_chain_breaks_the_link() {
    // Same key, same seq, another instance's file: caught by instance first…
    let mut lines = five();
    let mut other = Chain::new(key(), "gw-b");
    let foreign: Vec<String> = (1..=3)
        .map(|n| other.seal(entry(n)).expect("seal"))
        .collect();
    lines[2] = foreign[2].clone();
    assert!(matches!(
        check(&lines).expect_err("foreign").fault,
        LineFault::InstanceChanged { .. }
    ));
    // …and by `prev` for a record of an earlier chain of the same instance.
    let mut lines = five();
    let mut earlier = Chain::new(key(), "gw-a");
    let replaced: Vec<String> = (1..=3)
        .map(|n| earlier.seal(entry(n + 10)).expect("seal"))
        .collect();
    lines[2] = replaced[2].clone();
    assert_eq!(
        check(&lines).expect_err("spliced"),
        Broken {
            line: 3,
            fault: LineFault::ChainBroken
        }
    );
}

#[test]
fn a_truncated_last_line_and_an_empty_trail_are_faults() {
    let mut lines = five();
    let cut = lines[4].len() / 2;
    lines[4].truncate(cut);
    assert_eq!(
        check(&lines).expect_err("crash mid-write"),
        Broken {
            line: 5,
            fault: LineFault::MissingMac
        }
    );
    assert_eq!(
        check(&[]).expect_err("empty"),
        Broken {
            line: 1,
            fault: LineFault::Empty
        }
    );
    let mut blank = five();
    blank.insert(2, String::new());
    assert_eq!(check(&blank).expect_err("blank line").line, 3);
}

#[test]
fn a_rotated_file_verifies_against_its_anchor() {
    let mut chain = Chain::new(key(), "gw-a");
    let old: Vec<String> = (1..=3)
        .map(|n| chain.seal(entry(n)).expect("seal"))
        .collect();
    let old_summary = check(&old).expect("old file");

    // The writer rotates: a new Chain from the anchor, as after a restart.
    let mut rotated = Chain::from_anchor(key(), "gw-a", old_summary.anchor());
    let new: Vec<String> = (4..=6)
        .map(|n| rotated.seal(entry(n)).expect("seal"))
        .collect();
    // Identical to what the original chain would have written.
    let continued: Vec<String> = (4..=6)
        .map(|n| chain.seal(entry(n)).expect("seal"))
        .collect();
    assert_eq!(new, continued);

    let summary = verify(
        &key(),
        new.iter().map(String::as_str),
        Some(old_summary.anchor()),
    )
    .expect("verifies with the anchor");
    assert_eq!((summary.first_seq, summary.last_seq), (4, 6));
    assert_eq!(summary.first_prev, old_summary.head);

    // Without the anchor it verifies as a continued chain, but a wrong anchor
    // (e.g. the old file lost its last line) is caught at line 1.
    assert!(verify(&key(), new.iter().map(String::as_str), None).is_ok());
    let shorter = check(&old[..2]).expect("old file minus its last line");
    let broken = verify(
        &key(),
        new.iter().map(String::as_str),
        Some(shorter.anchor()),
    )
    .expect_err("anchor of a shorter file");
    assert_eq!(broken.line, 1);
    assert_eq!(
        broken.fault,
        LineFault::UnexpectedSeq {
            expected: 3,
            found: 4
        }
    );
    let same_seq_wrong_hash = Anchor {
        prev: LineHash::of(&old[1]),
        next_seq: 4,
    };
    let fault = verify(
        &key(),
        new.iter().map(String::as_str),
        Some(same_seq_wrong_hash),
    )
    .expect_err("wrong hash")
    .fault;
    assert_eq!(
        fault,
        LineFault::AnchorMismatch {
            expected: LineHash::of(&old[1]),
            found: old_summary.head
        }
    );
    assert!(fault.to_string().starts_with("prev of the first line is "));
}

#[test]
fn a_genesis_record_must_have_seq_1() {
    let mut chain = Chain::from_anchor(
        key(),
        "gw-a",
        Anchor {
            prev: LineHash::GENESIS,
            next_seq: 7,
        },
    );
    let line = chain.seal(entry(7)).expect("seal");
    assert_eq!(
        verify(&key(), [line.as_str()], None).expect_err("restart from genesis"),
        Broken {
            line: 1,
            fault: LineFault::UnexpectedSeq {
                expected: 1,
                found: 7
            }
        }
    );
}

#[test]
fn text_fields_cannot_break_the_line() {
    let mut chain = Chain::new(key(), "gw-a");
    let mut hostile = entry(1);
    hostile.reason = Some("a\nb\"c\\d\u{2028}\u{0}".to_owned());
    hostile.route = r#"","mac":"x"}"#.to_owned();
    hostile.flags = vec!["scan_skipped".to_owned()];
    let line = chain.seal(hostile.clone()).expect("seal");
    assert!(!line.contains('\n'));
    let summary = verify(&key(), [line.as_str()], None).expect("verifies");
    assert_eq!(summary.records, 1);
    let record: Record = serde_json::from_str(&line).expect("json");
    assert_eq!(record.reason, hostile.reason);
    assert_eq!(record.route, hostile.route);
    assert_eq!(record.flags, ["scan_skipped"]);
}
