//! In-memory demo implementation of the internal REST services behind the gateway.
