//! Resource limits applied while parsing untrusted XML.

// === impl Limits ===

/// Bounds applied to every document before and while it is parsed.
///
/// The parser refuses a document as soon as one bound is crossed, so the memory
/// and time spent on a hostile document are bounded by these numbers rather than
/// by what the sender chose to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted document, in bytes (checked before parsing starts).
    pub max_bytes: usize,
    /// Deepest accepted element nesting; the root element is at depth 1.
    pub max_depth: usize,
    /// Most attributes (namespace declarations included) on one element.
    pub max_attributes: usize,
    /// Longest accepted text content of one element, or attribute value, in bytes.
    pub max_text_len: usize,
    /// Most elements in the whole document.
    pub max_elements: usize,
    /// Longest namespace URI, in bytes. Every element in a namespace refers to its
    /// URI, so its length multiplies the work of resolving names.
    pub max_namespace_len: usize,
}

impl Limits {
    /// Default document size bound: 1 MiB.
    pub const DEFAULT_MAX_BYTES: usize = 1024 * 1024;
    /// Default depth bound: 32 levels, far more than any real SOAP message uses.
    pub const DEFAULT_MAX_DEPTH: usize = 32;
    /// Default attribute count bound per element.
    pub const DEFAULT_MAX_ATTRIBUTES: usize = 64;
    /// Default text length bound: 256 KiB.
    pub const DEFAULT_MAX_TEXT_LEN: usize = 256 * 1024;
    /// Default element count bound. A typical request has fewer than a hundred;
    /// the bound keeps a 1 MiB document of empty tags from costing ~250,000 nodes.
    pub const DEFAULT_MAX_ELEMENTS: usize = 10_000;
    /// Default namespace URI bound: 2 KiB (real ones are under 100 bytes).
    pub const DEFAULT_MAX_NAMESPACE_LEN: usize = 2048;
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: Self::DEFAULT_MAX_BYTES,
            max_depth: Self::DEFAULT_MAX_DEPTH,
            max_attributes: Self::DEFAULT_MAX_ATTRIBUTES,
            max_text_len: Self::DEFAULT_MAX_TEXT_LEN,
            max_elements: Self::DEFAULT_MAX_ELEMENTS,
            max_namespace_len: Self::DEFAULT_MAX_NAMESPACE_LEN,
        }
    }
}
