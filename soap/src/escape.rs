//! XML escaping for the writers.

/// Appends `text` escaped for element content. Characters XML cannot carry at all
/// (controls other than tab, CR, LF; U+FFFE, U+FFFF) become U+FFFD so the output
/// stays well-formed whatever the caller passes.
pub fn push_text(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            // A literal CR would be normalised away by the receiver's parser.
            '\r' => out.push_str("&#13;"),
            c if is_writable(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
}

/// Appends `value` escaped for a double-quoted attribute value. Tab, CR and LF are
/// written as character references because attribute-value normalisation would
/// otherwise turn them into spaces.
pub fn push_attr(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if is_writable(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
}

fn is_writable(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\u{20}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// Whether `s` is an XML NCName made of ASCII characters, which is all a fault
/// code prefix ever needs.
pub(crate) fn is_ascii_ncname(s: &str) -> bool {
    let mut bytes = s.bytes();
    matches!(bytes.next(), Some(b'A'..=b'Z' | b'a'..=b'z' | b'_'))
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        && !s.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("xml"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_escaping() {
        let mut out = String::new();
        push_text(&mut out, "a<b>&c\"'\r\u{1}");
        assert_eq!(out, "a&lt;b&gt;&amp;c\"'&#13;\u{FFFD}");
    }

    #[test]
    fn attribute_escaping() {
        let mut out = String::new();
        push_attr(&mut out, "a<\"'&\t\n");
        assert_eq!(out, "a&lt;&quot;&apos;&amp;&#9;&#10;");
    }

    #[test]
    fn ncname() {
        assert!(is_ascii_ncname("wsse"));
        assert!(!is_ascii_ncname("xmlns"));
        assert!(!is_ascii_ncname("1a"));
        assert!(!is_ascii_ncname("a:b"));
        assert!(!is_ascii_ncname(""));
    }
}
