//! Why a state operation failed.

/// A failed state-store operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// The store could not be reached or did not answer in time. The gateway
    /// answers 503, or falls back to memory if configured to
    /// ([`OnUnavailable`](crate::OnUnavailable)).
    #[error("state store unavailable during {operation}: {reason}")]
    Unavailable {
        /// The operation (`seen_or_insert`, `record_failure`, …).
        operation: &'static str,
        /// What went wrong (connection refused, timeout after 500 ms, …).
        reason: String,
    },
    /// The store answered, but not as expected (wrong type, script error).
    #[error("state store gave an unexpected reply during {operation}: {reason}")]
    Backend {
        /// The operation.
        operation: &'static str,
        /// The reply or error.
        reason: String,
    },
    /// A key that is empty or too long.
    #[error("invalid state key of {len} bytes: {reason}")]
    InvalidKey {
        /// Length of the key.
        len: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// A zero TTL, which would store nothing (and which Redis refuses), or a quota
    /// window whose end is not in the future.
    #[error("{operation} needs a TTL of at least 1 ms")]
    InvalidTtl {
        /// The operation.
        operation: &'static str,
    },
    /// Unusable configuration (Redis URL, key prefix).
    #[error("invalid state store configuration: {reason}")]
    Config {
        /// What is wrong.
        reason: String,
    },
}

impl StateError {
    /// Whether the store is unreachable (as opposed to misused or misbehaving).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }
}
