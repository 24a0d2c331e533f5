//! Starting, reloading and stopping a gateway.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::{self, ConfigErrors, Env, Settings};
use crate::routing::{Runtime, Shared};
use crate::{admin, server};

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A listener's revocation checking could not start (a CRL missing with `on_missing_at_start: refuse`).
    #[error("listener `{listener}`: revocation: {reason}")]
    Revocation {
        /// The listener.
        listener: String,
        /// Why.
        reason: String,
    },
    /// The shared state store could not be built (bad Redis URL or key prefix).
    #[error("state store: {0}")]
    State(String),
    /// A route's adapter could not be built (e.g. its outbound client certificate).
    #[error("{0}")]
    Adapter(#[from] adapters::BuildError),
    /// A trail's file could not be opened, verified or resumed.
    #[error("{0}")]
    Trail(#[from] crate::trail::TrailStartError),
    /// A listener's address could not be bound.
    #[error("cannot bind {what} on {addr}: {source}")]
    Bind {
        /// Which listener (or `admin`).
        what: String,
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Why a reload was refused; the running configuration stays in force.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The new file is invalid.
    #[error("{0}")]
    Invalid(#[from] ConfigErrors),
    /// The change needs a restart (listeners added, removed or moved; admin or state changed).
    #[error("{0} (restart the gateway to apply it)")]
    NeedsRestart(String),
    /// A route's adapter could not be built from the new file.
    #[error("{0}")]
    Adapter(#[from] adapters::BuildError),
}

/// A running gateway.
pub struct Gateway {
    inner: Arc<Inner>,
    tasks: JoinSet<()>,
}

pub(crate) struct Inner {
    settings: Mutex<Settings>,
    /// Where reloads read secrets from.
    reload_env: Arc<dyn Env + Send + Sync>,
    runtime: Arc<ArcSwap<Runtime>>,
    tls: HashMap<String, Arc<ArcSwap<rustls::ServerConfig>>>,
    /// Each listener's timeouts, replaced by reloads.
    timeouts: HashMap<String, Arc<ArcSwap<crate::config::ConnectionTimeouts>>>,
    pub(crate) revocations: HashMap<String, Arc<mtls::Revocation>>,
    /// Trails and upstream queues (started with the gateway; a reload that changes them needs a
    /// restart).
    pub(crate) shared: Shared,
    pub(crate) store: Arc<dyn state::StateStore>,
    addrs: HashMap<String, SocketAddr>,
    admin_addr: SocketAddr,
    shutdown: CancellationToken,
}

// === impl Gateway ===

impl Gateway {
    /// Binds every listener and the admin listener, then serves in the background.
    ///
    /// # Errors
    /// [`StartError::Bind`] when an address is taken or not allowed.
    pub async fn start(settings: Settings) -> Result<Self, StartError> {
        Self::start_with_env(settings, Arc::new(config::ProcessEnv)).await
    }

    /// [`Gateway::start`], with the environment that reloads (SIGHUP, admin `/reload`) read
    /// secrets from: `gateway demo` passes the process environment with the demo's defaults.
    ///
    /// # Errors
    /// As [`Gateway::start`].
    pub async fn start_with_env(
        settings: Settings,
        reload_env: Arc<dyn Env + Send + Sync>,
    ) -> Result<Self, StartError> {
        // Install the recorder before anything is counted, or early counts would be lost.
        crate::telemetry::prometheus();
        let store = build_store(&settings.state).await?;
        let shutdown = CancellationToken::new();
        let deps = adapters::Deps {
            store: Arc::clone(&store),
        };
        let mut shared = Shared::default();
        for (name, t) in &settings.trails {
            shared
                .trails
                .insert(name.clone(), crate::trail::Trail::start(t)?);
        }
        for (name, u) in &settings.upstreams {
            if let Some(q) = u.concurrency {
                shared
                    .queues
                    .insert(name.clone(), crate::policy::Queue::new(name, q));
            }
            if let Some(h) = &u.health_check {
                let health =
                    crate::health::Health::start(name, &u.url, h.clone(), shutdown.clone());
                shared.health.insert(name.clone(), health);
            }
        }
        let runtime = Arc::new(ArcSwap::from_pointee(Runtime::build(
            &settings, &deps, &shared,
        )?));
        let mut tasks = JoinSet::new();
        let mut tls = HashMap::new();
        let mut timeouts = HashMap::new();
        let mut addrs = HashMap::new();
        let mut bound = Vec::new();
        let mut revocations = HashMap::new();
        for l in &settings.listeners {
            let revocation = start_revocation(l).await?;
            let server_config = match &revocation {
                Some(r) => {
                    revocations.insert(l.name.clone(), Arc::clone(r));
                    with_revocation(l, Some(Arc::clone(r)))?
                }
                None => l.tls.config(),
            };
            let (tcp, addr) = bind(format!("listener `{}`", l.name), l.bind).await?;
            let config = Arc::new(ArcSwap::new(server_config));
            let listener_timeouts = Arc::new(ArcSwap::from_pointee(l.timeouts));
            tls.insert(l.name.clone(), Arc::clone(&config));
            timeouts.insert(l.name.clone(), Arc::clone(&listener_timeouts));
            addrs.insert(l.name.clone(), addr);
            bound.push(server::Listener {
                name: l.name.as_str().into(),
                tcp,
                tls: config,
                timeouts: listener_timeouts,
                caps: l.caps,
                revocation,
            });
        }
        let (admin_tcp, admin_addr) = bind("admin".to_owned(), settings.admin_bind).await?;
        let grace = settings.shutdown_grace;
        let inner = Arc::new(Inner {
            settings: Mutex::new(settings),
            runtime: Arc::clone(&runtime),
            tls,
            timeouts,
            shared,
            revocations,
            store,
            reload_env,
            addrs,
            admin_addr,
            shutdown: shutdown.clone(),
        });
        for listener in bound {
            tracing::info!(listener = %listener.name, addr = listener.tcp.local_addr().ok().map(tracing::field::display), "listening");
            tasks.spawn(server::serve(
                listener,
                Arc::clone(&runtime),
                shutdown.clone(),
                grace,
            ));
        }
        tracing::info!(addr = %admin_addr, "admin listening");
        tasks.spawn(admin::serve(admin_tcp, Arc::clone(&inner), shutdown));
        Ok(Self { inner, tasks })
    }

    /// The bound address of a listener (useful when the file says port 0).
    #[must_use]
    pub fn addr(&self, listener: &str) -> Option<SocketAddr> {
        self.inner.addrs.get(listener).copied()
    }

    /// The bound admin address.
    #[must_use]
    pub fn admin_addr(&self) -> SocketAddr {
        self.inner.admin_addr
    }

    /// Applies a new configuration: routes, clients, upstreams and TLS material are replaced
    /// atomically; requests in flight finish under the old ones.
    ///
    /// # Errors
    /// [`ReloadError::NeedsRestart`] when the change touches what only a restart can apply.
    pub fn reload(&self, new: Settings) -> Result<(), ReloadError> {
        self.inner.apply(new)
    }

    /// Reads the running configuration's file again and applies it.
    ///
    /// # Errors
    /// An invalid file or a change that needs a restart; the running configuration stays.
    pub fn reload_from_file(&self, env: &dyn Env) -> Result<(), ReloadError> {
        self.inner.reload_from_file(env)
    }

    /// Reloads the file with the environment the gateway was started with (what SIGHUP and
    /// the admin `/reload` do).
    ///
    /// # Errors
    /// As [`Gateway::reload`], plus every error of the file.
    pub fn reload_configured(&self) -> Result<(), ReloadError> {
        self.inner.reload_configured()
    }

    /// Starts the drain: `/readyz` answers 503 from now on and HTTP/1.1 answers carry
    /// `Connection: close`, while every listener still serves (see [`Gateway::drain_period`]).
    pub fn start_draining(&self) {
        self.inner
            .shared
            .draining
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// How long the gateway drains after a shutdown signal (`shutdown.drain_period`, as the
    /// last reload left it) before its listeners close.
    #[must_use]
    pub fn drain_period(&self) -> std::time::Duration {
        self.inner.lock().shutdown_drain
    }

    /// Polls the configuration file and the files it names every `interval`, and reloads when
    /// they change (`gateway run --watch`; see `watch.rs`), until the gateway stops.
    pub fn watch_files(&self, interval: std::time::Duration) {
        tokio::spawn(crate::watch::watch(
            Arc::clone(&self.inner),
            interval,
            self.inner.shutdown.clone(),
        ));
    }

    /// A token that stops the gateway when cancelled (signal handlers hold a clone).
    #[must_use]
    pub fn shutdown_token(&self) -> CancellationToken {
        self.inner.shutdown.clone()
    }

    /// Stops accepting, lets in-flight requests finish within the grace period, and returns when
    /// every listener has stopped.
    pub async fn shutdown(mut self) {
        self.inner.shutdown.cancel();
        while self.tasks.join_next().await.is_some() {}
    }

    /// Waits until the gateway stops (after its shutdown token is cancelled).
    pub async fn wait(mut self) {
        while self.tasks.join_next().await.is_some() {}
    }
}

// === impl Inner ===

impl Inner {
    /// The running configuration's file.
    pub(crate) fn file(&self) -> PathBuf {
        self.lock().file.clone()
    }

    /// Reloads the file with the environment the gateway was started with.
    pub(crate) fn reload_configured(&self) -> Result<(), ReloadError> {
        self.reload_from_file(self.reload_env.as_ref())
    }

    pub(crate) fn reload_from_file(&self, env: &dyn Env) -> Result<(), ReloadError> {
        let file: PathBuf = self.lock().file.clone();
        let new = config::load(&file, env)?;
        self.apply(new)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Settings> {
        // A poisoned lock only means a reload panicked half-way; the settings inside are whole.
        self.settings
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn apply(&self, new: Settings) -> Result<(), ReloadError> {
        let mut current = self.lock();
        let old_binds: Vec<_> = current
            .listeners
            .iter()
            .map(|l| (&l.name, l.bind))
            .collect();
        let new_binds: Vec<_> = new.listeners.iter().map(|l| (&l.name, l.bind)).collect();
        if old_binds != new_binds {
            return Err(ReloadError::NeedsRestart(
                "listeners were added, removed, renamed or moved".into(),
            ));
        }
        if let Some(key) = crate::restart::needs_restart(&current, &new) {
            return Err(ReloadError::NeedsRestart(format!("{key} changed")));
        }
        // Build everything before swapping anything, so a failure leaves the running config whole.
        let deps = adapters::Deps {
            store: Arc::clone(&self.store),
        };
        let runtime = Runtime::build(&new, &deps, &self.shared)?;
        // Revocation handles keep their CRLs and caches across reloads.
        let mut configs = Vec::new();
        for l in &new.listeners {
            let config = match self.revocations.get(&l.name) {
                Some(r) => with_revocation(l, Some(Arc::clone(r)))
                    .map_err(|e| ReloadError::NeedsRestart(e.to_string()))?,
                None => l.tls.config(),
            };
            configs.push((l.name.clone(), config));
        }
        for (name, config) in configs {
            if let Some(slot) = self.tls.get(&name) {
                slot.store(config);
            }
        }
        for l in &new.listeners {
            if let Some(slot) = self.timeouts.get(&l.name) {
                slot.store(Arc::new(l.timeouts));
            }
        }
        self.runtime.store(Arc::new(runtime));
        tracing::info!(file = %new.file.display(), routes = new.routes.len(), "configuration reloaded");
        *current = new;
        Ok(())
    }
}

async fn start_revocation(
    l: &crate::config::ListenerSettings,
) -> Result<Option<Arc<mtls::Revocation>>, StartError> {
    let Some(settings) = &l.revocation else {
        return Ok(None);
    };
    let anchors = match &l.tls_settings.client_auth {
        mtls::ClientAuth::Required(a) | mtls::ClientAuth::Optional(a) => a,
        mtls::ClientAuth::None => return Ok(None),
    };
    mtls::Revocation::start(settings.clone(), anchors)
        .await
        .map(Some)
        .map_err(|e| StartError::Revocation {
            listener: l.name.clone(),
            reason: e.to_string(),
        })
}

fn with_revocation(
    l: &crate::config::ListenerSettings,
    revocation: Option<Arc<mtls::Revocation>>,
) -> Result<Arc<rustls::ServerConfig>, StartError> {
    let settings = mtls::ServerTlsSettings {
        revocation,
        ..l.tls_settings.clone()
    };
    mtls::ServerTls::build(&settings)
        .map(|tls| tls.config())
        .map_err(|e| StartError::Revocation {
            listener: l.name.clone(),
            reason: e.to_string(),
        })
}

/// The shared state store: in memory, or Redis (connected lazily, so the gateway starts and
/// reports not-ready while Redis is down) behind the configured unavailability policy.
async fn build_store(
    settings: &crate::config::StateSettings,
) -> Result<Arc<dyn state::StateStore>, StartError> {
    use crate::config::{OnUnavailable, StateBackend};
    let memory = state::MemoryStore::new(settings.max_entries);
    match (&settings.backend, &settings.redis) {
        (StateBackend::Redis, Some(config)) => {
            let redis = state::RedisStore::new(config.clone())
                .await
                .map_err(|e| StartError::State(e.to_string()))?;
            let mode = match settings.on_unavailable {
                OnUnavailable::Refuse => state::OnUnavailable::Refuse,
                OnUnavailable::FallbackToMemory => state::OnUnavailable::FallbackToMemory,
            };
            Ok(Arc::new(state::FallbackStore::with_memory(
                redis, mode, memory,
            )))
        }
        _ => Ok(Arc::new(memory)),
    }
}

/// Binds an address and reads back the bound one (port 0 in tests picks a free port).
async fn bind(what: String, addr: SocketAddr) -> Result<(TcpListener, SocketAddr), StartError> {
    let bound = match TcpListener::bind(addr).await {
        Ok(tcp) => tcp.local_addr().map(|local| (tcp, local)),
        Err(e) => Err(e),
    };
    bound.map_err(|source| StartError::Bind { what, addr, source })
}
