//! Start and empty tags: the element's limits, its namespace declarations and its attributes.

use std::borrow::Cow;

use quick_xml::events::BytesStart;
use quick_xml::events::attributes::Attribute as RawAttribute;
use quick_xml::name::PrefixDeclaration;

use super::{Builder, utf8};
use crate::envelope_error::{echo, echo_bytes};
use crate::xmlchars::{check_chars, map_reader_error};
use crate::{Attribute, Element, EnvelopeError};

impl<'i> Builder<'i, '_> {
    /// Builds the element for a start or empty tag, checking every limit first.
    pub(super) fn open(
        &mut self,
        tag: &BytesStart<'_>,
        start: usize,
        end: usize,
    ) -> Result<Element<'i>, EnvelopeError> {
        if self.root.is_some() {
            return Err(EnvelopeError::ContentAfterEnvelope { position: end });
        }
        if self.stack.len() >= self.limits.max_depth {
            return Err(EnvelopeError::TooDeep {
                limit: self.limits.max_depth,
                position: end,
            });
        }
        self.elements += 1;
        if self.elements > self.limits.max_elements {
            return Err(EnvelopeError::TooManyElements {
                limit: self.limits.max_elements,
                position: end,
            });
        }
        let qname = tag.name();
        let local = qname.local_name().into_inner();
        let name = self.borrow(local).ok_or(EnvelopeError::Malformed {
            position: end,
            detail: "element name not found in the input".into(),
        })?;
        let depth = self.stack.len() + 1;
        let plain = self.declarations(tag, name, depth, end)?;
        let prefix = qname.prefix().map(|p| p.into_inner());
        let ns = self
            .scopes
            .element(prefix)
            .map_err(|()| unbound(prefix, end))?;
        let attrs = if plain > 0 {
            self.attributes(tag, plain, end)?
        } else {
            Vec::new()
        };
        Ok(Element {
            ns,
            name,
            attrs,
            children: Vec::new(),
            text: Cow::Borrowed(""),
            span: start..end,
        })
    }

    /// First pass over the attributes: limits, and namespace declarations (which
    /// apply to the element's own name and attributes, whatever their order).
    /// Returns the number of other attributes.
    fn declarations(
        &mut self,
        tag: &BytesStart<'_>,
        element: &str,
        depth: usize,
        end: usize,
    ) -> Result<usize, EnvelopeError> {
        let mut plain = 0;
        for (count, attr) in tag.attributes().enumerate() {
            // Count before looking at the attribute so that 10,000 attributes cost
            // at most `max_attributes` iterations of the (quadratic) duplicate check.
            if count >= self.limits.max_attributes {
                return Err(EnvelopeError::TooManyAttributes {
                    element: echo(element),
                    limit: self.limits.max_attributes,
                    position: end,
                });
            }
            let attr = raw_attribute(attr, end)?;
            if attr.value.len() > self.limits.max_text_len {
                return Err(EnvelopeError::TextTooLong {
                    limit: self.limits.max_text_len,
                    position: end,
                });
            }
            let prefix = match attr.key.as_namespace_binding() {
                None => {
                    plain += 1;
                    continue;
                }
                Some(PrefixDeclaration::Default) => None,
                Some(PrefixDeclaration::Named(prefix)) => Some(prefix),
            };
            if attr.value.len() > self.limits.max_namespace_len {
                return Err(EnvelopeError::NamespaceTooLong {
                    limit: self.limits.max_namespace_len,
                    position: end,
                });
            }
            let value = attr_value(&attr, end)?;
            let borrowed = match &value {
                Cow::Borrowed(value) => self.borrow(value.as_bytes()),
                Cow::Owned(_) => None,
            };
            let prefix = prefix.map(|p| match self.borrow(p) {
                Some(p) => Cow::Borrowed(p.as_bytes()),
                None => Cow::Owned(p.to_vec()),
            });
            self.scopes
                .declare(prefix, &value, borrowed, depth)
                .map_err(|detail| EnvelopeError::Malformed {
                    position: end,
                    detail: detail.to_owned(),
                })?;
        }
        Ok(plain)
    }

    /// Second pass: the attributes other than namespace declarations.
    fn attributes(
        &self,
        tag: &BytesStart<'_>,
        plain: usize,
        end: usize,
    ) -> Result<Vec<Attribute<'i>>, EnvelopeError> {
        let mut attrs: Vec<Attribute<'i>> = Vec::with_capacity(plain);
        for attr in tag.attributes() {
            let attr = raw_attribute(attr, end)?;
            if attr.key.as_namespace_binding().is_some() {
                continue;
            }
            let prefix = attr.key.prefix().map(|p| p.into_inner());
            let ns = self
                .scopes
                .attribute(prefix)
                .map_err(|()| unbound(prefix, end))?;
            let name = utf8(attr.key.local_name().into_inner(), end)?.to_owned();
            let value = attr_value(&attr, end)?.into_owned();
            // Namespaces in XML forbid two attributes with the same expanded name,
            // even when written with different prefixes.
            if attrs.iter().any(|a| a.ns == ns && a.name == name) {
                return Err(EnvelopeError::Malformed {
                    position: end,
                    detail: format!("duplicate attribute {:?}", echo(&name)),
                });
            }
            attrs.push(Attribute { ns, name, value });
        }
        Ok(attrs)
    }
}

fn raw_attribute<'a>(
    attr: Result<RawAttribute<'a>, quick_xml::events::attributes::AttrError>,
    end: usize,
) -> Result<RawAttribute<'a>, EnvelopeError> {
    attr.map_err(|e| EnvelopeError::Malformed {
        position: end,
        detail: echo(&e.to_string()),
    })
}

/// An attribute value with references resolved and characters checked.
fn attr_value<'a>(attr: &'a RawAttribute<'_>, end: usize) -> Result<Cow<'a, str>, EnvelopeError> {
    let value = attr
        .unescape_value()
        .map_err(|e| map_reader_error(e, end))?;
    check_chars(&value, end)?;
    Ok(value)
}

fn unbound(prefix: Option<&[u8]>, end: usize) -> EnvelopeError {
    EnvelopeError::UnboundPrefix {
        prefix: echo_bytes(prefix.unwrap_or_default()),
        position: end,
    }
}
