//! Shared state behind one small trait: nonce replay and failure counters, in memory or in Redis.
