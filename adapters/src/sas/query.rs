//! Query parsing for the SAS searches, written against what SAS and the ANS kit really send:
//! parameters in any order, `start` twice (`ge` and `le`), `|` raw or as `%7C`, `+` as `%2B` in
//! offsets (decoded once, percent rules only, so a `+` never becomes a space), comma lists with
//! stray spaces, 1 to 25 identifiers, `_count` and `_format` accepted.

use std::borrow::Cow;

use jiff::Timestamp;
use percent_encoding::percent_decode_str;

use super::outcome::FhirError;
use super::time::{Bound, parse_bound};

/// Most identifiers one search may carry (SAS sends 1 to 25).
pub(crate) const MAX_IDENTIFIERS: usize = 25;
/// The national health-professional identifier system (RPPS/ADELI, prefixed).
pub(crate) const IDNPS_SYSTEM: &str = "urn:oid:1.2.250.1.71.4.2.1";
/// The national structure identifier system (FINESS/SIRET/…, prefixed).
pub(crate) const IDNST_SYSTEM: &str = "urn:oid:1.2.250.1.71.4.2.2";
/// The SAS technical identifier system.
pub(crate) const SAS_SYSTEM: &str = "urn:oid:1.2.250.1.213.3.6";

/// The query string decoded into name/value pairs, in order.
#[derive(Debug)]
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    /// Decodes a raw query string once, with percent rules only.
    ///
    /// # Errors
    /// A parameter that does not decode to UTF-8.
    pub(crate) fn parse(raw: &str) -> Result<Self, FhirError> {
        let mut out = Vec::new();
        for pair in raw.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            out.push((decode(name)?.into_owned(), decode(value)?.into_owned()));
        }
        Ok(Self(out))
    }

    /// Every value of `name`.
    pub(crate) fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of a parameter that may appear at most once.
    ///
    /// # Errors
    /// When it appears more than once.
    pub(crate) fn one<'a>(&'a self, name: &'a str) -> Result<Option<&'a str>, FhirError> {
        let mut values = self.all(name);
        let first = values.next();
        if values.next().is_some() {
            return Err(FhirError::BadQuery(format!(
                "`{name}` may appear only once"
            )));
        }
        Ok(first)
    }
}

fn decode(s: &str) -> Result<Cow<'_, str>, FhirError> {
    percent_decode_str(s)
        .decode_utf8()
        .map_err(|_| FhirError::BadQuery("the query string is not valid UTF-8".into()))
}

/// A `ge`/`le` search window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    /// First instant (inclusive).
    pub(crate) start: Timestamp,
    /// Last instant (inclusive).
    pub(crate) end: Timestamp,
}

/// Reads the window from the (two) values of a date parameter.
///
/// # Errors
/// Missing bound, a repeated bound, an unsupported prefix, a malformed dateTime, or an inverted
/// window.
pub(crate) fn window<'a>(
    name: &str,
    values: impl Iterator<Item = &'a str>,
) -> Result<Window, FhirError> {
    let (mut lower, mut upper) = (None, None);
    for value in values {
        // `get` rather than slicing: a multi-byte character in the first two bytes is not a
        // prefix, and must not panic.
        let (prefix, text) = match (value.get(..2), value.get(2..)) {
            (Some(p), Some(t)) => (p, t),
            _ => ("", value),
        };
        let (slot, bound) = match prefix {
            "ge" | "gt" => (&mut lower, Bound::Lower),
            "le" | "lt" => (&mut upper, Bound::Upper),
            _ => {
                return Err(FhirError::BadQuery(format!(
                    "`{name}` needs a `ge` and a `le` prefix (got `{value}`)"
                )));
            }
        };
        if slot.is_some() {
            return Err(FhirError::BadQuery(format!(
                "`{name}` has two `{prefix}` bounds"
            )));
        }
        *slot = Some(
            parse_bound(text, bound).map_err(|e| FhirError::BadQuery(format!("`{name}`: {e}")))?,
        );
    }
    match (lower, upper) {
        (Some(start), Some(end)) if start <= end => Ok(Window { start, end }),
        (Some(_), Some(_)) => Err(FhirError::BadQuery(format!(
            "`{name}`: the `ge` bound is after the `le` bound"
        ))),
        _ => Err(FhirError::BadQuery(format!(
            "`{name}` must be given twice: `ge<dateTime>` and `le<dateTime>`"
        ))),
    }
}

/// One `system|value` token of an identifier list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    /// The system, as sent (empty when the token had no `|`).
    pub(crate) system: String,
    /// The value, as sent: answers must repeat it byte for byte.
    pub(crate) value: String,
}

/// Splits a comma-separated OR-list of tokens, trimming stray spaces.
///
/// # Errors
/// An empty list, or more than [`MAX_IDENTIFIERS`] tokens.
pub(crate) fn tokens(name: &str, list: Option<&str>) -> Result<Vec<Token>, FhirError> {
    let Some(list) = list else {
        return Err(FhirError::BadQuery(format!("`{name}` is required")));
    };
    let tokens: Vec<Token> = list
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| match t.split_once('|') {
            Some((system, value)) => Token {
                system: system.trim().to_owned(),
                value: value.trim().to_owned(),
            },
            None => Token {
                system: String::new(),
                value: t.to_owned(),
            },
        })
        .collect();
    if tokens.is_empty() {
        return Err(FhirError::BadQuery(format!("`{name}` holds no identifier")));
    }
    if tokens.len() > MAX_IDENTIFIERS {
        return Err(FhirError::TooManyIdentifiers {
            count: tokens.len(),
            max: MAX_IDENTIFIERS,
        });
    }
    Ok(tokens)
}

/// Checks the parameters every search accepts and ignores: `_count` (a number) and `_format`
/// (a JSON media type or anything else, which is ignored as the IG allows).
///
/// # Errors
/// A `_count` that is not a non-negative integer.
pub(crate) fn common(params: &Params) -> Result<(), FhirError> {
    if let Some(count) = params.one("_count")?
        && count.parse::<u32>().is_err()
    {
        return Err(FhirError::BadQuery(format!(
            "`_count` must be a non-negative integer (got `{count}`)"
        )));
    }
    params.one("_format")?;
    Ok(())
}

/// `status` must be `free` when present (the only status the vendor exposes); anything else
/// finds nothing.
pub(crate) fn wants_free(values: impl Iterator<Item = impl AsRef<str>>) -> bool {
    let mut any = false;
    for v in values {
        any = true;
        if v.as_ref().split(',').any(|s| s.trim() == "free") {
            return true;
        }
    }
    !any
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn decoding_keeps_plus_and_splits_after_decoding() {
        let p = Params::parse("start=ge2024-06-12T16:20:00.000%2B02:00&x=a+b&id=a%7Cb").unwrap();
        assert_eq!(
            p.one("start").unwrap(),
            Some("ge2024-06-12T16:20:00.000+02:00")
        );
        assert_eq!(p.one("x").unwrap(), Some("a+b"));
        assert_eq!(p.one("id").unwrap(), Some("a|b"));
    }

    #[test]
    fn token_lists_trim_and_bound() {
        let t = tokens("i", Some("s|1, s|2 ,s|3")).unwrap();
        assert_eq!(t.len(), 3);
        assert_eq!(t[1].value, "2");
        let many = vec!["s|1"; 26].join(",");
        assert!(matches!(
            tokens("i", Some(&many)),
            Err(FhirError::TooManyIdentifiers { count: 26, .. })
        ));
        assert!(tokens("i", Some(&vec!["s|1"; 25].join(","))).is_ok());
        assert!(tokens("i", Some(" , ")).is_err());
        assert!(tokens("i", None).is_err());
    }

    #[test]
    fn no_input_panics() {
        // Tricky inputs, then pseudo-random strings over a small alphabet of meaningful bytes.
        let mut inputs: Vec<String> = [
            "aé",
            "é",
            "gé",
            "geé",
            "ge",
            "le",
            "ge2024-06-12Té",
            "ge2024-06-12T10:00:00+é",
            "ge2024-06-12T10:00:00.é",
            "ge-",
            "ge2024-é",
            "%",
            "%C3",
            "%C3%A9%7C,",
            "|",
            ",|,",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let alphabet: Vec<char> = "0123456789-+:.TZgel|,%7C2Bé ".chars().collect();
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            let mut s = String::new();
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 32) as usize;
            let mut x = seed;
            for _ in 0..len {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                s.push(alphabet[(x >> 33) as usize % alphabet.len()]);
            }
            inputs.push(s);
        }
        for input in &inputs {
            let _ = Params::parse(input);
            let _ = Params::parse(&format!("start={input}&start=le2030-01-01"));
            let _ = window("start", [input.as_str(), "le2030-01-01"].into_iter());
            let _ = tokens("i", Some(input));
        }
    }

    #[test]
    fn windows_need_both_bounds_in_order() {
        let ok = window("start", ["le2024-06-13", "ge2024-06-12"].into_iter()).unwrap();
        assert!(ok.start < ok.end);
        assert!(window("start", ["ge2024-06-12"].into_iter()).is_err());
        assert!(window("start", ["ge2024-06-12", "ge2024-06-13"].into_iter()).is_err());
        assert!(window("start", ["eq2024-06-12", "le2024-06-13"].into_iter()).is_err());
        assert!(window("start", ["ge2024-06-14", "le2024-06-13"].into_iter()).is_err());
    }
}
