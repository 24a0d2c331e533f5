//! `gateway run --watch INTERVAL`: reload by itself when the configuration file, or a file it
//! names (certificates, keys, CA files), changes.
//!
//! Kubernetes updates a mounted ConfigMap or Secret by writing a new hidden directory and
//! swapping the `..data` symlink: the paths the file names stay the same, what they resolve to
//! changes, and no inotify event fires on the path itself. So the files are polled: each round
//! takes the configuration's text and, for every string in it that names an existing file, the
//! file's resolved path, size and modification time. A different fingerprint is a reload, which
//! applies the whole new configuration or refuses it and keeps the running one (as SIGHUP does);
//! a refused change is not retried until the files change again.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;

use crate::gateway::Inner;

/// What the watched files look like at one moment.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Fingerprint {
    text: String,
    files: BTreeSet<(PathBuf, u64, Option<SystemTime>)>,
}

/// Blocks that name files the gateway writes or refreshes by itself: watching them would
/// reload on every trail record or CRL fetch.
const NOT_WATCHED: &[&str] = &["trails", "crl"];

/// The fingerprint of `config` and of the files its strings name (relative to its directory).
pub(crate) fn fingerprint(config: &Path) -> Fingerprint {
    let text = std::fs::read_to_string(config).unwrap_or_default();
    let base = config.parent().unwrap_or_else(|| Path::new("."));
    // An unparsable file still has a fingerprint (its text): the reload reports its errors.
    let value = serde_saphyr::from_str::<serde_json::Value>(&text).unwrap_or_default();
    let mut strings = Vec::new();
    collect(&value, &mut strings);
    let files = strings
        .iter()
        .filter_map(|s| {
            let path = base.join(s);
            let meta = std::fs::metadata(&path)
                .ok()
                .filter(std::fs::Metadata::is_file)?;
            let resolved = std::fs::canonicalize(&path).unwrap_or(path);
            Some((resolved, meta.len(), meta.modified().ok()))
        })
        .collect();
    Fingerprint { text, files }
}

fn collect<'a>(value: &'a serde_json::Value, out: &mut Vec<&'a str>) {
    match value {
        serde_json::Value::String(s) if !s.is_empty() && s.len() < 4096 => out.push(s),
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect(v, out)),
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                if !NOT_WATCHED.contains(&key.as_str()) {
                    collect(v, out);
                }
            }
        }
        _ => {}
    }
}

/// Polls every `interval` until `shutdown`, reloading when the fingerprint changes.
pub(crate) async fn watch(inner: Arc<Inner>, interval: Duration, shutdown: CancellationToken) {
    let file = inner.file();
    let mut last = fingerprint(&file);
    tracing::info!(file = %file.display(), interval_ms = interval.as_millis(), "watching the configuration and the files it names");
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(interval) => {}
        }
        let path = file.clone();
        let Ok(now) = tokio::task::spawn_blocking(move || fingerprint(&path)).await else {
            continue;
        };
        if now == last {
            continue;
        }
        last = now;
        tracing::info!(file = %file.display(), "the configuration or a file it names changed: reloading");
        match inner.reload_configured() {
            Ok(()) => tracing::info!("reloaded"),
            Err(e) => {
                tracing::error!(error = %e, "reload refused; the running configuration stays");
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::fingerprint;

    #[cfg(unix)]
    #[test]
    fn a_kubernetes_style_symlink_swap_changes_the_fingerprint_and_a_trail_does_not() {
        use std::os::unix::fs::symlink;
        let dir = std::env::temp_dir().join(format!("gateway-watch-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("..v1")).unwrap();
        std::fs::create_dir_all(dir.join("..v2")).unwrap();
        std::fs::write(dir.join("..v1/tls.crt"), "one").unwrap();
        std::fs::write(dir.join("..v2/tls.crt"), "two").unwrap();
        symlink("..v1", dir.join("..data")).unwrap();
        symlink("..data/tls.crt", dir.join("tls.crt")).unwrap();
        let config = dir.join("gateway.yaml");
        std::fs::write(
            &config,
            "listeners:\n  - tls: {cert: tls.crt}\ntrails:\n  t: {file: trail.jsonl}\n",
        )
        .unwrap();
        std::fs::write(dir.join("trail.jsonl"), "a").unwrap();
        let before = fingerprint(&config);
        assert_eq!(before.files.len(), 1, "{before:?}");

        // A trail record is not a change.
        std::fs::write(dir.join("trail.jsonl"), "a longer trail").unwrap();
        assert_eq!(fingerprint(&config), before);

        // The Secret is updated: `..data` now points at `..v2` (same size, other target).
        std::fs::remove_file(dir.join("..data")).unwrap();
        symlink("..v2", dir.join("..data")).unwrap();
        let after = fingerprint(&config);
        assert_ne!(after, before);

        // The file itself changes.
        std::fs::write(&config, "listeners: []\n").unwrap();
        assert_ne!(fingerprint(&config), after);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
