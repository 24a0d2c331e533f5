//! The gateway: TLS listeners with their own accept loop, routing with CN/OU pinning, a
//! streaming reverse proxy, the admin listener, configuration and reload.
#![forbid(unsafe_code)]

mod admin;
pub mod cli;
mod signals;
mod body;
pub mod config;
mod gateway;
mod headers;
mod problem;
mod proxy;
mod routing;
mod server;
mod telemetry;

pub use gateway::{Gateway, ReloadError, StartError};
pub use problem::{Fault, GatewayError};
pub use server::ConnectionInfo;
pub use telemetry::{init_logging, prometheus};
