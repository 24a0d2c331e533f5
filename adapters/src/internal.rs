//! An internal REST service as the gateway's `upstreams:` section describes it.

use std::time::Duration;

/// An `http://` internal service (the gateway refuses `https://` upstreams for now).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InternalService {
    /// Its name in the YAML.
    pub name: String,
    /// Base URL without a trailing slash, e.g. `http://127.0.0.1:18080`.
    pub base_url: String,
    /// Longest wait to connect.
    pub connect_timeout: Duration,
    /// Longest wait for a complete answer.
    pub request_timeout: Duration,
}
