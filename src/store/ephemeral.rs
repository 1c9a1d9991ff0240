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

/// Outcome of [`Ephemeral::check_challenge`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    Checked(ChallengeCheck),
    /// The number's verification is locked until `until` (Unix seconds); nothing was checked.
    Locked {
        until: i64,
    },
}

/// What a successful code check also clears, in the same atomic step that spends the
/// challenge (so no concurrent request sees a login without its clean-up).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OnSuccess<'a> {
    /// Forget the number's consecutive failures, and with them any lock.
    pub forget_failures: bool,
    /// Empty this window of the number (the resend cooldown: a login is not a resend).
    pub empty_window: Option<&'a str>,
}

/// One sliding window of an [`Ephemeral::admit`] call: at most `cap` events in any `secs` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window<'a> {
    pub name: &'a str,
    pub cap: u32,
    pub secs: i64,
}

impl<'a> Window<'a> {
    pub fn new(name: &'a str, cap: u32, secs: i64) -> Self {
        Self { name, cap, secs }
    }
}

/// Outcome of [`Ephemeral::admit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Admitted,
    /// `window` (an index into the windows asked about) is full; the last full window frees a
    /// place in `retry_after` seconds.
    Refused {
        window: usize,
        retry_after: i64,
    },
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
/// Time is the caller's: `now` is Unix seconds and `now_ms` Unix milliseconds, from the app's
/// clock. (Redis also expires keys by its own clock, only to reclaim space: the caller's time
/// decides what is live.)
#[async_trait]
pub trait Ephemeral: Send + Sync + 'static {
    /// Stores the challenge digest for `number`, replacing any previous challenge; it lives
    /// `ttl_secs` from `now_ms`.
    async fn put_challenge(
        &self,
        number: &str,
        digest: &str,
        now_ms: i64,
        ttl_secs: i64,
    ) -> Result<()>;

    /// A login's code check, in one atomic step. While `number`'s verification is locked at
    /// `now_ms` it checks nothing and answers `Locked`. Otherwise it compares `digest` with
    /// the live challenge's in constant time, spending the challenge on a match (and clearing
    /// what `on_success` names) or counting a wrong attempt (killing the challenge at
    /// `max_attempts`). Of concurrent checks with the right code exactly one is `Accepted`.
    async fn check_challenge(
        &self,
        number: &str,
        digest: &str,
        max_attempts: u32,
        now_ms: i64,
        on_success: OnSuccess<'_>,
    ) -> Result<CodeCheck>;

    /// Answers when the store is reachable.
    async fn ping(&self) -> Result<()>;

    /// Counts one attempt against the challenge of `number` live at `now_ms` without comparing
    /// a code (a provider checks it). Returns the attempts left after this one, or `None` when
    /// there is no live challenge or its `max_attempts` are already used up (it is then deleted).
    async fn count_attempt(
        &self,
        number: &str,
        max_attempts: u32,
        now_ms: i64,
    ) -> Result<Option<u32>>;

    /// Sliding-window admission, all or nothing: when every window of `tag` holds fewer than
    /// its cap events in its last `secs` seconds, records `member` (a unique id) at `now` in
    /// each; otherwise records nothing. The windows of one call share `tag`, so on Redis they
    /// live on one Cluster slot and are checked in one atomic step.
    async fn admit(
        &self,
        tag: &str,
        windows: &[Window<'_>],
        member: &str,
        now: i64,
    ) -> Result<Admission>;

    /// Takes `member` back out of the named windows of `tag` (its request did not go through).
    async fn withdraw(&self, tag: &str, names: &[&str], member: &str) -> Result<()>;

    /// Counts one more consecutive failed check of `number`'s codes and returns the count.
    /// Failures are forgotten `ttl_secs` after the last one.
    async fn add_failure(&self, number: &str, now: i64, ttl_secs: i64) -> Result<u32>;

    /// Locks verification of `number` until `until` (Unix seconds); never shortens a lock.
    async fn lock_verification(&self, number: &str, until: i64) -> Result<()>;

    /// The end of `number`'s verification lock, when it is locked at `now`.
    async fn verification_locked_until(&self, number: &str, now: i64) -> Result<Option<i64>>;

    /// Forgets `number`'s failures and lock: an admin's unlock.
    async fn clear_failures(&self, number: &str) -> Result<()>;
}
