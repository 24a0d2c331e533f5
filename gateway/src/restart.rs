//! What a reload cannot apply: the settings started once with the process (listeners'
//! revocation and connection caps, the admin listener, the state store, logging, trails,
//! upstream queues and health checks, the grace period). A reload that changes one is refused
//! naming it, and the running configuration stays.

use crate::config::Settings;

/// The first setting that only a restart can apply, if the new file changes one. Everything
/// else (routes, clients, upstreams, TLS material, timeouts) a reload applies.
pub(crate) fn needs_restart(old: &Settings, new: &Settings) -> Option<String> {
    for l in &new.listeners {
        let Some(before) = old.listeners.iter().find(|o| o.name == l.name) else {
            continue;
        };
        // Revocation handles (CRLs, caches, refresh tasks) and the connection caps' semaphores
        // are started with the listener.
        if before.revocation != l.revocation {
            return Some(format!("the revocation settings of listener `{}`", l.name));
        }
        let caps = [
            (
                "max_connections",
                before.caps.max_connections,
                l.caps.max_connections,
            ),
            (
                "max_connections_per_address",
                before.caps.max_connections_per_address,
                l.caps.max_connections_per_address,
            ),
            (
                "max_connections_without_certificate",
                before.caps.max_connections_without_certificate,
                l.caps.max_connections_without_certificate,
            ),
        ];
        if let Some((key, _, _)) = caps.iter().find(|(_, a, b)| a != b) {
            return Some(format!("listener `{}`: {key}", l.name));
        }
    }
    if old.admin_bind != new.admin_bind {
        return Some("admin.bind".into());
    }
    // The store is built once and shared by adapters and policies.
    if old.state != new.state {
        return Some("state".into());
    }
    // The subscriber is installed once per process.
    if old.logging != new.logging {
        return Some("logging".into());
    }
    if old.trails != new.trails {
        return Some("trails".into());
    }
    for (name, u) in &new.upstreams {
        let before = old.upstreams.get(name).and_then(|o| o.concurrency);
        if u.concurrency.is_some() && u.concurrency != before {
            return Some(format!("upstreams.{name}.concurrency"));
        }
        let before = old.upstreams.get(name).and_then(|o| o.health_check.clone());
        if u.health_check.is_some() && u.health_check != before {
            return Some(format!("upstreams.{name}.health_check"));
        }
    }
    if old.shutdown_grace != new.shutdown_grace {
        return Some("shutdown.grace_period".into());
    }
    None
}
