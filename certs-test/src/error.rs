//! The generator's error type: every failure names what was being produced.

use std::path::PathBuf;

/// Why the test PKI could not be generated.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// The command line was not understood.
    #[error("{0}\nusage: cargo run -p certs-test [-- [--out DIR] [--only cps]]")]
    Usage(String),
    /// rcgen refused to build a key, a certificate or a CRL.
    #[error("cannot generate {what}: {source}")]
    Rcgen {
        /// The object being generated.
        what: String,
        /// rcgen's own error.
        source: rcgen::Error,
    },
    /// A file or directory could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The path that failed.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A certificate or CRL we just produced does not parse back (a generator bug).
    #[error("generated {what} does not parse back: {detail}")]
    Reparse {
        /// The object that failed to parse.
        what: String,
        /// The parser's message.
        detail: String,
    },
    /// The manifest could not be serialised.
    #[error("cannot serialise manifest.json: {0}")]
    Json(#[from] serde_json::Error),
}

impl Error {
    /// Wraps an rcgen error with the name of the object being generated.
    pub(crate) fn rcgen(what: impl Into<String>) -> impl FnOnce(rcgen::Error) -> Self {
        let what = what.into();
        move |source| Self::Rcgen { what, source }
    }
}
