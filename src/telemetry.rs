//! One place that sets up logging and the metrics recorder.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

/// `SESAME_LOG_FORMAT`: `pretty` for people, `json` for log pipelines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pretty" => Ok(Self::Pretty),
            "json" => Ok(Self::Json),
            _ => Err("expected pretty or json".into()),
        }
    }
}

/// Logs filtered by `RUST_LOG` (default `info`). JSON lines carry the fields of every
/// enclosing span, so each line written inside a request has its `request_id`.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Standard output is for command results (and the console provider's messages).
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Pretty => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(true)
            .try_init(),
    };
}

/// Request latency buckets, in seconds: an OTP start waits on an SMS provider, so the top
/// buckets reach into seconds.
const LATENCY_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// How often histogram samples are folded into their buckets. The recorder keeps every raw
/// sample until then, so a node nobody scrapes would otherwise grow with its traffic.
pub const METRICS_UPKEEP: Duration = Duration::from_secs(5);

static METRICS: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process-wide Prometheus recorder, installed on first use. The `metrics` facade has one
/// global recorder, so every app in a process (tests start many) shares it. `None` when another
/// recorder was installed first.
pub fn metrics() -> Option<&'static PrometheusHandle> {
    METRICS
        .get_or_init(|| {
            let installed = PrometheusBuilder::new()
                .set_buckets(LATENCY_BUCKETS)
                .and_then(PrometheusBuilder::install_recorder);
            match installed {
                Ok(handle) => {
                    describe();
                    Some(handle)
                }
                Err(err) => {
                    tracing::warn!(error = %err, "cannot install the metrics recorder");
                    None
                }
            }
        })
        .as_ref()
}

/// `# HELP` lines for every metric Sesame emits.
fn describe() {
    use metrics::{Unit, describe_counter, describe_histogram};
    describe_counter!(
        "sesame_http_requests_total",
        "HTTP requests by method, matched route and status"
    );
    describe_histogram!(
        "sesame_http_request_duration_seconds",
        Unit::Seconds,
        "HTTP request latency by method, matched route and status"
    );
    describe_counter!(
        "sesame_codes_sent_total",
        "One-time codes handed to a provider, by provider and outcome"
    );
    describe_counter!(
        "sesame_verifications_total",
        "Code checks by outcome (accepted, rejected, no_challenge)"
    );
    describe_counter!("sesame_tokens_issued_total", "Token pairs issued, by grant");
    describe_counter!("sesame_tokens_refreshed_total", "Refresh-token rotations");
    describe_counter!("sesame_tokens_revoked_total", "Revocations, by scope");
    describe_counter!(
        "sesame_rate_limit_refusals_total",
        "Requests refused by a rate limit, by limit"
    );
    describe_counter!(
        "sesame_login_commits_total",
        "Postgres transactions that stored logins (group commit)"
    );
    describe_counter!(
        "sesame_logins_committed_total",
        "Logins stored by those transactions"
    );
    describe_counter!(
        "sesame_rotation_commits_total",
        "Postgres transactions that stored refresh rotations (group commit)"
    );
    describe_counter!(
        "sesame_rotations_committed_total",
        "Refresh rotations tried by those transactions (spent or found not spendable)"
    );
    describe_counter!(
        "sesame_access_state_reads_total",
        "Postgres statements that read access tokens' state (batched)"
    );
    describe_counter!(
        "sesame_access_states_read_total",
        "Access tokens' states read by those statements"
    );
    describe_counter!(
        "sesame_sms_budget_warnings_total",
        "Sends that brought an hourly SMS budget to 80%, by budget (country, global)"
    );
}
