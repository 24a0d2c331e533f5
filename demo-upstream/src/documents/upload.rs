//! Receiving an upload: the body is written to a temporary file under the store's
//! `.incoming/` directory while SHA-256 and SHA-512 are computed frame by frame, so a 1 GiB
//! document costs a write buffer, never its size in memory.
//!
//! The temporary file is a [`TempPath`]: it is deleted when dropped, which covers every way an
//! upload can fail — an error answered here, and also the handler's future being dropped
//! because the client went away. Only [`super::store::Store`] renames it into place, and only
//! once [`receive`] returned it: the body ended cleanly, had its declared `Content-Length`, and
//! matched every `Content-Digest` it declared.

use std::path::Path;

use axum::body::Body;
use axum::http::{HeaderMap, header};
use http_body_util::BodyExt;
use sha2::{Digest, Sha256, Sha512};
use tempfile::TempPath;
use tokio::io::{AsyncWriteExt, BufWriter};

use super::digest;
use super::problem::Problem;
use super::store::{Document, internal};

/// The type stored when an upload has no `Content-Type`.
const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";
/// Bytes gathered before a write to disk: bounds memory and the number of blocking writes.
const WRITE_BUFFER: usize = 256 * 1024;

/// A complete, checked upload, waiting in its temporary file to be stored.
#[derive(Debug)]
pub(crate) struct Received {
    temp: TempPath,
    size: u64,
    sha256: Vec<u8>,
    sha512: Vec<u8>,
    content_type: String,
}

impl Received {
    /// The metadata of this upload stored as document `id` of `exchange`.
    pub(crate) fn document(
        &self,
        id: &str,
        exchange: &str,
        created: String,
        updated: String,
    ) -> Document {
        Document {
            id: id.to_owned(),
            exchange_id: exchange.to_owned(),
            size: self.size,
            content_type: self.content_type.clone(),
            sha256: hex::encode(&self.sha256),
            sha512: hex::encode(&self.sha512),
            created,
            updated,
        }
    }

    /// The temporary file, for the store to rename into place.
    pub(crate) fn into_temp(self) -> TempPath {
        self.temp
    }
}

/// What an upload declares before its body is read: checked first, so a malformed or
/// oversized request is refused without reading (or storing) anything.
#[derive(Debug)]
pub(crate) struct Declared {
    content_type: String,
    length: Option<u64>,
    digests: digest::Declared,
}

/// Reads and checks the headers of an upload.
///
/// # Errors
/// 400 for a malformed `Content-Type` or `Content-Digest`, 413 when `Content-Length` is above
/// `max_size`.
pub(crate) fn declared(headers: &HeaderMap, max_size: u64) -> Result<Declared, Problem> {
    let content_type = match headers.get(header::CONTENT_TYPE) {
        None => DEFAULT_CONTENT_TYPE.to_owned(),
        Some(v) => v
            .to_str()
            .map_err(|_| Problem::bad_content_type())?
            .to_owned(),
    };
    // hyper has already refused a malformed Content-Length; what is left parses.
    let length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if length.is_some_and(|n| n > max_size) {
        return Err(Problem::too_large(max_size));
    }
    let digests = digest::declared(headers).map_err(Problem::bad_digest_field)?;
    Ok(Declared {
        content_type,
        length,
        digests,
    })
}

/// Streams `body` to a temporary file in `incoming`, hashing it, then checks it against what
/// the request declared.
///
/// # Errors
/// 400 when the body ended early or with an error (the client may be gone: the answer is then
/// never read, but the file is deleted all the same), or does not match its `Content-Digest`;
/// 413 past `max_size`; 500 for a disk error. The temporary file is deleted in every case.
pub(crate) async fn receive(
    incoming: &Path,
    declared: Declared,
    mut body: Body,
    max_size: u64,
) -> Result<Received, Problem> {
    let (file, temp) = tempfile::Builder::new()
        .prefix("upload-")
        .suffix(".part")
        .tempfile_in(incoming)
        .map_err(|e| internal("create a temporary file", &e))?
        .into_parts();
    let mut writer = BufWriter::with_capacity(WRITE_BUFFER, tokio::fs::File::from_std(file));
    let mut sha256 = Sha256::new();
    let mut sha512 = Sha512::new();
    let mut size = 0u64;
    while let Some(frame) = body.frame().await {
        // hyper reports a body short of its Content-Length, or chunked without its last
        // chunk, as an error here: the upload is incomplete and must not be stored.
        let frame = frame.map_err(|e| {
            tracing::info!(error = %e, received = size, "documents: upload body incomplete");
            Problem::incomplete_body(format!("the body ended after {size} bytes: {e}"))
        })?;
        // Trailers carry no document bytes.
        let Ok(data) = frame.into_data() else {
            continue;
        };
        size += data.len() as u64;
        if size > max_size {
            return Err(Problem::too_large(max_size));
        }
        sha256.update(&data);
        sha512.update(&data);
        writer
            .write_all(&data)
            .await
            .map_err(|e| internal("write the upload", &e))?;
    }
    writer
        .flush()
        .await
        .map_err(|e| internal("write the upload", &e))?;
    // "Stored" must survive a crash of the core right after the answer.
    writer
        .into_inner()
        .sync_all()
        .await
        .map_err(|e| internal("sync the upload", &e))?;
    // Belt and braces: hyper enforces Content-Length, but the contract is ours to keep.
    if let Some(expected) = declared.length
        && expected != size
    {
        return Err(Problem::incomplete_body(format!(
            "Content-Length said {expected} bytes, the body had {size}"
        )));
    }
    let sha256 = sha256.finalize().to_vec();
    let sha512 = sha512.finalize().to_vec();
    for (name, want, got) in [
        ("sha-256", &declared.digests.sha256, &sha256),
        ("sha-512", &declared.digests.sha512, &sha512),
    ] {
        if want.as_ref().is_some_and(|w| w != got) {
            tracing::info!(size, "documents: upload refused, {name} mismatch");
            return Err(Problem::digest_mismatch(format!(
                "the {size} bytes received do not have the declared {name}"
            )));
        }
    }
    Ok(Received {
        temp,
        size,
        sha256,
        sha512,
        content_type: declared.content_type,
    })
}
