//! Shared state behind one small trait: nonce replay, failure counters and volume
//! quotas, in memory or in Redis.
//!
//! Every gateway instance must see the same nonces (a replay sent to another
//! instance is still a replay), the same login failure counters (an attacker
//! must not multiply his attempts by the number of instances) and the same volume
//! quotas (a client's daily upload allowance is spent once, whichever instance
//! receives the bytes: [`StateStore::consume`], [`QuotaOutcome`]). [`StateStore`] is
//! the object-safe interface the gateway holds as `Arc<dyn StateStore>`;
//! [`RedisStore`] is the shared implementation, [`MemoryStore`] the single-process
//! one, and [`FallbackStore`] decides what happens when Redis is unreachable
//! ([`OnUnavailable`]: refuse with a 503 by default, or fall back to memory loudly).
//! Time-based policy (how long to wait after failures) is not here: it is the
//! pure `soap::Backoff`, fed with the [`FailureRecord`]s stored here.

#![forbid(unsafe_code)]

mod error;
mod fallback;
mod memory;
mod redis;
mod store;

pub use error::StateError;
pub use fallback::{FallbackStore, OnUnavailable};
pub use memory::MemoryStore;
pub use redis::{RedisConfig, RedisStore, RedisTarget, RedisTls};
pub use store::{BoxFuture, FailureRecord, MAX_KEY_LEN, MAX_QUOTA, QuotaOutcome, StateStore};
