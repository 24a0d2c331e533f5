//! SOAP 1.1 and 1.2 envelopes, recognised by namespace URI whatever the prefixes.

use std::fmt;

use crate::envelope_error::echo;
use crate::tree::parse_document;
use crate::xmlchars::is_xml_whitespace;
use crate::{Element, EnvelopeError, Limits};

/// SOAP 1.1 envelope namespace.
pub const SOAP11_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// SOAP 1.2 envelope namespace.
pub const SOAP12_NS: &str = "http://www.w3.org/2003/05/soap-envelope";
/// HTTP `Content-Type` of a SOAP 1.1 message.
pub const CONTENT_TYPE_SOAP11: &str = "text/xml; charset=utf-8";
/// HTTP `Content-Type` of a SOAP 1.2 message.
pub const CONTENT_TYPE_SOAP12: &str = "application/soap+xml; charset=utf-8";

/// SOAP 1.1 actor meaning "the next SOAP node", i.e. us.
const SOAP11_ACTOR_NEXT: &str = "http://schemas.xmlsoap.org/soap/actor/next";
/// SOAP 1.2 roles that target the gateway, which acts as the ultimate receiver.
const SOAP12_ROLES_FOR_US: [&str; 2] = [
    "http://www.w3.org/2003/05/soap-envelope/role/next",
    "http://www.w3.org/2003/05/soap-envelope/role/ultimateReceiver",
];

// === impl SoapVersion ===

/// A SOAP version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SoapVersion {
    /// SOAP 1.1 (`http://schemas.xmlsoap.org/soap/envelope/`).
    V11,
    /// SOAP 1.2 (`http://www.w3.org/2003/05/soap-envelope`).
    V12,
}

impl SoapVersion {
    /// The envelope namespace URI of this version.
    pub const fn namespace(self) -> &'static str {
        match self {
            Self::V11 => SOAP11_NS,
            Self::V12 => SOAP12_NS,
        }
    }

    /// The HTTP `Content-Type` of messages of this version.
    pub const fn content_type(self) -> &'static str {
        match self {
            Self::V11 => CONTENT_TYPE_SOAP11,
            Self::V12 => CONTENT_TYPE_SOAP12,
        }
    }

    /// The version whose envelope namespace is `ns`, if any.
    pub fn from_namespace(ns: &str) -> Option<Self> {
        match ns {
            SOAP11_NS => Some(Self::V11),
            SOAP12_NS => Some(Self::V12),
            _ => None,
        }
    }

    /// Whether a header block with this `actor` (1.1) or `role` (1.2) targets the
    /// gateway, which is always the ultimate receiver.
    pub fn targets_us(self, role: Option<&str>) -> bool {
        match (self, role) {
            (_, None) => true,
            (Self::V11, Some(actor)) => actor == SOAP11_ACTOR_NEXT,
            (Self::V12, Some(role)) => SOAP12_ROLES_FOR_US.contains(&role),
        }
    }

    /// Name of the targeting attribute: `actor` in 1.1, `role` in 1.2.
    const fn role_attribute(self) -> &'static str {
        match self {
            Self::V11 => "actor",
            Self::V12 => "role",
        }
    }
}

impl fmt::Display for SoapVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::V11 => "1.1",
            Self::V12 => "1.2",
        })
    }
}

// === impl HeaderBlock ===

/// One child of the SOAP Header, with its SOAP attributes interpreted.
#[derive(Debug, Clone, Copy)]
pub struct HeaderBlock<'e> {
    element: &'e Element<'e>,
    version: SoapVersion,
    must_understand: bool,
}

impl<'e> HeaderBlock<'e> {
    /// The header block element.
    pub fn element(&self) -> &'e Element<'e> {
        self.element
    }

    /// Whether `mustUnderstand` is true (`"1"` or `"true"`).
    pub fn must_understand(&self) -> bool {
        self.must_understand
    }

    /// The `actor` (SOAP 1.1) or `role` (SOAP 1.2) attribute, if present.
    pub fn role(&self) -> Option<&'e str> {
        self.element.attr(
            Some(self.version.namespace()),
            self.version.role_attribute(),
        )
    }

    /// Whether the block is addressed to the gateway (no role, or the "next" /
    /// "ultimateReceiver" role).
    pub fn targets_us(&self) -> bool {
        self.version.targets_us(self.role())
    }
}

// === impl Envelope ===

/// A parsed, structurally valid SOAP envelope.
#[derive(Debug, Clone)]
pub struct Envelope<'a> {
    input: &'a [u8],
    version: SoapVersion,
    root: Element<'a>,
    header: Option<usize>,
    body: usize,
    must_understand: Vec<bool>,
}

impl<'a> Envelope<'a> {
    /// Parses an envelope of the `expected` version.
    ///
    /// # Errors
    ///
    /// Any [`EnvelopeError`]: a limit crossed, a forbidden construct (DOCTYPE,
    /// processing instruction, undeclared entity), malformed or truncated XML, or a
    /// document that is not a well-formed SOAP envelope of the expected version
    /// ([`EnvelopeError::VersionMismatch`] for the other version).
    pub fn parse(
        input: &'a [u8],
        limits: &Limits,
        expected: SoapVersion,
    ) -> Result<Self, EnvelopeError> {
        Self::parse_inner(input, limits, Some(expected))
    }

    /// Parses an envelope of either SOAP version.
    ///
    /// # Errors
    ///
    /// As [`Envelope::parse`], except that no version is refused.
    pub fn parse_any(input: &'a [u8], limits: &Limits) -> Result<Self, EnvelopeError> {
        Self::parse_inner(input, limits, None)
    }

    fn parse_inner(
        input: &'a [u8],
        limits: &Limits,
        expected: Option<SoapVersion>,
    ) -> Result<Self, EnvelopeError> {
        let root = parse_document(input, limits)?;
        if root.name() != "Envelope" {
            return Err(EnvelopeError::NotAnEnvelope {
                ns: root.ns().map(echo),
                name: echo(root.name()),
            });
        }
        let version = root
            .ns()
            .and_then(SoapVersion::from_namespace)
            .ok_or_else(|| EnvelopeError::WrongNamespace {
                found: root.ns().map(echo),
            })?;
        if let Some(expected) = expected
            && expected != version
        {
            return Err(EnvelopeError::VersionMismatch {
                expected,
                found: version,
            });
        }
        if !is_xml_whitespace(root.text()) {
            return Err(EnvelopeError::TextInEnvelope {
                element: "Envelope",
            });
        }
        let (header, body) = locate_header_and_body(&root, version)?;
        let must_understand = match header.and_then(|i| root.children().get(i)) {
            Some(header) => must_understand_flags(header, version)?,
            None => Vec::new(),
        };
        Ok(Self {
            input,
            version,
            root,
            header,
            body,
            must_understand,
        })
    }

    /// The SOAP version of the envelope.
    pub fn version(&self) -> SoapVersion {
        self.version
    }

    /// The `Envelope` element itself.
    pub fn root(&self) -> &Element<'a> {
        &self.root
    }

    /// The `Header` element, if the envelope has one.
    pub fn header(&self) -> Option<&Element<'a>> {
        self.header.and_then(|i| self.root.children().get(i))
    }

    /// The header blocks (children of `Header`) in document order.
    pub fn header_blocks(&self) -> impl Iterator<Item = HeaderBlock<'_>> + '_ {
        let blocks = self.header().map(Element::children).unwrap_or_default();
        blocks
            .iter()
            .zip(self.must_understand.iter())
            .map(|(element, &must_understand)| HeaderBlock {
                element,
                version: self.version,
                must_understand,
            })
    }

    /// The first header block with this namespace URI and local name.
    pub fn header_block(&self, ns: &str, local: &str) -> Option<HeaderBlock<'_>> {
        self.header_blocks().find(|b| b.element().is(ns, local))
    }

    /// The first header block with this local name, in any namespace.
    pub fn header_block_any_ns(&self, local: &str) -> Option<HeaderBlock<'_>> {
        self.header_blocks().find(|b| b.element().name() == local)
    }

    /// The `Body` element.
    pub fn body(&self) -> &Element<'a> {
        // `body` was found among the root's children by `locate_header_and_body`,
        // and the tree is never mutated afterwards.
        &self.root.children()[self.body]
    }

    /// The first element child of `Body` (the operation element), if any.
    pub fn payload(&self) -> Option<&Element<'a>> {
        self.body().children().first()
    }

    /// The raw bytes of an element of this envelope (start to end tag).
    ///
    /// Returns an empty slice for an element that does not come from this envelope.
    pub fn raw(&self, element: &Element<'_>) -> &'a [u8] {
        self.input.get(element.span()).unwrap_or_default()
    }

    /// The whole input the envelope was parsed from.
    pub fn input(&self) -> &'a [u8] {
        self.input
    }
}

/// Finds `Header` and `Body` among the Envelope's children and checks their order.
fn locate_header_and_body(
    root: &Element<'_>,
    version: SoapVersion,
) -> Result<(Option<usize>, usize), EnvelopeError> {
    let ns = version.namespace();
    let mut header = None;
    let mut body = None;
    for (index, child) in root.children().iter().enumerate() {
        if child.is(ns, "Header") {
            if body.is_some() {
                return Err(EnvelopeError::HeaderAfterBody);
            }
            if header.is_some() {
                return Err(EnvelopeError::DuplicateHeader);
            }
            if !is_xml_whitespace(child.text()) {
                return Err(EnvelopeError::TextInEnvelope { element: "Header" });
            }
            header = Some(index);
        } else if child.is(ns, "Body") {
            if body.is_some() {
                return Err(EnvelopeError::DuplicateBody);
            }
            if !is_xml_whitespace(child.text()) {
                return Err(EnvelopeError::TextInEnvelope { element: "Body" });
            }
            body = Some(index);
        } else {
            return Err(EnvelopeError::UnexpectedElement {
                ns: child.ns().map(echo),
                name: echo(child.name()),
            });
        }
    }
    Ok((header, body.ok_or(EnvelopeError::MissingBody)?))
}

/// Reads and validates every header block's `mustUnderstand`.
fn must_understand_flags(
    header: &Element,
    version: SoapVersion,
) -> Result<Vec<bool>, EnvelopeError> {
    header
        .children()
        .iter()
        .map(|block| {
            let Some(value) = block.attr(Some(version.namespace()), "mustUnderstand") else {
                return Ok(false);
            };
            // SOAP 1.1 only defines "0"/"1" but toolkits commonly send xs:boolean
            // spellings; SOAP 1.2 uses xs:boolean. Accept the four in both.
            match value.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n')) {
                "1" | "true" => Ok(true),
                "0" | "false" => Ok(false),
                _ => Err(EnvelopeError::InvalidMustUnderstand {
                    header: echo(block.name()),
                    value: echo(value),
                }),
            }
        })
        .collect()
}
