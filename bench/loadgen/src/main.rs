//! `loadgen`: the mTLS load generator of the gateway-versus-nginx benchmark.
//!
//! * `handshakes`: full mTLS handshakes per second (resumption disabled, counted per run);
//! * `requests`: keep-alive HTTP/1.1 POSTs with latency percentiles;
//! * `upstream`: a minimal upstream that reads the whole body before answering.
//!
//! Every client run prints one JSON line, then one human line starting with `#`.
#![forbid(unsafe_code)]

mod client;
mod stats;
mod tls;
mod upstream;

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "loadgen",
    about = "mTLS load generator for the gateway benchmark"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Full mTLS handshakes per second: new TCP connection, full handshake, one GET, close.
    Handshakes {
        #[command(flatten)]
        common: client::Common,
        /// Handshakes in flight at once.
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
    },
    /// Keep-alive HTTP/1.1 POSTs over persistent mTLS connections.
    Requests {
        #[command(flatten)]
        common: client::Common,
        /// Persistent connections (one request in flight on each).
        #[arg(long, default_value_t = 8)]
        connections: usize,
        /// Request body size in bytes.
        #[arg(long, default_value_t = 1024)]
        body_size: usize,
        /// Unmeasured warm-up before the measured period.
        #[arg(long, default_value = "1s", value_parser = client::parse_duration)]
        warmup: Duration,
    },
    /// A minimal HTTP/1.1 upstream that reads the whole body, then answers 200.
    Upstream {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:18090")]
        bind: SocketAddr,
    },
}

#[tokio::main]
async fn main() -> Result<(), tls::BoxError> {
    match Cli::parse().cmd {
        Cmd::Handshakes {
            common,
            concurrency,
        } => client::handshakes(common, concurrency).await,
        Cmd::Requests {
            common,
            connections,
            body_size,
            warmup,
        } => client::requests(common, connections, body_size, warmup).await,
        Cmd::Upstream { bind } => upstream::serve(bind).await,
    }
}
