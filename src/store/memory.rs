//! In-process ephemeral store: the embedded default for a single node. It never reads the
//! time: every expiry is decided by the `now` its caller passes.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use subtle::ConstantTimeEq;

use super::memory_limits::MemoryLimits;
use super::{
    Admission, ChallengeCheck, CodeAttempt, CodeCheck, Ephemeral, Lockout, NewChallenge, Result,
    Window,
};

#[derive(Default)]
pub struct MemoryEphemeral {
    challenges: Mutex<HashMap<String, Challenge>>,
    limits: MemoryLimits,
    /// Held through a whole code check (the lock, the code, the failure it counts), which is
    /// one step as on Redis: no check runs between another's reading of the locks and its
    /// setting of the lock its wrong code earned.
    checks: Mutex<()>,
}

struct Challenge {
    digest: String,
    attempts: u32,
    /// Unix milliseconds.
    expires_at: i64,
}

impl Challenge {
    fn live_at(&self, now_ms: i64) -> bool {
        self.expires_at > now_ms
    }
}

impl MemoryEphemeral {
    pub fn new() -> Self {
        Self::default()
    }

    fn challenges(&self) -> std::sync::MutexGuard<'_, HashMap<String, Challenge>> {
        // A panic while holding the lock cannot leave a challenge half-written (every update
        // is a single assignment), so a poisoned lock is still safe to use.
        self.challenges
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Compares `digest` in constant time, spending the challenge on a match and counting a
    /// wrong attempt otherwise.
    fn check_digest(
        &self,
        number: &str,
        digest: &str,
        max_attempts: u32,
        now_ms: i64,
    ) -> ChallengeCheck {
        let mut challenges = self.challenges();
        let Some(challenge) = challenges.get_mut(number) else {
            return ChallengeCheck::Missing;
        };
        if !challenge.live_at(now_ms) {
            challenges.remove(number);
            return ChallengeCheck::Missing;
        }
        if bool::from(challenge.digest.as_bytes().ct_eq(digest.as_bytes())) {
            challenges.remove(number);
            return ChallengeCheck::Accepted;
        }
        challenge.attempts += 1;
        if challenge.attempts >= max_attempts {
            challenges.remove(number);
            return ChallengeCheck::Rejected { attempts_left: 0 };
        }
        ChallengeCheck::Rejected {
            attempts_left: max_attempts - challenge.attempts,
        }
    }
}

#[async_trait]
impl Ephemeral for MemoryEphemeral {
    async fn put_challenge(&self, challenge: &NewChallenge<'_>) -> Result<()> {
        let NewChallenge {
            number,
            digest,
            now_ms,
            ttl_secs,
        } = *challenge;
        let mut challenges = self.challenges();
        // Expired challenges are dropped as new ones arrive, so memory tracks live logins only.
        challenges.retain(|_, challenge| challenge.live_at(now_ms));
        challenges.insert(
            number.to_owned(),
            Challenge {
                digest: digest.to_owned(),
                attempts: 0,
                expires_at: now_ms.saturating_add(ttl_secs.max(0).saturating_mul(1_000)),
            },
        );
        Ok(())
    }

    async fn check_challenge(&self, attempt: &CodeAttempt<'_>) -> Result<CodeCheck> {
        let CodeAttempt {
            number,
            source,
            digest,
            max_attempts,
            now_ms,
            on_success,
            on_failure,
        } = *attempt;
        let _one_check_at_a_time = self
            .checks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let now = now_ms.div_euclid(1_000);
        if let Some(until) = self.limits.verification_locked_until(number, source, now) {
            return Ok(CodeCheck::Locked { until });
        }
        let check = self.check_digest(number, digest, max_attempts, now_ms);
        match check {
            ChallengeCheck::Accepted => {
                if on_success.forget_failures {
                    self.limits.forget_failures(number, source);
                }
                if let Some(window) = on_success.empty_window {
                    self.limits.clear_window(number, window);
                }
            }
            ChallengeCheck::Rejected { .. } => {
                if let Some(lockout) = on_failure {
                    self.limits.record_failure(number, source, now, &lockout);
                }
            }
            ChallengeCheck::Missing => {}
        }
        Ok(CodeCheck::Checked(check))
    }

    async fn ping(&self) -> Result<()> {
        Ok(())
    }

    async fn count_attempt(
        &self,
        number: &str,
        max_attempts: u32,
        now_ms: i64,
    ) -> Result<Option<u32>> {
        let mut challenges = self.challenges();
        let Some(challenge) = challenges.get_mut(number) else {
            return Ok(None);
        };
        if !challenge.live_at(now_ms) || challenge.attempts >= max_attempts {
            challenges.remove(number);
            return Ok(None);
        }
        challenge.attempts += 1;
        Ok(Some(max_attempts - challenge.attempts))
    }

    async fn admit(
        &self,
        tag: &str,
        windows: &[Window<'_>],
        member: &str,
        now: i64,
    ) -> Result<Admission> {
        Ok(self.limits.admit(tag, windows, member, now))
    }

    async fn withdraw(
        &self,
        tag: &str,
        windows: &[Window<'_>],
        member: &str,
        at: i64,
    ) -> Result<()> {
        self.limits.withdraw(tag, windows, member, at);
        Ok(())
    }

    async fn record_failure(
        &self,
        number: &str,
        source: &str,
        now: i64,
        lockout: &Lockout,
    ) -> Result<()> {
        self.limits.record_failure(number, source, now, lockout);
        Ok(())
    }

    async fn verification_locked_until(
        &self,
        number: &str,
        source: &str,
        now: i64,
    ) -> Result<Option<i64>> {
        Ok(self.limits.verification_locked_until(number, source, now))
    }

    async fn unlock(&self, number: &str, windows: &[&str]) -> Result<()> {
        self.limits.unlock(number, windows);
        Ok(())
    }
}
