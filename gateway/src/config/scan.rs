//! `routes[].scan`: the antivirus policy. Uploads stream to a clamd daemon while they stream to
//! the upstream, and the upstream's request is completed only once clamd answered clean (see
//! `policy::scan`).
//!
//! ```yaml
//! scan:
//!   clamd: tcp://127.0.0.1:3310        # or unix:/run/clamav/clamd.ctl
//!   on_unavailable: refuse             # or allow (the upload passes, flagged `scan_skipped`)
//!   timeout: 30s                       # clamd's verdict after the last byte, and each write
//!   connect_timeout: 2s
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::error::Collector;

/// The block as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawScan {
    /// `tcp://host:port` or `unix:/path/to/clamd.ctl`.
    pub(crate) clamd: String,
    /// What happens when clamd cannot be reached.
    pub(crate) on_unavailable: Option<ScanOnUnavailable>,
    /// Longest wait for clamd: each write of the stream, then its verdict after the last byte.
    pub(crate) timeout: Option<String>,
    /// Longest wait for the connection to clamd.
    pub(crate) connect_timeout: Option<String>,
}

/// What a route does with an upload when clamd cannot be reached before it starts.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum ScanOnUnavailable {
    /// Refuse the upload (503, `scan-unavailable`) before the upstream is called: the default.
    #[default]
    Refuse,
    /// Let the upload through unscanned; its trail record carries the flag `scan_skipped`.
    Allow,
}

/// Where clamd listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClamdAddress {
    /// `tcp://host:port` (the host is resolved at each connection).
    Tcp(String),
    /// `unix:/path` (relative paths resolve against the configuration file's directory).
    Unix(PathBuf),
}

impl std::fmt::Display for ClamdAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Tcp(addr) => write!(f, "tcp://{addr}"),
            Self::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

/// A route's antivirus policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanSettings {
    /// Where clamd listens.
    pub clamd: ClamdAddress,
    /// What happens when clamd cannot be reached.
    pub on_unavailable: ScanOnUnavailable,
    /// Longest wait for each write to clamd and for its verdict after the last byte.
    pub timeout: Duration,
    /// Longest wait for the connection to clamd.
    pub connect_timeout: Duration,
}

/// Validates `routes[i].scan`; `None` when it is absent or invalid (errors are in `c`).
pub(super) fn scan(
    c: &mut Collector,
    key: &str,
    raw: Option<&RawScan>,
    base: &Path,
) -> Option<ScanSettings> {
    let s = raw?;
    let clamd = c.check(format!("{key}.scan.clamd"), address(&s.clamd, base));
    let timeout = c.timeout(
        format!("{key}.scan.timeout"),
        s.timeout.as_deref(),
        Duration::from_secs(30),
    );
    let connect_timeout = c.timeout(
        format!("{key}.scan.connect_timeout"),
        s.connect_timeout.as_deref(),
        Duration::from_secs(2),
    );
    Some(ScanSettings {
        clamd: clamd?,
        on_unavailable: s.on_unavailable.unwrap_or_default(),
        timeout: timeout?,
        connect_timeout: connect_timeout?,
    })
}

fn address(text: &str, base: &Path) -> Result<ClamdAddress, String> {
    let hint = "write `tcp://127.0.0.1:3310` or `unix:/run/clamav/clamd.ctl`";
    if let Some(rest) = text.strip_prefix("tcp://") {
        let (host, port) = rest
            .rsplit_once(':')
            .ok_or_else(|| format!("`{text}` has no port; {hint}"))?;
        let host_ok = !host.is_empty()
            && !host.contains('/')
            && (!host.starts_with('[') || host.ends_with(']'));
        if !host_ok || port.parse::<u16>().map_or(true, |p| p == 0) {
            return Err(format!(
                "`{text}` is not a `tcp://host:port` address; {hint}"
            ));
        }
        return Ok(ClamdAddress::Tcp(rest.to_owned()));
    }
    if let Some(rest) = text.strip_prefix("unix:") {
        // `unix:///run/x` and `unix:/run/x` name the same socket.
        let path = rest.strip_prefix("//").unwrap_or(rest);
        if path.is_empty() {
            return Err(format!("`{text}` names no socket; {hint}"));
        }
        return Ok(ClamdAddress::Unix(base.join(path)));
    }
    Err(format!("`{text}` is not a clamd address; {hint}"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_tcp_or_unix() {
        let base = Path::new("/etc/gateway");
        assert_eq!(
            address("tcp://127.0.0.1:3310", base),
            Ok(ClamdAddress::Tcp("127.0.0.1:3310".into()))
        );
        assert_eq!(
            address("tcp://[::1]:3310", base),
            Ok(ClamdAddress::Tcp("[::1]:3310".into()))
        );
        assert_eq!(
            address("tcp://clamd.internal:3310", base),
            Ok(ClamdAddress::Tcp("clamd.internal:3310".into()))
        );
        assert_eq!(
            address("unix:/run/clamav/clamd.ctl", base),
            Ok(ClamdAddress::Unix("/run/clamav/clamd.ctl".into()))
        );
        assert_eq!(
            address("unix:///run/clamav/clamd.ctl", base),
            Ok(ClamdAddress::Unix("/run/clamav/clamd.ctl".into()))
        );
        assert_eq!(
            address("unix:clamd.sock", base),
            Ok(ClamdAddress::Unix("/etc/gateway/clamd.sock".into()))
        );
        for bad in [
            "127.0.0.1:3310",
            "tcp://127.0.0.1",
            "tcp://:3310",
            "tcp://127.0.0.1:0",
            "tcp://127.0.0.1:99999",
            "tcp://h/x:1",
            "unix:",
            "http://127.0.0.1:3310",
        ] {
            assert!(address(bad, base).is_err(), "{bad}");
        }
    }

    #[test]
    fn defaults_and_errors_name_their_key() {
        let mut c = Collector::new("f.yaml".into());
        let raw = RawScan {
            clamd: "tcp://127.0.0.1:3310".into(),
            on_unavailable: None,
            timeout: None,
            connect_timeout: None,
        };
        let s = scan(&mut c, "routes[0]", Some(&raw), Path::new("/")).unwrap();
        assert_eq!(s.on_unavailable, ScanOnUnavailable::Refuse);
        assert_eq!(s.timeout, Duration::from_secs(30));
        assert_eq!(s.connect_timeout, Duration::from_secs(2));
        assert!(c.finish(Some(())).is_ok());

        let mut c = Collector::new("f.yaml".into());
        let raw = RawScan {
            clamd: "clamd:3310".into(),
            on_unavailable: Some(ScanOnUnavailable::Allow),
            timeout: Some("0s".into()),
            connect_timeout: Some("1s".into()),
        };
        assert!(scan(&mut c, "routes[0]", Some(&raw), Path::new("/")).is_none());
        let keys: Vec<_> = c.finish(Some(())).unwrap_err().0;
        let keys: Vec<_> = keys.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["routes[0].scan.clamd", "routes[0].scan.timeout"]);
    }
}
