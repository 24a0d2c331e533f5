//! Request paths made canonical before a route is matched, and forwarded as matched.
//!
//! A path matched raw and forwarded raw lets `/internal/../sas/Slot` pass the `/internal`
//! route's policy and reach an upstream that normalises it to `/sas/Slot`, a path pinned to
//! another client. So, before matching (as nginx does, and Envoy with `normalize_path` and
//! `merge_slashes`):
//!
//! - percent-encoded unreserved characters are decoded (`%2E` is `.`, `%41` is `A`: RFC 3986
//!   §6.2.2.2 says they are the same path), other escapes are kept as they are, upper-cased;
//! - an encoded `/` or `\` (`%2F`, `%5C`), a raw `\`, an encoded NUL, or a malformed escape is
//!   refused: an upstream may or may not decode them into separators (Envoy's
//!   `path_with_escaped_slashes_action: REJECT_REQUEST`);
//! - runs of `/` are merged, and `.` and `..` segments removed (RFC 3986 §5.2.4); a `..` that
//!   would leave the root is refused.
//!
//! The upstream then receives the canonical path: what the gateway checked is what it forwards.

use std::borrow::Cow;

/// Why a path is refused (shown to the caller).
pub(crate) type Refusal = &'static str;

/// The canonical form of `path` (borrowed when it already is), or why it is refused.
pub(crate) fn normalize(path: &str) -> Result<Cow<'_, str>, Refusal> {
    if is_canonical(path) {
        return Ok(Cow::Borrowed(path));
    }
    let decoded = decode_unreserved(path)?;
    let mut segments: Vec<&str> = Vec::new();
    let trailing = decoded.ends_with('/') || decoded.ends_with("/.") || decoded.ends_with("/..");
    for segment in decoded.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                if segments.pop().is_none() {
                    return Err("the path goes above the root with `..`");
                }
            }
            s => segments.push(s),
        }
    }
    let mut out = String::with_capacity(decoded.len());
    for s in &segments {
        out.push('/');
        out.push_str(s);
    }
    if trailing || out.is_empty() {
        out.push('/');
    }
    Ok(Cow::Owned(out))
}

/// The fast path: most paths have no escape, no dot segment and no empty segment.
fn is_canonical(path: &str) -> bool {
    path.starts_with('/')
        && !path.contains(['%', '\\'])
        && !path.contains("//")
        && !path.split('/').any(|s| s == "." || s == "..")
}

fn decode_unreserved(path: &str) -> Result<String, Refusal> {
    if !path.starts_with('/') {
        return Err("the path must start with `/`");
    }
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => return Err("the path contains a backslash"),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or("the path contains a malformed percent-escape")?;
                match hex {
                    b'/' | b'\\' => return Err("the path contains an encoded `/` or `\\`"),
                    0 => return Err("the path contains an encoded NUL"),
                    b if b.is_ascii_alphanumeric() || b"-._~".contains(&b) => {
                        out.push(char::from(b));
                    }
                    b => out.push_str(&format!("%{b:02X}")),
                }
                i += 3;
            }
            b => {
                // The URI parser only lets ASCII through; anything else is kept byte for byte.
                out.push(char::from(b));
                i += 1;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::normalize;

    fn ok(path: &str) -> String {
        normalize(path)
            .map(|p| p.into_owned())
            .unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn canonical_paths_are_borrowed() {
        for p in ["/", "/sas/Slot", "/sas/Slot/", "/a.b/c..d/.e"] {
            assert!(
                matches!(normalize(p), Ok(std::borrow::Cow::Borrowed(_))),
                "{p}"
            );
        }
    }

    #[test]
    fn dot_segments_are_resolved_before_matching() {
        assert_eq!(ok("/internal/../sas/Slot"), "/sas/Slot");
        assert_eq!(ok("/internal/%2e%2e/sas/Slot"), "/sas/Slot");
        assert_eq!(ok("/internal/%2E./sas"), "/sas");
        assert_eq!(ok("/a/./b/."), "/a/b/");
        assert_eq!(ok("/a/b/.."), "/a/");
        assert_eq!(ok("//sas//Slot"), "/sas/Slot");
        assert_eq!(ok("/internal//../sas"), "/sas");
    }

    #[test]
    fn unreserved_escapes_are_decoded_and_others_kept() {
        assert_eq!(ok("/s%61s/Slot"), "/sas/Slot");
        assert_eq!(ok("/a%20b/%c3%a9"), "/a%20b/%C3%A9");
    }

    #[test]
    fn ambiguous_paths_are_refused() {
        for p in [
            "/internal/..%2Fsas/Slot",
            "/internal/..%2fsas",
            "/internal/..\\sas",
            "/internal/..%5Csas",
            "/a%00b",
            "/a%zz",
            "/a%2",
            "/..",
            "/a/../../b",
        ] {
            assert!(normalize(p).is_err(), "{p} must be refused");
        }
    }
}
