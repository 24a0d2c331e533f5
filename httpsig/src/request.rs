//! The request as the signature sees it, without depending on any HTTP crate.

/// One request, filled in by the caller from whatever HTTP types it uses.
///
/// Values are taken as they were received: this crate normalises only what
/// RFC 9421 says to normalise (the scheme's and authority's case, default ports,
/// whitespace around field values).
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    /// The method as sent, case preserved (`POST`).
    pub method: &'a str,
    /// `http` or `https`: how the request reached the gateway (or the client's
    /// view of it, if a trusted front end says so).
    pub scheme: &'a str,
    /// Host and optional port (`example.com`, `example.com:8443`), from the
    /// request target or `Host`.
    pub authority: &'a str,
    /// The path as sent, still percent-encoded; empty is read as `/`.
    pub path: &'a str,
    /// The query without its `?`; `None` when the target has no `?` at all.
    pub query: Option<&'a str>,
    /// Every header field line, in the order received. Names are matched
    /// case-insensitively; several lines of one field are combined as RFC 9421
    /// §2.1 says (each trimmed, joined with `, `).
    pub headers: &'a [(&'a str, &'a [u8])],
}

impl<'a> RequestParts<'a> {
    /// The values of every line of field `name`, in order, each with leading and
    /// trailing spaces and tabs removed. Empty if the field is absent.
    pub(crate) fn field_lines(&self, name: &str) -> Vec<&'a [u8]> {
        self.headers
            .iter()
            .filter(|(field, _)| field.eq_ignore_ascii_case(name))
            .map(|(_, value)| trim(value))
            .collect()
    }

    /// The combined value of field `name` (RFC 9421 §2.1), `None` if absent.
    pub(crate) fn field(&self, name: &str) -> Option<Vec<u8>> {
        let lines = self.field_lines(name);
        if lines.is_empty() {
            return None;
        }
        Some(lines.join(b", ".as_slice()))
    }

    /// `@scheme`: lowercase.
    pub(crate) fn scheme(&self) -> String {
        self.scheme.to_ascii_lowercase()
    }

    /// `@authority` (RFC 9421 §2.2.3, RFC 9110 §4.2.3): lowercase, without the
    /// scheme's default port or an empty port.
    pub(crate) fn authority(&self) -> String {
        let authority = self.authority.to_ascii_lowercase();
        // The port follows the last `:` after any IPv6 literal's `]`.
        let host_end = authority.rfind(']').map_or(0, |index| index + 1);
        let Some(colon) = authority[host_end..]
            .rfind(':')
            .map(|index| host_end + index)
        else {
            return authority;
        };
        let default = match self.scheme().as_str() {
            "http" => "80",
            "https" => "443",
            _ => return authority,
        };
        let port = &authority[colon + 1..];
        if port.is_empty() || port == default {
            authority[..colon].to_owned()
        } else {
            authority
        }
    }

    /// `@path`: an empty path is `/` (RFC 9110 §4.2.3).
    pub(crate) fn path(&self) -> &'a str {
        if self.path.is_empty() { "/" } else { self.path }
    }

    /// `@query`: `?` and the query, or `?` alone when there is none (§2.2.7).
    pub(crate) fn query(&self) -> String {
        format!("?{}", self.query.unwrap_or(""))
    }

    /// `@request-target` in origin form: path and query as sent (§2.2.5).
    pub(crate) fn request_target(&self) -> String {
        match self.query {
            Some(query) => format!("{}?{query}", self.path()),
            None => self.path().to_owned(),
        }
    }

    /// `@target-uri` (§2.2.2): the absolute URI rebuilt from its normalised
    /// scheme and authority and the request target.
    pub(crate) fn target_uri(&self) -> String {
        format!(
            "{}://{}{}",
            self.scheme(),
            self.authority(),
            self.request_target()
        )
    }
}

/// RFC 9110 §5.5: OWS around a field value is not part of it.
fn trim(value: &[u8]) -> &[u8] {
    let is_ows = |byte: &u8| *byte == b' ' || *byte == b'\t';
    let start = value.iter().position(|byte| !is_ows(byte));
    let end = value.iter().rposition(|byte| !is_ows(byte));
    match (start, end) {
        (Some(start), Some(end)) => &value[start..=end],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request<'a>(
        scheme: &'a str,
        authority: &'a str,
        headers: &'a [(&'a str, &'a [u8])],
    ) -> RequestParts<'a> {
        RequestParts {
            method: "GET",
            scheme,
            authority,
            path: "",
            query: None,
            headers,
        }
    }

    #[test]
    fn authority_is_lowercase_without_default_port() {
        for (scheme, authority, expected) in [
            ("https", "Example.COM", "example.com"),
            ("https", "example.com:443", "example.com"),
            ("HTTPS", "example.com:443", "example.com"),
            ("https", "example.com:80", "example.com:80"),
            ("http", "example.com:80", "example.com"),
            ("http", "example.com:", "example.com"),
            ("https", "example.com:8443", "example.com:8443"),
            ("https", "[::1]:443", "[::1]"),
            ("https", "[::1]", "[::1]"),
            ("https", "[2001:DB8::1]:9000", "[2001:db8::1]:9000"),
            ("ftp", "example.com:21", "example.com:21"),
        ] {
            assert_eq!(
                request(scheme, authority, &[]).authority(),
                expected,
                "{scheme} {authority}"
            );
        }
    }

    #[test]
    fn target_parts() {
        let mut parts = request("HTTPS", "www.example.com:443", &[]);
        assert_eq!(parts.path(), "/");
        assert_eq!(parts.query(), "?");
        assert_eq!(parts.target_uri(), "https://www.example.com/");
        parts.path = "/path";
        parts.query = Some("param=value");
        assert_eq!(parts.request_target(), "/path?param=value");
        assert_eq!(
            parts.target_uri(),
            "https://www.example.com/path?param=value"
        );
        assert_eq!(parts.query(), "?param=value");
        parts.query = Some("");
        assert_eq!(parts.request_target(), "/path?");
        assert_eq!(parts.query(), "?");
    }

    #[test]
    fn field_lines_are_trimmed_and_combined() {
        let headers: &[(&str, &[u8])] = &[
            ("X-Multi", b" a, b "),
            ("other", b"x"),
            ("x-multi", b"\tc"),
            ("x-empty", b"  "),
        ];
        let parts = request("https", "h", headers);
        assert_eq!(
            parts.field("x-multi").as_deref(),
            Some(b"a, b, c".as_slice())
        );
        assert_eq!(parts.field("x-empty").as_deref(), Some(b"".as_slice()));
        assert_eq!(parts.field("missing"), None);
        assert_eq!(parts.field_lines("x-multi").len(), 2);
    }
}
