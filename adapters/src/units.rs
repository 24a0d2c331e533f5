//! Durations as operators write them in YAML (`500ms`, `10s`, `5m`, `1h`): one syntax and one
//! set of messages for the gateway's keys and every adapter's block.

use std::time::Duration;

/// Parses a duration such as `250ms`, `10s`, `5m` or `1h`.
///
/// # Errors
/// A message for the operator: no unit, an unknown unit, not a number, or too large.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("`{text}` has no unit (write for example `10s` or `500ms`)"))?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration (write for example `10s` or `500ms`)"))?;
    let millis = match unit {
        "ms" => Some(n),
        "s" => n.checked_mul(1000),
        "m" => n.checked_mul(60_000),
        "h" => n.checked_mul(3_600_000),
        _ => {
            return Err(format!(
                "`{text}` has an unknown unit `{unit}` (use ms, s, m or h)"
            ));
        }
    };
    millis
        .map(Duration::from_millis)
        .ok_or_else(|| format!("`{text}` is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(
            parse_duration("10"),
            Err("`10` has no unit (write for example `10s` or `500ms`)".into())
        );
        assert_eq!(
            parse_duration("3d"),
            Err("`3d` has an unknown unit `d` (use ms, s, m or h)".into())
        );
    }

    #[test]
    fn large_values_are_refused_not_wrapped() {
        assert_eq!(
            parse_duration("307445734561825861m"),
            Err("`307445734561825861m` is too large".into())
        );
    }
}
