//! Why an envelope was refused.

use crate::SoapVersion;

/// Why a document was refused as a SOAP envelope.
///
/// Positions are byte offsets into the input. Names taken from the document are
/// truncated (see [`EnvelopeError`]'s `Display`) so that a hostile sender cannot
/// flood the logs through an error message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// The document is larger than [`Limits::max_bytes`](crate::Limits::max_bytes).
    #[error("document of {size} bytes exceeds the {limit}-byte limit")]
    TooLarge {
        /// Size of the document.
        size: usize,
        /// Configured limit.
        limit: usize,
    },
    /// Elements are nested deeper than [`Limits::max_depth`](crate::Limits::max_depth).
    #[error("element nesting exceeds the depth limit of {limit} at byte {position}")]
    TooDeep {
        /// Configured limit.
        limit: usize,
        /// Where the offending start tag ends.
        position: usize,
    },
    /// An element has more attributes than [`Limits::max_attributes`](crate::Limits::max_attributes).
    #[error("element {element:?} has more than {limit} attributes (byte {position})")]
    TooManyAttributes {
        /// Local name of the element (truncated).
        element: String,
        /// Configured limit.
        limit: usize,
        /// Where the offending start tag ends.
        position: usize,
    },
    /// A text node or attribute value is longer than [`Limits::max_text_len`](crate::Limits::max_text_len).
    #[error("text or attribute value longer than {limit} bytes at byte {position}")]
    TextTooLong {
        /// Configured limit.
        limit: usize,
        /// Where the offending text or tag ends.
        position: usize,
    },
    /// A namespace declaration longer than [`Limits::max_namespace_len`](crate::Limits::max_namespace_len).
    #[error("namespace URI longer than {limit} bytes at byte {position}")]
    NamespaceTooLong {
        /// Configured limit.
        limit: usize,
        /// Where the declaring tag ends.
        position: usize,
    },
    /// The document has more elements than [`Limits::max_elements`](crate::Limits::max_elements).
    #[error("document has more than {limit} elements (byte {position})")]
    TooManyElements {
        /// Configured limit.
        limit: usize,
        /// Where the element past the limit ends.
        position: usize,
    },
    /// The document has a document type declaration. Refused outright so that no
    /// entity is ever declared, let alone expanded (billion laughs, external entities).
    #[error("document type declarations are not allowed (byte {position})")]
    Doctype {
        /// Where the declaration ends.
        position: usize,
    },
    /// A processing instruction other than the XML declaration.
    #[error("processing instruction {target:?} is not allowed (byte {position})")]
    ProcessingInstruction {
        /// PI target (truncated).
        target: String,
        /// Where the instruction ends.
        position: usize,
    },
    /// A reference to an entity other than the five predefined ones.
    #[error("reference to undeclared entity {name:?} (byte {position})")]
    UndefinedEntity {
        /// Entity name (truncated).
        name: String,
        /// Where the reference ends.
        position: usize,
    },
    /// A character that XML 1.0 does not allow, literal or from a character reference.
    #[error("character U+{codepoint:04X} is not allowed in XML (byte {position})")]
    InvalidCharacter {
        /// Code point of the character.
        codepoint: u32,
        /// Where the text holding it ends.
        position: usize,
    },
    /// The XML declaration names an encoding other than UTF-8 (or its ASCII subset).
    #[error("unsupported document encoding {encoding:?}; only UTF-8 is accepted")]
    UnsupportedEncoding {
        /// Declared encoding (truncated).
        encoding: String,
    },
    /// Bytes that are not valid UTF-8.
    #[error("invalid UTF-8 near byte {position}")]
    InvalidUtf8 {
        /// Where the invalid text or tag ends.
        position: usize,
    },
    /// A prefix used without a namespace declaration in scope.
    #[error("namespace prefix {prefix:?} is not declared (byte {position})")]
    UnboundPrefix {
        /// The prefix (truncated).
        prefix: String,
        /// Where the tag using it ends.
        position: usize,
    },
    /// The document ends inside a tag or with elements still open.
    #[error("document is truncated at byte {position}")]
    Truncated {
        /// Length of the input that was read.
        position: usize,
    },
    /// Any other well-formedness error reported by the XML reader.
    #[error("malformed XML at byte {position}: {detail}")]
    Malformed {
        /// Where the reader stopped.
        position: usize,
        /// The reader's description (truncated).
        detail: String,
    },
    /// No root element at all.
    #[error("document has no root element")]
    Empty,
    /// Non-whitespace text before or after the root element.
    #[error("text outside the root element (byte {position})")]
    TextOutsideRoot {
        /// Where the text ends.
        position: usize,
    },
    /// An element after the end of the root element.
    #[error("content after the end of the Envelope (byte {position})")]
    ContentAfterEnvelope {
        /// Where the extra element ends.
        position: usize,
    },
    /// The root element is not named `Envelope`.
    #[error("root element is {name:?} in namespace {ns:?}, not a SOAP Envelope")]
    NotAnEnvelope {
        /// Namespace of the root (truncated).
        ns: Option<String>,
        /// Local name of the root (truncated).
        name: String,
    },
    /// The root is an `Envelope` in a namespace that is neither SOAP 1.1 nor 1.2.
    #[error("Envelope is in namespace {found:?}, which is not a SOAP envelope namespace")]
    WrongNamespace {
        /// Namespace of the root (truncated).
        found: Option<String>,
    },
    /// The envelope is of the other SOAP version.
    #[error("expected a SOAP {expected} envelope, got SOAP {found}")]
    VersionMismatch {
        /// Version the endpoint speaks.
        expected: SoapVersion,
        /// Version of the received envelope.
        found: SoapVersion,
    },
    /// The envelope has no Body.
    #[error("Envelope has no Body")]
    MissingBody,
    /// The envelope has more than one Body.
    #[error("Envelope has more than one Body")]
    DuplicateBody,
    /// The envelope has more than one Header.
    #[error("Envelope has more than one Header")]
    DuplicateHeader,
    /// The Header comes after the Body.
    #[error("Header appears after the Body")]
    HeaderAfterBody,
    /// An Envelope child other than Header and Body (WS-I Basic Profile R1011 forbids
    /// elements after the Body; SOAP 1.2 forbids any other child).
    #[error("unexpected element {name:?} (namespace {ns:?}) in the Envelope")]
    UnexpectedElement {
        /// Namespace of the element (truncated).
        ns: Option<String>,
        /// Local name of the element (truncated).
        name: String,
    },
    /// Non-whitespace text directly inside Envelope or Header.
    #[error("text directly inside the SOAP {element}")]
    TextInEnvelope {
        /// `Envelope` or `Header`.
        element: &'static str,
    },
    /// A header block's `mustUnderstand` is not a valid boolean for the SOAP version.
    #[error("header block {header:?} has an invalid mustUnderstand value {value:?}")]
    InvalidMustUnderstand {
        /// Local name of the header block (truncated).
        header: String,
        /// The attribute value (truncated).
        value: String,
    },
}

/// Longest document-controlled string kept in an error, in characters.
const MAX_ECHO: usize = 64;

/// Truncates a document-controlled string for inclusion in an error.
pub(crate) fn echo(s: &str) -> String {
    match s.char_indices().nth(MAX_ECHO) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_owned(),
    }
}

/// Lossy, truncated rendering of document bytes for an error.
pub(crate) fn echo_bytes(b: &[u8]) -> String {
    echo(&String::from_utf8_lossy(b))
}

// === impl EnvelopeError ===

impl EnvelopeError {
    /// The fault to answer with. The reason names the class of problem only; the
    /// exact cause is for the log (this error's `Display`).
    pub fn to_fault(&self) -> crate::Fault {
        use crate::{Fault, FaultCode};
        match self {
            Self::VersionMismatch { .. } | Self::WrongNamespace { .. } => Fault::new(
                FaultCode::VersionMismatch,
                "The SOAP envelope namespace is not supported by this endpoint",
            ),
            Self::TooLarge { .. }
            | Self::TooDeep { .. }
            | Self::TooManyAttributes { .. }
            | Self::TextTooLong { .. }
            | Self::NamespaceTooLong { .. }
            | Self::TooManyElements { .. } => Fault::new(
                FaultCode::Sender,
                "The message exceeds the size limits of this endpoint",
            ),
            _ => Fault::new(
                FaultCode::Sender,
                "The message is not a valid SOAP envelope",
            ),
        }
    }
}
