//! cloud-ra verifier service: Veraison challenge–response sessions with single-use nonces, a
//! one-shot verification endpoint, signed EAR results (ES256, JWKS), an audit store on SQLite or
//! PostgreSQL, Prometheus metrics and a small dashboard.
//!
//! Verification itself is `cloud_ra_verify::verify_detected`, run on a bounded blocking pool with
//! one shared set of caches; this crate adds HTTP, sessions, results and storage around it.

#![forbid(unsafe_code)]

pub mod api;
pub mod config;
pub mod dashboard;
pub mod keys;
pub mod listener;
pub mod metrics;
pub mod policies;
pub mod ratelimit;
pub mod result;
pub mod store;
pub mod writer;

pub use config::Config;
pub use store::Store;

use cloud_ra_verify::{Caches, Collateral, Policy};
use policies::Resolved;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Everything handlers share.
pub struct AppState {
    pub cfg: Config,
    pub store: Store,
    pub key: keys::SigningKey,
    pub caches: Caches,
    pub collateral: Collateral,
    /// The policy appraisals run under when none is named: `--policy` (or the built-in
    /// default), named `default`.
    pub default_policy: Resolved,
    /// Its text (empty for the built-in default).
    pub default_policy_text: String,
    /// Parsed stored policies (`/v1/policies`).
    pub policy_cache: policies::Cache,
    pub pool: Arc<Semaphore>,
    pub metrics: metrics::Metrics,
    pub limiter: ratelimit::RateLimiter,
    pub writer: writer::Writer,
    /// Appraisals under way (their nonce may be spent): shutdown waits for them.
    pub inflight: Inflight,
}

/// A server ready to accept connections.
pub struct Server {
    pub state: Arc<AppState>,
    listener: listener::ServerListener,
    pub local_addr: SocketAddr,
    pub tls: bool,
}

impl Server {
    /// Opens the store, loads (or creates) the signing key, policy and collateral, and binds.
    pub async fn bind(cfg: Config) -> Result<Server, String> {
        cfg.check()?;
        // The state directory (0700), when a default path lies in it.
        let db_path = store::sqlite_path(&cfg.db);
        if let Some(dir) = &cfg.state_dir
            && (cfg.signing_key.starts_with(dir) || db_path.as_ref().is_some_and(|p| p.starts_with(dir)))
        {
            store::create_private_dir(dir).map_err(|e| format!("state directory {e}"))?;
        }
        if let Some(p) = &db_path {
            store::prepare_sqlite_file(p, cfg.allow_readable_db)?;
        }
        let (key, created) = keys::SigningKey::load_or_create(&cfg.signing_key)?;
        if created {
            tracing::info!(path = %cfg.signing_key.display(), kid = %key.kid, "created a result-signing key (mode 0600)");
        } else {
            tracing::info!(path = %cfg.signing_key.display(), kid = %key.kid, "loaded the result-signing key");
        }
        let (default_policy, default_policy_text) = match &cfg.policy {
            None => (
                Resolved {
                    name: policies::DEFAULT.into(),
                    version: policies::version(""),
                    policy: Arc::new(Policy::default()),
                },
                String::new(),
            ),
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| format!("policy {}: {e}", p.display()))?;
                let pol = Policy::parse(&p.display().to_string(), &text).map_err(|e| e.to_string())?;
                let r = Resolved {
                    name: policies::DEFAULT.into(),
                    version: policies::version(&text),
                    policy: Arc::new(pol),
                };
                (r, text)
            }
        };
        tracing::info!(policy = %default_policy.id(), "default policy");
        let mut collateral = cloud_ra_collateral::builtin_amd();
        if cfg.trust_simulated {
            collateral.merge(&cloud_ra_collateral::simulated_amd());
            tracing::warn!("--trust-simulated: evidence chained to cloud-ra's SIMULATED roots is accepted");
        }
        for path in &cfg.collateral {
            let bytes = std::fs::read(path).map_err(|e| format!("collateral {}: {e}", path.display()))?;
            collateral.add_file(&path.display().to_string(), &bytes).map_err(|e| e.to_string())?;
        }
        let store = Store::open(&cfg.db).await.map_err(|e| e.to_string())?;
        tracing::info!(db = %store::redact(&cfg.db), backend = store.backend(), "store ready");
        let tls = match (&cfg.tls_cert, &cfg.tls_key) {
            (Some(c), Some(k)) => Some(Arc::new(listener::tls_config(c, k)?)),
            _ => None,
        };
        let tcp = tokio::net::TcpListener::bind(cfg.listen).await.map_err(|e| format!("listen {}: {e}", cfg.listen))?;
        let is_tls = tls.is_some();
        let listener = listener::ServerListener::new(tcp, tls).map_err(|e| format!("listen: {e}"))?;
        let local_addr = axum::serve::Listener::local_addr(&listener).map_err(|e| e.to_string())?;
        let state = Arc::new(AppState {
            pool: Arc::new(Semaphore::new(cfg.verify_workers)),
            limiter: ratelimit::RateLimiter::new(cfg.rate_limit_per_sec, cfg.rate_limit_burst),
            writer: writer::Writer::start(store.clone(), if matches!(store, Store::Sqlite(_)) { 1 } else { 4 }),
            inflight: Inflight::default(),
            cfg,
            store,
            key,
            caches: Caches::default(),
            collateral,
            default_policy,
            default_policy_text,
            policy_cache: policies::Cache::default(),
            metrics: metrics::Metrics::default(),
        });
        Ok(Server { state, listener, local_addr, tls: is_tls })
    }

    /// Serves until `shutdown` resolves, then stops accepting, lets in-flight requests and
    /// appraisals finish, and closes the store.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> Result<(), String> {
        let state = self.state.clone();
        tracing::info!(addr = %self.local_addr, tls = self.tls, "cloud-ra verifier listening");
        let purge = {
            let state = state.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(std::time::Duration::from_secs(60)).await;
                    if let Err(e) = state.store.purge_sessions(store::now_ms(), 3_600_000).await {
                        tracing::warn!(error = %e, "purging expired sessions");
                    }
                }
            })
        };
        let app = api::router(state.clone()).into_make_service_with_connect_info::<listener::ClientAddr>();
        let r = axum::serve(self.listener, app).with_graceful_shutdown(shutdown).await;
        purge.abort();
        // Appraisals whose client went away still run to completion (and their audit record).
        state.inflight.wait_idle().await;
        state.store.close().await;
        tracing::info!("cloud-ra verifier stopped");
        r.map_err(|e| e.to_string())
    }
}

/// Resolves on SIGINT or SIGTERM. The handlers are installed when this is called (inside the
/// runtime), not when the future is first polled: a signal that arrives between "listening"
/// and the server's first poll still means a graceful stop, not the default (kill).
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let (mut term, mut int) = {
        use tokio::signal::unix::{SignalKind, signal};
        (signal(SignalKind::terminate()).ok(), signal(SignalKind::interrupt()).ok())
    };
    async move {
        #[cfg(unix)]
        {
            let term = async {
                match term.as_mut() {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            let int = async {
                match int.as_mut() {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => {
                        let _ = tokio::signal::ctrl_c().await;
                    }
                }
            };
            tokio::select! {
                _ = term => {},
                _ = int => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        tracing::info!("shutdown requested: finishing in-flight appraisals");
    }
}

/// Counts appraisals under way.
#[derive(Default)]
pub struct Inflight {
    n: std::sync::atomic::AtomicUsize,
    idle: tokio::sync::Notify,
}

pub struct InflightGuard<'a>(&'a Inflight);

impl Inflight {
    pub fn enter(&self) -> InflightGuard<'_> {
        self.n.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        InflightGuard(self)
    }

    pub async fn wait_idle(&self) {
        loop {
            let notified = self.idle.notified();
            if self.n.load(std::sync::atomic::Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }
}

impl Drop for InflightGuard<'_> {
    fn drop(&mut self) {
        if self.0.n.fetch_sub(1, std::sync::atomic::Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}
