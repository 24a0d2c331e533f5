//! `loadgen`: the mTLS load generator of the gateway-versus-nginx benchmark.
//!
//! * `handshakes`: mTLS handshakes per second, full (resumption disabled) or, with `--resume`,
//!   resumed after each worker's first; full and resumed ones are counted per run;
//! * `requests`: keep-alive POSTs with latency percentiles, HTTP/1.1 (one request in flight per
//!   connection) or HTTP/2 (`--http2`, `--streams` requests in flight per connection);
//! * `idle`: many connections held open and idle, for the server's memory per connection;
//! * `upstream`: a minimal upstream that reads the whole body before answering.
//!
//! `handshakes` and `requests` print one JSON line, then one human line starting with `#`;
//! `idle` prints a JSON line when its connections are ready and another once they are closed.
#![forbid(unsafe_code)]

mod client;
mod conn;
mod h2;
mod idle;
mod stats;
mod tls;
mod upstream;

use std::net::SocketAddr;

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
    /// mTLS handshakes per second: new TCP connection, handshake, one GET, close.
    Handshakes {
        #[command(flatten)]
        common: client::Common,
        /// Handshakes in flight at once.
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        /// Resume sessions: each worker keeps a session store, so after its first (full)
        /// handshake the next ones resume (if the server issues tickets or session ids).
        #[arg(long)]
        resume: bool,
    },
    /// Keep-alive POSTs over persistent mTLS connections (HTTP/1.1, or HTTP/2 with `--http2`).
    Requests {
        #[command(flatten)]
        common: client::Common,
        #[command(flatten)]
        load: client::Load,
    },
    /// Opens `--connections` connections, one GET on each, then holds them idle until stdin EOF
    /// (or `--hold`, SIGTERM, SIGINT); prints `{"ready": ..}` then `{"closed": ..}`.
    Idle {
        #[command(flatten)]
        endpoint: conn::Endpoint,
        #[command(flatten)]
        args: idle::IdleArgs,
    },
    /// A minimal HTTP/1.1 upstream that reads the whole body, then answers 200.
    Upstream {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:18090")]
        bind: SocketAddr,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // The error's Display form: main returning it would print its Debug form, which for I/O
    // and TLS errors is a struct dump.
    match run(Cli::parse().cmd).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("loadgen: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cmd: Cmd) -> Result<(), tls::BoxError> {
    match cmd {
        Cmd::Handshakes {
            common,
            concurrency,
            resume,
        } => client::handshakes(common, concurrency, resume).await,
        Cmd::Requests { common, load } if load.http2 => h2::requests(common, load).await,
        Cmd::Requests { common, load } => client::requests(common, load).await,
        Cmd::Idle { endpoint, args } => idle::run(endpoint, args).await,
        Cmd::Upstream { bind } => upstream::serve(bind).await,
    }
}
