//! The challenge of one number, whoever issues its code. Sesame either generates the code,
//! keeps its HMAC and has the senders deliver it, or lets the provider (Twilio Verify)
//! generate and check it. Either way the challenge lives in the ephemeral store, so its
//! lifetime, attempt limit and single use are Sesame's.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};

use super::code::{self, CodeHasher};
use super::limits::lockout;
use crate::config::Config;
use crate::domain::PhoneNumber;
use crate::error::{Error, Result};
use crate::sms::{Channel, Delivery, Message, SendError, Sender, Verifier};
use crate::store::{
    AdmitFirst, ChallengeCheck, CodeAttempt, CodeCheck, Ephemeral, Lockout, NewChallenge, OnSuccess,
};

/// Stored instead of a digest when the provider holds the code. Digests are hex, and a
/// candidate code is always hashed, so no code can ever match it.
const ISSUED_BY_PROVIDER: &str = "issued-by-provider";

pub struct Challenges {
    config: Arc<Config>,
    ephemeral: Arc<dyn Ephemeral>,
    delivery: Delivery,
    hasher: CodeHasher,
    /// What a wrong code costs: counted by the store with the check that finds it wrong, or
    /// after a provider's refusal.
    lockout: Lockout,
}

/// A start's new challenge: stored with the start's admission, then its code goes out.
pub struct Issued {
    number: String,
    digest: String,
    now_ms: i64,
    ttl_secs: i64,
    pub outgoing: Outgoing,
}

impl Issued {
    /// The challenge to store.
    pub fn challenge(&self) -> NewChallenge<'_> {
        NewChallenge {
            number: &self.number,
            digest: &self.digest,
            now_ms: self.now_ms,
            ttl_secs: self.ttl_secs,
        }
    }
}

/// A stored challenge's code on its way out: sent by [`Outgoing::send`]. It owns what it
/// needs, so it can be sent after the request has been answered.
pub enum Outgoing {
    /// Sesame's code, in the message its senders deliver.
    Message {
        sender: Arc<dyn Sender>,
        message: Message,
    },
    /// The provider sends (and will check) a code of its own.
    Provider {
        verifier: Arc<dyn Verifier>,
        to: PhoneNumber,
        channel: Channel,
    },
}

impl Outgoing {
    pub async fn send(&self) -> Result<(), SendError> {
        match self {
            Self::Message { sender, message } => sender.send(message).await,
            Self::Provider {
                verifier,
                to,
                channel,
            } => verifier.start(to.as_str(), *channel).await,
        }
    }

    /// Who sends it, for logs.
    pub fn provider(&self) -> &'static str {
        match self {
            Self::Message { sender, .. } => sender.name(),
            Self::Provider { verifier, .. } => verifier.name(),
        }
    }
}

impl Challenges {
    pub fn new(
        config: Arc<Config>,
        ephemeral: Arc<dyn Ephemeral>,
        delivery: Delivery,
        hasher: CodeHasher,
    ) -> Self {
        Self {
            lockout: lockout(&config.limits),
            config,
            ephemeral,
            delivery,
            hasher,
        }
    }

    /// The fixed code of a test number (`SESAME_TEST_NUMBERS`), whoever issues other codes.
    pub fn test_code(&self, number: &PhoneNumber) -> Option<&str> {
        self.config
            .test_numbers
            .get(number.as_str())
            .map(String::as_str)
    }

    /// Replaces any live challenge of `number` with one for `code`, sent to nobody.
    pub async fn issue_fixed(&self, number: &PhoneNumber, code: &str, now_ms: i64) -> Result<()> {
        let digest = self.hasher.digest(number, &SecretString::from(code));
        let challenge = NewChallenge {
            number: number.as_str(),
            digest: &digest,
            now_ms,
            ttl_secs: self.config.otp.ttl,
        };
        Ok(self.ephemeral.put_challenge(&challenge).await?)
    }

    /// A new challenge of `number` and its code's way out, not stored yet: a start stores it
    /// with its admission (`Limits::admit_start`), and sends it only once it is stored.
    pub fn issue(&self, number: &PhoneNumber, channel: Channel, now_ms: i64) -> Issued {
        let (digest, outgoing) = match &self.delivery {
            Delivery::Sesame { sender, text } => {
                let code = code::generate(self.config.otp.length);
                let outgoing = Outgoing::Message {
                    sender: sender.clone(),
                    message: text.message(number.as_str(), channel, code.expose_secret()),
                };
                (self.hasher.digest(number, &code), outgoing)
            }
            Delivery::Provider(verifier) => {
                let outgoing = Outgoing::Provider {
                    verifier: verifier.clone(),
                    to: number.clone(),
                    channel,
                };
                (ISSUED_BY_PROVIDER.to_owned(), outgoing)
            }
        };
        Issued {
            number: number.as_str().to_owned(),
            digest,
            now_ms,
            ttl_secs: self.config.otp.ttl,
            outgoing,
        }
    }

    /// Checks `code` from `source` against the live challenge of `number`, spending it (and
    /// clearing what `on_success` names) on a match and counting an attempt otherwise; nothing
    /// is checked while the number is locked for everyone or for `source`, nor when
    /// `admit_first` (the client IP's check cap, counted first) refuses.
    pub async fn check(
        &self,
        number: &PhoneNumber,
        source: &str,
        code: &SecretString,
        now_ms: i64,
        on_success: OnSuccess<'_>,
        admit_first: Option<&AdmitFirst<'_>>,
    ) -> Result<CodeCheck> {
        let otp = &self.config.otp;
        let well_formed = code::is_well_formed(code.expose_secret(), otp.length);
        let provider = match &self.delivery {
            Delivery::Provider(verifier) if self.test_code(number).is_none() => Some(verifier),
            _ => None,
        };
        if well_formed && provider.is_none() {
            // The usual check: the admission and the check are one step of the store.
            let digest = self.hasher.digest(number, code);
            let attempt = self.attempt(number, source, &digest, now_ms, on_success);
            return Ok(match admit_first {
                Some(first) => self.ephemeral.admit_then_check(first, &attempt).await?,
                None => self.ephemeral.check_challenge(&attempt).await?,
            });
        }
        if let Some(first) = admit_first
            && let Some(refused) = first.refusal_in(self.ephemeral.as_ref()).await?
        {
            return Ok(refused);
        }
        match provider {
            Some(verifier) if well_formed => {
                self.check_with_provider(
                    verifier.as_ref(),
                    number,
                    source,
                    code,
                    now_ms,
                    on_success,
                )
                .await
            }
            // A code of the wrong shape cannot match; it does not cost an attempt.
            _ => Ok(self
                .lock(number, source, now_ms)
                .await?
                .unwrap_or(CodeCheck::Checked(ChallengeCheck::Missing))),
        }
    }

    /// The attempt is counted before the provider is asked (so the limit holds under
    /// concurrency), and the challenge is spent after it approves (so of concurrent approved
    /// requests exactly one wins).
    async fn check_with_provider(
        &self,
        verifier: &dyn Verifier,
        number: &PhoneNumber,
        source: &str,
        code: &SecretString,
        now_ms: i64,
        on_success: OnSuccess<'_>,
    ) -> Result<CodeCheck> {
        if let Some(locked) = self.lock(number, source, now_ms).await? {
            return Ok(locked);
        }
        let max_attempts = self.config.otp.max_attempts;
        let Some(attempts_left) = self
            .ephemeral
            .count_attempt(number.as_str(), max_attempts, now_ms)
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
            let now = now_ms.div_euclid(1_000);
            self.ephemeral
                .record_failure(number.as_str(), source, now, &self.lockout)
                .await?;
            return Ok(CodeCheck::Checked(ChallengeCheck::Rejected {
                attempts_left,
            }));
        }
        // No guess: the provider has approved the code, and its refusal was counted above.
        let attempt = CodeAttempt {
            on_failure: None,
            ..self.attempt(number, source, ISSUED_BY_PROVIDER, now_ms, on_success)
        };
        Ok(match self.ephemeral.check_challenge(&attempt).await? {
            CodeCheck::Checked(ChallengeCheck::Accepted) => {
                CodeCheck::Checked(ChallengeCheck::Accepted)
            }
            CodeCheck::Checked(_) => CodeCheck::Checked(ChallengeCheck::Missing),
            other @ (CodeCheck::Locked { .. } | CodeCheck::Refused { .. }) => other,
        })
    }

    /// The store's code check of `digest` from `source` (`Ephemeral::check_challenge`).
    fn attempt<'a>(
        &self,
        number: &'a PhoneNumber,
        source: &'a str,
        digest: &'a str,
        now_ms: i64,
        on_success: OnSuccess<'a>,
    ) -> CodeAttempt<'a> {
        CodeAttempt {
            number: number.as_str(),
            source,
            digest,
            max_attempts: self.config.otp.max_attempts,
            now_ms,
            on_success,
            on_failure: Some(self.lockout),
        }
    }

    /// `Locked` while `number`'s verification is locked at `now_ms` for everyone or for
    /// `source`, for the checks that do not go through the store's atomic one.
    async fn lock(
        &self,
        number: &PhoneNumber,
        source: &str,
        now_ms: i64,
    ) -> Result<Option<CodeCheck>> {
        let until = self
            .ephemeral
            .verification_locked_until(number.as_str(), source, now_ms.div_euclid(1_000))
            .await?;
        Ok(until.map(|until| CodeCheck::Locked { until }))
    }
}
