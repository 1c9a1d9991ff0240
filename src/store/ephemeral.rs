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
    /// The admission asked first ([`Ephemeral::admit_then_check`]) refused: `window` of its
    /// group is full, the last full one frees a place in `retry_after` seconds. Nothing was
    /// checked.
    Refused {
        window: usize,
        retry_after: i64,
    },
}

/// A login's code check ([`Ephemeral::check_challenge`]): `digest` of the candidate code,
/// from `source`, against `number`'s live challenge, at `now_ms` (Unix milliseconds).
#[derive(Debug, Clone, Copy)]
pub struct CodeAttempt<'a> {
    pub number: &'a str,
    pub source: &'a str,
    pub digest: &'a str,
    pub max_attempts: u32,
    pub now_ms: i64,
    pub on_success: OnSuccess<'a>,
    /// What a wrong code costs, counted in the step that found it wrong; `None` for a check
    /// that is no guess (spending a challenge that a provider has approved the code of).
    pub on_failure: Option<Lockout>,
}

/// The admission a code check must pass first ([`Ephemeral::admit_then_check`]): `member` in
/// the windows of `group` at `now` (Unix seconds).
#[derive(Debug, Clone, Copy)]
pub struct AdmitFirst<'a> {
    pub group: WindowGroup<'a>,
    pub member: &'a str,
    pub now: i64,
}

impl AdmitFirst<'_> {
    /// Records this admission in `store` on its own ([`Ephemeral::admit`]): the check's
    /// answer when it refuses, `None` once admitted.
    pub async fn refusal_in<E: Ephemeral + ?Sized>(&self, store: &E) -> Result<Option<CodeCheck>> {
        let WindowGroup { tag, windows } = self.group;
        let admission = store.admit(tag, windows, self.member, self.now).await?;
        Ok(match admission {
            Admission::Refused {
                window,
                retry_after,
            } => Some(CodeCheck::Refused {
                window,
                retry_after,
            }),
            Admission::Admitted { .. } => None,
        })
    }
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

/// One window of an [`Ephemeral::admit`] call: at most `cap` events in any `secs` seconds.
/// Its `name` names its key under the call's tag; windows of one call that share a name read
/// one log (each over its own `secs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window<'a> {
    pub name: &'a str,
    pub cap: u32,
    pub secs: i64,
    pub kind: WindowKind<'a>,
}

/// How a window keeps its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowKind<'a> {
    /// Every event with its member and second, counted exactly: an event counts for `secs`
    /// seconds, and the wait after a refusal is until the event that frees a place leaves.
    /// With `only`, counts just the members that start with it (one source's share of a
    /// log it shares with others).
    Log { only: Option<&'a str> },
    /// Counts per bucket of [`Window::bucket_secs`] seconds, so its size is bounded whatever
    /// the traffic (at most 61 buckets). An event counts while its bucket ends less than `secs`
    /// before now: for `secs` seconds and at most one bucket more, never less, so no `secs`
    /// seconds ever hold more than `cap` events. Takes no share.
    Counter,
}

impl<'a> Window<'a> {
    /// A window that logs each event (see [`WindowKind::Log`]).
    pub fn log(name: &'a str, cap: u32, secs: i64) -> Self {
        Self {
            name,
            cap,
            secs,
            kind: WindowKind::Log { only: None },
        }
    }

    /// A window that counts events per bucket (see [`WindowKind::Counter`]).
    pub fn counter(name: &'a str, cap: u32, secs: i64) -> Self {
        Self {
            name,
            cap,
            secs,
            kind: WindowKind::Counter,
        }
    }

    /// The share of this log held by the members that start with `prefix`, at most `cap`.
    pub fn share(self, prefix: &'a str, cap: u32) -> Self {
        Self {
            cap,
            kind: WindowKind::Log { only: Some(prefix) },
            ..self
        }
    }

    /// The width of a counter's buckets: a sixtieth of the window, rounded up (a minute for
    /// an hour), at least a second.
    pub fn bucket_secs(&self) -> i64 {
        self.secs.saturating_add(59).div_euclid(60).max(1)
    }
}

/// A new challenge: `number`'s code digest, live for `ttl_secs` from `now_ms`.
#[derive(Debug, Clone, Copy)]
pub struct NewChallenge<'a> {
    pub number: &'a str,
    pub digest: &'a str,
    pub now_ms: i64,
    pub ttl_secs: i64,
}

/// The windows of one tag, admitted together in [`Ephemeral::admit_in_turn`].
#[derive(Debug, Clone, Copy)]
pub struct WindowGroup<'a> {
    pub tag: &'a str,
    pub windows: &'a [Window<'a>],
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

/// What a wrong code costs (`SESAME_VERIFY_*`, docs/contract-notes.md "Abuse limits"): one
/// more failure of the number and of the checking source, all forgotten `window` seconds after
/// the number's last; from its `backoff_after`-th failure the source is locked out of the
/// number for `backoff_base` seconds, doubling per failure up to `backoff_max`, and from its
/// `source_lockout_after`-th for `window`; from the number's `lockout_after`-th, everyone is,
/// for `window`. A store counts a failure and sets the locks it earns in one step, so wrong
/// codes sent at once earn what the same codes one after another would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lockout {
    pub window: i64,
    pub backoff_after: u32,
    pub backoff_base: i64,
    pub backoff_max: i64,
    pub source_lockout_after: u32,
    pub lockout_after: u32,
}

impl Lockout {
    /// How long a source's `failures`-th failure locks it out of the number, if at all.
    pub fn source_lock_secs(&self, failures: u32) -> Option<i64> {
        if failures >= self.source_lockout_after {
            return Some(self.window);
        }
        let doublings = failures.checked_sub(self.backoff_after)?;
        let factor = 2i64.checked_pow(doublings).unwrap_or(i64::MAX);
        Some(
            self.backoff_base
                .saturating_mul(factor)
                .min(self.backoff_max),
        )
    }

    /// How long the number's `failures`-th failure locks it for everyone, if at all.
    pub fn number_lock_secs(&self, failures: u32) -> Option<i64> {
        (failures >= self.lockout_after).then_some(self.window)
    }
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
    /// Stores `challenge`, replacing any previous challenge of its number.
    async fn put_challenge(&self, challenge: &NewChallenge<'_>) -> Result<()>;

    /// A login's code check from `source`, in one atomic step. While `number`'s verification
    /// is locked at `now_ms`, for everyone or for `source`, it checks nothing and answers
    /// `Locked` (with the later end). Otherwise it compares `digest` with
    /// the live challenge's in constant time, spending the challenge on a match (and clearing
    /// what `on_success` names) or counting a wrong attempt (killing the challenge at
    /// `max_attempts`) and a failure with the locks it earns (`on_failure`, if any). Of
    /// concurrent checks with the right code exactly one is `Accepted`.
    async fn check_challenge(&self, attempt: &CodeAttempt<'_>) -> Result<CodeCheck>;

    /// [`Ephemeral::admit`] of `first`, then, once admitted, [`Ephemeral::check_challenge`] of
    /// `attempt`; a refusal checks nothing and answers [`CodeCheck::Refused`]. On one Redis
    /// server this is one atomic step (one round trip instead of two); the default, which
    /// Redis Cluster keeps (the tags live on different slots), makes one call after the other.
    async fn admit_then_check(
        &self,
        first: &AdmitFirst<'_>,
        attempt: &CodeAttempt<'_>,
    ) -> Result<CodeCheck> {
        admit_then_check_one_by_one(self, first, attempt).await
    }

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

    /// Sliding-window admission, all or nothing: when every window of `tag` counts fewer than
    /// its cap events at `now` (a log: in its last `secs` seconds, only its `only` members
    /// when it has a prefix; a counter: see [`WindowKind::Counter`]), records `member` (an id
    /// unique within the windows) at `now` in each, once per name; otherwise records
    /// nothing. The windows of one call share `tag`, so on Redis they
    /// live on one Cluster slot and are checked in one atomic step.
    async fn admit(
        &self,
        tag: &str,
        windows: &[Window<'_>],
        member: &str,
        now: i64,
    ) -> Result<Admission>;

    /// [`Ephemeral::admit`] of several tags in turn, as one request: each group is admitted
    /// all or nothing, in order, up to the first one refused; the groups before it stay
    /// recorded and those after it are not tried. Returns one admission per group tried, the
    /// last one the refusal if there was one. Once every group is admitted, `then_put` (a
    /// start's new code) is stored as `put_challenge` stores it; after a refusal it is not.
    /// On one Redis server this is one atomic step (one round trip instead of one per group
    /// and one for the challenge); the default, which Redis Cluster keeps (its tags live on
    /// different slots), admits one group after the other, then stores the challenge.
    async fn admit_in_turn(
        &self,
        groups: &[WindowGroup<'_>],
        member: &str,
        now: i64,
        then_put: Option<&NewChallenge<'_>>,
    ) -> Result<Vec<Admission>> {
        admit_one_by_one(self, groups, member, now, then_put).await
    }

    /// Takes the event `member` admitted at `at` back out of `windows` of `tag` (its request
    /// did not go through): a log forgets the member, a counter counts one less in the bucket
    /// of `at` (if that bucket is still kept). Only windows that recorded it may be named.
    async fn withdraw(
        &self,
        tag: &str,
        windows: &[Window<'_>],
        member: &str,
        at: i64,
    ) -> Result<()>;

    /// Counts one more consecutive failed check of `number`'s codes, made by `source` at
    /// `now`, and sets the locks it earns (`lockout`), in one step; a lock is never shortened.
    /// For the checks made elsewhere (a provider's): a wrong code found by
    /// [`Ephemeral::check_challenge`] is counted there.
    async fn record_failure(
        &self,
        number: &str,
        source: &str,
        now: i64,
        lockout: &Lockout,
    ) -> Result<()>;

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

/// [`Ephemeral::admit_then_check`] as two calls.
pub(super) async fn admit_then_check_one_by_one<E: Ephemeral + ?Sized>(
    store: &E,
    first: &AdmitFirst<'_>,
    attempt: &CodeAttempt<'_>,
) -> Result<CodeCheck> {
    match first.refusal_in(store).await? {
        Some(refused) => Ok(refused),
        None => store.check_challenge(attempt).await,
    }
}

/// [`Ephemeral::admit_in_turn`] as one [`Ephemeral::admit`] per group, then
/// [`Ephemeral::put_challenge`].
pub(super) async fn admit_one_by_one<E: Ephemeral + ?Sized>(
    store: &E,
    groups: &[WindowGroup<'_>],
    member: &str,
    now: i64,
    then_put: Option<&NewChallenge<'_>>,
) -> Result<Vec<Admission>> {
    let mut admissions = Vec::with_capacity(groups.len());
    for group in groups {
        let admission = store.admit(group.tag, group.windows, member, now).await?;
        let refused = matches!(admission, Admission::Refused { .. });
        admissions.push(admission);
        if refused {
            return Ok(admissions);
        }
    }
    if let Some(challenge) = then_put {
        store.put_challenge(challenge).await?;
    }
    Ok(admissions)
}
