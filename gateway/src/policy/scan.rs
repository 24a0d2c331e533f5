//! Antivirus (`routes[].scan`): for partners whose software sends documents in clear, an
//! upload's bytes go to a clamd daemon while they go to the upstream, and the upstream's request
//! is completed only once clamd answered clean.
//!
//! The connection to clamd is made (and `zINSTREAM` sent) before the upstream is called: when
//! clamd cannot be reached the route refuses with 503 (`on_unavailable: refuse`, the default),
//! or lets the upload through unscanned with the flag `scan_skipped` in its trail record
//! (`allow`). Each data frame is then also sent to clamd as a chunk (4-byte big-endian length,
//! then the bytes) by a task that holds the connection, through a bounded channel: a slow clamd
//! slows the upload down, it never makes the gateway buffer it. Like the digest check, the last
//! frame is held back; at the body's end the zero-length chunk is sent and the last frame is
//! released only on `stream: OK`. Any other answer fails the body instead, so the upstream sees
//! an incomplete message (short of its `Content-Length`, without its last chunk) and stores
//! nothing:
//!
//! | clamd's answer | caller gets | trail |
//! |---|---|---|
//! | `stream: OK` | the upstream's answer | as usual |
//! | `stream: <signature> FOUND` | 422 `infected`, naming the signature | `refused`, reason names the signature |
//! | `INSTREAM size limit exceeded. ERROR` (clamd's `StreamMaxLength`; may come before the end) | 413 `too-large-to-scan` | `refused` |
//! | any other answer, or none | 503 `scan-unavailable` | `refused` |
//! | no connection (before the upload starts) | 503 `scan-unavailable`, or the upload passes (`allow`) | `refused`, or flag `scan_skipped` |
//! | connection lost, or no answer within `timeout`, once the scan has started | 503 `scan-unavailable`, whatever `on_unavailable` says | `refused` |
//!
//! A scan that started is never skipped: `allow` applies only while nothing was sent (the
//! trail's flags are settled before the upload streams, and a half-scanned upload must not pass
//! as either scanned or skipped). Requests without a body (no `Content-Length` or a zero one
//! and no `Transfer-Encoding` in HTTP/1.1; `GET`/`HEAD` without `Content-Length` in HTTP/2) are
//! not scanned, so downloads never depend on clamd.
//!
//! Metrics: `gateway_scans_total{route,verdict}` with verdict `clean`, `infected`, `too_large`,
//! `error` (an answer that is no verdict), `unavailable` (refused: no connection, lost, timed
//! out), `skipped` (let through by `allow`).

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::PollSender;

use crate::body::{BodyFault, BodyFaultCell};
use crate::config::scan::{ClamdAddress, ScanOnUnavailable, ScanSettings};
use crate::problem::GatewayError;

use super::Witness;

// === the clamd protocol, as pure functions ===

/// The command that starts a stream scan (`z`: NUL-terminated command and answer).
pub(crate) const INSTREAM: &[u8] = b"zINSTREAM\0";

/// The zero-length chunk that ends a stream.
pub(crate) const END_OF_STREAM: [u8; 4] = [0; 4];

/// The largest chunk written at once (frames larger than this are split).
const MAX_CHUNK: usize = 1 << 20;

/// The longest answer read from clamd.
const MAX_REPLY: usize = 4096;

/// A data frame as INSTREAM chunks: each a 4-byte big-endian length and its bytes. An empty
/// frame gives no chunk (a zero-length chunk would end the stream).
pub(crate) fn chunks(data: &Bytes) -> impl Iterator<Item = ([u8; 4], Bytes)> + '_ {
    (0..data.len()).step_by(MAX_CHUNK).map(move |start| {
        let piece = data.slice(start..data.len().min(start + MAX_CHUNK));
        // A piece is at most MAX_CHUNK bytes: it always fits in a u32.
        let len = u32::try_from(piece.len()).unwrap_or(u32::MAX);
        (len.to_be_bytes(), piece)
    })
}

/// What clamd answered to a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reply {
    /// `stream: OK`.
    Clean,
    /// `stream: <signature> FOUND`.
    Infected(String),
    /// `INSTREAM size limit exceeded. ERROR`: the stream is longer than clamd's
    /// `StreamMaxLength`.
    SizeLimit,
    /// Another `... ERROR`.
    Error(String),
    /// Anything else (never taken as clean).
    Unrecognised(String),
}

/// Parses clamd's answer (without or with its terminating NUL or newline).
pub(crate) fn parse_reply(raw: &[u8]) -> Reply {
    let end = raw.iter().position(|b| *b == 0).unwrap_or(raw.len());
    let text = String::from_utf8_lossy(&raw[..end]);
    let text = text.trim();
    if let Some(rest) = text.strip_suffix(" FOUND") {
        // `stream: Eicar-Test-Signature FOUND`; a signature may hold spaces.
        let signature = rest.strip_prefix("stream:").unwrap_or(rest).trim();
        if !signature.is_empty() && !signature.contains(['\r', '\n']) {
            return Reply::Infected(signature.to_owned());
        }
        return Reply::Unrecognised(shorten(text));
    }
    if let Some(message) = text.strip_suffix(" ERROR") {
        let message = message.strip_prefix("stream:").unwrap_or(message).trim();
        if message.to_ascii_lowercase().contains("size limit exceeded") {
            return Reply::SizeLimit;
        }
        return Reply::Error(shorten(message));
    }
    if text == "stream: OK" {
        return Reply::Clean;
    }
    Reply::Unrecognised(shorten(text))
}

/// At most 200 characters of clamd's text, for logs and problem details.
fn shorten(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(200).collect()
}

// === faults ===

/// Why a scanned body failed; recorded in the body's tally and answered by the handler.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ScanFault {
    /// clamd found a signature.
    #[error("the antivirus found {0}")]
    Infected(String),
    /// The body is longer than clamd accepts.
    #[error("the body is larger than the antivirus accepts")]
    TooLarge,
    /// No verdict: clamd lost, silent, or answering something else.
    #[error("the antivirus gave no verdict: {0}")]
    Unavailable(String),
}

impl From<ScanFault> for GatewayError {
    fn from(fault: ScanFault) -> Self {
        match fault {
            ScanFault::Infected(signature) => GatewayError::Infected { signature },
            ScanFault::TooLarge => GatewayError::ScanTooLarge,
            ScanFault::Unavailable(reason) => GatewayError::ScanUnavailable { reason },
        }
    }
}

// === the policy ===

/// A route's antivirus policy, built once per (re)load.
#[derive(Debug)]
pub(crate) struct Scanner {
    settings: ScanSettings,
    route: String,
}

impl Scanner {
    pub(crate) fn new(settings: ScanSettings, route: &str) -> Self {
        Self {
            settings,
            route: route.to_owned(),
        }
    }

    fn count(&self, verdict: &'static str) {
        metrics::counter!("gateway_scans_total", "route" => self.route.clone(), "verdict" => verdict)
            .increment(1);
    }
}

/// The request's body, scanned as it streams when the route scans and the request has a body.
/// clamd is connected to first: without it, 503 (`refuse`) before the upstream is called, or
/// the body unscanned and the trail flagged (`allow`).
///
/// # Errors
/// 503 `scan-unavailable` when clamd cannot be reached and the route refuses.
pub(crate) async fn request(
    scanner: Option<&Scanner>,
    parts: &http::request::Parts,
    body: Body,
    tally: &BodyFaultCell,
    witness: &mut Witness,
) -> Result<Body, GatewayError> {
    let Some(scanner) = scanner else {
        return Ok(body);
    };
    if !carries_body(parts) {
        return Ok(body);
    }
    let settings = &scanner.settings;
    match connect(&settings.clamd, settings.connect_timeout).await {
        Ok(io) => Ok(Body::new(ScannedBody::new(
            body,
            io,
            settings.timeout,
            Some(BodyFaultCell::clone(tally)),
            scanner.route.clone(),
        ))),
        Err(e) => {
            let reason = format!("clamd at {} cannot be reached: {e}", settings.clamd);
            match settings.on_unavailable {
                ScanOnUnavailable::Refuse => {
                    scanner.count("unavailable");
                    Err(GatewayError::ScanUnavailable { reason })
                }
                ScanOnUnavailable::Allow => {
                    scanner.count("skipped");
                    tracing::warn!(route = %scanner.route, %reason,
                        "the upload passes unscanned (scan.on_unavailable: allow)");
                    witness.flag("scan_skipped");
                    Ok(body)
                }
            }
        }
    }
}

/// Whether the request may carry body bytes.
fn carries_body(parts: &http::request::Parts) -> bool {
    if let Some(length) = crate::body::declared_length(&parts.headers) {
        return length > 0;
    }
    if parts.headers.contains_key(http::header::TRANSFER_ENCODING) {
        return true;
    }
    match parts.version {
        // HTTP/1.x: neither header, no body.
        http::Version::HTTP_09 | http::Version::HTTP_10 | http::Version::HTTP_11 => false,
        // HTTP/2 and 3 frame bodies themselves: any method but a read may carry one.
        _ => !matches!(parts.method, http::Method::GET | http::Method::HEAD),
    }
}

trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// A connection to clamd with `zINSTREAM` sent, within `within`.
async fn connect(address: &ClamdAddress, within: Duration) -> std::io::Result<Box<dyn Io>> {
    let connecting = async {
        let mut io: Box<dyn Io> = match address {
            ClamdAddress::Tcp(addr) => {
                let stream = tokio::net::TcpStream::connect(addr.as_str()).await?;
                stream.set_nodelay(true)?;
                Box::new(stream)
            }
            ClamdAddress::Unix(path) => Box::new(tokio::net::UnixStream::connect(path).await?),
        };
        io.write_all(INSTREAM).await?;
        Ok(io)
    };
    tokio::time::timeout(within, connecting)
        .await
        .unwrap_or_else(|_| {
            Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("no connection within {within:?}"),
            ))
        })
}

/// What the wrapper sends to the task holding the connection.
#[derive(Debug)]
enum Msg {
    Data(Bytes),
    /// The body ended: send the zero-length chunk and wait for the verdict. Without it (the
    /// channel closed), the upload was abandoned and the scan is dropped.
    End,
}

/// What the task found.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Answer(Reply),
    /// No answer: the connection failed or clamd was silent for `timeout`.
    Lost(String),
}

/// Streams the chunks to clamd and reads its answer (as soon as it comes: clamd answers a
/// stream over its size limit before its end, then closes).
async fn session<S: AsyncRead + AsyncWrite>(
    io: S,
    mut rx: mpsc::Receiver<Msg>,
    timeout: Duration,
) -> Option<Verdict> {
    let (mut rd, mut wr) = tokio::io::split(io);
    let ended = AtomicBool::new(false);
    let timed_out = || std::io::Error::new(std::io::ErrorKind::TimedOut, "clamd stopped reading");
    let writing = async {
        while let Some(msg) = rx.recv().await {
            match msg {
                Msg::Data(bytes) => {
                    for (header, piece) in chunks(&bytes) {
                        tokio::time::timeout(timeout, wr.write_all(&header))
                            .await
                            .map_err(|_| timed_out())??;
                        tokio::time::timeout(timeout, wr.write_all(&piece))
                            .await
                            .map_err(|_| timed_out())??;
                    }
                }
                Msg::End => {
                    tokio::time::timeout(timeout, async {
                        wr.write_all(&END_OF_STREAM).await?;
                        wr.flush().await
                    })
                    .await
                    .map_err(|_| timed_out())??;
                    ended.store(true, Ordering::Release);
                    return Ok(true);
                }
            }
        }
        Ok::<_, std::io::Error>(false)
    };
    let reading = read_reply(&mut rd);
    tokio::pin!(writing, reading);
    tokio::select! {
        biased;
        written = &mut writing => match written {
            Ok(true) => Some(match tokio::time::timeout(timeout, &mut reading).await {
                Ok(answer) => answered(answer),
                Err(_) => Verdict::Lost(format!("no verdict within {timeout:?}")),
            }),
            Ok(false) => None,
            // clamd may have answered before closing (over its size limit): its answer wins.
            Err(e) => Some(match tokio::time::timeout(timeout, &mut reading).await {
                Ok(Ok(answer)) if !answer.is_empty() => Verdict::Answer(parse_reply(&answer)),
                _ => Verdict::Lost(format!("writing to clamd failed: {e}")),
            }),
        },
        answer = &mut reading => Some(match answered(answer) {
            Verdict::Answer(Reply::Clean) if !ended.load(Ordering::Acquire) => Verdict::Answer(
                Reply::Unrecognised("`stream: OK` before the end of the stream".into()),
            ),
            other => other,
        }),
    }
}

fn answered(answer: std::io::Result<Vec<u8>>) -> Verdict {
    match answer {
        Ok(a) if a.is_empty() => {
            Verdict::Lost("clamd closed the connection without answering".into())
        }
        Ok(a) => Verdict::Answer(parse_reply(&a)),
        Err(e) => Verdict::Lost(format!("reading clamd's answer failed: {e}")),
    }
}

/// clamd's answer: up to its NUL, the end of the connection, or [`MAX_REPLY`] bytes.
async fn read_reply<R: AsyncRead + Unpin>(rd: &mut R) -> std::io::Result<Vec<u8>> {
    let mut answer = Vec::new();
    let mut buf = [0u8; 512];
    loop {
        let n = rd.read(&mut buf).await?;
        if n == 0 {
            return Ok(answer);
        }
        answer.extend_from_slice(&buf[..n]);
        if let Some(end) = answer.iter().position(|b| *b == 0) {
            answer.truncate(end);
            return Ok(answer);
        }
        if answer.len() >= MAX_REPLY {
            answer.truncate(MAX_REPLY);
            return Ok(answer);
        }
    }
}

/// Where a [`ScannedBody`] is.
enum State {
    /// Frames pass, each also sent to clamd.
    Streaming,
    /// The body ended: the end of the stream is to be sent.
    Ending,
    /// Waiting for the verdict, the last frame held.
    Awaiting,
    /// Clean: the last frame is released.
    Done,
    /// Refused: the body failed.
    Failed,
}

pin_project_lite::pin_project! {
    /// Sends a body to clamd as it passes and releases its last frame on a clean verdict (see
    /// the module docs).
    struct ScannedBody<B> {
        #[pin]
        inner: B,
        to_clamd: PollSender<Msg>,
        verdict: oneshot::Receiver<Option<Verdict>>,
        held: Option<Frame<Bytes>>,
        state: State,
        tally: Option<BodyFaultCell>,
        route: String,
    }
}

impl<B> ScannedBody<B> {
    fn new<S>(
        inner: B,
        io: S,
        timeout: Duration,
        tally: Option<BodyFaultCell>,
        route: String,
    ) -> Self
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (tx, rx) = mpsc::channel(4);
        let (verdict_tx, verdict) = oneshot::channel();
        tokio::spawn(async move {
            let _ = verdict_tx.send(session(io, rx, timeout).await);
        });
        Self {
            inner,
            to_clamd: PollSender::new(tx),
            verdict,
            held: None,
            state: State::Streaming,
            tally,
            route,
        }
    }
}

/// Why a scanned body failed (what hyper logs; the caller's answer comes from the tally).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct ScanRefused(ScanFault);

impl<B> ScannedBody<B> {
    /// Applies the task's verdict: `Ok` when the last frame may go.
    fn conclude(
        verdict: Result<Option<Verdict>, oneshot::error::RecvError>,
        route: &str,
        tally: Option<&BodyFaultCell>,
    ) -> Result<(), ScanFault> {
        let (metric, fault) = match verdict {
            Ok(Some(Verdict::Answer(Reply::Clean))) => ("clean", None),
            Ok(Some(Verdict::Answer(Reply::Infected(signature)))) => {
                tracing::warn!(route, %signature, "clamd found a signature; the upload is refused");
                ("infected", Some(ScanFault::Infected(signature)))
            }
            Ok(Some(Verdict::Answer(Reply::SizeLimit))) => {
                tracing::warn!(route, "the upload exceeds clamd's StreamMaxLength; refused");
                ("too_large", Some(ScanFault::TooLarge))
            }
            Ok(Some(Verdict::Answer(Reply::Error(text) | Reply::Unrecognised(text)))) => {
                tracing::error!(route, answer = %text, "clamd gave no verdict; the upload is refused");
                (
                    "error",
                    Some(ScanFault::Unavailable(format!("clamd answered `{text}`"))),
                )
            }
            Ok(Some(Verdict::Lost(reason))) => {
                tracing::error!(route, %reason, "the scan failed; the upload is refused");
                ("unavailable", Some(ScanFault::Unavailable(reason)))
            }
            Ok(None) | Err(_) => (
                "unavailable",
                Some(ScanFault::Unavailable("the scan stopped".into())),
            ),
        };
        metrics::counter!("gateway_scans_total", "route" => route.to_owned(), "verdict" => metric)
            .increment(1);
        match fault {
            None => Ok(()),
            Some(fault) => {
                if let Some(tally) = tally {
                    tally.set_fault(BodyFault::Scan(fault.clone()));
                }
                Err(fault)
            }
        }
    }
}

impl<B> http_body::Body for ScannedBody<B>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let mut this = self.project();
        loop {
            match this.state {
                State::Done => return Poll::Ready(this.held.take().map(Ok)),
                State::Failed => return Poll::Ready(None),
                State::Streaming | State::Ending | State::Awaiting => {}
            }
            // A verdict may come before the end (clamd's size limit, a lost connection).
            if let Poll::Ready(verdict) = Pin::new(&mut *this.verdict).poll(cx) {
                match Self::conclude(verdict, this.route, this.tally.as_ref()) {
                    Ok(()) => *this.state = State::Done,
                    Err(fault) => {
                        *this.state = State::Failed;
                        this.held.take();
                        this.to_clamd.close();
                        return Poll::Ready(Some(Err(Box::new(ScanRefused(fault)))));
                    }
                }
                continue;
            }
            match this.state {
                State::Streaming => {
                    // Room for the next frame first: a slow clamd slows the upload down.
                    if ready!(this.to_clamd.poll_reserve(cx)).is_err() {
                        // The task ended early: its verdict is on its way.
                        *this.state = State::Awaiting;
                        continue;
                    }
                    match ready!(this.inner.as_mut().poll_frame(cx)) {
                        Some(Err(e)) => {
                            // The caller's fault: the scan is abandoned.
                            this.to_clamd.close();
                            *this.state = State::Failed;
                            return Poll::Ready(Some(Err(e.into())));
                        }
                        Some(Ok(frame)) => {
                            if let Some(data) = frame.data_ref()
                                && !data.is_empty()
                            {
                                // The slot is reserved: this cannot fail but on a closed
                                // channel, whose verdict the next poll reads.
                                let _ = this.to_clamd.send_item(Msg::Data(data.clone()));
                            }
                            if let Some(previous) = this.held.replace(frame) {
                                return Poll::Ready(Some(Ok(previous)));
                            }
                        }
                        None => *this.state = State::Ending,
                    }
                }
                State::Ending => {
                    if ready!(this.to_clamd.poll_reserve(cx)).is_ok() {
                        let _ = this.to_clamd.send_item(Msg::End);
                    }
                    *this.state = State::Awaiting;
                }
                // The verdict's waker is registered above.
                _ => return Poll::Pending,
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self.state, State::Done | State::Failed) && self.held.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[test]
    fn a_stream_is_the_command_then_length_prefixed_chunks_then_a_zero_chunk() {
        assert_eq!(INSTREAM, b"zINSTREAM\0");
        assert_eq!(END_OF_STREAM, [0, 0, 0, 0]);
        let data = Bytes::from_static(b"hello");
        let got: Vec<_> = chunks(&data).collect();
        assert_eq!(got, vec![([0, 0, 0, 5], Bytes::from_static(b"hello"))]);
        assert_eq!(
            chunks(&Bytes::new()).count(),
            0,
            "no zero-length chunk mid-stream"
        );
        let big = Bytes::from(vec![7u8; MAX_CHUNK + 3]);
        let got: Vec<_> = chunks(&big).collect();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, 0x0010_0000u32.to_be_bytes());
        assert_eq!(got[1].0, [0, 0, 0, 3]);
        assert_eq!(got[0].1.len() + got[1].1.len(), big.len());
    }

    #[test]
    fn answers_are_parsed_and_only_ok_is_clean() {
        assert_eq!(parse_reply(b"stream: OK\0"), Reply::Clean);
        assert_eq!(parse_reply(b"stream: OK\n"), Reply::Clean);
        assert_eq!(
            parse_reply(b"stream: Eicar-Test-Signature FOUND\0"),
            Reply::Infected("Eicar-Test-Signature".into())
        );
        assert_eq!(
            parse_reply(b"stream: Win.Test.EICAR_HDB-1 with spaces FOUND\0"),
            Reply::Infected("Win.Test.EICAR_HDB-1 with spaces".into())
        );
        assert_eq!(
            parse_reply(b"INSTREAM size limit exceeded. ERROR\0"),
            Reply::SizeLimit
        );
        assert_eq!(
            parse_reply(b"stream: Can't allocate memory ERROR\0"),
            Reply::Error("Can't allocate memory".into())
        );
        // A signature without FOUND, an empty one, a bare OK, garbage: never clean.
        for raw in [
            &b"stream: Eicar-Test-Signature\0"[..],
            b"stream:  FOUND\0",
            b"OK\0",
            b"stream: OKAY\0",
            b"\xff\xfe garbage",
            b"",
            b"PONG\0",
            b"COMMAND READ TIMED OUT\0",
        ] {
            let got = parse_reply(raw);
            assert!(
                matches!(got, Reply::Unrecognised(_)),
                "{raw:?} gave {got:?}"
            );
        }
        // Only the text before the NUL counts.
        assert_eq!(parse_reply(b"stream: OK\0stream: X FOUND"), Reply::Clean);
    }

    #[test]
    fn only_requests_with_a_body_are_scanned() {
        let parts = |method: &str, version, headers: &[(&str, &str)]| {
            let mut req = http::Request::builder().method(method).version(version);
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            req.body(()).unwrap().into_parts().0
        };
        let h1 = http::Version::HTTP_11;
        let h2 = http::Version::HTTP_2;
        assert!(carries_body(&parts("POST", h1, &[("content-length", "3")])));
        assert!(!carries_body(&parts(
            "POST",
            h1,
            &[("content-length", "0")]
        )));
        assert!(carries_body(&parts(
            "PUT",
            h1,
            &[("transfer-encoding", "chunked")]
        )));
        assert!(!carries_body(&parts("GET", h1, &[])));
        assert!(!carries_body(&parts("POST", h1, &[])));
        assert!(carries_body(&parts("POST", h2, &[])));
        assert!(!carries_body(&parts("GET", h2, &[])));
        assert!(carries_body(&parts("GET", h2, &[("content-length", "5")])));
    }

    /// A body delivering the given pieces, one frame each.
    struct Chunks(std::collections::VecDeque<&'static [u8]>);

    impl http_body::Body for Chunks {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            Poll::Ready(
                self.0
                    .pop_front()
                    .map(|p| Ok(Frame::data(Bytes::from_static(p)))),
            )
        }
    }

    /// How the fake clamd behaves.
    #[derive(Clone, Copy)]
    enum Fake {
        /// Reads the whole stream, then answers.
        Answer(&'static [u8]),
        /// Answers and closes once it has read more than this many bytes.
        Limit(usize, &'static [u8]),
        /// Reads the stream and never answers.
        Silent,
    }

    /// A fake clamd on one end of a pipe; gives what it received.
    fn fake(behaviour: Fake) -> (tokio::io::DuplexStream, tokio::task::JoinHandle<Vec<u8>>) {
        let (ours, mut theirs) = tokio::io::duplex(64);
        let task = tokio::spawn(async move {
            let mut got = Vec::new();
            loop {
                let mut len = [0u8; 4];
                if theirs.read_exact(&mut len).await.is_err() {
                    return got;
                }
                let len = u32::from_be_bytes(len) as usize;
                if len == 0 {
                    break;
                }
                let mut piece = vec![0u8; len];
                if theirs.read_exact(&mut piece).await.is_err() {
                    return got;
                }
                got.extend_from_slice(&piece);
                if let Fake::Limit(limit, answer) = behaviour
                    && got.len() > limit
                {
                    let _ = theirs.write_all(answer).await;
                    return got;
                }
            }
            match behaviour {
                Fake::Answer(answer) | Fake::Limit(_, answer) => {
                    let _ = theirs.write_all(answer).await;
                }
                Fake::Silent => std::future::pending::<()>().await,
            }
            got
        });
        (ours, task)
    }

    /// Runs a body of `parts` through a scan against `behaviour`: what was released, whether
    /// the body failed, the fault recorded and what clamd received.
    async fn scan(
        parts: &[&'static [u8]],
        behaviour: Fake,
        timeout: Duration,
    ) -> (Vec<u8>, bool, Option<BodyFault>, Vec<u8>) {
        let (io, clamd) = fake(behaviour);
        let tally = BodyFaultCell::default();
        let mut body = ScannedBody::new(
            Chunks(parts.iter().copied().collect()),
            io,
            timeout,
            Some(BodyFaultCell::clone(&tally)),
            "test".into(),
        );
        let mut released = Vec::new();
        let mut failed = false;
        while let Some(frame) = body.frame().await {
            match frame {
                Ok(f) => released.extend_from_slice(f.data_ref().map_or(&[][..], |d| d.as_ref())),
                Err(_) => failed = true,
            }
        }
        drop(body);
        // A silent fake never ends: what it received then does not matter.
        let received = tokio::time::timeout(SECOND, clamd)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        (released, failed, tally.fault().cloned(), received)
    }

    const SECOND: Duration = Duration::from_secs(1);

    #[tokio::test]
    async fn a_clean_body_passes_whole_after_clamd_saw_it_whole() {
        let (released, failed, fault, received) = scan(
            &[b"ab", b"", b"cd", b"ef"],
            Fake::Answer(b"stream: OK\0"),
            SECOND,
        )
        .await;
        assert_eq!(released, b"abcdef");
        assert!(!failed);
        assert_eq!(fault, None);
        assert_eq!(received, b"abcdef");
    }

    #[tokio::test]
    async fn an_infected_body_fails_before_its_last_piece_naming_the_signature() {
        let (released, failed, fault, _) = scan(
            &[b"ab", b"cd", b"ef"],
            Fake::Answer(b"stream: Eicar-Test-Signature FOUND\0"),
            SECOND,
        )
        .await;
        assert!(failed);
        assert_eq!(
            released, b"abcd",
            "the last piece must not reach the upstream"
        );
        assert_eq!(
            fault,
            Some(BodyFault::Scan(ScanFault::Infected(
                "Eicar-Test-Signature".into()
            )))
        );
        let e: GatewayError = fault.unwrap().into();
        assert_eq!(e.status(), http::StatusCode::UNPROCESSABLE_ENTITY);
        assert!(e.public_detail().contains("Eicar-Test-Signature"));
    }

    #[tokio::test]
    async fn over_clamds_limit_the_body_fails_early_and_is_never_clean() {
        let many: Vec<&'static [u8]> = vec![b"0123456789"; 20];
        let (released, failed, fault, _) = scan(
            &many,
            Fake::Limit(25, b"INSTREAM size limit exceeded. ERROR\0"),
            SECOND,
        )
        .await;
        assert!(failed);
        assert!(released.len() < 200, "{}", released.len());
        assert_eq!(fault, Some(BodyFault::Scan(ScanFault::TooLarge)));
        let e: GatewayError = BodyFault::Scan(ScanFault::TooLarge).into();
        assert_eq!(e.status(), http::StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[tokio::test]
    async fn garbage_or_silence_is_a_refusal() {
        let (released, failed, fault, _) =
            scan(&[b"ab", b"cd"], Fake::Answer(b"what?\0"), SECOND).await;
        assert!(failed);
        assert_eq!(released, b"ab");
        assert!(matches!(
            fault,
            Some(BodyFault::Scan(ScanFault::Unavailable(_)))
        ));
        let (released, failed, fault, _) =
            scan(&[b"ab", b"cd"], Fake::Silent, Duration::from_millis(200)).await;
        assert!(failed);
        assert_eq!(released, b"ab");
        assert!(
            matches!(&fault, Some(BodyFault::Scan(ScanFault::Unavailable(r))) if r.contains("no verdict")),
            "{fault:?}"
        );
        let e: GatewayError = fault.unwrap().into();
        assert_eq!(e.status(), http::StatusCode::SERVICE_UNAVAILABLE);
    }

    #[tokio::test]
    async fn an_abandoned_upload_drops_its_scan() {
        let (io, clamd) = fake(Fake::Answer(b"stream: OK\0"));
        let mut body = ScannedBody::new(
            Chunks([&b"ab"[..], b"cd"].into_iter().collect()),
            io,
            SECOND,
            None,
            "test".into(),
        );
        let first = body.frame().await;
        assert!(first.is_none() || first.is_some_and(|f| f.is_ok()));
        drop(body);
        // The fake sees the connection close without the end of the stream.
        let received = tokio::time::timeout(SECOND, clamd).await.unwrap().unwrap();
        assert!(received.len() <= 4);
    }

    #[tokio::test]
    async fn unreachable_clamd_refuses_or_lets_through_with_a_flag() {
        let closed = {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            l.local_addr().unwrap()
        };
        let settings = |on_unavailable| ScanSettings {
            clamd: ClamdAddress::Tcp(closed.to_string()),
            on_unavailable,
            timeout: SECOND,
            connect_timeout: SECOND,
        };
        let parts = http::Request::post("/x")
            .header("content-length", "2")
            .body(())
            .unwrap()
            .into_parts()
            .0;
        let tally = BodyFaultCell::default();
        let mut witness = Witness::new(&http::Method::POST);
        let refuse = Scanner::new(settings(ScanOnUnavailable::Refuse), "r");
        let got = request(
            Some(&refuse),
            &parts,
            Body::from("ab"),
            &tally,
            &mut witness,
        )
        .await;
        let e = got.err().unwrap();
        assert_eq!(e.status(), http::StatusCode::SERVICE_UNAVAILABLE);
        assert!(witness.flags.is_empty());
        let allow = Scanner::new(settings(ScanOnUnavailable::Allow), "r");
        let got = request(Some(&allow), &parts, Body::from("ab"), &tally, &mut witness).await;
        let bytes = got.unwrap().collect().await.unwrap().to_bytes();
        assert_eq!(&bytes[..], b"ab");
        assert_eq!(witness.flags, ["scan_skipped"]);
        // Without a body, clamd is not needed.
        let get = http::Request::get("/x").body(()).unwrap().into_parts().0;
        let mut witness = Witness::new(&http::Method::GET);
        assert!(
            request(Some(&refuse), &get, Body::empty(), &tally, &mut witness)
                .await
                .is_ok()
        );
    }
}
