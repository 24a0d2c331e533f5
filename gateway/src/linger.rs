//! Closing a connection whose handshake failed so that the TLS alert reaches the client.
//!
//! Under TLS 1.3 a client sends its Certificate and, right behind it, its first request,
//! before it learns the server's verdict. rustls writes the alert (`certificate_revoked`,
//! `unknown_ca`, …), but closing a socket whose receive buffer still holds unread bytes makes
//! the kernel send a TCP reset, which can overtake the alert: the client then reports
//! "connection reset" or "broken pipe" instead of the reason (RFC 1122 §4.2.2.13; the ANS test
//! kit accepts an alert, not a reset). The fix is nginx's "lingering close": send FIN, then read
//! and discard what the client still sends, for a bounded time and amount, before closing.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long a refused client may keep sending before the socket is closed anyway.
const LINGER_TIME: Duration = Duration::from_secs(2);
/// How much a refused client may send before the socket is closed anyway.
const LINGER_BYTES: usize = 256 * 1024;

/// Shuts the write side (the alert already sent goes out first), drains the read side until the
/// client closes or a bound is reached, then closes.
pub(crate) async fn close(mut stream: TcpStream) {
    // Any error means the peer is gone: nothing left to protect.
    if stream.shutdown().await.is_err() {
        return;
    }
    let drain = async {
        // On the heap: this future is part of every connection's task, which is as large as
        // its largest state for the connection's whole life (an array here cost 4 KiB each).
        let mut buf = vec![0u8; 4096];
        let mut total = 0usize;
        while total < LINGER_BYTES {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
        }
    };
    let _ = tokio::time::timeout(LINGER_TIME, drain).await;
}
