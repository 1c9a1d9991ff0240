//! Per-step latency histograms and error counts, merged across workers at the end.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde_json::{Value, json};

pub struct Step {
    latencies_us: Histogram<u64>,
    errors: BTreeMap<String, u64>,
}

impl Step {
    fn new() -> Self {
        Self {
            // 1 µs .. 60 s at 3 significant digits.
            latencies_us: Histogram::new_with_bounds(1, 60_000_000, 3)
                .expect("constant histogram bounds are valid"),
            errors: BTreeMap::new(),
        }
    }
}

/// Outcomes of every step, keyed by step name, in the order steps first appear.
#[derive(Default)]
pub struct Stats {
    steps: Vec<(&'static str, Step)>,
}

impl Stats {
    fn step(&mut self, name: &'static str) -> &mut Step {
        let index = match self.steps.iter().position(|(n, _)| *n == name) {
            Some(index) => index,
            None => {
                self.steps.push((name, Step::new()));
                self.steps.len() - 1
            }
        };
        &mut self.steps[index].1
    }

    pub fn success(&mut self, name: &'static str, elapsed: Duration) {
        let micros = (elapsed.as_micros() as u64).clamp(1, 60_000_000);
        // A value within the configured bounds never fails to record.
        let _ = self.step(name).latencies_us.record(micros);
    }

    /// `outcome` is an HTTP status (`"429"`) or a transport failure (`"timeout"`, `"network"`).
    pub fn failure(&mut self, name: &'static str, outcome: String) {
        *self.step(name).errors.entry(outcome).or_default() += 1;
    }

    pub fn merge(&mut self, other: Stats) {
        for (name, step) in other.steps {
            let mine = self.step(name);
            let _ = mine.latencies_us.add(&step.latencies_us);
            for (outcome, count) in step.errors {
                *mine.errors.entry(outcome).or_default() += count;
            }
        }
    }

    pub fn successes(&self, name: &str) -> u64 {
        self.steps
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(0, |(_, step)| step.latencies_us.len())
    }

    pub fn percentile_ms(&self, name: &str, quantile: f64) -> f64 {
        self.steps
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(0.0, |(_, step)| {
                step.latencies_us.value_at_quantile(quantile) as f64 / 1000.0
            })
    }

    /// `{"step": {"ok", "per_s", "p50_ms", "p95_ms", "p99_ms", "errors"}}`.
    pub fn summary(&self, elapsed: Duration) -> Value {
        let seconds = elapsed.as_secs_f64().max(f64::EPSILON);
        let mut steps = serde_json::Map::new();
        for (name, step) in &self.steps {
            let ok = step.latencies_us.len();
            let quantile = |q: f64| round(step.latencies_us.value_at_quantile(q) as f64 / 1000.0);
            steps.insert(
                (*name).to_owned(),
                json!({
                    "ok": ok,
                    "per_s": round(ok as f64 / seconds),
                    "p50_ms": quantile(0.50),
                    "p95_ms": quantile(0.95),
                    "p99_ms": quantile(0.99),
                    "errors": step.errors,
                }),
            );
        }
        Value::Object(steps)
    }

    /// A table for people, on standard error.
    pub fn print_table(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64().max(f64::EPSILON);
        eprintln!(
            "{:<10} {:>9} {:>10} {:>9} {:>9} {:>9}  errors",
            "step", "ok", "req/s", "p50 ms", "p95 ms", "p99 ms"
        );
        for (name, step) in &self.steps {
            let h = &step.latencies_us;
            let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
            eprintln!(
                "{:<10} {:>9} {:>10.1} {:>9.2} {:>9.2} {:>9.2}  {:?}",
                name,
                h.len(),
                h.len() as f64 / seconds,
                ms(0.50),
                ms(0.95),
                ms(0.99),
                step.errors
            );
        }
    }
}

pub fn round(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}
