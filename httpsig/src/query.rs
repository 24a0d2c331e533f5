//! `@query-param` values (RFC 9421 §2.2.8).
//!
//! The query is parsed as `application/x-www-form-urlencoded` (WHATWG URL
//! Standard §5.1: `+` is a space, `%XX` a byte, invalid UTF-8 becomes U+FFFD) and
//! every name and value is then re-encoded with the urlencoded percent-encode set,
//! spaces as `%20`. The round trip makes `a+b`, `a%20b` and `a%20b` (lowercase
//! hex) one value, so that intermediaries re-encoding the query do not break a
//! signature; it leaves only ASCII alphanumerics and `*-._` unencoded.

/// Where a query parameter could not be given a single value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lookup {
    Absent,
    /// RFC 9421 §2.2.8: a name that occurs more than once has no single value and
    /// must not be signed.
    Repeated,
}

/// The canonical encoded form of a name or value as it appears in a query.
pub(crate) fn canonical(raw: &str) -> String {
    encode(&String::from_utf8_lossy(&decode(raw.as_bytes())))
}

/// The canonical value of the parameter whose canonical name is `name`.
pub(crate) fn value(query: Option<&str>, name: &str) -> Result<String, Lookup> {
    let mut found = None;
    for pair in query
        .unwrap_or("")
        .split('&')
        .filter(|pair| !pair.is_empty())
    {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if canonical(key) != name {
            continue;
        }
        if found.is_some() {
            return Err(Lookup::Repeated);
        }
        found = Some(canonical(value));
    }
    found.ok_or(Lookup::Absent)
}

/// Percent-decoding as the urlencoded parser does it: `+` first becomes a space,
/// and a `%` not followed by two hex digits is kept as is.
fn decode(input: &[u8]) -> Vec<u8> {
    let mut output = Vec::with_capacity(input.len());
    let mut index = 0;
    while let Some(&byte) = input.get(index) {
        let escaped = match (byte, input.get(index + 1), input.get(index + 2)) {
            (b'%', Some(&high), Some(&low)) => hex(high).zip(hex(low)),
            _ => None,
        };
        match escaped {
            Some((high, low)) => {
                output.push((high << 4) | low);
                index += 3;
            }
            None => {
                output.push(if byte == b'+' { b' ' } else { byte });
                index += 1;
            }
        }
    }
    output
}

fn hex(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|value| u8::try_from(value).ok())
}

/// Percent-encodes every byte outside ASCII alphanumerics and `*-._`, in
/// uppercase hex (RFC 3986 §2.1).
fn encode(text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut output = String::with_capacity(text.len());
    for &byte in text.as_bytes() {
        if byte.is_ascii_alphanumeric() || b"*-._".contains(&byte) {
            output.push(char::from(byte));
        } else {
            output.push('%');
            output.push(char::from(HEX[usize::from(byte >> 4)]));
            output.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
    }
    output
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 9421 §2.2.8 examples.
    #[test]
    fn rfc_9421_examples() {
        let query = Some("param=value&foo=bar&baz=batman&qux=");
        assert_eq!(value(query, "baz"), Ok("batman".to_owned()));
        assert_eq!(value(query, "qux"), Ok(String::new()));
        assert_eq!(value(query, "param"), Ok("value".to_owned()));
        let query = Some(
            "var=this%20is%20a%20big%0Amultiline%20value&bar=with+plus+whitespace\
             &fa%C3%A7ade%22%3A%20=something",
        );
        assert_eq!(
            value(query, "var"),
            Ok("this%20is%20a%20big%0Amultiline%20value".to_owned())
        );
        assert_eq!(
            value(query, "bar"),
            Ok("with%20plus%20whitespace".to_owned())
        );
        let name = canonical("fa%C3%A7ade%22%3A%20");
        assert_eq!(name, "fa%C3%A7ade%22%3A%20");
        assert_eq!(value(query, &name), Ok("something".to_owned()));
    }

    #[test]
    fn decoding_then_encoding_is_canonical() {
        assert_eq!(canonical("a+b"), "a%20b");
        assert_eq!(canonical("a%2fb"), "a%2Fb");
        assert_eq!(canonical("100%"), "100%25");
        assert_eq!(canonical("%zz%4"), "%25zz%254");
        assert_eq!(canonical("~!'()"), "%7E%21%27%28%29");
        assert_eq!(canonical("%FF"), "%EF%BF%BD");
        assert_eq!(canonical("é"), "%C3%A9");
        assert_eq!(canonical("A-z_0.9*"), "A-z_0.9*");
    }

    #[test]
    fn absent_and_repeated_names_have_no_value() {
        assert_eq!(value(None, "a"), Err(Lookup::Absent));
        assert_eq!(value(Some(""), "a"), Err(Lookup::Absent));
        assert_eq!(value(Some("ab=1&&b"), "a"), Err(Lookup::Absent));
        assert_eq!(value(Some("a&b=2"), "a"), Ok(String::new()));
        assert_eq!(value(Some("a=1&a=2"), "a"), Err(Lookup::Repeated));
        assert_eq!(value(Some("a=1&%61=2"), "a"), Err(Lookup::Repeated));
        assert_eq!(value(Some("a=1=2"), "a"), Ok("1%3D2".to_owned()));
    }
}
