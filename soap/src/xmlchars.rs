//! Character-level rules: references, allowed characters, reader errors.

use quick_xml::escape::EscapeError;
use quick_xml::events::BytesRef;
use quick_xml::name::NamespaceError;

use crate::EnvelopeError;
use crate::envelope_error::{echo, echo_bytes};

/// Resolves `&name;` or `&#n;`: only the five predefined entities and character
/// references to characters XML allows.
pub(crate) fn resolve_reference(
    reference: &BytesRef<'_>,
    end: usize,
) -> Result<char, EnvelopeError> {
    if reference.is_char_ref() {
        let c = reference
            .resolve_char_ref()
            .map_err(|e| map_reader_error(e, end))?
            .ok_or(EnvelopeError::Malformed {
                position: end,
                detail: "unreadable character reference".into(),
            })?;
        if !is_xml_char(c) {
            return Err(EnvelopeError::InvalidCharacter {
                codepoint: u32::from(c),
                position: end,
            });
        }
        return Ok(c);
    }
    match &**reference {
        b"lt" => Ok('<'),
        b"gt" => Ok('>'),
        b"amp" => Ok('&'),
        b"apos" => Ok('\''),
        b"quot" => Ok('"'),
        other => Err(EnvelopeError::UndefinedEntity {
            name: echo_bytes(other),
            position: end,
        }),
    }
}

pub(crate) fn check_chars(text: &str, end: usize) -> Result<(), EnvelopeError> {
    // Fast path: in UTF-8 a forbidden character is either a C0 control byte or
    // U+FFFE/U+FFFF, which start with 0xEF; most text has neither.
    let suspicious = text
        .bytes()
        .any(|b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b == 0xEF);
    if !suspicious {
        return Ok(());
    }
    match text.chars().find(|c| !is_xml_char(*c)) {
        Some(c) => Err(EnvelopeError::InvalidCharacter {
            codepoint: u32::from(c),
            position: end,
        }),
        None => Ok(()),
    }
}

/// XML 1.0 `Char` production (surrogates cannot occur in a Rust `char`).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

pub(crate) fn is_xml_whitespace(text: &str) -> bool {
    text.bytes()
        .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}

pub(crate) fn map_reader_error(error: quick_xml::Error, position: usize) -> EnvelopeError {
    use quick_xml::Error;
    use quick_xml::errors::SyntaxError;
    match error {
        Error::Syntax(
            SyntaxError::UnclosedTag
            | SyntaxError::UnclosedComment
            | SyntaxError::UnclosedCData
            | SyntaxError::UnclosedDoctype
            | SyntaxError::UnclosedPIOrXmlDecl,
        ) => EnvelopeError::Truncated { position },
        Error::Encoding(_) => EnvelopeError::InvalidUtf8 { position },
        Error::Escape(EscapeError::UnrecognizedEntity(_, name)) => EnvelopeError::UndefinedEntity {
            name: echo(&name),
            position,
        },
        Error::Namespace(NamespaceError::UnknownPrefix(prefix)) => EnvelopeError::UnboundPrefix {
            prefix: echo_bytes(&prefix),
            position,
        },
        other => EnvelopeError::Malformed {
            position,
            detail: echo(&other.to_string()),
        },
    }
}
