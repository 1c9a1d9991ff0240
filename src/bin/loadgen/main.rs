//! Load generator: many mobile clients at once against a running Sesame.
//!
//! `session` plays the whole client life: start → code (through this process's webhook sink)
//! → token → /v1/me → refresh → logout. `login` is start → code → token only (the login
//! throughput); `full-login` adds one refresh of the new pair, and speaks only the subset a
//! peer service shares with Sesame (`scripts/bench.sh --peer`). `refresh` logs each client in once, then rotates its refresh token in a loop;
//! `introspect` and `jwks` hammer one endpoint each.
//! A table goes to standard error; the last line on standard output is a JSON summary.

mod connection;
mod sink;
mod stats;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use hyper::header::HeaderValue;
use serde::Deserialize;
use serde_json::json;

use connection::{Call, Connection, FORM, JSON, Target};
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
    /// Threads of the load generator's own. One spends the least CPU per request, and on two
    /// shared cores it drives even the cheapest endpoint (JWKS) as fast as two do.
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

/// What every virtual client shares: where to send requests and how to read codes.
struct Shared {
    target: Target,
    sink: Sink,
    api_key: Option<String>,
}

/// One virtual client: its own connection, and what it shares with the others.
struct Client {
    shared: Arc<Shared>,
    connection: Connection,
}

/// A token pair as `/oauth/token` answers it (only the fields the scenarios use).
#[derive(Clone, Default, Deserialize)]
struct Pair {
    access_token: String,
    refresh_token: String,
}

/// jemalloc, as Sesame uses (`src/main.rs`): glibc's allocator was about a tenth of the load
/// generator's CPU.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

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
    let shared = Arc::new(Shared {
        target: target_of(&args.base_url).await?,
        sink,
        api_key: args.api_key.clone(),
    });

    // Refresh and introspection need live pairs: one login per worker before the clock starts.
    let mut pairs = Vec::new();
    if matches!(args.scenario, Scenario::Refresh | Scenario::Introspect) {
        let mut client = Client::new(&shared);
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
        let mut client = Client::new(&shared);
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
                        match client.refresh(&pair.refresh_token, &mut stats).await {
                            Some(rotated) => pair = rotated,
                            None => break,
                        }
                    }
                    Scenario::Introspect => {
                        client.introspect(&pair.access_token, &mut stats).await;
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

/// The service's address and `Host` header from `--base-url` (`http://host:port`, no path).
async fn target_of(base_url: &str) -> anyhow::Result<Target> {
    let authority = base_url
        .trim_end_matches('/')
        .strip_prefix("http://")
        .filter(|authority| !authority.contains('/'))
        .ok_or_else(|| anyhow::anyhow!("--base-url must be http://host:port, without a path"))?;
    let address = tokio::net::lookup_host(authority)
        .await?
        .next()
        .ok_or_else(|| anyhow::anyhow!("{authority} resolves to no address"))?;
    Ok(Target {
        address,
        host: HeaderValue::try_from(authority)?,
    })
}

impl Client {
    fn new(shared: &Arc<Shared>) -> Self {
        Self {
            shared: Arc::clone(shared),
            connection: Connection::new(shared.target.clone()),
        }
    }

    /// start → code → token; records `start`, `token` and the whole `login`.
    async fn login(&mut self, number: &str, stats: &mut Stats) -> Option<Pair> {
        let began = Instant::now();
        let code = self.shared.sink.expect(number);
        let body = json!({ "phone_number": number }).to_string();
        let start = Call::post("/v1/otp/start", Some(JSON), body);
        record(&mut self.connection, "start", start, stats, |_| Ok(())).await?;
        let code = match tokio::time::timeout(Duration::from_secs(10), code).await {
            Ok(Ok(code)) => code,
            _ => {
                stats.failure("code", "not_delivered".into());
                return None;
            }
        };
        let token = form(&[
            ("grant_type", "otp"),
            ("phone_number", number),
            ("code", &code),
        ]);
        let pair = self.pair("token", token, stats).await?;
        stats.success("login", began.elapsed());
        Some(pair)
    }

    /// start → code → token → one refresh; records the steps and the whole `full_login`.
    async fn full_login(&mut self, number: &str, stats: &mut Stats) {
        let began = Instant::now();
        let Some(pair) = self.login(number, stats).await else {
            return;
        };
        if self.refresh(&pair.refresh_token, stats).await.is_some() {
            stats.success("full_login", began.elapsed());
        }
    }

    async fn life_of_a_session(&mut self, number: &str, stats: &mut Stats) {
        let Some(pair) = self.login(number, stats).await else {
            return;
        };
        let me = Call::get("/v1/me").bearer(&pair.access_token);
        record(&mut self.connection, "me", me, stats, |_| Ok(())).await;
        let Some(rotated) = self.refresh(&pair.refresh_token, stats).await else {
            return;
        };
        let logout = Call::post("/v1/logout", None, String::new()).bearer(&rotated.access_token);
        record(&mut self.connection, "logout", logout, stats, |_| Ok(())).await;
    }

    async fn refresh(&mut self, refresh_token: &str, stats: &mut Stats) -> Option<Pair> {
        let request = form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ]);
        self.pair("refresh", request, stats).await
    }

    /// A token request (`/oauth/token` with the form `body`) recorded under `step`; an answer
    /// without a pair counts as the error `no_pair`.
    async fn pair(&mut self, step: &'static str, body: String, stats: &mut Stats) -> Option<Pair> {
        let call = Call::post("/oauth/token", Some(FORM), body);
        let read = |body: &[u8]| serde_json::from_slice::<Pair>(body).map_err(|_| "no_pair");
        record(&mut self.connection, step, call, stats, read).await
    }

    async fn introspect(&mut self, token: &str, stats: &mut Stats) {
        let Self { shared, connection } = self;
        let call = Call::post("/oauth/introspect", Some(FORM), form(&[("token", token)]))
            .bearer(shared.api_key.as_deref().unwrap_or_default());
        /// Only what tells a live token's answer from `{"active": false}`, itself a 200.
        #[derive(Deserialize)]
        struct Answer {
            active: bool,
        }
        let active = |body: &[u8]| match serde_json::from_slice::<Answer>(body) {
            Ok(Answer { active: true }) => Ok(()),
            _ => Err("inactive"),
        };
        record(connection, "introspect", call, stats, active).await;
    }

    async fn jwks(&mut self, stats: &mut Stats) {
        let jwks = Call::get("/.well-known/jwks.json");
        record(&mut self.connection, "jwks", jwks, stats, |_| Ok(())).await;
    }
}

/// Sends `call` on `connection` and reads a 2xx answer's body with `read`, whose error names
/// the failure; records the outcome under `step` and returns what `read` made of a success.
async fn record<T>(
    connection: &mut Connection,
    step: &'static str,
    call: Call<'_>,
    stats: &mut Stats,
    read: impl FnOnce(&[u8]) -> Result<T, &'static str>,
) -> Option<T> {
    let began = Instant::now();
    let outcome = match connection.send(call).await {
        Ok(body) => read(&body).map_err(str::to_owned),
        Err(failure) => Err(failure.outcome()),
    };
    match outcome {
        Ok(value) => {
            stats.success(step, began.elapsed());
            Some(value)
        }
        Err(outcome) => {
            stats.failure(step, outcome);
            None
        }
    }
}

/// `fields` as an `application/x-www-form-urlencoded` body.
fn form(fields: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(fields).unwrap_or_default()
}
