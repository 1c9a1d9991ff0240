//! What one admission into an hourly counter window costs Redis: `cargo bench --bench
//! redis_limits`. Every start and every code check admits into such counters (the client IP's,
//! its country's budget, the global budget), and at steady state each holds a full hour of
//! minute buckets; this fills one with 61 minutes, then admits into it 20,000 times, and does
//! the same into an empty counter for comparison.
//!
//! It reports Redis's own time per script call (`INFO commandstats`, `cmdstat_evalsha`, read
//! before and after: anything else running scripts on that server meanwhile counts too) and
//! the round trip as the client sees it. Under `cargo test` (no `--bench` argument) it admits
//! 200 times, so the test suite stays fast. `SESAME_BENCH_REDIS_URL` overrides the server
//! (default `redis://127.0.0.1:6379`).

use std::time::Instant;

use sesame::config::SecretUrl;
use sesame::store::{Admission, Ephemeral, RedisEphemeral, Window};

/// A whole minute, in seconds since the epoch, far from the real clock (keys still expire by it).
const NOW: i64 = 1_800_000_000;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let benchmarking = std::env::args().any(|arg| arg == "--bench");
    let admissions = if benchmarking { 20_000 } else { 200 };
    let url =
        std::env::var("SESAME_BENCH_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let prefix = format!("sesame-bench-{}", uuid::Uuid::new_v4().simple());
    let store = RedisEphemeral::connect(&SecretUrl::new(&url), &prefix).await?;
    let mut redis = redis::Client::open(url.as_str())?
        .get_multiplexed_async_connection()
        .await?;
    let window = [Window::counter("starts", u32::MAX, 3_600)];

    // One event a minute for the hour before NOW: 61 buckets once NOW's own is added.
    for minute in 0..61 {
        let at = NOW - 3_600 + minute * 60;
        admit(&store, "ip:192.0.2.1", &window, at).await?;
    }
    admit(&store, "ip:192.0.2.2", &window, NOW).await?;
    for (label, tag) in [
        ("full hour", "ip:192.0.2.1"),
        ("one minute", "ip:192.0.2.2"),
    ] {
        let before = script_usec(&mut redis).await?;
        let started = Instant::now();
        for _ in 0..admissions {
            admit(&store, tag, &window, NOW + 30).await?;
        }
        let elapsed = started.elapsed();
        let (calls, usec) = script_usec(&mut redis).await?;
        let redis_us = (usec - before.1) as f64 / (calls - before.0) as f64;
        let round_trip_us = elapsed.as_secs_f64() * 1e6 / f64::from(admissions);
        println!(
            "counter admission, {label}: Redis {redis_us:.1} µs per script call, \
             round trip {round_trip_us:.1} µs ({admissions} admissions)"
        );
    }
    Ok(())
}

async fn admit(
    store: &RedisEphemeral,
    tag: &str,
    window: &[Window<'_>],
    at: i64,
) -> anyhow::Result<()> {
    match store.admit(tag, window, "bench", at).await? {
        Admission::Admitted { .. } => Ok(()),
        refused => anyhow::bail!("a counter without a cap refused: {refused:?}"),
    }
}

/// The server's script calls so far and the microseconds it spent in them.
async fn script_usec(redis: &mut redis::aio::MultiplexedConnection) -> anyhow::Result<(i64, i64)> {
    let stats: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(redis)
        .await?;
    let line = stats
        .lines()
        .find(|line| line.starts_with("cmdstat_evalsha:"))
        .ok_or_else(|| anyhow::anyhow!("no script calls in INFO commandstats"))?;
    let field = |name: &str| -> anyhow::Result<i64> {
        let value = line
            .split([':', ','])
            .find_map(|part| part.strip_prefix(name))
            .ok_or_else(|| anyhow::anyhow!("no {name} in {line}"))?;
        Ok(value.parse()?)
    };
    Ok((field("calls=")?, field("usec=")?))
}
