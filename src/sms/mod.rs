//! Message delivery. Either Sesame issues the code and a [`Sender`] chain delivers it (tried
//! in the `SESAME_SMS_PROVIDER` order, each with retries), or a [`Verifier`] provider
//! (Twilio Verify) issues and checks the code itself.

mod console;
mod delivery;
mod plivo;
mod provider_error;
mod text;
mod twilio;
mod twilio_verify;
mod webhook;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use console::ConsoleSender;
pub use delivery::{Failover, RetryPolicy, Retrying};
pub use plivo::PlivoSender;
pub use text::MessageText;
pub use twilio::TwilioSender;
pub use twilio_verify::TwilioVerify;
pub use webhook::{SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookSender, signature};

use crate::clock::Clock;
use crate::config::SmsConfig;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    #[default]
    Sms,
    Voice,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sms => "sms",
            Self::Voice => "voice",
        }
    }
}

/// One code on its way to one number.
#[derive(Debug, Clone)]
pub struct Message {
    /// E.164.
    pub to: String,
    pub channel: Channel,
    pub code: String,
    /// The text a person reads (or hears), rendered by [`MessageText`].
    pub body: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The provider says the number cannot receive messages.
    #[error("the provider refused the number")]
    InvalidNumber,
    /// A permanent refusal (bad credentials, bad request): retrying will not help.
    #[error("the provider refused the message: {0}")]
    Rejected(String),
    /// Network error, timeout, 429 or 5xx: another attempt may succeed.
    #[error("the provider failed: {0}")]
    Transient(String),
}

#[async_trait]
pub trait Sender: Send + Sync + 'static {
    /// Provider name, for logs and metrics.
    fn name(&self) -> &'static str;

    async fn send(&self, message: &Message) -> Result<(), SendError>;
}

/// A provider that generates, delivers and checks the code itself (Twilio Verify). Sesame
/// still owns the challenge: its lifetime, attempt count and single use.
#[async_trait]
pub trait Verifier: Send + Sync + 'static {
    fn name(&self) -> &'static str;

    /// Has the provider send a fresh code to `to`.
    async fn start(&self, to: &str, channel: Channel) -> Result<(), SendError>;

    /// Whether the provider approves `code` for `to`.
    async fn check(&self, to: &str, code: &str) -> Result<bool, SendError>;
}

/// Who issues codes, as configured by `SESAME_SMS_PROVIDER`.
#[derive(Clone)]
pub enum Delivery {
    /// Sesame generates the code; `sender` delivers `text` rendered with it.
    Sesame {
        sender: Arc<dyn Sender>,
        text: Arc<MessageText>,
    },
    /// The provider generates and checks the code.
    Provider(Arc<dyn Verifier>),
}

#[derive(Debug, thiserror::Error)]
#[error("SESAME_SMS_PROVIDER: {0}")]
pub struct SenderConfigError(String);

/// Builds the delivery named by `SESAME_SMS_PROVIDER`, sharing one HTTP client.
pub fn build_delivery(
    config: &SmsConfig,
    http: reqwest::Client,
    clock: Clock,
) -> Result<Delivery, SenderConfigError> {
    let policy = RetryPolicy::new(
        Duration::from_millis(config.timeout_ms),
        Duration::from_millis(config.retry_base_ms),
    );
    if config.providers.iter().any(|name| name == "twilio_verify") {
        // Twilio Verify owns the code, so no other provider could deliver the same one.
        if config.providers.len() > 1 {
            return Err(SenderConfigError(
                "twilio_verify issues its own codes and cannot be combined with other providers"
                    .into(),
            ));
        }
        return Ok(Delivery::Provider(Arc::new(TwilioVerify::new(
            config, http, policy,
        )?)));
    }
    let mut senders = Vec::with_capacity(config.providers.len());
    for name in &config.providers {
        if config
            .providers
            .iter()
            .filter(|other| *other == name)
            .count()
            > 1
        {
            return Err(SenderConfigError(format!("{name} is listed twice")));
        }
        senders.push(Retrying::new(
            build_one(name, config, &http, &clock)?,
            policy.clone(),
        ));
    }
    let sender: Arc<dyn Sender> = match senders.len() {
        1 => Arc::new(senders.remove(0)),
        _ => Arc::new(Failover::new(senders)),
    };
    Ok(Delivery::Sesame {
        sender,
        text: Arc::new(MessageText::from_config(config)),
    })
}

fn build_one(
    name: &str,
    config: &SmsConfig,
    http: &reqwest::Client,
    clock: &Clock,
) -> Result<Box<dyn Sender>, SenderConfigError> {
    Ok(match name {
        "console" => Box::new(ConsoleSender),
        "webhook" => Box::new(WebhookSender::new(config, http.clone(), clock.clone())?),
        "twilio" => Box::new(TwilioSender::new(config, http.clone())?),
        "plivo" => Box::new(PlivoSender::new(config, http.clone())?),
        other => return Err(SenderConfigError(format!("unknown provider {other:?}"))),
    })
}

/// A required setting of a provider, or the error naming its variable.
fn required<T: Clone>(
    value: &Option<T>,
    provider: &str,
    variable: &str,
) -> Result<T, SenderConfigError> {
    value
        .clone()
        .ok_or_else(|| SenderConfigError(format!("{provider} needs {variable}")))
}

/// `base` without a trailing slash, or the provider's public endpoint.
fn base_url(configured: &Option<String>, default: &str) -> String {
    configured
        .as_deref()
        .unwrap_or(default)
        .trim_end_matches('/')
        .to_owned()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::Config;

    fn build(pairs: &[(&str, &str)]) -> Result<Delivery, SenderConfigError> {
        let vars: HashMap<String, String> = pairs
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        let config = Config::from_vars(&vars).unwrap();
        build_delivery(&config.sms, reqwest::Client::new(), Clock::system())
    }

    const TWILIO: [(&str, &str); 4] = [
        ("SESAME_TWILIO_ACCOUNT_SID", "AC1"),
        ("SESAME_TWILIO_AUTH_TOKEN", "token"),
        ("SESAME_TWILIO_FROM", "+15005550006"),
        ("SESAME_TWILIO_VERIFY_SERVICE_SID", "VA1"),
    ];

    #[test]
    fn provider_lists_build_a_chain_or_a_verifier() {
        let mut vars = TWILIO.to_vec();
        vars.push(("SESAME_SMS_PROVIDER", "twilio,console"));
        assert!(matches!(build(&vars), Ok(Delivery::Sesame { .. })));
        vars.pop();
        vars.push(("SESAME_SMS_PROVIDER", "twilio_verify"));
        assert!(matches!(build(&vars), Ok(Delivery::Provider(_))));
    }

    #[test]
    fn impossible_lists_are_refused() {
        let mut vars = TWILIO.to_vec();
        for list in [
            "twilio_verify,twilio",
            "twilio,twilio",
            "twilio,sms-o-matic",
        ] {
            vars.push(("SESAME_SMS_PROVIDER", list));
            assert!(build(&vars).is_err(), "{list}");
            vars.pop();
        }
    }

    #[test]
    fn missing_credentials_name_their_variable() {
        let err = build(&[("SESAME_SMS_PROVIDER", "plivo")]).err().unwrap();
        assert!(err.to_string().contains("SESAME_PLIVO_AUTH_ID"), "{err}");
        let err = build(&[("SESAME_SMS_PROVIDER", "twilio")]).err().unwrap();
        assert!(
            err.to_string().contains("SESAME_TWILIO_ACCOUNT_SID"),
            "{err}"
        );
    }
}
