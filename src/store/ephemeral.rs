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
    /// Forget the number's consecutive failures and the checking source's, and with them
    /// their locks (other sources keep theirs: one login does not unlock a guesser).
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
    /// Counts only the events whose member starts with this prefix: one source's share of a
    /// window it shares with others (the same log as the window of that name without it).
    pub only: Option<&'a str>,
}

impl<'a> Window<'a> {
    pub fn new(name: &'a str, cap: u32, secs: i64) -> Self {
        Self {
            name,
            cap,
            secs,
            only: None,
        }
    }

    /// The share of this window held by the members that start with `prefix`, at most `cap`.
    pub fn share(self, prefix: &'a str, cap: u32) -> Self {
        Self {
            cap,
            only: Some(prefix),
            ..self
        }
    }
}

/// Outcome of [`Ephemeral::admit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// Recorded; `counts[i]` is the number of events window `i` counts now, this one included.
    Admitted { counts: Vec<u32> },
    /// `window` (an index into the windows asked about) is full; the last full window frees a
    /// place in `retry_after` seconds.
    Refused { window: usize, retry_after: i64 },
}

/// Consecutive failed checks of one number's codes, after [`Ephemeral::add_failure`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failures {
    /// From every source.
    pub number: u32,
    /// From the source that failed this time.
    pub source: u32,
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

    /// A login's code check from `source`, in one atomic step. While `number`'s verification
    /// is locked at `now_ms`, for everyone or for `source`, it checks nothing and answers
    /// `Locked` (with the later end). Otherwise it compares `digest` with
    /// the live challenge's in constant time, spending the challenge on a match (and clearing
    /// what `on_success` names) or counting a wrong attempt (killing the challenge at
    /// `max_attempts`). Of concurrent checks with the right code exactly one is `Accepted`.
    async fn check_challenge(
        &self,
        number: &str,
        source: &str,
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
    /// its cap events in its last `secs` seconds (counting only its `only` members when it
    /// has a prefix), records `member` (a unique id) at `now` in each; otherwise records
    /// nothing. The windows of one call share `tag`, so on Redis they
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

    /// Counts one more consecutive failed check of `number`'s codes, made by `source`, and
    /// returns the counts. Failures (every source's) are forgotten `ttl_secs` after the last
    /// one of the number.
    async fn add_failure(
        &self,
        number: &str,
        source: &str,
        now: i64,
        ttl_secs: i64,
    ) -> Result<Failures>;

    /// Locks verification of `number` until `until` (Unix seconds), for `source` only or
    /// (`None`) for everyone; never shortens a lock.
    async fn lock_verification(&self, number: &str, source: Option<&str>, until: i64)
    -> Result<()>;

    /// The end of `number`'s verification lock for `source` (its own or everyone's, the
    /// later), when it is locked at `now`.
    async fn verification_locked_until(
        &self,
        number: &str,
        source: &str,
        now: i64,
    ) -> Result<Option<i64>>;

    /// An admin's unlock: forgets `number`'s failures and locks (every source's) and empties
    /// its windows named `windows`, in one step.
    async fn unlock(&self, number: &str, windows: &[&str]) -> Result<()>;
}
