//! Namespace scopes for the tree builder.
//!
//! Done here rather than with quick-xml's `NsReader` because resolving at
//! declaration time is much cheaper: a declaration's URI is interned once, and
//! each element then resolves its prefix with a short backwards scan and an `Arc`
//! clone, instead of re-reading every start tag's attributes and copying or
//! hashing its namespace URI (the tree builder was spending half its time there).
//! URIs written without references are borrowed from the input, so resolving an
//! element's namespace is a pointer copy.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// The namespace the `xml` prefix is permanently bound to.
const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";
/// The namespace of `xmlns` attributes, which no prefix may be bound to.
const XMLNS_NS: &str = "http://www.w3.org/2000/xmlns/";

// === impl Ns ===

/// A resolved namespace URI: borrowed from the input, or (when the declaration
/// used references) one shared decoded copy.
#[derive(Clone)]
pub(crate) enum Ns<'a> {
    Borrowed(&'a str),
    Shared(Arc<str>),
}

impl Ns<'_> {
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Self::Borrowed(ns) => ns,
            Self::Shared(ns) => ns,
        }
    }
}

impl PartialEq for Ns<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Ns<'_> {}

impl fmt::Debug for Ns<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// One in-scope declaration.
#[derive(Debug)]
struct Binding<'i> {
    /// `None` for the default namespace.
    prefix: Option<Cow<'i, [u8]>>,
    /// `None` when the default namespace is undeclared (`xmlns=""`).
    ns: Option<Ns<'i>>,
    /// Depth of the element that declared it.
    depth: usize,
}

// === impl Scopes ===

/// The namespace declarations in scope, innermost last.
#[derive(Debug, Default)]
pub(crate) struct Scopes<'i> {
    bindings: Vec<Binding<'i>>,
    interner: Interner,
}

impl<'i> Scopes<'i> {
    /// Records `xmlns[:prefix]="value"` on the element at `depth`. `borrowed` is
    /// the value as a slice of the input when it was written without references.
    pub(crate) fn declare(
        &mut self,
        prefix: Option<Cow<'i, [u8]>>,
        value: &str,
        borrowed: Option<&'i str>,
        depth: usize,
    ) -> Result<(), &'static str> {
        match prefix.as_deref() {
            Some(b"xml") if value == XML_NS => return Ok(()),
            Some(b"xml") => return Err("the xml prefix cannot be rebound"),
            Some(b"xmlns") => return Err("the xmlns prefix cannot be declared"),
            _ if value == XML_NS || value == XMLNS_NS => {
                return Err("a reserved namespace cannot be bound to another prefix");
            }
            Some(_) if value.is_empty() => {
                return Err("a prefix cannot be undeclared in XML 1.0");
            }
            _ => {}
        }
        let ns = match borrowed {
            _ if value.is_empty() => None,
            Some(borrowed) => Some(Ns::Borrowed(borrowed)),
            None => Some(Ns::Shared(self.interner.intern(value))),
        };
        self.bindings.push(Binding { prefix, ns, depth });
        Ok(())
    }

    /// Namespace of an element name with this prefix; `Err` if the prefix is
    /// not declared.
    pub(crate) fn element(&self, prefix: Option<&[u8]>) -> Result<Option<Ns<'i>>, ()> {
        match prefix {
            None => Ok(self
                .bindings
                .iter()
                .rev()
                .find(|b| b.prefix.is_none())
                .and_then(|b| b.ns.clone())),
            Some(prefix) => self.prefixed(prefix).map(Some),
        }
    }

    /// Namespace of an attribute name: unprefixed attributes are in no namespace.
    pub(crate) fn attribute(&self, prefix: Option<&[u8]>) -> Result<Option<Ns<'i>>, ()> {
        match prefix {
            None => Ok(None),
            Some(prefix) => self.prefixed(prefix).map(Some),
        }
    }

    fn prefixed(&self, prefix: &[u8]) -> Result<Ns<'i>, ()> {
        if prefix == b"xml" {
            return Ok(Ns::Borrowed(XML_NS));
        }
        self.bindings
            .iter()
            .rev()
            .find(|b| b.prefix.as_deref() == Some(prefix))
            .and_then(|b| b.ns.clone())
            .ok_or(())
    }

    /// Leaves the element at `depth`: its declarations go out of scope.
    pub(crate) fn pop(&mut self, depth: usize) {
        while self.bindings.last().is_some_and(|b| b.depth >= depth) {
            self.bindings.pop();
        }
    }
}

// === impl Interner ===

/// One shared copy of each namespace URI that had to be decoded.
///
/// A document uses a handful of namespaces, so the first few are kept in a small
/// vector searched linearly (cheaper than hashing); any beyond go to a map, so
/// that a document declaring thousands stays linear too.
#[derive(Debug, Default)]
struct Interner {
    recent: Vec<Arc<str>>,
    overflow: HashMap<Arc<str>, ()>,
}

const RECENT: usize = 16;

impl Interner {
    fn intern(&mut self, value: &str) -> Arc<str> {
        if let Some(ns) = self.recent.iter().find(|ns| &***ns == value) {
            return Arc::clone(ns);
        }
        if let Some((ns, ())) = self.overflow.get_key_value(value) {
            return Arc::clone(ns);
        }
        let ns: Arc<str> = Arc::from(value);
        if self.recent.len() < RECENT {
            self.recent.push(Arc::clone(&ns));
        } else {
            self.overflow.insert(Arc::clone(&ns), ());
        }
        ns
    }
}
