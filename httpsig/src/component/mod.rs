//! Component identifiers (RFC 9421 §2): the parts of a request a signature covers.
//!
//! An identifier is an RFC 9651 String with parameters, e.g. `"content-type"`,
//! `"content-digest";bs` or `"@query-param";name="Pet"`. It is validated once,
//! when parsed, so that the signature base builder only sees identifiers it knows
//! how to compute: anything else is refused before any work is done.

use std::fmt;
use std::str::FromStr;

use sfv::{BareItem, FieldType, Item, Parser};

mod kind;

pub(crate) use kind::{Derived, FieldForm, Kind, StructuredType};

/// At most this many components per signature. A signature naming thousands of
/// large header fields would make the signature base (which is built in memory)
/// arbitrarily large; no real client covers more than a dozen.
pub const MAX_COMPONENTS: usize = 64;

/// Why a component identifier (in `Signature-Input`, a [`Policy`] or a list given
/// to [`sign`]) was refused.
///
/// The identifier is repeated as serialised: it is the caller's own text, an
/// RFC 9651 String, so printable ASCII only.
///
/// [`Policy`]: crate::Policy
/// [`sign`]: crate::sign
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ComponentError {
    /// Not an RFC 9651 String with parameters.
    #[error("component identifier is not a structured field string: {reason}")]
    Syntax {
        /// What the structured field parser expected, with a byte index.
        reason: String,
    },
    /// Well-formed but not allowed by RFC 9421 (e.g. an uppercase field name,
    /// `@status` in a request, `;bs` together with `;sf`).
    #[error("component {component}: {reason}")]
    Invalid {
        /// The identifier, serialised.
        component: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// Valid in RFC 9421 but not implemented here (e.g. `;req`, `;tr`, `;sf` on a
    /// field of unknown type, a derived component from a later registry entry).
    #[error("component {component} is not supported")]
    Unsupported {
        /// The identifier, serialised.
        component: String,
    },
}

/// One covered component: a derived component (`@method`, `@authority`, …) or a
/// header field (`content-digest`, `date`, …), with its parameters.
///
/// Parse one with [`str::parse`] from either the RFC's quoted form
/// (`"@query-param";name="Pet"`) or the same without quotes
/// (`@query-param;name="Pet"`, `content-digest`); `Display` writes the latter.
/// Two identifiers are equal when name and parameters are, in any order.
#[derive(Debug, Clone)]
pub struct Component {
    name: String,
    item: Item,
    /// `item` serialised: the identifier as it appears in the signature base.
    serialized: String,
    kind: Kind,
}

impl Component {
    /// The component name: `@method`, `content-digest`, …
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The identifier in the RFC's quoted form, as it is written in
    /// `Signature-Input` and in the signature base: `"@query-param";name="Pet"`.
    #[must_use]
    pub fn identifier(&self) -> &str {
        &self.serialized
    }

    pub(crate) fn item(&self) -> &Item {
        &self.item
    }

    pub(crate) fn kind(&self) -> &Kind {
        &self.kind
    }

    /// A parameterless derived component; the names are compile-time constants,
    /// so this cannot fail.
    pub(crate) fn derived(derived: Derived) -> Self {
        let name = match derived {
            Derived::Method => sfv::string_ref("@method"),
            Derived::TargetUri => sfv::string_ref("@target-uri"),
            Derived::Authority => sfv::string_ref("@authority"),
            Derived::Scheme => sfv::string_ref("@scheme"),
            Derived::RequestTarget => sfv::string_ref("@request-target"),
            Derived::Path => sfv::string_ref("@path"),
            Derived::Query => sfv::string_ref("@query"),
        };
        let item = Item::new(BareItem::String(name.to_owned()));
        Self {
            name: name.as_str().to_owned(),
            serialized: item.serialize(),
            item,
            kind: Kind::Derived(derived),
        }
    }

    /// Validates one member of a covered components inner list.
    pub(crate) fn from_item(item: &Item) -> Result<Self, ComponentError> {
        let Some(name) = item.bare_item.as_string() else {
            return Err(ComponentError::Syntax {
                reason: "a component identifier must be a string".to_owned(),
            });
        };
        let name = name.as_str();
        let serialized = item.serialize();
        let kind = kind::classify(name, &item.params, &serialized)?;
        Ok(Self {
            name: name.to_owned(),
            item: item.clone(),
            serialized,
            kind,
        })
    }
}

impl PartialEq for Component {
    fn eq(&self, other: &Self) -> bool {
        // `Parameters` is an IndexMap, whose equality ignores order.
        self.name == other.name && self.item.params == other.item.params
    }
}

// Parameters of a valid identifier are Strings and Booleans only, so equality is
// total.
impl Eq for Component {}

impl FromStr for Component {
    type Err = ComponentError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let quoted;
        let text = if text.starts_with('"') {
            text
        } else {
            // A field name is a token and a derived name contains no `"` or `\`, so
            // quoting the part before the first `;` yields the RFC's form.
            let (name, params) = text.split_at(text.find(';').unwrap_or(text.len()));
            quoted = format!("\"{name}\"{params}");
            &quoted
        };
        let item: Item =
            Parser::new(text)
                .parse()
                .map_err(|error: sfv::Error| ComponentError::Syntax {
                    reason: error.to_string(),
                })?;
        Self::from_item(&item)
    }
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A validated name needs no escaping, so the serialised form is exactly
        // `"` name `"` parameters.
        let params = self.serialized.get(self.name.len() + 2..).unwrap_or("");
        write!(f, "{}{params}", self.name)
    }
}

/// Checks a whole covered components list: bounded, and no identifier twice
/// (RFC 9421 §2.5: the same name with other parameters is a different one).
pub(crate) fn check_list(covered: &[Component]) -> Result<(), &'static str> {
    if covered.len() > MAX_COMPONENTS {
        return Err("too many covered components");
    }
    for (index, component) in covered.iter().enumerate() {
        if covered[..index].contains(component) {
            return Err("a component is covered twice");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Component, ComponentError> {
        text.parse()
    }

    #[test]
    fn quoted_and_bare_forms_are_the_same_identifier() {
        for (bare, quoted) in [
            ("@method", "\"@method\""),
            ("content-digest", "\"content-digest\""),
            ("@query-param;name=\"Pet\"", "\"@query-param\";name=\"Pet\""),
            ("example-dict;key=\"a\";sf", "\"example-dict\";key=\"a\";sf"),
        ] {
            let a = parse(bare).expect(bare);
            let b = parse(quoted).expect(quoted);
            assert_eq!(a, b);
            assert_eq!(a.identifier(), quoted);
            assert_eq!(a.to_string(), bare);
        }
        assert_eq!(
            parse("x;sf;key=\"a\"").expect("a"),
            parse("x;key=\"a\";sf").expect("b")
        );
        assert_ne!(parse("date").expect("a"), parse("date;bs").expect("b"));
        assert_eq!(
            Component::derived(Derived::Path),
            parse("@path").expect("c")
        );
    }

    #[test]
    fn a_list_is_bounded_and_free_of_repeats() {
        let date = parse("date").expect("date");
        let list = vec![date.clone(), parse("date;bs").expect("bs")];
        assert_eq!(check_list(&list), Ok(()));
        let twice = vec![date.clone(), parse("\"date\"").expect("again")];
        assert_eq!(check_list(&twice), Err("a component is covered twice"));
        let many: Vec<Component> = (0..=MAX_COMPONENTS)
            .map(|n| parse(&format!("x-{n}")).expect("field"))
            .collect();
        assert_eq!(check_list(&many), Err("too many covered components"));
        assert_eq!(check_list(&many[1..]), Ok(()));
    }
}
