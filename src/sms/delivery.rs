//! Retries and failover. Each provider gets up to [`ATTEMPTS`] attempts, each under a
//! deadline, with exponential backoff and full jitter between them, but only after failures
//! another attempt may cure (network, timeout, 429, 5xx). When a provider gives up, the next
//! one in `SESAME_SMS_PROVIDER` is tried; an invalid number stops the chain.

use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use rand::Rng;

use super::{Message, SendError, SendTally, Sender};

/// Attempts per provider and message (docs/contract-notes.md, "Messages").
pub const ATTEMPTS: u32 = 3;

#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Deadline of one attempt.
    pub timeout: Duration,
    /// Backoff before the second attempt; doubled before each later one.
    pub base: Duration,
}

impl RetryPolicy {
    pub fn new(timeout: Duration, base: Duration) -> Self {
        Self { timeout, base }
    }

    /// Runs `attempt` until it succeeds, fails for good, or [`ATTEMPTS`] are spent.
    pub async fn run<T, F, Fut>(&self, provider: &str, mut attempt: F) -> Result<T, SendError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SendError>>,
    {
        let mut number = 1;
        loop {
            match self.once(attempt()).await {
                Err(SendError::Transient(cause)) if number < ATTEMPTS => {
                    tracing::info!(provider, attempt = number, %cause, "delivery attempt failed; retrying");
                    tokio::time::sleep(self.backoff(number)).await;
                    number += 1;
                }
                outcome => return outcome,
            }
        }
    }

    /// One attempt under the deadline; a timeout is transient.
    pub async fn once<T>(
        &self,
        attempt: impl Future<Output = Result<T, SendError>>,
    ) -> Result<T, SendError> {
        tokio::time::timeout(self.timeout, attempt)
            .await
            .unwrap_or_else(|_| Err(SendError::Transient("timed out".into())))
    }

    /// "Full jitter": uniform in `[0, base · 2^(n-1)]`, so nodes retrying together spread out.
    fn backoff(&self, failed_attempts: u32) -> Duration {
        let ceiling = self.base.saturating_mul(1 << (failed_attempts - 1).min(16));
        let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::thread_rng().gen_range(0..=millis))
    }
}

/// One provider with retries.
pub struct Retrying {
    inner: Box<dyn Sender>,
    policy: RetryPolicy,
    /// Where the provider's final outcome for each message is counted.
    tally: SendTally,
}

impl Retrying {
    pub fn new(inner: Box<dyn Sender>, policy: RetryPolicy, tally: SendTally) -> Self {
        Self {
            inner,
            policy,
            tally,
        }
    }
}

#[async_trait]
impl Sender for Retrying {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    async fn send(&self, message: &Message) -> Result<(), SendError> {
        let outcome = self
            .policy
            .run(self.inner.name(), || self.inner.send(message))
            .await;
        self.tally.record(self.inner.name(), &outcome);
        outcome
    }
}

/// Providers in failover order.
pub struct Failover {
    senders: Vec<Retrying>,
}

impl Failover {
    pub fn new(senders: Vec<Retrying>) -> Self {
        Self { senders }
    }
}

#[async_trait]
impl Sender for Failover {
    fn name(&self) -> &'static str {
        "failover"
    }

    async fn send(&self, message: &Message) -> Result<(), SendError> {
        let mut last = SendError::Transient("no provider configured".into());
        for sender in &self.senders {
            match sender.send(message).await {
                Ok(()) => return Ok(()),
                // Every provider would refuse a number that does not exist.
                Err(SendError::InvalidNumber) => return Err(SendError::InvalidNumber),
                Err(err) => {
                    tracing::warn!(provider = sender.name(), error = %err, "provider failed; trying the next");
                    last = err;
                }
            }
        }
        Err(last)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy::new(Duration::from_millis(200), Duration::from_millis(1))
    }

    #[tokio::test]
    async fn transient_failures_are_retried_up_to_the_limit() {
        let calls = AtomicU32::new(0);
        let outcome: Result<(), _> = policy()
            .run("test", || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(SendError::Transient("503".into()))
            })
            .await;
        assert!(matches!(outcome, Err(SendError::Transient(_))));
        assert_eq!(calls.load(Ordering::SeqCst), ATTEMPTS);
    }

    #[tokio::test]
    async fn permanent_failures_are_not_retried() {
        let calls = AtomicU32::new(0);
        let outcome: Result<(), _> = policy()
            .run("test", || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(SendError::Rejected("401".into()))
            })
            .await;
        assert!(matches!(outcome, Err(SendError::Rejected(_))));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_hung_attempt_times_out_and_the_next_succeeds() {
        let calls = AtomicU32::new(0);
        let outcome = policy()
            .run("test", || async {
                if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                    std::future::pending::<()>().await;
                }
                Ok(())
            })
            .await;
        assert!(outcome.is_ok());
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn backoff_grows_and_stays_under_its_ceiling() {
        let policy = RetryPolicy::new(Duration::from_secs(1), Duration::from_millis(100));
        for _ in 0..100 {
            assert!(policy.backoff(1) <= Duration::from_millis(100));
            assert!(policy.backoff(2) <= Duration::from_millis(200));
        }
        // Jitter: not every draw is the same.
        let draws: std::collections::HashSet<_> = (0..50).map(|_| policy.backoff(2)).collect();
        assert!(draws.len() > 1);
    }
}
