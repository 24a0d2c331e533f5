//! The writer's side: the state needed to seal the next line.

use super::hash::{Key, LineHash};
use super::line::{self, LineFault, SealError};
use super::record::{Entry, Record};

/// Where a chain continues: the hash of its last line and the next sequence
/// number. What a rotated file starts from, and what a verifier of that file is
/// given to check the link ([`verify`](crate::verify)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Anchor {
    /// Hash of the last line written, the next record's `prev`.
    pub prev: LineHash,
    /// The next record's `seq`.
    pub next_seq: u64,
}

impl Anchor {
    /// The start of a new chain: `prev` [`LineHash::GENESIS`], first `seq` 1.
    pub const GENESIS: Anchor = Anchor {
        prev: LineHash::GENESIS,
        next_seq: 1,
    };
}

/// One instance's audit chain, as its writer holds it: seals each record into the
/// line that follows the previous one. The caller appends each line plus `\n` to
/// the file and serialises calls to [`seal`](Self::seal) (one writer per chain).
#[derive(Debug, Clone)]
pub struct Chain {
    key: Key,
    instance: String,
    next: Anchor,
}

impl Chain {
    /// A new chain for `instance`, starting at `seq` 1 from [`LineHash::GENESIS`].
    #[must_use]
    pub fn new(key: Key, instance: impl Into<String>) -> Self {
        Self::from_anchor(key, instance, Anchor::GENESIS)
    }

    /// A chain continuing from `anchor`, e.g. the first record of a rotated file,
    /// whose `prev` is the hash of the old file's last line and whose `seq`
    /// follows it ([`Chain::anchor`] before rotating, or [`Summary::anchor`] of
    /// the old file).
    ///
    /// [`Summary::anchor`]: crate::Summary::anchor
    #[must_use]
    pub fn from_anchor(key: Key, instance: impl Into<String>, anchor: Anchor) -> Self {
        Self {
            key,
            instance: instance.into(),
            next: anchor,
        }
    }

    /// A chain continuing after `last_line`, the last line of an existing file
    /// (without its newline), e.g. after a restart.
    ///
    /// The line is checked first (MAC with `key`, format, instance), so that a
    /// file altered or cut short while the gateway was down is not silently
    /// extended: on error, verify the file and start a new one (rotation) from
    /// the last good line.
    ///
    /// # Errors
    /// [`LineFault`] if the line does not open with `key` or belongs to another
    /// instance.
    pub fn resume(
        key: Key,
        instance: impl Into<String>,
        last_line: &str,
    ) -> Result<Self, LineFault> {
        let instance = instance.into();
        let record = line::open(&key, last_line)?;
        if record.instance != instance {
            return Err(LineFault::InstanceChanged {
                expected: instance,
                found: record.instance,
            });
        }
        let anchor = Anchor {
            prev: LineHash::of(last_line),
            // Saturating: a record at u64::MAX (never written by `seal`) leaves the
            // chain exhausted, and `seal` refuses.
            next_seq: record.seq.saturating_add(1),
        };
        Ok(Self::from_anchor(key, instance, anchor))
    }

    /// Seals `entry` as the next record and returns its line (no newline).
    ///
    /// The state advances only on success, so a failed seal leaves no gap.
    ///
    /// # Errors
    /// [`SealError`] if sequence numbers are exhausted or the record cannot be
    /// encoded.
    pub fn seal(&mut self, entry: Entry) -> Result<String, SealError> {
        let seq = self.next.next_seq;
        // No record is written at u64::MAX, so that the following `next_seq`
        // always fits.
        let after = seq.checked_add(1).ok_or(SealError::SeqExhausted)?;
        let record = Record::unsigned(entry, seq, &self.instance, self.next.prev);
        let line = line::seal(&self.key, &record)?;
        self.next = Anchor {
            prev: LineHash::of(&line),
            next_seq: after,
        };
        Ok(line)
    }

    /// Where the next record goes: hash of the last line sealed (or of the anchor)
    /// and the next `seq`. Keep it to start the next file on rotation.
    #[must_use]
    pub fn anchor(&self) -> Anchor {
        self.next
    }

    /// The instance this chain belongs to.
    #[must_use]
    pub fn instance(&self) -> &str {
        &self.instance
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trail::record::{Action, Outcome};

    fn key() -> Key {
        Key::new(b"0123456789abcdef0123456789abcdef").expect("key")
    }

    fn entry(n: u32) -> Entry {
        Entry::new(
            "2025-01-31T12:00:00Z",
            format!("req-{n}"),
            "/documents",
            Action::List,
            Outcome::Ok,
        )
    }

    #[test]
    fn seal_advances_seq_and_links_each_line_to_the_previous() {
        let mut chain = Chain::new(key(), "gw-a");
        assert_eq!(chain.anchor(), Anchor::GENESIS);
        let first = chain.seal(entry(1)).expect("seal");
        let second = chain.seal(entry(2)).expect("seal");
        let first_record = line::open(&key(), &first).expect("opens");
        let second_record = line::open(&key(), &second).expect("opens");
        assert_eq!(
            (first_record.seq, first_record.prev),
            (1, LineHash::GENESIS)
        );
        assert_eq!(
            (second_record.seq, second_record.prev),
            (2, LineHash::of(&first))
        );
        assert_eq!(
            chain.anchor(),
            Anchor {
                prev: LineHash::of(&second),
                next_seq: 3
            }
        );
        assert_eq!(chain.instance(), "gw-a");
    }

    #[test]
    fn resume_continues_where_the_file_ends() {
        let mut chain = Chain::new(key(), "gw-a");
        chain.seal(entry(1)).expect("seal");
        let last = chain.seal(entry(2)).expect("seal");
        let mut resumed = Chain::resume(key(), "gw-a", &last).expect("resumes");
        assert_eq!(resumed.anchor(), chain.anchor());
        assert_eq!(resumed.seal(entry(3)), chain.seal(entry(3)));
    }

    #[test]
    fn resume_refuses_a_line_it_cannot_trust() {
        let last = Chain::new(key(), "gw-a").seal(entry(1)).expect("seal");
        let other = Key::new(&[9; 32]).expect("key");
        assert_eq!(
            Chain::resume(other, "gw-a", &last).err(),
            Some(LineFault::BadMac)
        );
        assert_eq!(
            Chain::resume(key(), "gw-a", &last[..40]).err(),
            Some(LineFault::MissingMac)
        );
        let fault = Chain::resume(key(), "gw-b", &last).expect_err("other instance");
        assert_eq!(
            fault.to_string(),
            r#"record of instance "gw-a" in the chain of instance "gw-b""#
        );
    }

    #[test]
    fn an_exhausted_chain_refuses_to_seal_without_advancing() {
        let near_end = Anchor {
            prev: LineHash::GENESIS,
            next_seq: u64::MAX - 1,
        };
        let mut chain = Chain::from_anchor(key(), "gw-a", near_end);
        assert!(chain.seal(entry(1)).is_ok());
        assert_eq!(chain.anchor().next_seq, u64::MAX);
        let before = chain.anchor();
        assert_eq!(chain.seal(entry(2)), Err(SealError::SeqExhausted));
        assert_eq!(chain.anchor(), before);
    }
}
