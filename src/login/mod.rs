//! The login challenge: start (screen, limit, generate or delegate, send a code) and verify
//! (limit, check the code, link the phone identity).

mod challenge;
mod code;
mod decoy;
mod limits;
mod screening;

use std::sync::Arc;

use secrecy::SecretString;
use serde::Serialize;

pub use challenge::Challenges;
pub use code::{CodeHasher, generate as generate_code, is_well_formed};
pub use limits::Limits;

use crate::config::Config;
use crate::domain::PhoneNumber;
use crate::error::{Error, Result};
use crate::sms::{Channel, Delivery};
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

/// What a client learns from a started login (API.md, `POST /v1/otp/start`).
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
            config,
            db,
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Replaces any live challenge of `number` with a new code and sends it, within the abuse
    /// limits. Test numbers get their fixed code, no message, and skip send limits (API.md).
    #[tracing::instrument(skip(self, ip), fields(number = %number))]
    pub async fn start(
        &self,
        number: &PhoneNumber,
        channel: Channel,
        ip: Option<&str>,
        now: i64,
    ) -> Result<Started> {
        if !self.challenges.start_test_number(number).await? {
            let reservation = self.limits.admit_start(number, channel, ip, now).await?;
            self.challenges
                .start(number, channel, &self.limits, &reservation)
                .await?;
        }
        let otp = &self.config.otp;
        Ok(Started {
            channel,
            expires_in: otp.ttl,
            resend_after: otp.resend_after,
        })
    }

    /// Spends the challenge of `number` when `code` is right and it may log in; the caller
    /// then opens its session (`TokenService::open_session`).
    #[tracing::instrument(skip(self, code, ip), fields(number = %number))]
    pub async fn verify(
        &self,
        number: &PhoneNumber,
        code: &SecretString,
        ip: Option<&str>,
        now: i64,
    ) -> Result<()> {
        self.limits.admit_check(number, ip, now).await?;
        let check = match self.challenges.check(number, code, now).await? {
            CodeCheck::Checked(check) => check,
            CodeCheck::Locked { until } => {
                return Err(self.limits.refuse_locked(number, ip, now, until).await);
            }
        };
        if let ChallengeCheck::Rejected { .. } = check {
            self.limits.after_wrong_code(number, now).await?;
        }
        // With anonymous login off, a guessed code of a number that was sent none is no login.
        let check = match check {
            ChallengeCheck::Accepted if !self.limits.may_log_in(number).await? => {
                ChallengeCheck::Missing
            }
            check => check,
        };
        metrics::counter!("sesame_verifications_total", "outcome" => check.outcome()).increment(1);
        if check != ChallengeCheck::Accepted {
            let detail = match check {
                ChallengeCheck::Rejected { attempts_left } => {
                    serde_json::json!({ "reason": "wrong_code", "attempts_left": attempts_left })
                }
                _ => serde_json::json!({ "reason": "no_live_challenge" }),
            };
            self.audit("login.failed", number, None, ip, now, Some(detail))
                .await?;
            return Err(Error::InvalidGrant);
        }
        // `login.succeeded` is audited with the session the caller opens.
        Ok(())
    }

    async fn audit(
        &self,
        action: &str,
        number: &PhoneNumber,
        subject: Option<&str>,
        ip: Option<&str>,
        now: i64,
        detail: Option<serde_json::Value>,
    ) -> Result<()> {
        let actor = format!("phone:{number}");
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
