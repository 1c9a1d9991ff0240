//! Spawns the real Sesame in this process on a random port, with its own database, Redis key
//! prefix, keys folder and a webhook sink that receives the messages it sends.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use sesame::{Application, Config};
use sqlx::Connection;
use uuid::Uuid;

use super::Sink;

/// Which stores the app under test runs on. Every behaviour is tested on both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite file + in-process store: the embedded default.
    Embedded,
    /// Postgres + Redis: production. A missing service fails the test, never skips it.
    Production,
    /// Postgres + a Redis Cluster (the one scripts/test.sh starts).
    Cluster,
}

pub const ADMIN_KEY: &str = "test-admin-key-0123456789";

pub fn postgres_url() -> String {
    std::env::var("SESAME_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub fn redis_url() -> String {
    std::env::var("SESAME_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// The nodes of the Redis Cluster the tests run on, as `SESAME_REDIS_URL` lists them. Unset
/// fails the test, never skips it.
pub fn redis_cluster_url() -> String {
    std::env::var("SESAME_TEST_REDIS_CLUSTER_URL").unwrap_or_else(|_| {
        panic!(
            "SESAME_TEST_REDIS_CLUSTER_URL is not set: run scripts/test.sh, or start a cluster \
             with `scripts/redis-cluster.sh start DIR` and export its output in that variable"
        )
    })
}

pub struct TestApp {
    pub base: String,
    /// The metrics listener's base URL, when it is on.
    pub metrics_base: Option<String>,
    pub client: reqwest::Client,
    pub sink: Sink,
    pub backend: Backend,
    pub keys_dir: PathBuf,
    /// The variables the app was configured with, so a test can start a second node.
    pub vars: HashMap<String, String>,
    /// The app's clock: tests move it instead of sleeping.
    pub clock: sesame::Clock,
}

/// The app with test defaults on `backend`.
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, &[]).await
}

/// The app with test defaults on `backend`, overridden by `overrides` (`SESAME_*` pairs).
pub async fn spawn_app_with(backend: Backend, overrides: &[(&str, &str)]) -> TestApp {
    let (vars, sink, keys_dir) = test_config(backend, overrides).await;
    spawn_with_vars(backend, vars, sink, keys_dir).await
}

/// The variables of a fresh app on `backend` (its own database, Redis prefix, keys folder and
/// webhook sink), overridden by `overrides`.
pub(super) async fn test_config(
    backend: Backend,
    overrides: &[(&str, &str)],
) -> (HashMap<String, String>, Sink, PathBuf) {
    let sink = Sink::default();
    let sink_url = sink.spawn().await;
    let scratch = std::env::temp_dir().join(format!("sesame-test-{}", Uuid::new_v4()));
    let keys_dir = scratch.join("keys");
    let mut vars: HashMap<String, String> = [
        ("SESAME_LISTEN", "127.0.0.1:0".to_owned()),
        ("SESAME_METRICS_LISTEN", "127.0.0.1:0".to_owned()),
        ("SESAME_KEYS_DIR", keys_dir.display().to_string()),
        ("SESAME_SMS_PROVIDER", "webhook".to_owned()),
        ("SESAME_SMS_WEBHOOK_URL", sink_url),
        ("SESAME_ADMIN_API_KEY", ADMIN_KEY.to_owned()),
        // Tests log in far more often than people do; tests of the limits set their own.
        ("SESAME_SMS_HOURLY_CAP", "1000".to_owned()),
        ("SESAME_SMS_DAILY_CAP", "1000".to_owned()),
        ("SESAME_IP_HOURLY_CAP", "10000".to_owned()),
        ("SESAME_IP_VERIFY_HOURLY_CAP", "10000".to_owned()),
        ("SESAME_SMS_COUNTRY_HOURLY_BUDGET", "10000".to_owned()),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect();
    match backend {
        Backend::Embedded => {
            let db = scratch.join("sesame.db");
            vars.insert(
                "SESAME_DATABASE_URL".into(),
                format!("sqlite://{}", db.display()),
            );
        }
        Backend::Production | Backend::Cluster => {
            vars.insert(
                "SESAME_DATABASE_URL".into(),
                fresh_postgres_database().await,
            );
            let redis = match backend {
                Backend::Cluster => redis_cluster_url(),
                _ => redis_url(),
            };
            vars.insert("SESAME_REDIS_URL".into(), redis);
            vars.insert(
                "SESAME_REDIS_KEY_PREFIX".into(),
                format!("sesame-test-{}", Uuid::new_v4().simple()),
            );
        }
    }
    for (name, value) in overrides {
        vars.insert((*name).to_owned(), (*value).to_owned());
    }
    (vars, sink, keys_dir)
}

/// Starts another node with the same configuration (same database, Redis prefix and keys).
pub async fn spawn_node_like(app: &TestApp) -> TestApp {
    spawn_node_with(app, &[]).await
}

/// Starts another node on the same stores, with `overrides` to the first node's variables.
pub async fn spawn_node_with(app: &TestApp, overrides: &[(&str, &str)]) -> TestApp {
    try_spawn_node_with(app, overrides)
        .await
        .expect("the app starts (is Postgres or Redis down?)")
}

/// Like `spawn_node_with`, returning start-up's refusal instead of failing the test.
pub async fn try_spawn_node_with(
    app: &TestApp,
    overrides: &[(&str, &str)],
) -> anyhow::Result<TestApp> {
    let mut vars = app.vars.clone();
    for (name, value) in overrides {
        vars.insert((*name).to_owned(), (*value).to_owned());
    }
    let (app, _) = try_start_with_vars(
        app.backend,
        vars,
        app.sink.clone(),
        app.keys_dir.clone(),
        std::future::pending(),
    )
    .await?;
    Ok(app)
}

async fn spawn_with_vars(
    backend: Backend,
    vars: HashMap<String, String>,
    sink: Sink,
    keys_dir: PathBuf,
) -> TestApp {
    let (app, _) = start_with_vars(backend, vars, sink, keys_dir, std::future::pending()).await;
    app
}

/// A running server that stops when `shutdown` completes; the handle ends when it has stopped.
pub type Serving = tokio::task::JoinHandle<std::io::Result<()>>;

/// Like `spawn_app_with`, for a server that is told to stop: sending on the returned channel
/// starts its graceful shutdown.
pub async fn spawn_stoppable(
    backend: Backend,
    overrides: &[(&str, &str)],
) -> (TestApp, tokio::sync::oneshot::Sender<()>, Serving) {
    let (vars, sink, keys_dir) = test_config(backend, overrides).await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (app, serving) = start_with_vars(backend, vars, sink, keys_dir, async move {
        let _ = stopped.await;
    })
    .await;
    (app, stop, serving)
}

async fn start_with_vars(
    backend: Backend,
    vars: HashMap<String, String>,
    sink: Sink,
    keys_dir: PathBuf,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> (TestApp, Serving) {
    try_start_with_vars(backend, vars, sink, keys_dir, shutdown)
        .await
        .expect("the app starts (is Postgres or Redis down?)")
}

async fn try_start_with_vars(
    backend: Backend,
    vars: HashMap<String, String>,
    sink: Sink,
    keys_dir: PathBuf,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<(TestApp, Serving)> {
    init_logs();
    let config = Config::from_vars(&vars)?;
    let clock = sesame::Clock::system();
    let application = Application::build(config, clock.clone()).await?;
    let address = application.local_addr().unwrap();
    let metrics_base = application
        .metrics_addr()
        .map(|address| format!("http://{address}"));
    let serving = tokio::spawn(application.run_until_stopped(shutdown));
    let app = TestApp {
        base: format!("http://{address}"),
        metrics_base,
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
        sink,
        backend,
        keys_dir,
        vars,
        clock,
    };
    Ok((app, serving))
}

/// Logs stay quiet unless `TEST_LOG` is set.
fn init_logs() {
    if std::env::var_os("TEST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter("info,sesame=debug")
            .with_test_writer()
            .try_init();
    }
}

/// Creates an empty database with a random name and returns its URL.
pub async fn fresh_postgres_database() -> String {
    let admin_url = postgres_url();
    let mut connection = sqlx::PgConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|err| panic!("Postgres at {admin_url} is required: {err}"));
    // The process id lets scripts/test.sh drop the databases of finished runs only.
    let name = format!(
        "sesame_test_p{}_{}",
        std::process::id(),
        Uuid::new_v4().simple()
    );
    sqlx::query(&format!("create database {name}"))
        .execute(&mut connection)
        .await
        .unwrap();
    let base = admin_url.rsplit_once('/').map(|(base, _)| base).unwrap();
    format!("{base}/{name}")
}

/// Waits until `done` holds, for work the app does after answering (a background send).
/// Panics after ten seconds: a bound against hanging, not a measure of speed.
pub async fn eventually(done: impl Fn() -> bool) {
    for _ in 0..1_000 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the expected background work did not happen");
}
