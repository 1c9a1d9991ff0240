//! Redis ephemeral store: shared by every node. Keys carry the number as a `{hash tag}` so
//! one number's keys stay on one Redis Cluster slot.

use async_trait::async_trait;
use redis::Script;
use redis::aio::ConnectionManager;

use super::redis_limits::{ADMIT, LOCK};
use super::{Admission, ChallengeCheck, CodeCheck, Ephemeral, Result, Window};
use crate::config::SecretUrl;

/// A login's code check in one atomic step (KEYS: challenge, failures, resend window; ARGV:
/// candidate digest, max attempts, now). A locked number gets {-2, until} and nothing else
/// happens. Otherwise the digests are compared in constant time (every byte is visited
/// whatever differs); a match deletes the challenge, the failures and the window, a miss
/// counts an attempt and deletes the challenge at the limit. Returns -1 when there is no
/// challenge, otherwise the attempts left (0 after a match is told apart by the second value).
const CHECK_CHALLENGE: &str = r"
local locked = tonumber(redis.call('HGET', KEYS[2], 'until') or '0')
if locked > tonumber(ARGV[3]) then return {-2, locked} end
local stored = redis.call('HGET', KEYS[1], 'digest')
if not stored then return {-1, 0} end
local candidate = ARGV[1]
local diff = 0
if #stored ~= #candidate then diff = 1 end
for i = 1, math.min(#stored, #candidate) do
  diff = bit.bor(diff, bit.bxor(string.byte(stored, i), string.byte(candidate, i)))
end
if diff == 0 then
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
  return {0, 1}
end
local attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
local max = tonumber(ARGV[2])
if attempts >= max then
  redis.call('DEL', KEYS[1])
  return {0, 0}
end
return {max - attempts, 0}
";

/// Counts an attempt without comparing a code; the challenge dies once its attempts are all
/// used. Returns the attempts left after this one, or -1 when none was allowed.
const COUNT_ATTEMPT: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local max = tonumber(ARGV[1])
local attempts = tonumber(redis.call('HGET', KEYS[1], 'attempts') or '0')
if attempts >= max then
  redis.call('DEL', KEYS[1])
  return -1
end
attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
return max - attempts
";

#[derive(Clone)]
pub struct RedisEphemeral {
    connection: ConnectionManager,
    prefix: String,
    check_challenge: Script,
    count_attempt: Script,
}

impl RedisEphemeral {
    pub async fn connect(url: &SecretUrl, prefix: &str) -> Result<Self> {
        let client = redis::Client::open(url.expose())?;
        let connection = ConnectionManager::new(client).await?;
        Ok(Self {
            connection,
            prefix: prefix.to_owned(),
            check_challenge: Script::new(CHECK_CHALLENGE),
            count_attempt: Script::new(COUNT_ATTEMPT),
        })
    }

    fn challenge_key(&self, number: &str) -> String {
        format!("{}:{{{number}}}:challenge", self.prefix)
    }

    fn window_key(&self, tag: &str, name: &str) -> String {
        format!("{}:{{{tag}}}:window:{name}", self.prefix)
    }

    fn failures_key(&self, number: &str) -> String {
        format!("{}:{{{number}}}:failures", self.prefix)
    }
}

#[async_trait]
impl Ephemeral for RedisEphemeral {
    async fn put_challenge(&self, number: &str, digest: &str, ttl_secs: i64) -> Result<()> {
        let key = self.challenge_key(number);
        let mut connection = self.connection.clone();
        redis::pipe()
            .atomic()
            .del(&key)
            .ignore()
            .hset_multiple(&key, &[("digest", digest), ("attempts", "0")])
            .ignore()
            .expire(&key, ttl_secs)
            .ignore()
            .query_async::<()>(&mut connection)
            .await?;
        Ok(())
    }

    async fn check_challenge(
        &self,
        number: &str,
        digest: &str,
        max_attempts: u32,
        now: i64,
        cleared: &str,
    ) -> Result<CodeCheck> {
        let mut connection = self.connection.clone();
        // The three keys carry the number's hash tag: one script, one Cluster slot.
        let (attempts_left, second): (i64, i64) = self
            .check_challenge
            .key(self.challenge_key(number))
            .key(self.failures_key(number))
            .key(self.window_key(number, cleared))
            .arg(digest)
            .arg(max_attempts)
            .arg(now)
            .invoke_async(&mut connection)
            .await?;
        Ok(match (attempts_left, second) {
            (-2, until) => CodeCheck::Locked { until },
            (_, 1) => CodeCheck::Checked(ChallengeCheck::Accepted),
            (left, _) if left < 0 => CodeCheck::Checked(ChallengeCheck::Missing),
            (left, _) => CodeCheck::Checked(ChallengeCheck::Rejected {
                attempts_left: u32::try_from(left).unwrap_or(0),
            }),
        })
    }

    async fn ping(&self) -> Result<()> {
        let mut connection = self.connection.clone();
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await?;
        Ok(())
    }

    async fn count_attempt(&self, number: &str, max_attempts: u32) -> Result<Option<u32>> {
        let mut connection = self.connection.clone();
        let left: i64 = self
            .count_attempt
            .key(self.challenge_key(number))
            .arg(max_attempts)
            .invoke_async(&mut connection)
            .await?;
        Ok(u32::try_from(left).ok())
    }

    async fn admit(
        &self,
        tag: &str,
        windows: &[Window<'_>],
        member: &str,
        now: i64,
    ) -> Result<Admission> {
        let mut invocation = ADMIT.prepare_invoke();
        invocation.arg(now).arg(member);
        for window in windows {
            invocation
                .key(self.window_key(tag, window.name))
                .arg(window.cap)
                .arg(window.secs);
        }
        let mut connection = self.connection.clone();
        let (refused, retry_after): (i64, i64) = invocation.invoke_async(&mut connection).await?;
        Ok(match usize::try_from(refused) {
            Ok(index) if index > 0 => Admission::Refused {
                window: index - 1,
                retry_after,
            },
            _ => Admission::Admitted,
        })
    }

    async fn withdraw(&self, tag: &str, names: &[&str], member: &str) -> Result<()> {
        let mut pipe = redis::pipe();
        for name in names {
            pipe.zrem(self.window_key(tag, name), member).ignore();
        }
        let mut connection = self.connection.clone();
        pipe.query_async::<()>(&mut connection).await?;
        Ok(())
    }

    async fn add_failure(&self, number: &str, _now: i64, ttl_secs: i64) -> Result<u32> {
        let key = self.failures_key(number);
        let mut connection = self.connection.clone();
        let (count,): (u32,) = redis::pipe()
            .atomic()
            .hincr(&key, "count", 1)
            .expire(&key, ttl_secs)
            .ignore()
            .query_async(&mut connection)
            .await?;
        Ok(count)
    }

    async fn lock_verification(&self, number: &str, until: i64) -> Result<()> {
        let mut connection = self.connection.clone();
        LOCK.key(self.failures_key(number))
            .arg(until)
            .invoke_async::<()>(&mut connection)
            .await?;
        Ok(())
    }

    async fn verification_locked_until(&self, number: &str, now: i64) -> Result<Option<i64>> {
        let mut connection = self.connection.clone();
        let until: Option<i64> = redis::cmd("HGET")
            .arg(self.failures_key(number))
            .arg("until")
            .query_async(&mut connection)
            .await?;
        Ok(until.filter(|until| *until > now))
    }

    async fn clear_failures(&self, number: &str) -> Result<()> {
        let mut connection = self.connection.clone();
        redis::cmd("DEL")
            .arg(self.failures_key(number))
            .query_async::<()>(&mut connection)
            .await?;
        Ok(())
    }
}
