//! In-process ephemeral store: the embedded default for a single node.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use subtle::ConstantTimeEq;

use super::{ChallengeCheck, Ephemeral, Result};

#[derive(Default)]
pub struct MemoryEphemeral {
    challenges: Mutex<HashMap<String, Challenge>>,
}

struct Challenge {
    digest: String,
    attempts: u32,
    expires_at: Instant,
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
}

#[async_trait]
impl Ephemeral for MemoryEphemeral {
    async fn put_challenge(&self, number: &str, digest: &str, ttl_secs: i64) -> Result<()> {
        let now = Instant::now();
        let mut challenges = self.challenges();
        // Expired challenges are dropped as new ones arrive, so memory tracks live logins only.
        challenges.retain(|_, challenge| challenge.expires_at > now);
        challenges.insert(
            number.to_owned(),
            Challenge {
                digest: digest.to_owned(),
                attempts: 0,
                expires_at: now + Duration::from_secs(ttl_secs.max(0) as u64),
            },
        );
        Ok(())
    }

    async fn check_challenge(
        &self,
        number: &str,
        digest: &str,
        max_attempts: u32,
    ) -> Result<ChallengeCheck> {
        let mut challenges = self.challenges();
        let Some(challenge) = challenges.get_mut(number) else {
            return Ok(ChallengeCheck::Missing);
        };
        if challenge.expires_at <= Instant::now() {
            challenges.remove(number);
            return Ok(ChallengeCheck::Missing);
        }
        if bool::from(challenge.digest.as_bytes().ct_eq(digest.as_bytes())) {
            challenges.remove(number);
            return Ok(ChallengeCheck::Accepted);
        }
        challenge.attempts += 1;
        if challenge.attempts >= max_attempts {
            challenges.remove(number);
            return Ok(ChallengeCheck::Rejected { attempts_left: 0 });
        }
        Ok(ChallengeCheck::Rejected {
            attempts_left: max_attempts - challenge.attempts,
        })
    }

    async fn ping(&self) -> Result<()> {
        Ok(())
    }

    async fn count_attempt(&self, number: &str, max_attempts: u32) -> Result<Option<u32>> {
        let mut challenges = self.challenges();
        let Some(challenge) = challenges.get_mut(number) else {
            return Ok(None);
        };
        if challenge.expires_at <= Instant::now() || challenge.attempts >= max_attempts {
            challenges.remove(number);
            return Ok(None);
        }
        challenge.attempts += 1;
        Ok(Some(max_attempts - challenge.attempts))
    }
}
