//! Content checks before a fragile upstream is bothered: the declared media type, the first
//! bytes (a PDF starts with `%PDF-`), and a minimum size. The first bytes are read ahead, before
//! the upstream is called, and handed on in front of the rest of the body.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use bytes::{Bytes, BytesMut};
use http::HeaderMap;
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt;

use crate::config::ContentSettings;
use crate::problem::GatewayError;

/// The checks the headers allow: media type and declared size.
///
/// # Errors
/// 415 for another media type, 400 for a declared size below the minimum.
pub(crate) fn check_headers(
    settings: &ContentSettings,
    declared: Option<u64>,
    headers: &HeaderMap,
) -> Result<(), GatewayError> {
    if !settings.types.is_empty() {
        let media = headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase()
            });
        if !media.as_ref().is_some_and(|m| settings.types.contains(m)) {
            return Err(GatewayError::UnsupportedMediaType(format!(
                "this route accepts {}",
                settings.types.join(", ")
            )));
        }
    }
    if declared.is_some_and(|n| n < settings.min_size) {
        return Err(too_small(settings));
    }
    Ok(())
}

fn too_small(settings: &ContentSettings) -> GatewayError {
    GatewayError::ContentRefused(format!(
        "the body is smaller than this route's minimum of {} bytes",
        settings.min_size
    ))
}

/// Reads the body's first bytes and checks them; the body goes on whole.
///
/// # Errors
/// 415 when the first bytes are not the route's magic, 400 when the body ends below the minimum
/// size, or the body's own error (413, 408, 400) when it fails while being read.
pub(crate) async fn check_start(
    settings: &ContentSettings,
    mut body: Body,
    tally: &crate::body::BodyFaultCell,
) -> Result<Body, GatewayError> {
    let want = settings.magic.as_ref().map_or(0, Vec::len).max(
        usize::try_from(settings.min_size)
            .unwrap_or(usize::MAX)
            .min(64 * 1024),
    );
    let mut seen = BytesMut::new();
    let mut frames = VecDeque::new();
    let mut ended = false;
    while seen.len() < want {
        match body.frame().await {
            None => {
                ended = true;
                break;
            }
            Some(Err(e)) => {
                return Err(tally.error(&e));
            }
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    seen.extend_from_slice(data);
                }
                frames.push_back(frame);
            }
        }
    }
    if ended && (seen.len() as u64) < settings.min_size {
        return Err(too_small(settings));
    }
    if let Some(magic) = &settings.magic
        && !seen.starts_with(magic)
    {
        return Err(GatewayError::UnsupportedMediaType(
            "the body does not start as this route's media type does".into(),
        ));
    }
    Ok(Body::new(Prefixed {
        read: frames,
        rest: body,
        rest_ended: ended,
    }))
}

/// Frames read ahead, then the rest of the body.
struct Prefixed {
    read: VecDeque<Frame<Bytes>>,
    rest: Body,
    rest_ended: bool,
}

impl http_body::Body for Prefixed {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Some(frame) = self.read.pop_front() {
            return Poll::Ready(Some(Ok(frame)));
        }
        if self.rest_ended {
            return Poll::Ready(None);
        }
        Pin::new(&mut self.rest).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.read.is_empty() && (self.rest_ended || self.rest.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        let read: u64 = self
            .read
            .iter()
            .filter_map(|f| f.data_ref().map(|d| d.len() as u64))
            .sum();
        let rest = self.rest.size_hint();
        let mut hint = SizeHint::new();
        hint.set_lower(rest.lower() + read);
        if let Some(upper) = rest.upper() {
            hint.set_upper(upper + read);
        }
        hint
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn pdf() -> ContentSettings {
        ContentSettings {
            types: vec!["application/pdf".into()],
            magic: Some(b"%PDF-".to_vec()),
            min_size: 1,
        }
    }

    #[test]
    fn the_media_type_must_be_one_of_the_routes() {
        let mut h = HeaderMap::new();
        assert!(check_headers(&pdf(), None, &h).is_err(), "no Content-Type");
        h.insert("content-type", "application/pdf; name=x".parse().unwrap());
        assert!(check_headers(&pdf(), None, &h).is_ok());
        h.insert("content-type", "text/plain".parse().unwrap());
        let e = check_headers(&pdf(), None, &h).unwrap_err();
        assert_eq!(e.status(), http::StatusCode::UNSUPPORTED_MEDIA_TYPE);
        h.insert("content-type", "application/pdf".parse().unwrap());
        assert_eq!(
            check_headers(&pdf(), Some(0), &h).unwrap_err().status(),
            http::StatusCode::BAD_REQUEST
        );
    }

    #[tokio::test]
    async fn the_first_bytes_are_checked_and_handed_on() {
        let tally = crate::body::BodyFaultCell::default();
        let body = Body::from("%PDF-1.7 rest of the document");
        let passed = check_start(&pdf(), body, &tally).await.unwrap();
        let bytes = passed.collect().await.unwrap().to_bytes();
        assert_eq!(&bytes[..], b"%PDF-1.7 rest of the document");
        let renamed = Body::from("just text, renamed .pdf");
        let e = check_start(&pdf(), renamed, &tally).await.unwrap_err();
        assert_eq!(e.status(), http::StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let empty = check_start(&pdf(), Body::empty(), &tally)
            .await
            .unwrap_err();
        assert_eq!(empty.status(), http::StatusCode::BAD_REQUEST);
    }
}
