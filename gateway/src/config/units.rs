//! Durations (`500ms`, `10s`, `2m`, `1h`) and sizes (`512`, `64KiB`, `10MiB`, `1GiB`) as operators
//! write them.

// One duration syntax for the whole file: adapters' blocks parse theirs with the same function.
pub(crate) use adapters::parse_duration;

/// A duration that is not zero: a zero timeout would refuse every connection or request.
pub(crate) fn positive_duration(text: &str) -> Result<std::time::Duration, String> {
    match parse_duration(text)? {
        d if d.is_zero() => Err(format!("`{text}` is zero; a timeout must be positive")),
        d => Ok(d),
    }
}

/// Parses a size in bytes such as `1024`, `64KiB`, `10MiB` or `1GiB` (also `KB`/`MB`/`GB`, decimal).
pub(crate) fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size (write for example `10MiB`)"))?;
    let factor: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        other => {
            return Err(format!(
                "`{text}` has an unknown unit `{other}` (use B, KiB, MiB, GiB, KB, MB or GB)"
            ));
        }
    };
    n.checked_mul(factor)
        .ok_or_else(|| format!("`{text}` is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1024"), Ok(1024));
        assert_eq!(parse_size("10MiB"), Ok(10 << 20));
        assert_eq!(parse_size("1 GiB"), Ok(1 << 30));
        assert!(parse_size("ten").is_err());
        assert!(parse_size("5TB").is_err());
    }
}
