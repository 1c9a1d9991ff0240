//! Abuse limits around a login (docs/contract-notes.md, "Abuse limits"): who may be sent a
//! code and how often, how often codes may be checked, and the lock after repeated failures.
//! Every refusal is counted in `sesame_rate_limit_refusals_total{limit}` and audited once per
//! client, reason and minute (a loop of refused requests writes one row a minute).

use std::net::IpAddr;
use std::sync::Arc;

use super::screening;
use crate::config::{Config, LimitsConfig};
use crate::domain::{Actor, AuditAction, PhoneNumber, random_url_safe};
use crate::error::{Error, Result};
use crate::sms::Channel;
use crate::store::{
    Admission, AdmitFirst, AuditEvent, Database, Ephemeral, Lockout, NewChallenge, OnSuccess,
    Window, WindowGroup,
};

/// Window names; keys are `{tag}:{name}` (a counter's on Redis with `:tally` after it), the
/// tag being the number, `ip:…`, `cc:…` or [`GLOBAL`]. Short: Redis keeps every byte of a key
/// for as long as the window.
/// The resend cooldown (a log of its own), emptied by a successful login.
const RESEND: &str = "resend";
/// Codes sent: of a number, one log read by its hourly and daily caps and their shares; of a
/// country or [`GLOBAL`], the budget's counter.
const SENT: &str = "sent";
/// A client IP's code requests and code checks (counters).
const IP_STARTS: &str = "starts";
const IP_CHECKS: &str = "checks";
/// The tag of the send budget over all numbers and countries.
const GLOBAL: &str = "global";

pub struct Limits {
    config: Arc<Config>,
    db: Database,
    ephemeral: Arc<dyn Ephemeral>,
}

/// What an admitted start recorded against the send limits, taken back when the message
/// could not be delivered (a failed delivery costs nothing and must not block a retry).
pub struct Reservation {
    member: String,
    /// What the member starts with: its source's share of the number's caps reads it.
    source: String,
    number: String,
    /// When it was admitted: a counter takes it back from that second's bucket.
    at: i64,
    /// The budgets that counted it (one that refused it counted nothing).
    budgets: Vec<Budget>,
}

impl Limits {
    pub fn new(config: Arc<Config>, db: Database, ephemeral: Arc<dyn Ephemeral>) -> Self {
        Self {
            config,
            db,
            ephemeral,
        }
    }

    fn limits(&self) -> &LimitsConfig {
        &self.config.limits
    }

    /// Admits a code request, in this order: the client IP's hourly cap (it counts refused
    /// requests too, so it comes before the number is even screened); the screening (a number
    /// outside the allowed countries, or a line type that cannot take a code on `channel` or
    /// costs too much); the send limits of the number (its resend cooldown and hourly and
    /// daily caps, of which the client's source may use half); the hourly budget of its
    /// country calling code; the hourly budget over all countries. The first that refuses
    /// answers, and the send limits and budgets then keep no trace of the request. Once all
    /// admit it, `challenge` (the start's new code) is stored. The windows and the challenge
    /// go to the store in one request (`Ephemeral::admit_in_turn`).
    pub async fn admit_start(
        &self,
        number: &PhoneNumber,
        channel: Channel,
        ip: Option<&str>,
        now: i64,
        challenge: &NewChallenge<'_>,
    ) -> Result<Reservation> {
        let attempt = Attempt::new(number, ip, now);
        let source = attempt.source_prefix();
        let screened = screening::screen(number, channel, self.limits());
        let mut stages = Vec::with_capacity(4);
        if let Some(address) = ip {
            let cap = self.limits().ip_hourly_cap;
            stages.push(self.ip_stage(address, ("ip_hourly", IP_STARTS, cap)));
        }
        if screened.is_none() {
            let (limits, windows) = self.number_windows(&source).into_iter().unzip();
            stages.push(Stage {
                tag: number.as_str().to_owned(),
                limits,
                windows,
                counts: Counts::Number,
            });
            let country = Budget::Country {
                calling_code: number.calling_code(),
            };
            for budget in [country, Budget::Global] {
                stages.push(Stage {
                    tag: budget.tag(),
                    limits: vec![budget.limit()],
                    windows: vec![self.budget_window(budget)],
                    counts: Counts::Budget(budget),
                });
            }
        }
        let mut reservation = Reservation {
            member: attempt.member.clone(),
            source: source.clone(),
            number: number.as_str().to_owned(),
            at: now,
            budgets: Vec::with_capacity(2),
        };
        // A number the screening refuses gets no challenge.
        let then_put = screened.is_none().then_some(challenge);
        for (stage, admission) in stages
            .iter()
            .zip(self.admit_stages(&attempt, &stages, then_put).await?)
        {
            match admission {
                Admission::Admitted { counts } => match stage.counts {
                    Counts::Ip | Counts::Number => {}
                    Counts::Budget(budget) => {
                        let used = counts.first().copied().unwrap_or(0);
                        self.warn_at_level(budget, used);
                        reservation.budgets.push(budget);
                    }
                },
                Admission::Refused {
                    window,
                    retry_after: wait,
                } => {
                    // A budget comes after the number's caps, which have counted the start
                    // (as have the budgets before it): they take it back.
                    if let Counts::Budget(budget) = stage.counts {
                        self.withdraw(&reservation).await;
                        self.log_budget_refusal(budget);
                    }
                    return Err(self.refuse_at(&attempt, stage, window, wait).await);
                }
            }
        }
        match screened {
            None => Ok(reservation),
            Some((limit, error)) => Err(self.refuse(&attempt, limit, error).await),
        }
    }

    /// The stage of a client IP's hourly cap: `(limit, window name, cap)`.
    fn ip_stage(
        &self,
        address: &str,
        (limit, name, cap): (&'static str, &'static str, u32),
    ) -> Stage<'static> {
        Stage {
            tag: ip_tag(address),
            limits: vec![limit],
            windows: vec![Window::counter(name, cap, self.limits().hour)],
            counts: Counts::Ip,
        }
    }

    /// The stage of a client IP's hourly cap on code checks.
    fn ip_check_stage(&self, address: &str) -> Stage<'static> {
        let cap = self.limits().ip_verify_hourly_cap;
        self.ip_stage(address, ("ip_verify_hourly", IP_CHECKS, cap))
    }

    /// Records the attempt in the windows of `stages` in turn, then stores `then_put` if all
    /// admit it (`Ephemeral::admit_in_turn`).
    async fn admit_stages(
        &self,
        attempt: &Attempt<'_>,
        stages: &[Stage<'_>],
        then_put: Option<&NewChallenge<'_>>,
    ) -> Result<Vec<Admission>> {
        let groups: Vec<WindowGroup> = stages
            .iter()
            .map(|stage| WindowGroup {
                tag: &stage.tag,
                windows: &stage.windows,
            })
            .collect();
        let admissions =
            self.ephemeral
                .admit_in_turn(&groups, &attempt.member, attempt.now, then_put);
        Ok(admissions.await?)
    }

    /// The send windows of a number for a request from `source` (its members' prefix), with
    /// their metric labels: the resend cooldown (when on), then the hourly and daily caps,
    /// which read one log, and the source's share of each.
    fn number_windows<'a>(&self, source: &'a str) -> Vec<(&'static str, Window<'a>)> {
        let limits = self.limits();
        let hourly = Window::log(SENT, limits.sms_hourly_cap, limits.hour);
        let daily = Window::log(SENT, limits.sms_daily_cap, limits.day);
        let mut windows = Vec::with_capacity(5);
        if self.config.otp.resend_after > 0 {
            let cooldown = Window::log(RESEND, 1, self.config.otp.resend_after);
            windows.push(("resend_cooldown", cooldown));
        }
        windows.extend([
            ("number_hourly", hourly),
            ("number_daily", daily),
            // One source cannot use up a number's caps: the rest is left to its other sources
            // (the number's owner among them).
            (
                "number_source_hourly",
                hourly.share(source, half(limits.sms_hourly_cap)),
            ),
            (
                "number_source_daily",
                daily.share(source, half(limits.sms_daily_cap)),
            ),
        ]);
        windows
    }

    /// The hourly window of `budget`: a counter, as it takes every send of many numbers.
    fn budget_window(&self, budget: Budget) -> Window<'static> {
        let limits = self.limits();
        let cap = match budget {
            Budget::Country { .. } => limits.country_hourly_budget,
            Budget::Global => limits.global_hourly_budget,
        };
        Window::counter(SENT, cap, limits.hour)
    }

    /// The alert that a budget refused a send: sending stopped.
    fn log_budget_refusal(&self, budget: Budget) {
        let cap = self.budget_window(budget).cap;
        match budget {
            Budget::Country { calling_code } => tracing::error!(
                calling_code,
                budget = cap,
                "sms country budget exceeded: sending stopped"
            ),
            Budget::Global => {
                tracing::error!(budget = cap, "sms global budget exceeded: sending stopped");
            }
        }
    }

    /// The admission whose send first brings a budget to [`warning_level`] (`used` sends)
    /// logs a warning and counts it in `sesame_sms_budget_warnings_total`.
    fn warn_at_level(&self, budget: Budget, used: u32) {
        let cap = self.budget_window(budget).cap;
        if used != warning_level(cap) {
            return;
        }
        let label = match budget {
            Budget::Country { calling_code } => {
                tracing::warn!(
                    calling_code,
                    used,
                    budget = cap,
                    "sms country budget 80% used"
                );
                "country"
            }
            Budget::Global => {
                tracing::warn!(used, budget = cap, "sms global budget 80% used");
                "global"
            }
        };
        metrics::counter!("sesame_sms_budget_warnings_total", "budget" => label).increment(1);
    }

    /// The admission a code check must pass first: one check against the client IP's hourly
    /// cap. `None` for a request without a known client IP (no socket address), which is not
    /// counted. The store counts it with the check (`Challenges::check`); the number's lock
    /// is checked with the code, and `refuse_locked` answers it.
    pub fn check_admission(
        &self,
        number: &PhoneNumber,
        ip: Option<&str>,
        now: i64,
    ) -> Option<CheckAdmission> {
        Some(CheckAdmission {
            stage: self.ip_check_stage(ip?),
            member: Attempt::new(number, ip, now).member,
            now,
        })
    }

    /// The audited `429` of a check that `admission` (`check_admission`) refused.
    pub async fn refuse_check(
        &self,
        admission: &CheckAdmission,
        number: &PhoneNumber,
        ip: Option<&str>,
        window: usize,
        wait: i64,
    ) -> Error {
        let attempt = Attempt::new(number, ip, admission.now);
        self.refuse_at(&attempt, &admission.stage, window, wait)
            .await
    }

    /// The audited `429` of a check while `number`'s verification is locked until `until`.
    pub async fn refuse_locked(
        &self,
        number: &PhoneNumber,
        ip: Option<&str>,
        now: i64,
        until: i64,
    ) -> Error {
        let error = Error::RateLimited {
            retry_after: retry_after(until - now),
        };
        self.refuse(&Attempt::new(number, ip, now), "verify_lock", error)
            .await
    }

    /// What a login clears, in the code check that accepts it: the number's failures (and any
    /// lock), and its resend cooldown (the next start is a new login, not a resend).
    pub fn cleared_by_login(&self) -> OnSuccess<'static> {
        OnSuccess {
            forget_failures: true,
            empty_window: Some(RESEND),
        }
    }

    /// Lifts `number`'s verification locks, forgets its failures and empties its send caps
    /// (cooldown, hourly and daily, with every source's share): an admin's decision. The
    /// budgets keep their count: those messages were sent.
    pub async fn unlock(&self, number: &PhoneNumber) -> Result<()> {
        self.ephemeral
            .unlock(number.as_str(), &[RESEND, SENT])
            .await?;
        Ok(())
    }

    /// The audited `429` of `stage`'s full `window`, which frees a place in `wait` seconds.
    async fn refuse_at(
        &self,
        attempt: &Attempt<'_>,
        stage: &Stage<'_>,
        window: usize,
        wait: i64,
    ) -> Error {
        let limit = stage.limits.get(window).copied().unwrap_or("unknown");
        let error = Error::RateLimited {
            retry_after: retry_after(wait),
        };
        self.refuse(attempt, limit, error).await
    }

    /// Takes an admitted start back out of the send limits (nothing was sent: the user may
    /// retry). Failures are logged, not returned: the start has failed already.
    pub async fn withdraw(&self, reservation: &Reservation) {
        let Reservation {
            member,
            source,
            number,
            at,
            budgets,
        } = reservation;
        let windows: Vec<Window> = self
            .number_windows(source)
            .into_iter()
            .map(|(_, window)| window)
            .collect();
        let mut withdrawn = vec![self.ephemeral.withdraw(number, &windows, member, *at).await];
        for budget in budgets {
            let (tag, windows) = (budget.tag(), [self.budget_window(*budget)]);
            let taken = self.ephemeral.withdraw(&tag, &windows, member, *at);
            withdrawn.push(taken.await);
        }
        for err in withdrawn.into_iter().filter_map(Result::err) {
            tracing::warn!(error = %err, "could not withdraw a send reservation");
        }
    }

    /// Counts a refusal and audits it in aggregate (one row per client, limit and minute),
    /// then hands the error back. A failed audit write is logged but does not turn the
    /// refusal into a server error.
    async fn refuse(&self, attempt: &Attempt<'_>, limit: &'static str, error: Error) -> Error {
        metrics::counter!("sesame_rate_limit_refusals_total", "limit" => limit).increment(1);
        let retry_after = match &error {
            Error::RateLimited { retry_after } => Some(*retry_after),
            _ => None,
        };
        let actor = Actor::Phone(attempt.number.as_str().to_owned());
        let detail = serde_json::json!({ "limit": limit, "retry_after": retry_after });
        let event = AuditEvent {
            at: attempt.now,
            actor: &actor,
            action: AuditAction::LoginRefused,
            subject: None,
            ip: attempt.ip,
            detail: Some(detail.to_string()),
        };
        let source = source_tag(attempt.ip);
        let minute = attempt.now.div_euclid(60) * 60;
        let key = format!("login.refused|{minute}|{source}|{limit}");
        if let Err(err) = self.db.append_audit_aggregated(&event, &key).await {
            tracing::error!(error = %err, "could not audit a refusal");
        }
        error
    }
}

/// One of the hourly send budgets over many numbers.
#[derive(Clone, Copy)]
enum Budget {
    /// Of one country calling code.
    Country {
        calling_code: u16,
    },
    Global,
}

/// What one stage of a start's admission counts against.
#[derive(Clone, Copy)]
enum Counts {
    /// The client IP's hourly cap.
    Ip,
    /// The number's send limits.
    Number,
    Budget(Budget),
}

/// The windows of one tag that a request is admitted into.
struct Stage<'a> {
    tag: String,
    /// The metric label of each window, in the order of `windows`.
    limits: Vec<&'static str>,
    windows: Vec<Window<'a>>,
    counts: Counts,
}

impl Budget {
    /// Its `limit` label: `country_budget` or `global_budget`.
    fn limit(self) -> &'static str {
        match self {
            Self::Country { .. } => "country_budget",
            Self::Global => "global_budget",
        }
    }

    /// The tag of its window: `cc:<calling code>`, or [`GLOBAL`].
    fn tag(self) -> String {
        match self {
            Self::Country { calling_code } => format!("cc:{calling_code}"),
            Self::Global => GLOBAL.to_owned(),
        }
    }
}

/// A code check's admission by the client IP's hourly cap (`Limits::check_admission`).
pub struct CheckAdmission {
    stage: Stage<'static>,
    member: String,
    now: i64,
}

impl CheckAdmission {
    /// What the store admits before the check (`Ephemeral::admit_then_check`).
    pub fn admit_first(&self) -> AdmitFirst<'_> {
        AdmitFirst {
            group: WindowGroup {
                tag: &self.stage.tag,
                windows: &self.stage.windows,
            },
            member: &self.member,
            now: self.now,
        }
    }
}

/// One request weighed against the limits: for which number, from where, when.
struct Attempt<'a> {
    number: &'a PhoneNumber,
    ip: Option<&'a str>,
    now: i64,
    /// This request's entry in every log that records it: its source's tag, a space, and 64
    /// random bits in 11 characters, unique within a log (a source's share of a log counts
    /// the entries it starts). Short: a number's log keeps it for a day.
    member: String,
}

impl<'a> Attempt<'a> {
    fn new(number: &'a PhoneNumber, ip: Option<&'a str>, now: i64) -> Self {
        let member = format!("{} {}", source_tag(ip), random_url_safe::<8>());
        Self {
            number,
            ip,
            now,
            member,
        }
    }

    /// What the entries of this request's source start with.
    fn source_prefix(&self) -> String {
        format!("{} ", source_tag(self.ip))
    }
}

/// One source's share of a number's cap: half of it, rounded up.
fn half(cap: u32) -> u32 {
    cap.div_ceil(2)
}

/// The use of a budget of `cap` that warns: 80 % of it, rounded up.
fn warning_level(cap: u32) -> u32 {
    u32::try_from((u64::from(cap) * 4).div_ceil(5)).unwrap_or(u32::MAX)
}

/// What a wrong code costs (`SESAME_VERIFY_*`), counted across codes (a new code does not reset
/// the count, NIST SP 800-63B §5.2.2): a source alone is locked out at half the number's
/// failures, so locking the number for everyone takes at least two sources.
pub(super) fn lockout(limits: &LimitsConfig) -> Lockout {
    Lockout {
        window: limits.lockout_window,
        backoff_after: limits.backoff_after,
        backoff_base: limits.backoff_base,
        backoff_max: limits.backoff_max,
        source_lockout_after: half(limits.lockout_after),
        lockout_after: limits.lockout_after,
    }
}

/// `Retry-After` seconds: never zero, so a client never retries into the same refusal.
fn retry_after(wait: i64) -> u64 {
    u64::try_from(wait).unwrap_or(0).max(1)
}

/// The source a request is counted against: its client IP's tag, or `-` without a known IP.
pub(crate) fn source_tag(ip: Option<&str>) -> String {
    ip.map_or_else(|| "-".to_owned(), ip_tag)
}

/// The rate-limit tag of a client IP. An IPv6 client usually holds a whole /64, so its
/// requests count against the /64.
pub(crate) fn ip_tag(ip: &str) -> String {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("ip:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        _ => format!("ip:{ip}"),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn limits() -> LimitsConfig {
        Config::from_vars(&HashMap::new()).unwrap().limits
    }

    #[test]
    fn failures_back_off_exponentially_then_lock_out() {
        let lockout = lockout(&limits());
        let locks: Vec<Option<i64>> = [1, 4, 5, 6, 7, 10, 49, 50, 150]
            .into_iter()
            .map(|failures| lockout.source_lock_secs(failures))
            .collect();
        assert_eq!(
            locks,
            [
                None,
                None,
                Some(30),
                Some(60),
                Some(120),
                Some(900),
                Some(900),
                Some(86_400),
                Some(86_400)
            ]
        );
        assert_eq!(lockout.source_lock_secs(u32::MAX - 1), Some(86_400));
        // The number is locked for everyone at its 100th failure, whatever the sources.
        let number: Vec<Option<i64>> = [1, 99, 100, 101]
            .into_iter()
            .map(|failures| lockout.number_lock_secs(failures))
            .collect();
        assert_eq!(number, [None, None, Some(86_400), Some(86_400)]);
    }

    #[test]
    fn a_source_gets_half_a_cap_and_budgets_warn_at_80_percent() {
        let halves: Vec<u32> = [1, 2, 3, 5, 10].into_iter().map(half).collect();
        assert_eq!(halves, [1, 1, 2, 3, 5]);
        let levels: Vec<u32> = [1, 3, 5, 1_000, 2_000, 10_000_000]
            .into_iter()
            .map(warning_level)
            .collect();
        assert_eq!(levels, [1, 3, 4, 800, 1_600, 8_000_000]);
    }

    #[test]
    fn ipv6_clients_count_per_64() {
        assert_eq!(ip_tag("2001:db8:1:2:3:4:5:6"), "ip:2001:db8:1:2::/64");
        assert_eq!(ip_tag("2001:db8:1:2::9"), "ip:2001:db8:1:2::/64");
        assert_eq!(ip_tag("203.0.113.7"), "ip:203.0.113.7");
    }
}
