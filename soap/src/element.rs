//! A small owned, namespace-resolved element tree.
//!
//! SOAP documents are size-limited before they are parsed, so building the whole
//! tree is cheap and lets callers navigate by namespace URI and local name without
//! ever caring which prefixes the sender chose.

use std::borrow::Cow;
use std::ops::Range;

use crate::ns::Ns;

// === impl Attribute ===

/// One attribute, with its namespace resolved. Namespace declarations
/// (`xmlns`, `xmlns:p`) are consumed by the parser and never appear here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute<'a> {
    pub(crate) ns: Option<Ns<'a>>,
    pub(crate) name: String,
    pub(crate) value: String,
}

impl Attribute<'_> {
    /// Namespace URI of the attribute; `None` for an unprefixed attribute
    /// (unprefixed attributes are in no namespace, whatever the default namespace).
    pub fn ns(&self) -> Option<&str> {
        self.ns.as_ref().map(Ns::as_str)
    }

    /// Local name of the attribute.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Value with entity and character references resolved.
    pub fn value(&self) -> &str {
        &self.value
    }
}

// === impl Element ===

/// An element with its namespace resolved, its attributes, its element children
/// and its text.
///
/// Text is the concatenation of the element's own text and CDATA nodes (not its
/// descendants'), with references resolved and line ends normalised; comments are
/// dropped, and so are whitespace-only text nodes of an element that has child
/// elements (indentation). A leaf keeps its text exactly, whitespace included.
/// That is the right model for SOAP payloads, which never use mixed content.
///
/// Names and (usually) text borrow from the parsed input, hence the lifetime:
/// building the tree of a typical request allocates little more than its `Vec`s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element<'a> {
    pub(crate) ns: Option<Ns<'a>>,
    pub(crate) name: &'a str,
    pub(crate) attrs: Vec<Attribute<'a>>,
    pub(crate) children: Vec<Element<'a>>,
    pub(crate) text: Cow<'a, str>,
    pub(crate) span: Range<usize>,
}

impl<'a> Element<'a> {
    /// Namespace URI of the element, `None` when it is in no namespace.
    pub fn ns(&self) -> Option<&str> {
        self.ns.as_ref().map(Ns::as_str)
    }

    /// Local name of the element (without prefix).
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// Whether the element has this namespace URI and local name.
    pub fn is(&self, ns: &str, local: &str) -> bool {
        self.ns.as_ref().map(Ns::as_str) == Some(ns) && self.name == local
    }

    /// Attributes in document order.
    pub fn attributes(&self) -> &[Attribute<'a>] {
        &self.attrs
    }

    /// Value of the attribute with this namespace (`None`: unqualified) and local name.
    pub fn attr(&self, ns: Option<&str>, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.ns.as_ref().map(Ns::as_str) == ns && a.name == local)
            .map(|a| a.value.as_str())
    }

    /// Element children in document order.
    pub fn children(&self) -> &[Element<'a>] {
        &self.children
    }

    /// First child with this namespace URI and local name.
    pub fn child(&self, ns: &str, local: &str) -> Option<&Element<'a>> {
        self.children.iter().find(|c| c.is(ns, local))
    }

    /// All children with this namespace URI and local name.
    pub fn children_named<'s>(
        &'s self,
        ns: &'s str,
        local: &'s str,
    ) -> impl Iterator<Item = &'s Element<'a>> + 's {
        self.children.iter().filter(move |c| c.is(ns, local))
    }

    /// First child with this local name, in any namespace (or none).
    ///
    /// For partners that put the same element in different namespaces depending on
    /// the client version (ASPOne's `context/user` lives in the version-0 namespace
    /// even when the rest of the message is version 1).
    pub fn child_any_ns(&self, local: &str) -> Option<&Element<'a>> {
        self.children.iter().find(|c| c.name == local)
    }

    /// Follows a path of local names, in any namespace, from this element:
    /// `path_any_ns(&["user", "login"])` on `context` gives `context/user/login`.
    pub fn path_any_ns(&self, path: &[&str]) -> Option<&Element<'a>> {
        path.iter()
            .try_fold(self, |element, local| element.child_any_ns(local))
    }

    /// The element's text, exactly as parsed (see the type documentation).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The element's text with leading and trailing XML whitespace removed.
    pub fn text_trimmed(&self) -> &str {
        self.text
            .trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'))
    }

    /// Byte range of the element (start tag to end tag inclusive) in the parsed input.
    ///
    /// The raw bytes may use namespace prefixes declared on ancestors, so they are
    /// for logging, hashing or forwarding verbatim, not for re-parsing in isolation.
    pub fn span(&self) -> Range<usize> {
        self.span.clone()
    }
}
