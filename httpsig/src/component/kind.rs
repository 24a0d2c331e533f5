//! What a component identifier means, and which ones are refused (RFC 9421 §2.1,
//! §2.2).

use sfv::{BareItem, Parameters};

use super::ComponentError;

/// Derived components of a request (RFC 9421 §2.2) that take no parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Derived {
    Method,
    TargetUri,
    Authority,
    Scheme,
    RequestTarget,
    Path,
    Query,
}

/// How a header field's value enters the signature base (RFC 9421 §2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FieldForm {
    /// Field lines trimmed and joined with `, ` (§2.1).
    Raw,
    /// `;bs`: every field line as a Byte Sequence (§2.1.3).
    ByteSequence,
    /// `;sf`: the field re-serialised as the given structured type (§2.1.1).
    Structured(StructuredType),
    /// `;key="…"`: one Dictionary member, re-serialised (§2.1.2).
    Member(String),
}

/// The top-level type of a structured field, needed to re-serialise it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StructuredType {
    Item,
    List,
    Dictionary,
}

/// What a validated identifier means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    Derived(Derived),
    /// `@query-param`, with its `name` in the canonical encoded form (§2.2.8).
    QueryParam(String),
    Field(FieldForm),
}

/// What the identifier `name;params` (serialised as `serialized`) means.
pub(super) fn classify(
    name: &str,
    params: &Parameters,
    serialized: &str,
) -> Result<Kind, ComponentError> {
    if name.starts_with('@') {
        derived_kind(name, params)
    } else {
        field_kind(name, params)
    }
    .map_err(|problem| problem.into_error(serialized))
}

/// A rule an identifier breaks, before it is attached to the identifier's text.
enum Problem {
    Invalid(&'static str),
    Unsupported,
}

impl Problem {
    fn into_error(self, serialized: &str) -> ComponentError {
        match self {
            Self::Invalid(reason) => ComponentError::Invalid {
                component: serialized.to_owned(),
                reason,
            },
            Self::Unsupported => ComponentError::Unsupported {
                component: serialized.to_owned(),
            },
        }
    }
}

fn derived_kind(name: &str, params: &Parameters) -> Result<Kind, Problem> {
    let derived = match name {
        "@method" => Derived::Method,
        "@target-uri" => Derived::TargetUri,
        "@authority" => Derived::Authority,
        "@scheme" => Derived::Scheme,
        "@request-target" => Derived::RequestTarget,
        "@path" => Derived::Path,
        "@query" => Derived::Query,
        "@query-param" => return query_param_kind(params),
        "@status" => return Err(Problem::Invalid("@status is only defined for responses")),
        "@signature-params" => {
            return Err(Problem::Invalid("@signature-params cannot be covered"));
        }
        _ => return Err(Problem::Unsupported),
    };
    if params.is_empty() {
        Ok(Kind::Derived(derived))
    } else {
        // `;req` (for responses) is the only parameter defined on these.
        Err(Problem::Unsupported)
    }
}

fn query_param_kind(params: &Parameters) -> Result<Kind, Problem> {
    let mut name = None;
    for (key, value) in params {
        match key.as_str() {
            "name" => {
                let value = value
                    .as_string()
                    .ok_or(Problem::Invalid("the name parameter must be a string"))?;
                name = Some(crate::query::canonical(value.as_str()));
            }
            _ => return Err(Problem::Unsupported),
        }
    }
    name.map(Kind::QueryParam)
        .ok_or(Problem::Invalid("@query-param needs a name parameter"))
}

fn field_kind(name: &str, params: &Parameters) -> Result<Kind, Problem> {
    if name.is_empty() || !name.bytes().all(is_tchar) {
        return Err(Problem::Invalid("not a valid field name"));
    }
    if name.bytes().any(|byte| byte.is_ascii_uppercase()) {
        return Err(Problem::Invalid("field names must be lowercase"));
    }
    let (mut sf, mut bs, mut key) = (false, false, None);
    for (param, value) in params {
        match param.as_str() {
            "sf" => sf = flag(value)?,
            "bs" => bs = flag(value)?,
            "key" => {
                let member = value
                    .as_string()
                    .ok_or(Problem::Invalid("the key parameter must be a string"))?;
                key = Some(member.as_str().to_owned());
            }
            // `req` (request fields in a response signature), `tr` (trailers) and
            // any later parameter.
            _ => return Err(Problem::Unsupported),
        }
    }
    if bs && (sf || key.is_some()) {
        return Err(Problem::Invalid("bs cannot be combined with sf or key"));
    }
    Ok(Kind::Field(match (bs, key) {
        (true, _) => FieldForm::ByteSequence,
        (false, Some(member)) => FieldForm::Member(member),
        (false, None) if sf => {
            FieldForm::Structured(structured_type(name).ok_or(Problem::Unsupported)?)
        }
        (false, None) => FieldForm::Raw,
    }))
}

/// `;sf` and `;bs` are Boolean flags; `;sf=?0` means nothing sensible.
fn flag(value: &BareItem) -> Result<bool, Problem> {
    match value.as_boolean() {
        Some(true) => Ok(true),
        _ => Err(Problem::Invalid("sf and bs take no value")),
    }
}

/// The structured fields `;sf` can re-serialise: the type of a field is defined by
/// its specification, not discoverable from its value.
fn structured_type(name: &str) -> Option<StructuredType> {
    Some(match name {
        // RFC 9530, RFC 9421, RFC 9218.
        "content-digest"
        | "repr-digest"
        | "want-content-digest"
        | "want-repr-digest"
        | "signature"
        | "signature-input"
        | "accept-signature"
        | "priority" => StructuredType::Dictionary,
        // RFC 9211, RFC 9209, RFC 9440.
        "cache-status" | "proxy-status" | "client-cert-chain" => StructuredType::List,
        // RFC 9440.
        "client-cert" => StructuredType::Item,
        _ => return None,
    })
}

/// RFC 9110 §5.6.2 `tchar`.
fn is_tchar(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

#[cfg(test)]
mod tests {
    use crate::{Component, ComponentError};

    fn parse(text: &str) -> Result<Component, ComponentError> {
        text.parse()
    }

    #[test]
    fn invalid_identifiers_are_refused_with_the_rule() {
        for (text, reason) in [
            ("Content-Type", "field names must be lowercase"),
            ("\"\"", "not a valid field name"),
            ("", "not a valid field name"),
            ("\"a b\"", "not a valid field name"),
            ("@status", "@status is only defined for responses"),
            ("@signature-params", "@signature-params cannot be covered"),
            ("@query-param", "@query-param needs a name parameter"),
            ("@query-param;name=1", "the name parameter must be a string"),
            ("date;bs;sf", "bs cannot be combined with sf or key"),
            ("date;bs;key=\"a\"", "bs cannot be combined with sf or key"),
            ("date;sf=?0", "sf and bs take no value"),
            ("date;key=a", "the key parameter must be a string"),
        ] {
            match parse(text) {
                Err(ComponentError::Invalid { reason: got, .. }) => {
                    assert_eq!(got, reason, "{text}");
                }
                other => panic!("{text}: {other:?}"),
            }
        }
        for text in [
            "@method;req",
            "@frobnicate",
            "date;tr",
            "date;req",
            "x-custom;sf",
            "@query-param;name=\"a\";req",
        ] {
            assert!(
                matches!(parse(text), Err(ComponentError::Unsupported { .. })),
                "{text}"
            );
        }
        for text in [
            "\"unterminated",
            "date;",
            "(\"date\")",
            "\"date\" x",
            "\"a\";B",
        ] {
            assert!(
                matches!(parse(text), Err(ComponentError::Syntax { .. })),
                "{text}"
            );
        }
    }
}
