//! The task holding the connection to clamd: connects and sends `zINSTREAM`, streams the
//! chunks it is given and reads the answer.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::config::scan::ClamdAddress;

use super::protocol::{END_OF_STREAM, INSTREAM, MAX_REPLY, Reply, chunks, parse_reply};

pub(super) trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// A connection to clamd with `zINSTREAM` sent, within `within`.
pub(super) async fn connect(
    address: &ClamdAddress,
    within: Duration,
) -> std::io::Result<Box<dyn Io>> {
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
pub(super) enum Msg {
    Data(Bytes),
    /// The body ended: send the zero-length chunk and wait for the verdict. Without it (the
    /// channel closed), the upload was abandoned and the scan is dropped.
    End,
}

/// What the task found.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    Answer(Reply),
    /// No answer: the connection failed or clamd was silent for `timeout`.
    Lost(String),
}

/// Streams the chunks to clamd and reads its answer (as soon as it comes: clamd answers a
/// stream over its size limit before its end, then closes).
pub(super) async fn session<S: AsyncRead + AsyncWrite>(
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

/// clamd's answer: up to its NUL, the end of the connection, or `MAX_REPLY` bytes.
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
