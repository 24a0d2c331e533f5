//! The scanned body: each frame also goes to clamd, the last one is held until its verdict.

use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::PollSender;

use crate::body::{BodyFault, BodyFaultCell};

use super::protocol::Reply;
use super::session::{Msg, Verdict, session};
use super::{ScanFault, count};

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
    pub(super) struct ScannedBody<B> {
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
    pub(super) fn new<S>(
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
        count(route, metric);
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
    use crate::problem::GatewayError;
    use http_body_util::BodyExt;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

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
}
