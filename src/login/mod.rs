//! The login challenge: start (generate, store, send a code) and verify (check the code,
//! link the phone identity).

mod code;
mod phone;

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

pub use code::{CodeHasher, generate as generate_code, is_well_formed};
pub use phone::{InvalidPhoneNumber, PhoneNumber};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::sms::{Channel, Message, Sender};
use crate::store::{AuditEvent, ChallengeCheck, Database, Ephemeral, Identity};

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
    ephemeral: Arc<dyn Ephemeral>,
    sender: Arc<dyn Sender>,
    hasher: CodeHasher,
}

impl LoginService {
    pub fn new(
        config: Arc<Config>,
        db: Database,
        ephemeral: Arc<dyn Ephemeral>,
        sender: Arc<dyn Sender>,
        hasher: CodeHasher,
    ) -> Self {
        Self {
            config,
            db,
            ephemeral,
            sender,
            hasher,
        }
    }

    /// Replaces any live challenge of `number` with a new code and sends it. Test numbers get
    /// their fixed code and no message.
    #[tracing::instrument(skip(self), fields(number = %number))]
    pub async fn start(&self, number: &PhoneNumber, channel: Channel) -> Result<Started> {
        let otp = &self.config.otp;
        let fixed_code = self.config.test_numbers.get(number.as_str());
        let code = match fixed_code {
            Some(code) => SecretString::from(code.as_str()),
            None => code::generate(otp.length),
        };
        let digest = self.hasher.digest(number, &code);
        self.ephemeral
            .put_challenge(number.as_str(), &digest, otp.ttl)
            .await?;
        if fixed_code.is_none() {
            let message = Message::new(number.as_str(), channel, code.expose_secret());
            self.sender.send(&message).await.inspect_err(|err| {
                tracing::warn!(provider = self.sender.name(), error = %err, "delivery failed");
            })?;
        }
        Ok(Started {
            channel,
            expires_in: otp.ttl,
            resend_after: otp.resend_after,
        })
    }

    /// Spends the challenge of `number` when `code` is right and returns the phone identity,
    /// linked to the active employee with that number (or anonymous).
    #[tracing::instrument(skip(self, code, ip), fields(number = %number))]
    pub async fn verify(
        &self,
        number: &PhoneNumber,
        code: &SecretString,
        ip: Option<&str>,
        now: i64,
    ) -> Result<Identity> {
        let otp = &self.config.otp;
        let check = if code::is_well_formed(code.expose_secret(), otp.length) {
            let digest = self.hasher.digest(number, code);
            self.ephemeral
                .check_challenge(number.as_str(), &digest, otp.max_attempts)
                .await?
        } else {
            // A code of the wrong shape cannot match; it does not cost an attempt.
            ChallengeCheck::Missing
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
        let identity = self.db.link_phone_identity(number.as_str(), now).await?;
        self.audit("login.succeeded", number, Some(&identity.id), ip, now, None)
            .await?;
        Ok(identity)
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
