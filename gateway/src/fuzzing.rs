//! The gateway's own parsing of what a caller sends, as functions for the fuzz targets (`fuzz/`).
//! HTTP/1 and HTTP/2 framing is hyper's (fuzzed upstream, in hyper's own targets); what the
//! gateway parses itself is the request path it matches routes on. Not part of the API.

/// The canonical form of a request path, as routes are matched on it, or the caller's refusal.
///
/// # Errors
/// Why the path is refused (`bad-path`), as the caller reads it.
pub fn request_path(path: &str) -> Result<String, &'static str> {
    crate::path::normalize(path).map(std::borrow::Cow::into_owned)
}
