//! The clamd `INSTREAM` protocol, as pure functions: the command, the chunks, the answer.

use bytes::Bytes;

/// The command that starts a stream scan (`z`: NUL-terminated command and answer).
pub(super) const INSTREAM: &[u8] = b"zINSTREAM\0";

/// The zero-length chunk that ends a stream.
pub(super) const END_OF_STREAM: [u8; 4] = [0; 4];

/// The largest chunk written at once (frames larger than this are split).
const MAX_CHUNK: usize = 1 << 20;

/// The longest answer read from clamd.
pub(super) const MAX_REPLY: usize = 4096;

/// A data frame as INSTREAM chunks: each a 4-byte big-endian length and its bytes. An empty
/// frame gives no chunk (a zero-length chunk would end the stream).
pub(super) fn chunks(data: &Bytes) -> impl Iterator<Item = ([u8; 4], Bytes)> + '_ {
    (0..data.len()).step_by(MAX_CHUNK).map(move |start| {
        let piece = data.slice(start..data.len().min(start + MAX_CHUNK));
        // A piece is at most MAX_CHUNK bytes: it always fits in a u32.
        let len = u32::try_from(piece.len()).unwrap_or(u32::MAX);
        (len.to_be_bytes(), piece)
    })
}

/// What clamd answered to a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Reply {
    /// `stream: OK`.
    Clean,
    /// `stream: <signature> FOUND`.
    Infected(String),
    /// `INSTREAM size limit exceeded. ERROR`: the stream is longer than clamd's
    /// `StreamMaxLength`.
    SizeLimit,
    /// Another `... ERROR`.
    Error(String),
    /// Anything else (never taken as clean).
    Unrecognised(String),
}

/// Parses clamd's answer (without or with its terminating NUL or newline).
pub(super) fn parse_reply(raw: &[u8]) -> Reply {
    let end = raw.iter().position(|b| *b == 0).unwrap_or(raw.len());
    let text = String::from_utf8_lossy(&raw[..end]);
    let text = text.trim();
    if let Some(rest) = text.strip_suffix(" FOUND") {
        // `stream: Eicar-Test-Signature FOUND`; a signature may hold spaces.
        let signature = rest.strip_prefix("stream:").unwrap_or(rest).trim();
        if !signature.is_empty() && !signature.contains(['\r', '\n']) {
            return Reply::Infected(signature.to_owned());
        }
        return Reply::Unrecognised(shorten(text));
    }
    if let Some(message) = text.strip_suffix(" ERROR") {
        let message = message.strip_prefix("stream:").unwrap_or(message).trim();
        if message.to_ascii_lowercase().contains("size limit exceeded") {
            return Reply::SizeLimit;
        }
        return Reply::Error(shorten(message));
    }
    if text == "stream: OK" {
        return Reply::Clean;
    }
    Reply::Unrecognised(shorten(text))
}

/// At most 200 characters of clamd's text, for logs and problem details.
fn shorten(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(200).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_is_the_command_then_length_prefixed_chunks_then_a_zero_chunk() {
        assert_eq!(INSTREAM, b"zINSTREAM\0");
        assert_eq!(END_OF_STREAM, [0, 0, 0, 0]);
        let data = Bytes::from_static(b"hello");
        let got: Vec<_> = chunks(&data).collect();
        assert_eq!(got, vec![([0, 0, 0, 5], Bytes::from_static(b"hello"))]);
        assert_eq!(
            chunks(&Bytes::new()).count(),
            0,
            "no zero-length chunk mid-stream"
        );
        let big = Bytes::from(vec![7u8; MAX_CHUNK + 3]);
        let got: Vec<_> = chunks(&big).collect();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, 0x0010_0000u32.to_be_bytes());
        assert_eq!(got[1].0, [0, 0, 0, 3]);
        assert_eq!(got[0].1.len() + got[1].1.len(), big.len());
    }

    #[test]
    fn answers_are_parsed_and_only_ok_is_clean() {
        assert_eq!(parse_reply(b"stream: OK\0"), Reply::Clean);
        assert_eq!(parse_reply(b"stream: OK\n"), Reply::Clean);
        assert_eq!(
            parse_reply(b"stream: Eicar-Test-Signature FOUND\0"),
            Reply::Infected("Eicar-Test-Signature".into())
        );
        assert_eq!(
            parse_reply(b"stream: Win.Test.EICAR_HDB-1 with spaces FOUND\0"),
            Reply::Infected("Win.Test.EICAR_HDB-1 with spaces".into())
        );
        assert_eq!(
            parse_reply(b"INSTREAM size limit exceeded. ERROR\0"),
            Reply::SizeLimit
        );
        assert_eq!(
            parse_reply(b"stream: Can't allocate memory ERROR\0"),
            Reply::Error("Can't allocate memory".into())
        );
        // A signature without FOUND, an empty one, a bare OK, garbage: never clean.
        for raw in [
            &b"stream: Eicar-Test-Signature\0"[..],
            b"stream:  FOUND\0",
            b"OK\0",
            b"stream: OKAY\0",
            b"\xff\xfe garbage",
            b"",
            b"PONG\0",
            b"COMMAND READ TIMED OUT\0",
        ] {
            let got = parse_reply(raw);
            assert!(
                matches!(got, Reply::Unrecognised(_)),
                "{raw:?} gave {got:?}"
            );
        }
        // Only the text before the NUL counts.
        assert_eq!(parse_reply(b"stream: OK\0stream: X FOUND"), Reply::Clean);
    }
}
