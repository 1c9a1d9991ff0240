//! A login, step by step: `start` (screen the number, admit it within the limits, issue a
//! challenge, deliver its code) and `verify` (admit the check, check the code, let it log in).
//! Each step is its own type: `Limits` (abuse limits and their refusals), `Challenges` (codes
//! and the store) and `LoginGate` (who may log in).

mod challenge;
mod code;
mod gate;
mod limits;
mod screening;

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use serde::Serialize;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

pub use challenge::{Challenges, Outgoing};
pub use code::{CodeHasher, generate as generate_code, is_well_formed};
pub use gate::LoginGate;
pub use limits::{CheckAdmission, Limits, Reservation};
pub(crate) use limits::{ip_tag, source_tag};

use crate::config::Config;
use crate::domain::{Actor, AuditAction, PhoneNumber};
use crate::error::{Error, Result};
use crate::sms::{Channel, Delivery, SendError};
use crate::store::{AuditEvent, ChallengeCheck, CodeCheck, Database, Ephemeral};

/// A test number logs in with a fixed code, so it must never be an active employee's number:
/// start-up and `check-config` refuse a configuration where one is.
pub async fn refuse_shadowed_test_numbers(config: &Config, db: &Database) -> anyhow::Result<()> {
    let numbers: Vec<&str> = config.test_numbers.keys().map(String::as_str).collect();
    let shadowed = db.active_employee_numbers(&numbers).await?;
    if shadowed.is_empty() {
        return Ok(());
    }
    anyhow::bail!(
        "SESAME_TEST_NUMBERS: {} belong(s) to active employees; a test number logs in with a \
         fixed code, so it cannot be a person's number",
        shadowed.join(", ")
    )
}

/// What a client learns from a started login (`POST /v1/otp/start`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Started {
    pub channel: Channel,
    pub expires_in: i64,
    pub resend_after: i64,
}

pub struct LoginService {
    config: Arc<Config>,
    db: Database,
    challenges: Challenges,
    limits: Limits,
    gate: LoginGate,
    /// Messages sent after the answer: shutdown waits for them, so a code that was promised
    /// is not lost with the process.
    background_sends: TaskTracker,
}

impl LoginService {
    pub fn new(
        config: Arc<Config>,
        db: Database,
        ephemeral: Arc<dyn Ephemeral>,
        delivery: Delivery,
        hasher: CodeHasher,
    ) -> Self {
        Self {
            challenges: Challenges::new(config.clone(), ephemeral.clone(), delivery, hasher),
            limits: Limits::new(config.clone(), db.clone(), ephemeral),
            gate: LoginGate::new(&config, db.clone()),
            background_sends: TaskTracker::new(),
            config,
            db,
        }
    }

    /// Waits, at most `deadline`, for the messages still being sent after their answer (the
    /// server has stopped taking requests, so no new one begins).
    pub async fn finish_background_sends(&self, deadline: Duration) {
        self.background_sends.close();
        let finished = tokio::time::timeout(deadline, self.background_sends.wait()).await;
        if finished.is_err() {
            tracing::warn!(
                pending = self.background_sends.len(),
                "codes still being sent at shutdown were abandoned"
            );
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Replaces any live challenge of `number` with a new code and sends it, within the abuse
    /// limits. `now_ms` is Unix milliseconds.
    #[tracing::instrument(skip(self, ip), fields(number = %number))]
    pub async fn start(
        &self,
        number: &PhoneNumber,
        channel: Channel,
        ip: Option<&str>,
        now_ms: i64,
    ) -> Result<Started> {
        let now = now_ms.div_euclid(1_000);
        // A test number logs in with its fixed code: nothing is sent, so no send limit applies.
        if let Some(code) = self.challenges.test_code(number) {
            self.challenges.issue_fixed(number, code, now_ms).await?;
            return Ok(self.started(channel));
        }
        // The code is drawn before the admission, which stores it in the same round trip: a
        // refused start costs one draw and one HMAC, less than a second call to the store.
        let issued = self.challenges.issue(number, channel, now_ms);
        let reservation = self
            .limits
            .admit_start(number, channel, ip, now, &issued.challenge())
            .await?;
        let outgoing = issued.outgoing;
        if self.config.allow_anonymous {
            if let Err(err) = deliver(&outgoing).await {
                // Nothing was sent: the start costs no place in the limits.
                self.limits.withdraw(&reservation).await;
                return Err(err.into());
            }
        } else if self.gate.may_log_in(number).await? {
            // Sent after the answer, which therefore comes at the same point for employees
            // and for numbers that are sent nothing: neither its status nor its timing tells
            // them apart. A failure is for operators (log and metric) and keeps its place in
            // the limits, as a stranger's start does.
            let send = async move {
                let _ = deliver(&outgoing).await;
            };
            self.background_sends.spawn(send.in_current_span());
        }
        Ok(self.started(channel))
    }

    /// Spends the challenge of `number` when `code` is right and it may log in; the caller
    /// then opens its session (`TokenService::open_session`). `now_ms` is Unix milliseconds.
    #[tracing::instrument(skip(self, code, ip), fields(number = %number))]
    pub async fn verify(
        &self,
        number: &PhoneNumber,
        code: &SecretString,
        ip: Option<&str>,
        now_ms: i64,
    ) -> Result<()> {
        let now = now_ms.div_euclid(1_000);
        let ip_check = self.limits.check_admission(number, ip, now);
        let cleared = self.limits.cleared_by_login();
        let source = source_tag(ip);
        let admit_first = ip_check.as_ref().map(CheckAdmission::admit_first);
        let checked =
            self.challenges
                .check(number, &source, code, now_ms, cleared, admit_first.as_ref());
        let check = match checked.await? {
            CodeCheck::Checked(check) => check,
            CodeCheck::Locked { until } => {
                return Err(self.limits.refuse_locked(number, ip, now, until).await);
            }
            CodeCheck::Refused {
                window,
                retry_after,
            } => {
                // Only the client IP's cap refuses a check, and only when it was asked to admit it.
                let admission = ip_check.as_ref().ok_or_else(|| {
                    Error::Internal(anyhow::anyhow!("a check refused without an admission"))
                })?;
                let refused = self
                    .limits
                    .refuse_check(admission, number, ip, window, retry_after);
                return Err(refused.await);
            }
        };
        // With anonymous login off, a code (even a guessed one) of a number no employee holds
        // is no login.
        let check = match check {
            ChallengeCheck::Accepted if !self.gate.may_log_in(number).await? => {
                ChallengeCheck::Missing
            }
            check => check,
        };
        self.conclude(number, check, ip, now).await
    }

    fn started(&self, channel: Channel) -> Started {
        Started {
            channel,
            expires_in: self.config.otp.ttl,
            resend_after: self.config.otp.resend_after,
        }
    }

    /// Counts the check's outcome and audits a failure, which answers `invalid_grant` (the
    /// same whatever the cause).
    async fn conclude(
        &self,
        number: &PhoneNumber,
        check: ChallengeCheck,
        ip: Option<&str>,
        now: i64,
    ) -> Result<()> {
        metrics::counter!("sesame_verifications_total", "outcome" => check.outcome()).increment(1);
        let detail = match check {
            // `login.succeeded` is audited with the session the caller opens.
            ChallengeCheck::Accepted => return Ok(()),
            ChallengeCheck::Rejected { attempts_left } => {
                serde_json::json!({ "reason": "wrong_code", "attempts_left": attempts_left })
            }
            ChallengeCheck::Missing => serde_json::json!({ "reason": "no_live_challenge" }),
        };
        self.audit(
            AuditAction::LoginFailed,
            number,
            None,
            ip,
            now,
            Some(detail),
        )
        .await?;
        Err(Error::InvalidGrant)
    }

    async fn audit(
        &self,
        action: AuditAction,
        number: &PhoneNumber,
        subject: Option<&str>,
        ip: Option<&str>,
        now: i64,
        detail: Option<serde_json::Value>,
    ) -> Result<()> {
        let actor = Actor::Phone(number.as_str().to_owned());
        self.db
            .append_audit(&AuditEvent {
                at: now,
                actor: &actor,
                action,
                subject,
                ip,
                detail: detail.map(|detail| detail.to_string()),
            })
            .await?;
        Ok(())
    }
}

/// Sends a code, logging and counting a failure in
/// `sesame_deliveries_failed_total{reason}`.
async fn deliver(outgoing: &Outgoing) -> std::result::Result<(), SendError> {
    outgoing.send().await.inspect_err(|err| {
        let reason = match err {
            SendError::InvalidNumber => "invalid_number",
            SendError::Rejected(_) => "rejected",
            SendError::Transient(_) => "failed",
        };
        metrics::counter!("sesame_deliveries_failed_total", "reason" => reason).increment(1);
        tracing::warn!(provider = outgoing.provider(), error = %err, "delivery failed");
    })
}
