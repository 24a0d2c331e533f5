//! The SecureEchange core's document API (`/exchanges/{exchange_id}/documents`), implementing
//! `docs/openapi/documents.yaml` for `gateway demo` and the end-to-end tests.
//!
//! Documents are client-side encrypted: the core never reads them, it stores bytes. They are
//! kept on disk, in a directory created under the system temp dir for each [`Documents`] (and
//! so for each router), deleted when the last router using it is dropped.
//!
//! An upload is streamed to a temporary file while hashed, and stored only once its body ended
//! cleanly, had its declared `Content-Length`, and matched any `Content-Digest` it carried: the
//! gateway aborts an upload whose digest it finds wrong, and the core must then store nothing. Downloads stream the file with its `Content-Digest`.
//!
//! For the gateway's download checks, [`corrupting_router`] (or
//! [`DocumentsConfig::corrupt_downloads`]) makes a core whose downloads carry a
//! `Content-Digest` that does not match their bytes.

mod digest;
mod problem;
mod store;
mod upload;

use std::io;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{any, get};
use tokio_util::io::ReaderStream;

use problem::Problem;
pub use store::Document;
use store::{Store, internal};

/// The largest document the default configuration accepts: 1 GiB.
pub const DEFAULT_MAX_SIZE: u64 = 1 << 30;
/// Bytes read from disk per frame of a download.
const READ_CHUNK: usize = 64 * 1024;
/// The collection's route.
const DOCUMENTS: &str = "/exchanges/{exchange_id}/documents";
/// One document's route.
const DOCUMENT: &str = "/exchanges/{exchange_id}/documents/{document_id}";

/// How a document store behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocumentsConfig {
    /// The largest document accepted, in bytes (413 above it).
    pub max_size: u64,
    /// Downloads carry a `Content-Digest` that does not match their bytes (the bytes are
    /// right): a misbehaving core, for testing the gateway's download verification.
    pub corrupt_downloads: bool,
}

impl Default for DocumentsConfig {
    fn default() -> Self {
        Self {
            max_size: DEFAULT_MAX_SIZE,
            corrupt_downloads: false,
        }
    }
}

/// A document store and its configuration; clones share the store. The store's directory is
/// deleted when the last clone (including those held by its routers) is dropped.
#[derive(Debug, Clone)]
pub struct Documents {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    config: DocumentsConfig,
}

impl Documents {
    /// A new empty store in a fresh directory under the system temp dir.
    ///
    /// # Errors
    /// When the directory cannot be created.
    pub fn new(config: DocumentsConfig) -> io::Result<Self> {
        Ok(Self {
            inner: Arc::new(Inner {
                store: Store::new()?,
                config,
            }),
        })
    }

    /// The document API's routes, serving this store.
    pub fn router(&self) -> Router {
        Router::new()
            .route(DOCUMENTS, get(list).post(create))
            .route(DOCUMENT, get(read).put(replace).delete(remove))
            .with_state(self.clone())
    }

    /// The store's directory.
    pub fn dir(&self) -> &FsPath {
        self.inner.store.root()
    }

    /// Every file in the store's directory, stored documents and sidecars as well as uploads
    /// in progress: lets a test check that a refused upload left nothing behind.
    ///
    /// # Errors
    /// When the directory cannot be read.
    pub fn files(&self) -> io::Result<Vec<PathBuf>> {
        self.inner.store.files()
    }
}

/// The document API's routes with the default configuration, on a fresh store.
pub fn router() -> Router {
    router_with(DocumentsConfig::default())
}

/// The document API's routes on a fresh store whose downloads carry a wrong `Content-Digest`.
pub fn corrupting_router() -> Router {
    router_with(DocumentsConfig {
        corrupt_downloads: true,
        ..DocumentsConfig::default()
    })
}

/// The document API's routes with `config`, on a fresh store. When the store's directory
/// cannot be created, every document route answers 500 (the other services keep working).
pub fn router_with(config: DocumentsConfig) -> Router {
    match Documents::new(config) {
        Ok(documents) => documents.router(),
        Err(e) => {
            tracing::error!(error = %e, "documents: the store could not be created");
            let detail = format!("the document store could not be created: {e}");
            let unavailable = move || {
                let detail = detail.clone();
                async move { Problem::internal(detail) }
            };
            Router::new()
                .route(DOCUMENTS, any(unavailable.clone()))
                .route(DOCUMENT, any(unavailable))
        }
    }
}

/// Whether `id` is a valid exchange or document id: `[A-Za-z0-9_-]{1,64}`.
fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The exchange id of a collection path, checked.
fn exchange_id(path: Result<Path<String>, PathRejection>) -> Result<String, Problem> {
    let Path(exchange) = path.map_err(|e| Problem::bad_id(e.body_text()))?;
    if !valid_id(&exchange) {
        return Err(Problem::bad_id(
            "exchange_id must match [A-Za-z0-9_-]{1,64}",
        ));
    }
    Ok(exchange)
}

/// The exchange and document ids of a document path, checked.
fn document_ids(
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<(String, String), Problem> {
    let Path((exchange, document)) = path.map_err(|e| Problem::bad_id(e.body_text()))?;
    if !valid_id(&exchange) {
        return Err(Problem::bad_id(
            "exchange_id must match [A-Za-z0-9_-]{1,64}",
        ));
    }
    if !valid_id(&document) {
        return Err(Problem::bad_id(
            "document_id must match [A-Za-z0-9_-]{1,64}",
        ));
    }
    Ok((exchange, document))
}

/// The path of a document on the core, for `Location`.
fn location(doc: &Document) -> Result<HeaderValue, Problem> {
    HeaderValue::from_str(&format!(
        "/exchanges/{}/documents/{}",
        doc.exchange_id, doc.id
    ))
    .map_err(|e| internal("build Location", &e))
}

/// `POST /exchanges/{exchange_id}/documents`: stores a new document.
async fn create(
    State(docs): State<Documents>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    let exchange = exchange_id(path)?;
    let Inner { store, config } = &*docs.inner;
    let declared = upload::declared(&headers, config.max_size)?;
    let received = upload::receive(&store.incoming(), declared, body, config.max_size).await;
    let doc = store.create(&exchange, log_refusal(received)?).await?;
    tracing::info!(exchange, id = doc.id, size = doc.size, "documents: created");
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location(&doc)?)],
        Json(doc),
    )
        .into_response())
}

/// `PUT /exchanges/{exchange_id}/documents/{document_id}`: replaces a document's bytes.
async fn replace(
    State(docs): State<Documents>,
    path: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    let (exchange, id) = document_ids(path)?;
    let Inner { store, config } = &*docs.inner;
    // Refused before the body is read: an upload for nothing would cost its whole transfer.
    store.check(&exchange, &id).await?;
    let declared = upload::declared(&headers, config.max_size)?;
    let received = upload::receive(&store.incoming(), declared, body, config.max_size).await;
    let doc = store
        .replace(&exchange, &id, log_refusal(received)?)
        .await?;
    tracing::info!(exchange, id, size = doc.size, "documents: replaced");
    Ok(([(header::LOCATION, location(&doc)?)], Json(doc)).into_response())
}

/// Logs why an upload was not stored: its client may never read the answer.
fn log_refusal(received: Result<upload::Received, Problem>) -> Result<upload::Received, Problem> {
    if let Err(p) = &received {
        tracing::info!(status = p.status().as_u16(), "documents: upload not stored");
    }
    received
}

/// `GET /exchanges/{exchange_id}/documents/{document_id}`: streams a document's bytes.
async fn read(
    State(docs): State<Documents>,
    path: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let (exchange, id) = document_ids(path)?;
    let Inner { store, config } = &*docs.inner;
    let (doc, file) = store.open(&exchange, &id).await?;
    let mut sha256 = hex::decode(&doc.sha256).map_err(|e| internal("decode metadata", &e))?;
    let mut sha512 = if digest::wants_sha512(&headers) {
        Some(hex::decode(&doc.sha512).map_err(|e| internal("decode metadata", &e))?)
    } else {
        None
    };
    if config.corrupt_downloads {
        // One flipped bit: a well-formed digest of other bytes, as a buggy core would send.
        for d in std::iter::once(&mut sha256).chain(sha512.as_mut()) {
            if let Some(b) = d.first_mut() {
                *b ^= 1;
            }
        }
    }
    let digest_field = digest::field(&sha256, sha512.as_deref());
    let content_type =
        HeaderValue::from_str(&doc.content_type).map_err(|e| internal("decode metadata", &e))?;
    let digest_value =
        HeaderValue::from_str(&digest_field).map_err(|e| internal("build Content-Digest", &e))?;
    let mut response =
        Body::from_stream(ReaderStream::with_capacity(file, READ_CHUNK)).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, content_type);
    // Set explicitly so the download is not chunked and its end is checkable by length.
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(doc.size));
    h.insert(digest::CONTENT_DIGEST, digest_value);
    Ok(response)
}

/// `GET /exchanges/{exchange_id}/documents`: the exchange's documents' metadata.
async fn list(
    State(docs): State<Documents>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Vec<Document>>, Problem> {
    let exchange = exchange_id(path)?;
    Ok(Json(docs.inner.store.list(&exchange).await?))
}

/// `DELETE /exchanges/{exchange_id}/documents/{document_id}`: deletes a document.
async fn remove(
    State(docs): State<Documents>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<StatusCode, Problem> {
    let (exchange, id) = document_ids(path)?;
    docs.inner.store.delete(&exchange, &id).await?;
    tracing::info!(exchange, id, "documents: deleted");
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::valid_id;

    #[test]
    fn ids() {
        assert!(valid_id("a"));
        assert!(valid_id("Ex_1-b"));
        assert!(valid_id(&"x".repeat(64)));
        assert!(!valid_id(""));
        assert!(!valid_id(&"x".repeat(65)));
        assert!(!valid_id("a.b"));
        assert!(!valid_id("a b"));
        assert!(!valid_id("é"));
    }
}
