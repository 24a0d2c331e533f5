//! Writes files under the output directory and remembers what was written.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::Error;

/// The output directory and the files written to it so far.
pub(crate) struct Output {
    dir: PathBuf,
    written: Vec<String>,
}

impl Output {
    /// Creates the output directory if needed.
    pub(crate) fn create(dir: &Path) -> Result<Self, Error> {
        fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.to_owned(),
            source,
        })?;
        Ok(Self {
            dir: dir.to_owned(),
            written: Vec::new(),
        })
    }

    /// Writes `contents` to `rel` (a `/`-separated path under the output directory).
    pub(crate) fn write(&mut self, rel: &str, contents: impl AsRef<[u8]>) -> Result<(), Error> {
        let path = self.dir.join(rel);
        let io = |source| Error::Io {
            path: path.clone(),
            source,
        };
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(io)?;
        }
        fs::write(&path, contents).map_err(io)?;
        self.written.push(rel.to_owned());
        Ok(())
    }

    /// The output directory.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Paths written so far, relative to the output directory.
    pub(crate) fn written(&self) -> &[String] {
        &self.written
    }
}
