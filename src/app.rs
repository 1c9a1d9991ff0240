//! Building the application from its configuration, and serving it.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;

use crate::config::{Config, Environment};
use crate::login::{CodeHasher, LoginService};
use crate::sms;
use crate::store::{Database, Ephemeral, MemoryEphemeral, RedisEphemeral};
use crate::tokens::{KeySet, TokenService, spawn_sweeper};

/// Everything a handler may need; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Database,
    pub ephemeral: Arc<dyn Ephemeral>,
    pub login: Arc<LoginService>,
    pub tokens: Arc<TokenService>,
}

impl AppState {
    /// Connects the stores (running migrations), loads keys and wires the services.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let config = Arc::new(config);
        let db = Database::open(&config.database_url)
            .await
            .context("SESAME_DATABASE_URL")?;
        let ephemeral: Arc<dyn Ephemeral> = match &config.redis_url {
            Some(url) => Arc::new(
                RedisEphemeral::connect(url, &config.redis_key_prefix)
                    .await
                    .context("SESAME_REDIS_URL: cannot connect")?,
            ),
            None => Arc::new(MemoryEphemeral::new()),
        };
        let now = crate::unix_now();
        let development = config.env == Environment::Development;
        let keys = KeySet::load(&config, development, now).context("SESAME_KEYS_DIR")?;
        let hasher = CodeHasher::new(&otp_secret(&config)?);
        // One client for every provider: connections are pooled and reused across messages.
        let http = reqwest::Client::builder()
            .user_agent(concat!("sesame/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("cannot build the HTTP client")?;
        let delivery = sms::build_delivery(&config.sms, http)?;
        let login = LoginService::new(
            config.clone(),
            db.clone(),
            ephemeral.clone(),
            delivery,
            hasher,
        );
        let tokens = TokenService::new(Arc::new(keys), db.clone(), config.clone());
        Ok(Self {
            config,
            db,
            ephemeral,
            login: Arc::new(login),
            tokens: Arc::new(tokens),
        })
    }
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

/// How long shutdown waits for the sweeper's current batch.
const SWEEPER_STOP_TIMEOUT: Duration = Duration::from_secs(2);

/// A bound, ready-to-serve Sesame. `build` binds (port 0 picks a free port, as tests do).
pub struct Application {
    listener: TcpListener,
    state: AppState,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let listen = config.listen;
        let state = AppState::build(config).await?;
        let listener = TcpListener::bind(listen)
            .await
            .with_context(|| format!("SESAME_LISTEN: cannot listen on {listen}"))?;
        Ok(Self { listener, state })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests and closes the pools.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let db = self.state.db.clone();
        let config = &self.state.config;
        let (stop_sweeper, stop) = tokio::sync::watch::channel(false);
        let sweeper = spawn_sweeper(
            db.clone(),
            config.token_retention,
            Duration::from_secs(config.sweep_interval),
            stop,
        );
        let router = crate::api::router(self.state);
        let served = axum::serve(
            self.listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        // The sweeper stops between two batches, before the pool closes; one stuck on an
        // unanswering database is not waited for long.
        let _ = stop_sweeper.send(true);
        let abort = sweeper.abort_handle();
        if tokio::time::timeout(SWEEPER_STOP_TIMEOUT, sweeper)
            .await
            .is_err()
        {
            abort.abort();
        }
        served?;
        db.close().await;
        Ok(())
    }
}
