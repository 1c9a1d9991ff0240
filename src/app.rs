//! Building the application from its configuration, and serving it.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::admin::{self, Admin};
use crate::clock::Clock;
use crate::config::{Config, Environment};
use crate::login::{CodeHasher, LoginService};
use crate::sms::{self, SendTally};
use crate::store::{
    Database, Ephemeral, Health, MemoryEphemeral, RedisEphemeral, RevocationSignal,
};
use crate::tasks::Tasks;
use crate::tokens::{KeySet, TokenService};

/// Everything a handler may need, behind one `Arc`: axum clones the state for every request,
/// extractor and middleware that takes it, and one reference count costs less than one per
/// service (docs/performance.md). Handlers reach the stores only through services.
#[derive(Clone)]
pub struct AppState(Arc<AppServices>);

impl std::ops::Deref for AppState {
    type Target = AppServices;

    fn deref(&self) -> &AppServices {
        &self.0
    }
}

/// What [`AppState`] shares.
pub struct AppServices {
    pub config: Arc<Config>,
    pub login: Arc<LoginService>,
    pub tokens: Arc<TokenService>,
    pub admin: Arc<Admin>,
    /// Readiness: whether the stores answer.
    pub health: Health,
    /// The one source of time of this node (tests move it).
    pub clock: Clock,
    /// This node's codes sent, stored every minute for the admin console.
    pub tally: SendTally,
    /// Wakes revocation streams when any node commits a revocation.
    pub revocation_signal: RevocationSignal,
    /// Turns true when the node begins to shut down: work that would otherwise never end (an
    /// event stream) ends then, so shutdown does not wait on it.
    pub stopping: watch::Receiver<bool>,
}

impl AppState {
    /// Checks the configuration, connects the stores (running migrations), loads keys and
    /// wires the services; `clock` is the node's one source of time from then on. The
    /// database is returned beside the state for the node's background tasks and shutdown.
    async fn build(
        config: Config,
        clock: Clock,
        stopping: watch::Receiver<bool>,
    ) -> anyhow::Result<(Self, Database)> {
        let now = clock.now();
        crate::validate::refuse_problems(&config, now)?;
        // Before any metric is emitted, so none is lost.
        crate::telemetry::metrics();
        let config = Arc::new(config);
        let db = Database::open(&config.database_url, config.database_max_connections)
            .await
            .context("SESAME_DATABASE_URL")?;
        crate::login::refuse_shadowed_test_numbers(&config, &db).await?;
        let ephemeral: Arc<dyn Ephemeral> = match &config.redis_url {
            Some(url) => Arc::new(
                RedisEphemeral::connect(url, &config.redis_key_prefix)
                    .await
                    .context("SESAME_REDIS_URL: cannot connect")?,
            ),
            None => Arc::new(MemoryEphemeral::new()),
        };
        let development = config.env == Environment::Development;
        let keys = KeySet::load(&config, development, now).context("SESAME_KEYS_DIR")?;
        let hasher = CodeHasher::new(&otp_secret(&config)?);
        // One client for every provider: connections are pooled and reused across messages.
        let http = reqwest::Client::builder()
            .user_agent(concat!("sesame/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("cannot build the HTTP client")?;
        let tally = SendTally::new(clock.clone());
        let delivery = sms::build_delivery(&config.sms, http, clock.clone(), &tally);
        let login = Arc::new(LoginService::new(
            config.clone(),
            db.clone(),
            ephemeral.clone(),
            delivery,
            hasher,
        ));
        let tokens = Arc::new(TokenService::new(keys, db.clone(), config.clone()));
        let health = Health::new(db.clone(), ephemeral.clone());
        let admin = Admin::new(admin::Parts {
            config: config.clone(),
            clock: clock.clone(),
            db: db.clone(),
            ephemeral,
            health: health.clone(),
            login: login.clone(),
            tokens: tokens.clone(),
        });
        let state = Self(Arc::new(AppServices {
            revocation_signal: RevocationSignal::new(&config.database_url),
            admin: Arc::new(admin),
            health,
            config,
            login,
            tokens,
            clock,
            tally,
            stopping,
        }));
        Ok((state, db))
    }
}

/// How often a node stores its tally of codes sent (the console's overview lags this much).
const TALLY_FLUSH: Duration = Duration::from_secs(60);

/// Background work of a running node. Add periodic tasks here.
fn background(state: &AppState, db: &Database, tasks: &mut Tasks) {
    if let Some(metrics) = crate::telemetry::metrics() {
        let upkeep = crate::telemetry::METRICS_UPKEEP;
        tasks.every("drain histogram samples", upkeep, move || {
            metrics.run_upkeep();
            std::future::ready(())
        });
    }

    let tokens = state.tokens.clone();
    let clock = state.clock.clone();
    let period = Duration::from_secs(state.config.ops.keys_reload_interval);
    tasks.every("reload signing keys", period, move || {
        let tokens = tokens.clone();
        let now = clock.now();
        async move { tokens.reload_keys(now) }
    });

    let tally = state.tally.clone();
    let flushed = db.clone();
    tasks.every("store the tally of codes sent", TALLY_FLUSH, move || {
        let tally = tally.clone();
        let db = flushed.clone();
        async move { tally.flush(&db).await }
    });

    let db = db.clone();
    let clock = state.clock.clone();
    let retention = crate::sweeper::Retention::of(&state.config);
    let period = Duration::from_secs(state.config.sweep_interval);
    tasks.every("sweep expired rows", period, move || {
        let db = db.clone();
        let now = clock.now();
        async move {
            match crate::sweeper::sweep(&db, retention, now).await {
                Ok(swept) if swept == Default::default() => {}
                Ok(swept) => tracing::debug!(?swept, "swept expired rows"),
                Err(err) => tracing::warn!(error = %err, "sweep failed"),
            }
        }
    });
}

/// The HMAC key for stored codes: `SESAME_OTP_SECRET`, or a secret generated once into the
/// keys folder (every node of a deployment must share it).
fn otp_secret(config: &Config) -> anyhow::Result<Vec<u8>> {
    if let Some(secret) = &config.otp_secret {
        return Ok(secret.expose_secret().as_bytes().to_vec());
    }
    let path = config.keys_dir.join("otp_secret");
    if !path.exists() {
        let mut secret = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut secret);
        crate::tokens::write_secret_file(
            &config.keys_dir,
            "otp_secret",
            hex::encode(secret).as_bytes(),
        )
        .context("SESAME_OTP_SECRET: cannot create a secret in the keys folder")?;
    }
    let secret = std::fs::read_to_string(&path)
        .with_context(|| format!("SESAME_OTP_SECRET: cannot read {}", path.display()))?;
    Ok(secret.trim().as_bytes().to_vec())
}

/// A bound, ready-to-serve Sesame. `build` binds (port 0 picks a free port, as tests do).
pub struct Application {
    listener: TcpListener,
    /// `/metrics`, when `SESAME_METRICS_LISTEN` is not off.
    metrics_listener: Option<TcpListener>,
    state: AppState,
    db: Database,
    /// Sets the state's `stopping` when shutdown begins.
    stop: watch::Sender<bool>,
}

impl Application {
    pub async fn build(config: Config, clock: Clock) -> anyhow::Result<Self> {
        let listen = config.listen;
        let (stop, stopping) = watch::channel(false);
        let (state, db) = AppState::build(config, clock, stopping).await?;
        let listener = TcpListener::bind(listen)
            .await
            .with_context(|| format!("SESAME_LISTEN: cannot listen on {listen}"))?;
        let metrics_listener =
            match state.config.ops.metrics_listen {
                Some(address) => Some(TcpListener::bind(address).await.with_context(|| {
                    format!("SESAME_METRICS_LISTEN: cannot listen on {address}")
                })?),
                None => None,
            };
        Ok(Self {
            listener,
            metrics_listener,
            state,
            db,
            stop,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Where `/metrics` is served, if anywhere.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|listener| listener.local_addr().ok())
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then stops accepting, lets in-flight requests, codes
    /// still being sent and background tasks finish (each within `SESAME_SHUTDOWN_TIMEOUT`)
    /// and closes the pools.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let state = self.state;
        let deadline = Duration::from_secs(state.config.ops.shutdown_timeout);
        let mut tasks = Tasks::default();
        background(&state, &self.db, &mut tasks);
        let stopping = self.stop;
        let mut stopped = state.stopping.clone();
        let limits = crate::serve::Limits {
            header_read_timeout: Duration::from_secs(state.config.ops.header_read_timeout),
            max_connections: state.config.ops.max_connections,
        };
        if let Some(listener) = self.metrics_listener {
            let metrics = crate::api::metrics_router();
            tokio::spawn(crate::serve::serve(
                listener,
                metrics,
                limits,
                stopped.clone(),
            ));
        }
        tokio::spawn(async move {
            shutdown.await;
            tracing::info!("shutting down: finishing in-flight requests");
            let _ = stopping.send(true);
        });
        let router = crate::api::router(state.clone());
        crate::memory::release_start_up_memory();
        let server = crate::serve::serve(self.listener, router, limits, stopped.clone());
        // A client that never finishes its request must not keep the process alive.
        let drain_limit = async move {
            let _ = stopped.wait_for(|stopping| *stopping).await;
            tokio::time::sleep(deadline).await;
        };
        tokio::select! {
            () = server => {}
            () = drain_limit => tracing::warn!("in-flight requests did not finish in time"),
        }
        state.login.finish_background_sends(deadline).await;
        tasks.stop(deadline).await;
        // What was counted since the last flush, before the pool closes.
        if tokio::time::timeout(deadline, state.tally.flush(&self.db))
            .await
            .is_err()
        {
            tracing::warn!("the tally of codes sent was not stored in time");
        }
        if tokio::time::timeout(deadline, self.db.close())
            .await
            .is_err()
        {
            tracing::warn!("database connections did not close in time");
        }
        Ok(())
    }
}
