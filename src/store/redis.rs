//! Redis ephemeral store: shared by every node. Keys carry the number as a `{hash tag}` so
//! one number's keys stay on one Redis Cluster slot.

use std::slice;
use std::sync::LazyLock;

use async_trait::async_trait;
use redis::{Script, ScriptInvocation};

use super::redis_connection::RedisConnection;

use super::ephemeral::{admit_one_by_one, admit_then_check_one_by_one};
use super::redis_limits::{ADMIT, ADMIT_FUNCTION, ADMIT_THEN_STORE, WITHDRAW};
use super::{
    Admission, AdmitFirst, ChallengeCheck, CodeAttempt, CodeCheck, Ephemeral, Lockout,
    NewChallenge, Result, StoreError, Window, WindowGroup, WindowKind,
};
use crate::config::SecretUrl;

/// Defines `store_challenge(key, digest, expires, ttl)`: the challenge at `key` replaced by a new
/// one, its `expires` in Unix milliseconds (what decides it is live) and the key's TTL in
/// seconds (which only reclaims space). The one writer of a challenge's hash, run on its own
/// (`PUT_CHALLENGE`) or once a start is admitted (`ADMIT_THEN_STORE`, `redis_limits.rs`).
pub(super) const STORE_CHALLENGE: &str = r"
local function store_challenge(key, digest, expires, ttl)
  redis.call('DEL', key)
  redis.call('HSET', key, 'digest', digest, 'attempts', 0, 'expires', expires)
  redis.call('EXPIRE', key, ttl)
end
";

/// Defines `record_failure(key, source, now, args, at)`: one more failure of the number whose
/// failures hash is `key`, from `source` at `now` (Unix seconds), and the locks it earns, a lock
/// never shortened. `args[at]` to `args[at + 5]` hold `Lockout`'s numbers in its field order
/// (`ephemeral.rs`: window, backoff after, backoff base, backoff max, source lockout after,
/// lockout after); the arithmetic is `Lockout`'s.
const RECORD_FAILURE: &str = r"
local function record_failure(key, source, now, args, at)
  local lockout = {}
  for i = at, at + 5 do lockout[#lockout + 1] = tonumber(args[i]) end
  local window, backoff_after, base, max, source_after, number_after = unpack(lockout)
  local function lock(field, ends)
    if ends > tonumber(redis.call('HGET', key, field) or '0') then
      redis.call('HSET', key, field, ends)
    end
  end
  local number = redis.call('HINCRBY', key, 'count', 1)
  local mine = redis.call('HINCRBY', key, 'count:' .. source, 1)
  if number >= number_after then lock('until', now + window) end
  if mine >= source_after then
    lock('until:' .. source, now + window)
  elseif mine >= backoff_after then
    lock('until:' .. source, now + math.min(base * 2 ^ (mine - backoff_after), max))
  end
  redis.call('EXPIRE', key, window)
end
";

/// `record_failure` of the failures hash KEYS[1] with ARGV: source, now, then the lockout's
/// six numbers.
static RECORD: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        &[
            RECORD_FAILURE,
            r"
record_failure(KEYS[1], ARGV[1], tonumber(ARGV[2]), ARGV, 3)
return 0
",
        ]
        .concat(),
    )
});

/// `store_challenge` of KEYS[1] with ARGV: digest, expires, TTL.
static PUT_CHALLENGE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        &[
            STORE_CHALLENGE,
            "store_challenge(KEYS[1], ARGV[1], ARGV[2], ARGV[3])",
        ]
        .concat(),
    )
});

/// A login's code check in one atomic step (KEYS: challenge, failures, and the window to
/// empty on success if any; ARGV: candidate digest, max attempts, now in seconds, now in
/// milliseconds, whether a success forgets the failures, the checking source, then, when a
/// miss is a failure, the lockout's six numbers as `record_failure` takes them). A number
/// locked for everyone or for the source gets {-2, until} (the later end) and nothing else
/// happens. A challenge past its `expires` (milliseconds; the key's TTL only reclaims space)
/// is deleted and missing. Otherwise the digests are compared in constant time (every byte is
/// visited whatever differs); a match deletes the challenge and what the success clears, a
/// miss counts an attempt (deleting the challenge at the limit) and, with a lockout, a failure
/// with its locks (`record_failure`, which must precede this). Returns -1 when there is no
/// live challenge, otherwise the attempts left (0 after a match is told apart by the second
/// value).
const CHECK_CHALLENGE: &str = r"
local source = ARGV[6]
-- The counts too: a success forgets the failures only when there are some.
local locks = redis.call('HMGET', KEYS[2], 'until', 'until:' .. source, 'count', 'count:' .. source)
local locked = math.max(tonumber(locks[1] or '0'), tonumber(locks[2] or '0'))
if locked > tonumber(ARGV[3]) then return {-2, locked} end
local challenge = redis.call('HMGET', KEYS[1], 'digest', 'expires')
local stored = challenge[1]
if not stored then return {-1, 0} end
if challenge[2] and tonumber(challenge[2]) <= tonumber(ARGV[4]) then
  redis.call('DEL', KEYS[1])
  return {-1, 0}
end
local candidate = ARGV[1]
local diff = 0
if #stored ~= #candidate then diff = 1 end
for i = 1, math.min(#stored, #candidate) do
  diff = bit.bor(diff, bit.bxor(string.byte(stored, i), string.byte(candidate, i)))
end
if diff == 0 then
  redis.call('DEL', KEYS[1])
  if ARGV[5] == '1' and (locks[1] or locks[2] or locks[3] or locks[4]) then
    redis.call('HDEL', KEYS[2], 'count', 'until', 'count:' .. source, 'until:' .. source)
  end
  if KEYS[3] then redis.call('DEL', KEYS[3]) end
  return {0, 1}
end
local attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
if ARGV[7] then record_failure(KEYS[2], source, tonumber(ARGV[3]), ARGV, 7) end
local max = tonumber(ARGV[2])
if attempts >= max then
  redis.call('DEL', KEYS[1])
  return {0, 0}
end
return {max - attempts, 0}
";

/// The admission script, then, once it admits, the code check: one step. KEYS: the
/// admission's window keys (ARGV[1] of them), then the check's; ARGV: that count, the
/// admission's values (now, member, five per key), then the check's. Returns the check's reply,
/// or {-3, refused, wait} with the admission's when it refuses (nothing is checked).
static ADMIT_THEN_CHECK: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        &[
            ADMIT_FUNCTION,
            RECORD_FAILURE,
            "local function check(KEYS, ARGV)\n",
            CHECK_CHALLENGE,
            r"end
local n = tonumber(ARGV[1])
local admit_keys, check_keys, admit_argv, check_argv = {}, {}, {}, {}
for i = 1, #KEYS do
  local into = check_keys
  if i <= n then into = admit_keys end
  into[#into + 1] = KEYS[i]
end
for i = 2, #ARGV do
  local into = check_argv
  if i <= 3 + 5 * n then into = admit_argv end
  into[#into + 1] = ARGV[i]
end
local admitted = admit(admit_keys, admit_argv, n)
if admitted[1] ~= 0 then return {-3, admitted[1], admitted[2]} end
return check(check_keys, check_argv)
",
        ]
        .concat(),
    )
});

/// Counts an attempt without comparing a code (ARGV: max attempts, now in milliseconds); the
/// challenge dies once its attempts are all used or it has expired. Returns the attempts left
/// after this one, or -1 when none was allowed.
const COUNT_ATTEMPT: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local fields = redis.call('HMGET', KEYS[1], 'attempts', 'expires')
local max = tonumber(ARGV[1])
local attempts = tonumber(fields[1] or '0')
local expired = fields[2] and tonumber(fields[2]) <= tonumber(ARGV[2])
if expired or attempts >= max then
  redis.call('DEL', KEYS[1])
  return -1
end
attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
return max - attempts
";

#[derive(Clone)]
pub struct RedisEphemeral {
    connection: RedisConnection,
    prefix: String,
    check_challenge: Script,
    count_attempt: Script,
}

impl RedisEphemeral {
    pub async fn connect(url: &SecretUrl, prefix: &str) -> Result<Self> {
        let connection = RedisConnection::open(url).await?;
        Ok(Self {
            connection,
            prefix: prefix.to_owned(),
            check_challenge: Script::new(&[RECORD_FAILURE, CHECK_CHALLENGE].concat()),
            count_attempt: Script::new(COUNT_ATTEMPT),
        })
    }

    fn challenge_key(&self, number: &str) -> String {
        format!("{}:{{{number}}}:challenge", self.prefix)
    }

    /// `store_challenge`'s key, digest, expiry (Unix milliseconds) and TTL for `challenge`.
    fn challenge_args<'a>(&self, challenge: &NewChallenge<'a>) -> (String, &'a str, i64, i64) {
        let expires = challenge
            .now_ms
            .saturating_add(challenge.ttl_secs.saturating_mul(1_000));
        (
            self.challenge_key(challenge.number),
            challenge.digest,
            expires,
            challenge.ttl_secs,
        )
    }

    /// A window's key: short, as each byte is kept for as long as the window (names other
    /// than `challenge` and `failures`).
    fn window_key(&self, tag: &str, name: &str) -> String {
        format!("{}:{{{tag}}}:{name}", self.prefix)
    }

    /// A window's key by its kind: a counter's name has `:tally` after it, the key of its
    /// format with a running total (`redis_limits.rs`), so no node of a version before that
    /// format reads it (nor this one theirs).
    fn key_of(&self, tag: &str, window: &Window<'_>) -> String {
        match window.kind {
            WindowKind::Log { .. } => self.window_key(tag, window.name),
            WindowKind::Counter => format!("{}:tally", self.window_key(tag, window.name)),
        }
    }

    fn failures_key(&self, number: &str) -> String {
        format!("{}:{{{number}}}:failures", self.prefix)
    }

    /// The admission script's keys and values for `groups` (`redis_limits.rs`).
    fn push_admission(
        &self,
        invocation: &mut ScriptInvocation<'_>,
        groups: &[WindowGroup<'_>],
        member: &str,
        now: i64,
    ) {
        invocation.arg(now).arg(member);
        for (index, group) in groups.iter().enumerate() {
            for window in group.windows {
                let prefix = match window.kind {
                    WindowKind::Log { only } => only.unwrap_or(""),
                    WindowKind::Counter => "",
                };
                invocation
                    .key(self.key_of(group.tag, window))
                    .arg(window.cap)
                    .arg(window.secs)
                    .arg(bucket_width(window))
                    .arg(prefix)
                    .arg(index);
            }
        }
    }

    /// The code check script's keys and values for `attempt` (every key carries the number's
    /// hash tag: one Cluster slot).
    fn push_check(&self, invocation: &mut ScriptInvocation<'_>, attempt: &CodeAttempt<'_>) {
        let number = attempt.number;
        invocation
            .key(self.challenge_key(number))
            .key(self.failures_key(number));
        if let Some(window) = attempt.on_success.empty_window {
            invocation.key(self.window_key(number, window));
        }
        let forget_failures = if attempt.on_success.forget_failures {
            "1"
        } else {
            "0"
        };
        invocation
            .arg(attempt.digest)
            .arg(attempt.max_attempts)
            .arg(attempt.now_ms.div_euclid(1_000))
            .arg(attempt.now_ms)
            .arg(forget_failures)
            .arg(attempt.source);
        if let Some(lockout) = &attempt.on_failure {
            push_lockout(invocation, lockout);
        }
    }

    /// `groups` in turn in one call of the admission script (`redis_limits.rs`): every key
    /// must be on one server.
    async fn admit_atomically(
        &self,
        groups: &[WindowGroup<'_>],
        member: &str,
        now: i64,
        then_put: Option<&NewChallenge<'_>>,
    ) -> Result<Vec<Admission>> {
        let script = if then_put.is_some() {
            &ADMIT_THEN_STORE
        } else {
            &ADMIT
        };
        let mut invocation = script.prepare_invoke();
        self.push_admission(&mut invocation, groups, member, now);
        if let Some(challenge) = then_put {
            let (key, digest, expires, ttl) = self.challenge_args(challenge);
            invocation.key(key).arg(digest).arg(expires).arg(ttl);
        }
        let mut connection = self.connection.clone();
        let reply: Vec<i64> = invocation.invoke_async(&mut connection).await?;
        admissions_of(groups, &reply)
    }
}

/// `record_failure`'s lockout numbers, in its order.
fn push_lockout(invocation: &mut ScriptInvocation<'_>, lockout: &Lockout) {
    invocation
        .arg(lockout.window)
        .arg(lockout.backoff_after)
        .arg(lockout.backoff_base)
        .arg(lockout.backoff_max)
        .arg(lockout.source_lockout_after)
        .arg(lockout.lockout_after);
}

/// A code check from the reply of `CHECK_CHALLENGE` or `ADMIT_THEN_CHECK`. A reply of
/// neither shape is an error, never a login.
fn code_check_of(reply: &[i64]) -> Result<CodeCheck> {
    Ok(match *reply {
        [-3, refused, wait] => CodeCheck::Refused {
            window: refused
                .checked_sub(1)
                .and_then(|index| usize::try_from(index).ok())
                .ok_or_else(|| malformed_check(reply))?,
            retry_after: wait,
        },
        [-2, until] => CodeCheck::Locked { until },
        [0, 1] => CodeCheck::Checked(ChallengeCheck::Accepted),
        [left, 0] if left < 0 => CodeCheck::Checked(ChallengeCheck::Missing),
        [left, 0] => CodeCheck::Checked(ChallengeCheck::Rejected {
            attempts_left: u32::try_from(left).map_err(|_| malformed_check(reply))?,
        }),
        _ => return Err(malformed_check(reply)),
    })
}

fn malformed_check(reply: &[i64]) -> StoreError {
    StoreError::Unavailable(format!("malformed code check reply {reply:?}"))
}

/// The admissions of `groups` from the admission script's reply: `{refused, wait, counts…}`
/// with `refused` the 1-based index, over all the groups' windows, of the window that refused.
/// A reply that names neither a refusal nor every admitted window's count is an error, never
/// an admission.
fn admissions_of(groups: &[WindowGroup<'_>], reply: &[i64]) -> Result<Vec<Admission>> {
    let malformed = || StoreError::Unavailable(format!("malformed admission reply {reply:?}"));
    let [refused, wait, counts @ ..] = reply else {
        return Err(malformed());
    };
    let (refused, wait, mut counts) = (*refused, *wait, counts);
    let mut admissions = Vec::with_capacity(groups.len());
    // The index of the group's first window among all the groups' windows.
    let mut first = 0;
    for group in groups {
        let size = group.windows.len();
        let refused_here = usize::try_from(refused)
            .ok()
            .and_then(|refused| refused.checked_sub(1))
            .filter(|index| (first..first + size).contains(index));
        if let Some(index) = refused_here {
            admissions.push(Admission::Refused {
                window: index - first,
                retry_after: wait,
            });
            break;
        }
        let (these, rest) = counts.split_at_checked(size).ok_or_else(malformed)?;
        admissions.push(Admission::Admitted {
            counts: these
                .iter()
                .map(|count| u32::try_from(*count).unwrap_or(0))
                .collect(),
        });
        counts = rest;
        first += size;
    }
    Ok(admissions)
}

#[async_trait]
impl Ephemeral for RedisEphemeral {
    async fn put_challenge(&self, challenge: &NewChallenge<'_>) -> Result<()> {
        let (key, digest, expires, ttl) = self.challenge_args(challenge);
        let mut connection = self.connection.clone();
        PUT_CHALLENGE
            .key(key)
            .arg(digest)
            .arg(expires)
            .arg(ttl)
            .invoke_async::<()>(&mut connection)
            .await?;
        Ok(())
    }

    async fn check_challenge(&self, attempt: &CodeAttempt<'_>) -> Result<CodeCheck> {
        let mut invocation = self.check_challenge.prepare_invoke();
        self.push_check(&mut invocation, attempt);
        let mut connection = self.connection.clone();
        let reply: Vec<i64> = invocation.invoke_async(&mut connection).await?;
        code_check_of(&reply)
    }

    async fn admit_then_check(
        &self,
        first: &AdmitFirst<'_>,
        attempt: &CodeAttempt<'_>,
    ) -> Result<CodeCheck> {
        if let RedisConnection::Cluster(_) = self.connection {
            // The admission's tag and the number's live on different slots.
            return admit_then_check_one_by_one(self, first, attempt).await;
        }
        let mut invocation = ADMIT_THEN_CHECK.prepare_invoke();
        invocation.arg(first.group.windows.len());
        self.push_admission(
            &mut invocation,
            slice::from_ref(&first.group),
            first.member,
            first.now,
        );
        self.push_check(&mut invocation, attempt);
        let mut connection = self.connection.clone();
        let reply: Vec<i64> = invocation.invoke_async(&mut connection).await?;
        code_check_of(&reply)
    }

    async fn ping(&self) -> Result<()> {
        let mut connection = self.connection.clone();
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await?;
        Ok(())
    }

    async fn count_attempt(
        &self,
        number: &str,
        max_attempts: u32,
        now_ms: i64,
    ) -> Result<Option<u32>> {
        let mut connection = self.connection.clone();
        let left: i64 = self
            .count_attempt
            .key(self.challenge_key(number))
            .arg(max_attempts)
            .arg(now_ms)
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
        let admissions = self
            .admit_atomically(&[WindowGroup { tag, windows }], member, now, None)
            .await?;
        // One group: one admission, whichever it is (`admissions_of` answers at least one).
        let mut admissions = admissions.into_iter();
        admissions.next().ok_or_else(|| {
            StoreError::Unavailable("the admission script answered nothing".to_owned())
        })
    }

    async fn admit_in_turn(
        &self,
        groups: &[WindowGroup<'_>],
        member: &str,
        now: i64,
        then_put: Option<&NewChallenge<'_>>,
    ) -> Result<Vec<Admission>> {
        if groups.is_empty() && then_put.is_none() {
            // Nothing to count or store: a start without a client IP that the screening refused.
            return Ok(Vec::new());
        }
        match self.connection {
            RedisConnection::Single(_) => {
                self.admit_atomically(groups, member, now, then_put).await
            }
            // The groups' tags live on different slots: one script call per group.
            RedisConnection::Cluster(_) => {
                admit_one_by_one(self, groups, member, now, then_put).await
            }
        }
    }

    async fn withdraw(
        &self,
        tag: &str,
        windows: &[Window<'_>],
        member: &str,
        at: i64,
    ) -> Result<()> {
        let mut invocation = WITHDRAW.prepare_invoke();
        invocation.arg(member).arg(at);
        for window in windows {
            invocation
                .key(self.key_of(tag, window))
                .arg(bucket_width(window));
        }
        let mut connection = self.connection.clone();
        invocation.invoke_async::<()>(&mut connection).await?;
        Ok(())
    }

    async fn record_failure(
        &self,
        number: &str,
        source: &str,
        now: i64,
        lockout: &Lockout,
    ) -> Result<()> {
        let mut invocation = RECORD.prepare_invoke();
        invocation
            .key(self.failures_key(number))
            .arg(source)
            .arg(now);
        push_lockout(&mut invocation, lockout);
        let mut connection = self.connection.clone();
        invocation.invoke_async::<()>(&mut connection).await?;
        Ok(())
    }

    async fn verification_locked_until(
        &self,
        number: &str,
        source: &str,
        now: i64,
    ) -> Result<Option<i64>> {
        let mut connection = self.connection.clone();
        let (everyone, by_source): (Option<i64>, Option<i64>) = redis::cmd("HMGET")
            .arg(self.failures_key(number))
            .arg("until")
            .arg(format!("until:{source}"))
            .query_async(&mut connection)
            .await?;
        Ok(everyone.max(by_source).filter(|until| *until > now))
    }

    async fn unlock(&self, number: &str, windows: &[&str]) -> Result<()> {
        // One command over keys that all carry the number's hash tag: one Cluster slot.
        let mut command = redis::cmd("DEL");
        command.arg(self.failures_key(number));
        for name in windows {
            command.arg(self.window_key(number, name));
        }
        let mut connection = self.connection.clone();
        command.query_async::<()>(&mut connection).await?;
        Ok(())
    }
}

/// The scripts' bucket width of a window: 0 for a log.
fn bucket_width(window: &Window<'_>) -> i64 {
    match window.kind {
        WindowKind::Log { .. } => 0,
        WindowKind::Counter => window.bucket_secs(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: [Window<'static>; 1] = [Window {
        name: "starts",
        cap: 2,
        secs: 3_600,
        kind: WindowKind::Counter,
    }];
    const CAPS: [Window<'static>; 2] = [
        Window {
            name: "sent",
            cap: 1,
            secs: 60,
            kind: WindowKind::Log { only: None },
        },
        Window {
            name: "sent",
            cap: 5,
            secs: 3_600,
            kind: WindowKind::Log { only: None },
        },
    ];

    fn groups() -> [WindowGroup<'static>; 2] {
        [
            WindowGroup {
                tag: "ip:203.0.113.9",
                windows: &IP,
            },
            WindowGroup {
                tag: "+447700900123",
                windows: &CAPS,
            },
        ]
    }

    #[test]
    fn a_reply_is_read_group_by_group() {
        let admitted = |counts: &[u32]| Admission::Admitted {
            counts: counts.to_vec(),
        };
        assert_eq!(
            admissions_of(&groups(), &[0, 0, 2, 1, 3]).unwrap(),
            [admitted(&[2]), admitted(&[1, 3])]
        );
        // The third window over both groups is the second group's second.
        assert_eq!(
            admissions_of(&groups(), &[3, 40, 2]).unwrap(),
            [
                admitted(&[2]),
                Admission::Refused {
                    window: 1,
                    retry_after: 40
                }
            ]
        );
    }

    #[test]
    fn a_malformed_reply_admits_nothing() {
        for reply in [&[][..], &[0], &[0, 0, 2, 1], &[0, 0]] {
            assert!(
                matches!(
                    admissions_of(&groups(), reply),
                    Err(StoreError::Unavailable(_))
                ),
                "{reply:?}"
            );
        }
    }

    #[test]
    fn a_code_check_is_read_by_the_shape_of_its_reply() {
        let read = |reply: &[i64]| code_check_of(reply).unwrap();
        assert_eq!(
            read(&[-3, 1, 60]),
            CodeCheck::Refused {
                window: 0,
                retry_after: 60
            }
        );
        assert_eq!(read(&[-2, 1_800]), CodeCheck::Locked { until: 1_800 });
        assert_eq!(read(&[0, 1]), CodeCheck::Checked(ChallengeCheck::Accepted));
        assert_eq!(read(&[-1, 0]), CodeCheck::Checked(ChallengeCheck::Missing));
        assert_eq!(
            read(&[3, 0]),
            CodeCheck::Checked(ChallengeCheck::Rejected { attempts_left: 3 })
        );
    }

    #[test]
    fn a_malformed_code_check_reply_is_no_login() {
        for reply in [&[][..], &[1], &[0, 2], &[-3, 0, 60], &[0, 1, 0]] {
            assert!(
                matches!(code_check_of(reply), Err(StoreError::Unavailable(_))),
                "{reply:?}"
            );
        }
    }
}
