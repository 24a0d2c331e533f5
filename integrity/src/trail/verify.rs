//! The auditor's side: checking a whole file.

use super::chain::Anchor;
use super::hash::{Key, LineHash};
use super::line::{self, LineFault};

/// A verified file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// The instance whose chain the file holds.
    pub instance: String,
    /// Number of records (lines).
    pub records: usize,
    /// `seq` of the first record.
    pub first_seq: u64,
    /// `seq` of the last record.
    pub last_seq: u64,
    /// `prev` of the first record: [`LineHash::GENESIS`] for a chain's first
    /// file, else the hash of the last line of the file it was rotated from.
    pub first_prev: LineHash,
    /// Hash of the last line. Keep it outside the file (or compare it with what
    /// was kept): it is what reveals records cut off the end.
    pub head: LineHash,
}

impl Summary {
    /// The anchor a file rotated from this one must start from.
    #[must_use]
    pub fn anchor(&self) -> Anchor {
        Anchor {
            prev: self.head,
            next_seq: self.last_seq.saturating_add(1),
        }
    }
}

/// Where and why a trail failed verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit trail broken at line {line}: {fault}")]
pub struct Broken {
    /// 1-based line number of the first line that fails.
    pub line: usize,
    /// Why it fails.
    #[source]
    pub fault: LineFault,
}

/// Verifies one file of one chain, line by line (each without its newline, e.g.
/// from `str::lines`), stopping at the first fault.
///
/// Each line must open with `key` (MAC, format), belong to the instance of the
/// first line, have the `seq` following the previous line's and a `prev` that is
/// the SHA-256 of the previous line. The first line must have `seq` 1 if its
/// `prev` is [`LineHash::GENESIS`]; with an `anchor` (the [`Summary::anchor`] of
/// the file this one was rotated from) its `seq` and `prev` must be the anchor's.
///
/// Removing records shows at the line after the gap, swapping two at the first
/// of them, altering a line at that line. Records cut off the end of the file
/// can only be seen by comparing [`Summary::head`] or `last_seq` with a value
/// kept elsewhere.
///
/// # Errors
/// [`Broken`] naming the first bad line and the [`LineFault`]; an empty trail is
/// [`LineFault::Empty`] at line 1.
pub fn verify<'a>(
    key: &Key,
    lines: impl IntoIterator<Item = &'a str>,
    anchor: Option<Anchor>,
) -> Result<Summary, Broken> {
    let mut summary: Option<Summary> = None;
    for (index, text) in lines.into_iter().enumerate() {
        let number = index.saturating_add(1);
        let broken = |fault| Broken {
            line: number,
            fault,
        };
        let record = line::open(key, text).map_err(broken)?;
        let expected = match (&summary, anchor) {
            (Some(so_far), _) => Some(so_far.anchor()),
            (None, Some(anchor)) => Some(anchor),
            // Without an anchor the first line may continue any chain, except that a
            // chain starting from genesis starts at seq 1.
            (None, None) => (record.prev == LineHash::GENESIS).then_some(Anchor::GENESIS),
        };
        if let Some(so_far) = &summary
            && record.instance != so_far.instance
        {
            return Err(broken(LineFault::InstanceChanged {
                expected: so_far.instance.clone(),
                found: record.instance,
            }));
        }
        if let Some(expected) = expected {
            // The sequence number is checked before `prev`: both break when a
            // record goes missing, and "seq 4 where 3 was due" says more.
            if record.seq != expected.next_seq {
                return Err(broken(LineFault::UnexpectedSeq {
                    expected: expected.next_seq,
                    found: record.seq,
                }));
            }
            if record.prev != expected.prev {
                return Err(broken(match summary {
                    Some(_) => LineFault::ChainBroken,
                    None => LineFault::AnchorMismatch {
                        expected: expected.prev,
                        found: record.prev,
                    },
                }));
            }
        }
        let head = LineHash::of(text);
        match &mut summary {
            Some(so_far) => {
                so_far.records = number;
                so_far.last_seq = record.seq;
                so_far.head = head;
            }
            None => {
                summary = Some(Summary {
                    instance: record.instance,
                    records: 1,
                    first_seq: record.seq,
                    last_seq: record.seq,
                    first_prev: record.prev,
                    head,
                });
            }
        }
    }
    summary.ok_or(Broken {
        line: 1,
        fault: LineFault::Empty,
    })
}
