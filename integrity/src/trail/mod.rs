//! A tamper-evident audit trail: one JSON record per line, each MACed and chained
//! to the previous line by its hash.
//!
//! This module only builds and checks lines; the gateway opens, appends to,
//! flushes and rotates the files. One file holds one chain, written by one
//! gateway instance; every instance writes its own files.
//!
//! # Line format (version 1)
//!
//! A trail file is UTF-8 text: one record per line, each line ending with `\n`.
//! "The line" below always means its bytes **without** the `\n`.
//!
//! 1. A line is a compact JSON object (no whitespace between tokens), written by
//!    `serde_json` from [`Record`], with its members in this order:
//!    `v`, `seq`, `time`, `instance`, `request_id`, `route`, `action`, `client`,
//!    `document_id`, `size`, `digest`, `outcome`, `reason`, `core_status`,
//!    `flags`, `prev`, `mac`. `document_id`, `size`, `digest`, `reason`,
//!    `core_status` are left out when absent, `flags` when empty, and the members
//!    of `client` (`cn`, `ou`, `issuer`, `serial`, `cert_sha256`, `keyid`, in that
//!    order) when absent; `client` itself is always there, possibly `{}`.
//!    `v` is `1`. `action` is one of `upload`, `download`, `list`, `delete`,
//!    `other`; `outcome` one of `stored`, `served`, `ok`, `refused`, `aborted`,
//!    `core_error`.
//! 2. `mac` is always the last member, so every line ends with the 74 bytes
//!    `,"mac":"` + 64 lowercase hex digits + `"}`.
//! 3. **MAC**: `mac` is the lowercase hex HMAC-SHA256, under the trail key, of the
//!    line with that 74-byte suffix replaced by the single byte `}`, which is the
//!    same JSON object without its `mac` member.
//! 4. **Chain**: `prev` is the lowercase hex SHA-256 of the previous line. The
//!    first record of a new chain has `prev` = 64 `0`s and `seq` = 1; every
//!    following record has the previous `seq` + 1.
//! 5. **Rotation**: a chain continues across files. The first line of a rotated
//!    file has `prev` = SHA-256 of the last line of the file before it and `seq`
//!    = that line's `seq` + 1 (an [`Anchor`]).
//!
//! # Verifying
//!
//! The verifier never re-serialises a record: the MAC is checked on the bytes as
//! written, so a re-implementation needs HMAC-SHA256, SHA-256 and any JSON parser.
//! For each line `n` (1-based), stop at the first failure:
//!
//! 1. the line ends with `,"mac":"<64 lowercase hex>"}`, else it is truncated;
//! 2. the HMAC of the line with that suffix replaced by `}` equals the hex value
//!    (compare in constant time), else the line was altered or the key is wrong;
//! 3. the line parses as JSON, `v` is 1 and the members are the ones above;
//! 4. `instance` is the one of line 1;
//! 5. `seq` is the previous line's `seq` + 1 and `prev` is the SHA-256 of the
//!    previous line. For line 1: if an anchor is given (the previous file's last
//!    `seq` + 1 and the hash of its last line), `seq` and `prev` must equal it;
//!    otherwise, if `prev` is all zeros, `seq` must be 1.
//!
//! A removed record shows at the line after the gap (`seq` jumps), swapped
//! records at the first of them, an altered line at that line (MAC). Records cut
//! off the **end** leave a valid shorter chain: only the last `seq` or the hash of
//! the last line, kept or logged elsewhere, reveals that.
//!
//! The key never leaves the writer and the auditor. `time` is the caller's,
//! unchecked: order is given by `seq`, not by time.

mod chain;
mod hash;
mod line;
mod record;
mod verify;

pub use chain::{Anchor, Chain};
pub use hash::{BadLineHash, Key, KeyError, LineHash};
pub use line::{LineFault, SealError};
pub use record::{Action, Client, Entry, FORMAT_VERSION, Outcome, Record};
pub use verify::{Broken, Summary, verify};
