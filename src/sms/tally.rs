//! This node's count of codes sent, per minute, provider and outcome: kept in memory and
//! added to the database's `activity` table by a background task every minute (and at
//! shutdown), so the admin console can chart codes sent without a write per login, which
//! would double the database's work on the login path.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use super::SendError;
use crate::clock::Clock;
use crate::store::{Database, SendCount};

/// Sends counted per (minute, provider, outcome).
type Counts = HashMap<(i64, String, String), i64>;

/// Shared by every sender of a node; cheap to clone.
#[derive(Clone)]
pub struct SendTally {
    clock: Clock,
    counts: Arc<Mutex<Counts>>,
}

impl SendTally {
    pub fn new(clock: Clock) -> Self {
        Self {
            clock,
            counts: Arc::default(),
        }
    }

    /// Counts a provider's final outcome for one message: in the tally and in
    /// `sesame_codes_sent_total{provider, outcome}`.
    pub fn record(&self, provider: &'static str, outcome: &Result<(), SendError>) {
        let outcome = match outcome {
            Ok(()) => "ok",
            Err(SendError::InvalidNumber) => "invalid_number",
            Err(SendError::Rejected(_)) => "rejected",
            Err(SendError::Transient(_)) => "failed",
        };
        metrics::counter!("sesame_codes_sent_total", "provider" => provider, "outcome" => outcome)
            .increment(1);
        let minute = self.clock.now().div_euclid(60) * 60;
        let key = (minute, provider.to_owned(), outcome.to_owned());
        *self.lock().entry(key).or_default() += 1;
    }

    /// Everything counted since the last call, emptying the tally.
    fn take(&self) -> Vec<SendCount> {
        self.lock()
            .drain()
            .map(|((minute, provider, outcome), count)| SendCount {
                minute,
                provider,
                outcome,
                count,
            })
            .collect()
    }

    /// Puts counts that could not be stored back, to be tried with the next flush.
    fn restore(&self, counts: Vec<SendCount>) {
        let mut tally = self.lock();
        for count in counts {
            let key = (count.minute, count.provider, count.outcome);
            *tally.entry(key).or_default() += count.count;
        }
    }

    fn lock(&self) -> MutexGuard<'_, Counts> {
        // Updates are single additions: a poisoned lock holds no half-written entry.
        self.counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Stored minutes are kept this long (seconds): the console charts the last 24 hours.
const KEEP: i64 = 7 * 86_400;

impl SendTally {
    /// Adds what was counted since the last flush to the database (every minute, and once
    /// more at shutdown). Counts that cannot be stored wait for the next flush.
    pub async fn flush(&self, db: &Database) {
        let counts = self.take();
        if counts.is_empty() {
            return;
        }
        let keep_since = self.clock.now() - KEEP;
        if let Err(err) = db.add_send_counts(&counts, keep_since).await {
            tracing::warn!(error = %err, "could not store the tally of codes sent; retrying later");
            self.restore(counts);
        }
    }
}
