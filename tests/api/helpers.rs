//! Spawns the real Sesame on a random port, with its own database and Redis key prefix, and a
//! webhook sink that receives the messages it sends.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::routing::post;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use sesame::{Application, Config};
use sqlx::Connection;
use uuid::Uuid;

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

/// Runs each named `async fn(Backend)` on both backends and on Postgres + a Redis Cluster.
#[macro_export]
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        $crate::on_both_backends!($($name),*);
        mod cluster {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Cluster).await
                }
            )*
        }
    };
}

/// Runs each named `async fn(Backend)` as two tests, one per backend.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Embedded).await
                }
            )*
        }
        mod production {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Production).await
                }
            )*
        }
    };
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

/// Messages the app under test sent through its webhook provider.
#[derive(Clone, Default)]
pub struct Sink {
    messages: Arc<Mutex<Vec<Value>>>,
    /// How long the sink holds each request before answering (a slow provider).
    delay: Duration,
}

impl Sink {
    /// A sink that records each message at once and answers after `delay`.
    pub fn slow(delay: Duration) -> Self {
        Self {
            delay,
            ..Self::default()
        }
    }

    pub fn messages(&self) -> Vec<Value> {
        self.messages.lock().unwrap().clone()
    }

    pub fn messages_to(&self, number: &str) -> Vec<Value> {
        self.messages()
            .into_iter()
            .filter(|message| message["to"] == number)
            .collect()
    }

    /// The code of the newest message to `number`.
    pub fn last_code(&self, number: &str) -> String {
        let messages = self.messages_to(number);
        let message = messages
            .last()
            .unwrap_or_else(|| panic!("no message to {number}"));
        message["code"].as_str().unwrap().to_owned()
    }

    /// Serves the sink on a random port and returns its URL.
    pub async fn spawn(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let app = axum::Router::new()
            .route("/", post(receive))
            .with_state(self.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{address}/")
    }
}

async fn receive(State(sink): State<Sink>, Json(message): Json<Value>) -> Json<Value> {
    sink.messages.lock().unwrap().push(message);
    tokio::time::sleep(sink.delay).await;
    Json(json!({ "ok": true }))
}

pub struct TestApp {
    pub base: String,
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
async fn test_config(
    backend: Backend,
    overrides: &[(&str, &str)],
) -> (HashMap<String, String>, Sink, PathBuf) {
    let sink = Sink::default();
    let sink_url = sink.spawn().await;
    let scratch = std::env::temp_dir().join(format!("sesame-test-{}", Uuid::new_v4()));
    let keys_dir = scratch.join("keys");
    let mut vars: HashMap<String, String> = [
        ("SESAME_LISTEN", "127.0.0.1:0".to_owned()),
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
    let serving = tokio::spawn(application.run_until_stopped(shutdown));
    let app = TestApp {
        base: format!("http://{address}"),
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

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// POSTs `body` as is, with this `Content-Type`.
    pub async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Response {
        self.client
            .post(self.url(path))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.client
            .post(self.url(path))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// GETs `path` and parses its JSON body.
    pub async fn get_json(&self, path: &str) -> Value {
        let response = self.client.get(self.url(path)).send().await.unwrap();
        response.json().await.unwrap()
    }

    pub async fn get_bearer(&self, path: &str, token: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn start_login(&self, number: &str) -> Response {
        self.post_json("/v1/otp/start", &json!({ "phone_number": number }))
            .await
    }

    pub async fn exchange_code(&self, number: &str, code: &str) -> Response {
        self.post_form(
            "/oauth/token",
            &[
                ("grant_type", "otp"),
                ("phone_number", number),
                ("code", code),
            ],
        )
        .await
    }

    /// Logs `number` in end to end and returns the token response.
    pub async fn login(&self, number: &str) -> Value {
        let response = self.start_login(number).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        let code = self.sink.last_code(number);
        let response = self.exchange_code(number, &code).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    pub async fn me(&self, access_token: &str) -> Response {
        self.get_bearer("/v1/me", access_token).await
    }

    pub async fn put_employee(&self, external_id: &str, body: &Value) -> Response {
        self.client
            .put(self.url(&format!("/admin/v1/employees/{external_id}")))
            .bearer_auth(ADMIN_KEY)
            .json(body)
            .send()
            .await
            .unwrap()
    }
}

/// Asserts a JSON error with the contract's shape and returns its body.
pub async fn assert_error(response: Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status, "unexpected status");
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], code, "{body}");
    assert!(body["error_description"].is_string(), "{body}");
    body
}
