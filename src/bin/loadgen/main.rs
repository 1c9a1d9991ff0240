//! Load generator: many mobile clients at once against a running Sesame.
//!
//! `session` plays the whole client life: start → code (through this process's webhook sink)
//! → token → /v1/me → refresh → logout. `login` is start → code → token only (the login
//! throughput); `full-login` adds one refresh of the new pair, and speaks only the subset a
//! peer service shares with Sesame (`scripts/bench.sh --peer`). `refresh` logs each client in once, then rotates its refresh token in a loop;
//! `introspect` and `jwks` hammer one endpoint each.
//! A table goes to standard error; the last line on standard output is a JSON summary.

mod sink;
mod stats;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use serde_json::{Value, json};

use sink::Sink;
use stats::{Stats, round};

#[derive(Parser, Clone)]
#[command(about = "Drives load against a running Sesame and reports per-step latency")]
struct Args {
    /// Sesame's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    base_url: String,
    #[arg(long, value_enum, default_value = "login")]
    scenario: Scenario,
    /// Virtual clients running at once.
    #[arg(long, default_value_t = 32)]
    concurrency: u64,
    /// Seconds of load.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Where this process receives codes: run Sesame with `SESAME_SMS_PROVIDER=webhook` and
    /// `SESAME_SMS_WEBHOOK_URL=http://<this address>/`.
    #[arg(long, default_value = "127.0.0.1:9900")]
    sink: SocketAddr,
    /// API key (role introspect or admin) for the `introspect` scenario.
    #[arg(long, env = "LOADGEN_API_KEY")]
    api_key: Option<String>,
    /// Threads of the load generator's own. One saturates near 30,000 requests/s of a cheap
    /// endpoint (JWKS) on two shared cores; give such a run two.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    threads: u16,
    /// Offsets the generated phone numbers, so repeated runs use fresh numbers.
    #[arg(long, default_value_t = 0)]
    number_offset: u64,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Scenario {
    Session,
    Login,
    FullLogin,
    Refresh,
    Introspect,
    Jwks,
}

/// One virtual client's view: where to send requests and how to read codes.
struct Client {
    http: reqwest::Client,
    base: String,
    sink: Sink,
    api_key: Option<String>,
}

/// The load generator shares the machine's cores with what it measures: one thread by
/// default, because a single-threaded runtime spends less CPU per request than one that hands
/// tasks between threads (docs/performance.md, "A lighter load generator").
fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = match args.threads {
        1 => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?,
        threads => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(usize::from(threads))
            .enable_all()
            .build()?,
    };
    runtime.block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let sink = Sink::default();
    sink.serve(args.sink).await?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency as usize)
        .timeout(Duration::from_secs(10))
        .build()?;
    let client = Arc::new(Client {
        http,
        base: args.base_url.trim_end_matches('/').to_owned(),
        sink,
        api_key: args.api_key.clone(),
    });

    // Refresh and introspection need live pairs: one login per worker before the clock starts.
    let mut pairs = Vec::new();
    if matches!(args.scenario, Scenario::Refresh | Scenario::Introspect) {
        for worker in 0..args.concurrency {
            let number = phone_number(args.number_offset, worker, 999_999);
            let mut warmup = Stats::default();
            let pair = client.login(&number, &mut warmup).await.ok_or_else(|| {
                anyhow::anyhow!(
                    "warm-up login failed; is Sesame running with the webhook provider?"
                )
            })?;
            pairs.push(pair);
        }
    }

    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(args.duration);
    let mut workers = Vec::new();
    for worker in 0..args.concurrency {
        let client = client.clone();
        let mut pair = pairs.get(worker as usize).cloned().unwrap_or_default();
        let offset = args.number_offset;
        let scenario = args.scenario;
        workers.push(tokio::spawn(async move {
            let mut stats = Stats::default();
            let mut iteration = 0;
            while Instant::now() < deadline {
                match scenario {
                    Scenario::Session => {
                        let number = phone_number(offset, worker, iteration);
                        client.life_of_a_session(&number, &mut stats).await;
                    }
                    Scenario::Login => {
                        let number = phone_number(offset, worker, iteration);
                        client.login(&number, &mut stats).await;
                    }
                    Scenario::FullLogin => {
                        let number = phone_number(offset, worker, iteration);
                        client.full_login(&number, &mut stats).await;
                    }
                    Scenario::Refresh => {
                        let token = pair["refresh_token"].as_str().unwrap_or_default();
                        match client.refresh(token, &mut stats).await {
                            Some(rotated) => pair = rotated,
                            None => break,
                        }
                    }
                    Scenario::Introspect => {
                        let token = pair["access_token"].as_str().unwrap_or_default();
                        client.introspect(token, &mut stats).await;
                    }
                    Scenario::Jwks => client.jwks(&mut stats).await,
                }
                iteration += 1;
            }
            stats
        }));
    }
    let mut stats = Stats::default();
    for worker in workers {
        stats.merge(worker.await?);
    }
    let elapsed = started.elapsed();

    stats.print_table(elapsed);
    let mut summary = json!({
        "scenario": args.scenario.to_possible_value().map(|v| v.get_name().to_owned()),
        "concurrency": args.concurrency,
        "duration_s": round(elapsed.as_secs_f64()),
        "steps": stats.summary(elapsed),
    });
    if matches!(args.scenario, Scenario::Login | Scenario::Session) {
        summary["logins_per_s"] = json!(round(
            stats.successes("login") as f64 / elapsed.as_secs_f64()
        ));
        summary["login_p99_ms"] = json!(round(stats.percentile_ms("login", 0.99)));
    }
    if args.scenario == Scenario::FullLogin {
        summary["full_logins_per_s"] = json!(round(
            stats.successes("full_login") as f64 / elapsed.as_secs_f64()
        ));
        summary["full_login_p99_ms"] = json!(round(stats.percentile_ms("full_login", 0.99)));
    }
    println!("{summary}");
    Ok(())
}

/// Distinct, plausible UK mobile numbers (`+44 74xx xxxxxx`), one per login, so per-number
/// limits never interfere with the measurement.
fn phone_number(offset: u64, worker: u64, iteration: u64) -> String {
    let serial = (offset + worker * 1_000_000 + iteration) % 100_000_000;
    format!("+4474{serial:08}")
}

impl Client {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends one request and records it under `step`; returns the JSON body of a success.
    async fn call(
        &self,
        step: &'static str,
        request: reqwest::RequestBuilder,
        stats: &mut Stats,
    ) -> Option<Value> {
        self.call_expecting(step, request, stats, |_| Ok(())).await
    }

    /// Like `call`, but a 2xx whose body fails `check` counts as an error named by `check`.
    async fn call_expecting(
        &self,
        step: &'static str,
        request: reqwest::RequestBuilder,
        stats: &mut Stats,
        check: impl Fn(&Value) -> Result<(), &'static str>,
    ) -> Option<Value> {
        let began = Instant::now();
        match request.send().await {
            Ok(response) if response.status().is_success() => {
                let Ok(body) = response.bytes().await else {
                    stats.failure(step, "network".into());
                    return None;
                };
                let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
                if let Err(problem) = check(&body) {
                    stats.failure(step, problem.into());
                    return None;
                }
                stats.success(step, began.elapsed());
                Some(body)
            }
            Ok(response) => {
                stats.failure(step, response.status().as_u16().to_string());
                None
            }
            Err(err) if err.is_timeout() => {
                stats.failure(step, "timeout".into());
                None
            }
            Err(_) => {
                stats.failure(step, "network".into());
                None
            }
        }
    }

    /// start → code → token; records `start`, `token` and the whole `login`.
    async fn login(&self, number: &str, stats: &mut Stats) -> Option<Value> {
        let began = Instant::now();
        let code = self.sink.expect(number);
        let start = self
            .http
            .post(self.url("/v1/otp/start"))
            .json(&json!({ "phone_number": number }));
        self.call("start", start, stats).await?;
        let code = match tokio::time::timeout(Duration::from_secs(10), code).await {
            Ok(Ok(code)) => code,
            _ => {
                stats.failure("code", "not_delivered".into());
                return None;
            }
        };
        let token = self.http.post(self.url("/oauth/token")).form(&[
            ("grant_type", "otp"),
            ("phone_number", number),
            ("code", &code),
        ]);
        let pair = self.call("token", token, stats).await?;
        stats.success("login", began.elapsed());
        Some(pair)
    }

    /// start → code → token → one refresh; records the steps and the whole `full_login`.
    async fn full_login(&self, number: &str, stats: &mut Stats) {
        let began = Instant::now();
        let Some(pair) = self.login(number, stats).await else {
            return;
        };
        let refresh_token = pair["refresh_token"].as_str().unwrap_or_default();
        if self.refresh(refresh_token, stats).await.is_some() {
            stats.success("full_login", began.elapsed());
        }
    }

    async fn life_of_a_session(&self, number: &str, stats: &mut Stats) {
        let Some(pair) = self.login(number, stats).await else {
            return;
        };
        let access = pair["access_token"].as_str().unwrap_or_default();
        let me = self.http.get(self.url("/v1/me")).bearer_auth(access);
        self.call("me", me, stats).await;
        let refresh_token = pair["refresh_token"].as_str().unwrap_or_default();
        let Some(rotated) = self.refresh(refresh_token, stats).await else {
            return;
        };
        let access = rotated["access_token"].as_str().unwrap_or_default();
        let logout = self.http.post(self.url("/v1/logout")).bearer_auth(access);
        self.call("logout", logout, stats).await;
    }

    async fn refresh(&self, refresh_token: &str, stats: &mut Stats) -> Option<Value> {
        let request = self.http.post(self.url("/oauth/token")).form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ]);
        self.call("refresh", request, stats).await
    }

    async fn introspect(&self, token: &str, stats: &mut Stats) {
        let request = self
            .http
            .post(self.url("/oauth/introspect"))
            .bearer_auth(self.api_key.as_deref().unwrap_or_default())
            .form(&[("token", token)]);
        // A live token must come back active: `{"active": false}` is a 200 but a failure.
        let active = |body: &Value| match body["active"] {
            Value::Bool(true) => Ok(()),
            _ => Err("inactive"),
        };
        self.call_expecting("introspect", request, stats, active)
            .await;
    }

    async fn jwks(&self, stats: &mut Stats) {
        let request = self.http.get(self.url("/.well-known/jwks.json"));
        self.call("jwks", request, stats).await;
    }
}
