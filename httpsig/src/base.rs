//! The signature base (RFC 9421 §2.5): the exact bytes that are MACed.
//!
//! One line per covered component, `"identifier": value`, in the order the
//! signature lists them, then `"@signature-params": ` and the serialised
//! parameters; lines are joined with `\n`, with none after the last.

use sfv::{FieldType, ItemSerializer, List, ListEntry, Parser};

use crate::component::{Component, Derived, FieldForm, Kind, StructuredType};
use crate::query::{self, Lookup};
use crate::request::RequestParts;

/// Why a covered component has no value in this request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BaseError {
    /// The field, dictionary member or query parameter is not in the request.
    Absent { component: String },
    /// It is there but cannot be put in a signature base as it is.
    Value {
        component: String,
        reason: &'static str,
    },
}

/// Builds the signature base for `covered` and the serialised signature
/// parameters `params` (the inner list with its parameters, exactly as it is
/// written in `Signature-Input`).
pub(crate) fn signature_base(
    request: &RequestParts<'_>,
    covered: &[Component],
    params: &str,
) -> Result<String, BaseError> {
    let mut base = String::new();
    for component in covered {
        let value = value(request, component)?;
        base.push_str(component.identifier());
        base.push_str(": ");
        base.push_str(&value);
        base.push('\n');
    }
    base.push_str("\"@signature-params\": ");
    base.push_str(params);
    Ok(base)
}

/// The serialisation of a covered components inner list with its parameters:
/// the `@signature-params` value.
pub(crate) fn serialize_params(entry: &ListEntry) -> String {
    let list: List = vec![entry.clone()];
    // A one-member list always serialises.
    list.serialize().unwrap_or_default()
}

fn value(request: &RequestParts<'_>, component: &Component) -> Result<String, BaseError> {
    let value = match component.kind() {
        Kind::Derived(derived) => match derived {
            Derived::Method => request.method.to_owned(),
            Derived::TargetUri => request.target_uri(),
            Derived::Authority => request.authority(),
            Derived::Scheme => request.scheme(),
            Derived::RequestTarget => request.request_target(),
            Derived::Path => request.path().to_owned(),
            Derived::Query => request.query(),
        },
        Kind::QueryParam(name) => {
            query::value(request.query, name).map_err(|lookup| match lookup {
                Lookup::Absent => absent(component),
                Lookup::Repeated => bad(component, "the query parameter occurs more than once"),
            })?
        }
        Kind::Field(form) => field(request, component, form)?,
    };
    checked(component, value)
}

fn field(
    request: &RequestParts<'_>,
    component: &Component,
    form: &FieldForm,
) -> Result<String, BaseError> {
    let name = component.name();
    let lines = request.field_lines(name);
    if lines.is_empty() {
        return Err(absent(component));
    }
    let combined = || lines.join(b", ".as_slice());
    Ok(match form {
        FieldForm::Raw => String::from_utf8(combined())
            .map_err(|_| bad(component, "field value is not ASCII; cover it with ;bs"))?,
        FieldForm::ByteSequence => {
            let encoded: Vec<String> = lines
                .iter()
                .map(|line| ItemSerializer::new().bare_item(*line).finish())
                .collect();
            encoded.join(", ")
        }
        FieldForm::Structured(kind) => {
            let value = combined();
            let parser = Parser::new(&value);
            let not_sf = |_| bad(component, "field value is not a valid structured field");
            match kind {
                StructuredType::Item => parser.parse::<sfv::Item>().map_err(not_sf)?.serialize(),
                StructuredType::List => parser
                    .parse::<sfv::List>()
                    .map_err(not_sf)?
                    .serialize()
                    .unwrap_or_default(),
                StructuredType::Dictionary => parser
                    .parse::<sfv::Dictionary>()
                    .map_err(not_sf)?
                    .serialize()
                    .unwrap_or_default(),
            }
        }
        FieldForm::Member(key) => {
            let value = combined();
            let dictionary: sfv::Dictionary = Parser::new(&value).parse().map_err(|_| {
                bad(
                    component,
                    "field value is not a structured field dictionary",
                )
            })?;
            let member = dictionary
                .get(key.as_str())
                .ok_or_else(|| absent(component))?;
            match member {
                ListEntry::Item(item) => item.serialize(),
                ListEntry::InnerList(_) => serialize_params(member),
            }
        }
    })
}

/// A value goes into one line of the base: a CR, LF or other control character
/// could forge the next line, and RFC 9421 §2.5 makes the base US-ASCII. Field
/// values outside that must be covered with `;bs`.
fn checked(component: &Component, value: String) -> Result<String, BaseError> {
    if value
        .bytes()
        .all(|byte| byte == b'\t' || (b' '..=b'~').contains(&byte))
    {
        Ok(value)
    } else {
        Err(bad(
            component,
            "value has control or non-ASCII characters; cover it with ;bs",
        ))
    }
}

fn absent(component: &Component) -> BaseError {
    BaseError::Absent {
        component: component.to_string(),
    }
}

fn bad(component: &Component, reason: &'static str) -> BaseError {
    BaseError::Value {
        component: component.to_string(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The RFC 9421 §B.2 test request.
    const HEADERS: &[(&str, &[u8])] = &[
        ("host", b"example.com"),
        ("date", b"Tue, 20 Apr 2021 02:07:55 GMT"),
        ("content-type", b"application/json"),
        (
            "content-digest",
            b"sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:",
        ),
        ("content-length", b"18"),
    ];

    fn request() -> RequestParts<'static> {
        RequestParts {
            method: "POST",
            scheme: "https",
            authority: "example.com",
            path: "/foo",
            query: Some("param=Value&Pet=dog"),
            headers: HEADERS,
        }
    }

    fn base(request: &RequestParts<'_>, covered: &[&str], params: &str) -> String {
        let covered: Vec<Component> = covered
            .iter()
            .map(|text| text.parse().expect(text))
            .collect();
        signature_base(request, &covered, params).expect("base")
    }

    fn one(request: &RequestParts<'_>, component: &str) -> Result<String, BaseError> {
        value(request, &component.parse().expect(component))
    }

    /// RFC 9421 §B.2.2: selective covered components.
    #[test]
    fn rfc_9421_b22_selective_components() {
        let params = "(\"@authority\" \"content-digest\" \"@query-param\";name=\"Pet\")\
                      ;created=1618884473;keyid=\"test-key-rsa-pss\";tag=\"header-example\"";
        let expected = "\"@authority\": example.com\n\
            \"content-digest\": sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:\n\
            \"@query-param\";name=\"Pet\": dog\n\
            \"@signature-params\": (\"@authority\" \"content-digest\" \"@query-param\";name=\"Pet\")\
            ;created=1618884473;keyid=\"test-key-rsa-pss\";tag=\"header-example\"";
        let covered = [
            "@authority",
            "content-digest",
            "\"@query-param\";name=\"Pet\"",
        ];
        assert_eq!(base(&request(), &covered, params), expected);
    }

    /// RFC 9421 §B.2.3: full coverage.
    #[test]
    fn rfc_9421_b23_full_coverage() {
        let covered = [
            "date",
            "@method",
            "@path",
            "@query",
            "@authority",
            "content-type",
            "content-digest",
            "content-length",
        ];
        let got = base(&request(), &covered, "()");
        let expected = "\"date\": Tue, 20 Apr 2021 02:07:55 GMT\n\
            \"@method\": POST\n\
            \"@path\": /foo\n\
            \"@query\": ?param=Value&Pet=dog\n\
            \"@authority\": example.com\n\
            \"content-type\": application/json\n\
            \"content-digest\": sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:\n\
            \"content-length\": 18\n\
            \"@signature-params\": ()";
        assert_eq!(got, expected);
    }

    /// RFC 9421 §2.2 examples for the derived components.
    #[test]
    fn rfc_9421_derived_component_examples() {
        let request = RequestParts {
            method: "POST",
            scheme: "https",
            authority: "www.example.com",
            path: "/path",
            query: Some("param=value"),
            headers: &[],
        };
        for (component, expected) in [
            ("@method", "POST"),
            ("@target-uri", "https://www.example.com/path?param=value"),
            ("@authority", "www.example.com"),
            ("@scheme", "https"),
            ("@request-target", "/path?param=value"),
            ("@path", "/path"),
            ("@query", "?param=value"),
            ("@query-param;name=\"param\"", "value"),
        ] {
            assert_eq!(one(&request, component).as_deref(), Ok(expected));
        }
    }

    /// RFC 9421 §2.1 and §2.1.2/§2.1.3 examples.
    #[test]
    fn field_forms() {
        let headers: &[(&str, &[u8])] = &[
            ("example-dict", b" a=1,    b=2;x=1;y=2,   c=(a   b   c)"),
            ("x-obs-fold-header", b"Obsolete line folding."),
            ("example-header", b"value, with, lots"),
            ("example-header", b"of, commas"),
            ("x-empty-header", b""),
            ("content-digest", b"sha-256=:AAAA:,  sha-512=:AA==:"),
        ];
        let request = RequestParts {
            headers,
            ..request()
        };
        for (component, expected) in [
            ("example-dict", "a=1,    b=2;x=1;y=2,   c=(a   b   c)"),
            ("example-dict;key=\"a\"", "1"),
            ("example-dict;key=\"b\"", "2;x=1;y=2"),
            ("example-dict;key=\"c\"", "(a b c)"),
            ("example-header", "value, with, lots, of, commas"),
            (
                "example-header;bs",
                ":dmFsdWUsIHdpdGgsIGxvdHM=:, :b2YsIGNvbW1hcw==:",
            ),
            ("x-empty-header", ""),
            ("content-digest;sf", "sha-256=:AAAA:, sha-512=:AA==:"),
        ] {
            assert_eq!(
                one(&request, component).as_deref(),
                Ok(expected),
                "{component}"
            );
        }
        assert_eq!(
            one(&request, "example-dict;key=\"zz\""),
            Err(BaseError::Absent {
                component: "example-dict;key=\"zz\"".to_owned()
            })
        );
        assert!(matches!(
            one(&request, "x-obs-fold-header;key=\"a\""),
            Err(BaseError::Value { .. })
        ));
        assert!(matches!(
            one(&request, "missing"),
            Err(BaseError::Absent { .. })
        ));
    }

    #[test]
    fn values_that_could_forge_a_line_are_refused() {
        let headers: &[(&str, &[u8])] = &[
            ("x-newline", b"a\n\"@method\": GET"),
            ("x-latin", b"caf\xe9"),
            ("x-tab", b"a\tb"),
        ];
        let mut request = RequestParts {
            headers,
            ..request()
        };
        assert!(matches!(
            one(&request, "x-newline"),
            Err(BaseError::Value { .. })
        ));
        assert!(matches!(
            one(&request, "x-latin"),
            Err(BaseError::Value { .. })
        ));
        assert_eq!(one(&request, "x-tab").as_deref(), Ok("a\tb"));
        assert_eq!(one(&request, "x-latin;bs").as_deref(), Ok(":Y2Fm6Q==:"));
        request.path = "/a\r\nb";
        assert!(matches!(
            one(&request, "@path"),
            Err(BaseError::Value { .. })
        ));
        request.query = Some("a=1&a=2");
        assert_eq!(
            one(&request, "@query-param;name=\"a\""),
            Err(BaseError::Value {
                component: "@query-param;name=\"a\"".to_owned(),
                reason: "the query parameter occurs more than once"
            })
        );
    }
}
