//! The gateway: TLS listeners with their own accept loop, routing with CN/OU pinning, a
//! streaming reverse proxy, the admin listener, configuration and reload.
#![forbid(unsafe_code)]

mod adapter;
mod admin;
mod admission;
mod body;
pub mod cli;
pub mod config;
mod demo;
mod documents;
#[doc(hidden)]
pub mod fuzzing;
mod gateway;
mod headers;
mod health;
mod linger;
mod outbound;
mod path;
mod policy;
mod problem;
mod proxy;
mod restart;
mod routing;
mod server;
mod signals;
mod telemetry;
pub mod trail;
mod watch;
mod watchdog;

pub use gateway::{Gateway, ReloadError, StartError};
pub use problem::{Fault, GatewayError};
pub use server::ConnectionInfo;
pub use telemetry::{init_logging, prometheus};
