//! Configuration errors: every one names the file, the key path and the reason.

use std::fmt;
use std::path::PathBuf;

/// One problem in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file.
    pub file: PathBuf,
    /// Where in the file: a key path such as `routes[2].upstream`, or `line 4, column 3` for a
    /// YAML syntax or schema error.
    pub key: String,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.file.display(), self.key, self.reason)
    }
}

/// Every problem found in one pass over a configuration file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// Collects errors while walking a configuration.
pub(crate) struct Collector {
    file: PathBuf,
    errors: Vec<ConfigError>,
}

impl Collector {
    pub(crate) fn new(file: PathBuf) -> Self {
        Self {
            file,
            errors: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, key: impl Into<String>, reason: impl Into<String>) {
        self.errors.push(ConfigError {
            file: self.file.clone(),
            key: key.into(),
            reason: reason.into(),
        });
    }

    /// Records the error of a fallible conversion and returns its value, if any.
    pub(crate) fn check<T>(&mut self, key: impl Into<String>, r: Result<T, String>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(reason) => {
                self.push(key, reason);
                None
            }
        }
    }

    /// A timeout key: its value, or `default` when the file leaves it out; a zero or malformed
    /// value is reported under `key` (a zero timeout would fail every request).
    pub(crate) fn timeout(
        &mut self,
        key: impl Into<String>,
        value: Option<&str>,
        default: std::time::Duration,
    ) -> Option<std::time::Duration> {
        self.check(
            key,
            value.map_or(Ok(default), super::units::positive_duration),
        )
    }

    /// The value of the environment variable `var` that `key` names (secrets never sit in the
    /// file), if it is set and `valid` accepts it; otherwise the problem is reported under `key`.
    pub(crate) fn secret(
        &mut self,
        key: impl Into<String>,
        env: &dyn super::Env,
        var: &str,
        valid: impl FnOnce(&str) -> Result<(), String>,
    ) -> Option<String> {
        let value = env
            .var(var)
            .ok_or_else(|| format!("environment variable `{var}` is not set"))
            .and_then(|v| valid(&v).map(|()| v));
        self.check(key, value)
    }

    pub(crate) fn finish<T>(self, value: Option<T>) -> Result<T, ConfigErrors> {
        match value {
            Some(v) if self.errors.is_empty() => Ok(v),
            _ => Err(ConfigErrors(self.errors)),
        }
    }
}
