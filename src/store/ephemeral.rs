use async_trait::async_trait;

use super::Result;

/// Outcome of checking a candidate code against the live challenge of a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeCheck {
    /// The digest matched; the challenge is spent and no later check can succeed.
    Accepted,
    /// Wrong code; `attempts_left` more wrong codes are allowed before the challenge dies.
    Rejected { attempts_left: u32 },
    /// No live challenge: never started, expired, spent, or killed by too many wrong codes.
    Missing,
}

impl ChallengeCheck {
    /// The `outcome` label of `sesame_verifications_total`.
    pub fn outcome(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Rejected { .. } => "rejected",
            Self::Missing => "no_challenge",
        }
    }
}

/// Short-lived state shared by every node of a deployment: Redis, or memory for a single node.
#[async_trait]
pub trait Ephemeral: Send + Sync + 'static {
    /// Stores the challenge digest for `number`, replacing any previous challenge.
    async fn put_challenge(&self, number: &str, digest: &str, ttl_secs: i64) -> Result<()>;

    /// Compares `digest` with the stored one in constant time and, in the same atomic step,
    /// spends the challenge on a match or counts a wrong attempt (killing the challenge at
    /// `max_attempts`). Of concurrent checks with the right code exactly one is `Accepted`.
    async fn check_challenge(
        &self,
        number: &str,
        digest: &str,
        max_attempts: u32,
    ) -> Result<ChallengeCheck>;

    /// Answers when the store is reachable.
    async fn ping(&self) -> Result<()>;
}
