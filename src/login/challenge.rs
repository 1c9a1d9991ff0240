//! The challenge of one number, whoever issues its code. Sesame either generates the code,
//! keeps its HMAC and has the senders deliver it, or lets the provider (Twilio Verify)
//! generate and check it. Either way the challenge lives in the ephemeral store, so its
//! lifetime, attempt limit and single use are Sesame's.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};

use super::code::{self, CodeHasher};
use super::limits::{Limits, RESEND, Reservation};
use crate::config::Config;
use crate::domain::PhoneNumber;
use crate::error::{Error, Result};
use crate::sms::{Channel, Delivery, Verifier};
use crate::store::{ChallengeCheck, CodeCheck, Ephemeral};

/// Stored instead of a digest when the provider holds the code. Digests are hex, and a
/// candidate code is always hashed, so no code can ever match it.
const ISSUED_BY_PROVIDER: &str = "issued-by-provider";

pub struct Challenges {
    config: Arc<Config>,
    ephemeral: Arc<dyn Ephemeral>,
    delivery: Delivery,
    hasher: CodeHasher,
}

impl Challenges {
    pub fn new(
        config: Arc<Config>,
        ephemeral: Arc<dyn Ephemeral>,
        delivery: Delivery,
        hasher: CodeHasher,
    ) -> Self {
        Self {
            config,
            ephemeral,
            delivery,
            hasher,
        }
    }

    /// For a test number, replaces its challenge with its fixed code (no message, whoever
    /// issues other codes) and returns `true`; `false` for any other number.
    pub async fn start_test_number(&self, number: &PhoneNumber) -> Result<bool> {
        let Some(code) = self.config.test_numbers.get(number.as_str()) else {
            return Ok(false);
        };
        let digest = self
            .hasher
            .digest(number, &SecretString::from(code.as_str()));
        self.ephemeral
            .put_challenge(number.as_str(), &digest, self.config.otp.ttl)
            .await?;
        Ok(true)
    }

    /// Replaces any live challenge of `number` and has the code delivered, through `limits`
    /// (which may withhold the message, or take the reservation back when delivery fails).
    pub async fn start(
        &self,
        number: &PhoneNumber,
        channel: Channel,
        limits: &Limits,
        reservation: &Reservation,
    ) -> Result<()> {
        let ttl = self.config.otp.ttl;
        match &self.delivery {
            Delivery::Sesame { sender, text } => {
                let code = code::generate(self.config.otp.length);
                let digest = self.hasher.digest(number, &code);
                self.ephemeral
                    .put_challenge(number.as_str(), &digest, ttl)
                    .await?;
                let message = text.message(number.as_str(), channel, code.expose_secret());
                limits
                    .deliver(reservation, sender.send(&message))
                    .await
                    .inspect_err(|err| {
                        tracing::warn!(provider = sender.name(), error = %err, "delivery failed");
                    })?;
            }
            Delivery::Provider(verifier) => {
                self.ephemeral
                    .put_challenge(number.as_str(), ISSUED_BY_PROVIDER, ttl)
                    .await?;
                limits
                    .deliver(reservation, verifier.start(number.as_str(), channel))
                    .await
                    .inspect_err(|err| {
                        tracing::warn!(provider = verifier.name(), error = %err, "delivery failed");
                    })?;
            }
        }
        Ok(())
    }

    /// Checks `code` against the live challenge of `number`, spending it on a match and
    /// counting an attempt otherwise; nothing is checked while the number is locked.
    pub async fn check(
        &self,
        number: &PhoneNumber,
        code: &SecretString,
        now: i64,
    ) -> Result<CodeCheck> {
        let otp = &self.config.otp;
        if !code::is_well_formed(code.expose_secret(), otp.length) {
            // A code of the wrong shape cannot match; it does not cost an attempt.
            return Ok(self
                .lock(number, now)
                .await?
                .unwrap_or(CodeCheck::Checked(ChallengeCheck::Missing)));
        }
        match &self.delivery {
            Delivery::Provider(verifier)
                if !self.config.test_numbers.contains_key(number.as_str()) =>
            {
                self.check_with_provider(verifier.as_ref(), number, code, now)
                    .await
            }
            _ => {
                let digest = self.hasher.digest(number, code);
                self.spend(number, &digest, now).await
            }
        }
    }

    /// The attempt is counted before the provider is asked (so the limit holds under
    /// concurrency), and the challenge is spent after it approves (so of concurrent approved
    /// requests exactly one wins).
    async fn check_with_provider(
        &self,
        verifier: &dyn Verifier,
        number: &PhoneNumber,
        code: &SecretString,
        now: i64,
    ) -> Result<CodeCheck> {
        if let Some(locked) = self.lock(number, now).await? {
            return Ok(locked);
        }
        let max_attempts = self.config.otp.max_attempts;
        let Some(attempts_left) = self
            .ephemeral
            .count_attempt(number.as_str(), max_attempts)
            .await?
        else {
            return Ok(CodeCheck::Checked(ChallengeCheck::Missing));
        };
        let approved = verifier
            .check(number.as_str(), code.expose_secret())
            .await
            .map_err(|err| {
                tracing::error!(provider = verifier.name(), error = %err, "code check failed");
                Error::Unavailable
            })?;
        if !approved {
            return Ok(CodeCheck::Checked(ChallengeCheck::Rejected {
                attempts_left,
            }));
        }
        Ok(match self.spend(number, ISSUED_BY_PROVIDER, now).await? {
            CodeCheck::Checked(ChallengeCheck::Accepted) => {
                CodeCheck::Checked(ChallengeCheck::Accepted)
            }
            CodeCheck::Checked(_) => CodeCheck::Checked(ChallengeCheck::Missing),
            locked @ CodeCheck::Locked { .. } => locked,
        })
    }

    /// The store's atomic check of `digest`, which also clears the number's failures and
    /// resend cooldown on a match.
    async fn spend(&self, number: &PhoneNumber, digest: &str, now: i64) -> Result<CodeCheck> {
        let max_attempts = self.config.otp.max_attempts;
        Ok(self
            .ephemeral
            .check_challenge(number.as_str(), digest, max_attempts, now, RESEND)
            .await?)
    }

    /// `Locked` while `number`'s verification is locked at `now`, for the checks that do not
    /// go through the store's atomic one.
    async fn lock(&self, number: &PhoneNumber, now: i64) -> Result<Option<CodeCheck>> {
        let until = self
            .ephemeral
            .verification_locked_until(number.as_str(), now)
            .await?;
        Ok(until.map(|until| CodeCheck::Locked { until }))
    }
}
