//! Message delivery. Either Sesame issues the code and a [`Sender`] chain delivers it (tried
//! in the `SESAME_SMS_PROVIDER` order, each with retries), or a [`Verifier`] provider
//! (Twilio Verify) issues and checks the code itself.

mod console;
mod delivery;
mod plivo;
mod provider_error;
mod tally;
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
pub use tally::SendTally;
pub use text::MessageText;
pub use twilio::TwilioSender;
pub use twilio_verify::TwilioVerify;
pub use webhook::{SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookSender, signature};

use crate::clock::Clock;
use crate::config::{Provider, SmsConfig};

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

/// Builds the delivery the configured providers make, sharing one HTTP client; every
/// provider's outcomes are counted in `tally`.
pub fn build_delivery(
    config: &SmsConfig,
    http: reqwest::Client,
    clock: Clock,
    tally: &SendTally,
) -> Delivery {
    let policy = RetryPolicy::new(
        Duration::from_millis(config.timeout_ms),
        Duration::from_millis(config.retry_base_ms),
    );
    if let [
        Provider::TwilioVerify {
            account,
            service_sid,
        },
    ] = config.providers.as_slice()
    {
        let verify = TwilioVerify::new(account, service_sid, http, policy, tally.clone());
        return Delivery::Provider(Arc::new(verify));
    }
    let mut senders: Vec<Retrying> = config
        .providers
        .iter()
        .filter_map(|provider| sender(provider, &http, &clock))
        .map(|sender| Retrying::new(sender, policy.clone(), tally.clone()))
        .collect();
    let sender: Arc<dyn Sender> = match senders.len() {
        1 => Arc::new(senders.remove(0)),
        _ => Arc::new(Failover::new(senders)),
    };
    Delivery::Sesame {
        sender,
        text: Arc::new(MessageText::from_config(config)),
    }
}

/// The sender of `provider`; `None` for Twilio Verify, which is never part of a chain (the
/// configuration keeps it alone).
fn sender(provider: &Provider, http: &reqwest::Client, clock: &Clock) -> Option<Box<dyn Sender>> {
    let http = http.clone();
    Some(match provider {
        Provider::Console => Box::new(ConsoleSender),
        Provider::Webhook { url, secret } => {
            Box::new(WebhookSender::new(url, secret.clone(), http, clock.clone()))
        }
        Provider::Twilio { account, from } => Box::new(TwilioSender::new(account, from, http)),
        Provider::Plivo {
            auth_id,
            auth_token,
            from,
            base_url,
        } => Box::new(PlivoSender::new(auth_id, auth_token, from, base_url, http)),
        Provider::TwilioVerify { .. } => return None,
    })
}

/// `configured` without a trailing slash, or the provider's public endpoint.
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

    fn build(pairs: &[(&str, &str)]) -> Delivery {
        let vars: HashMap<String, String> = pairs
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        let config = Config::from_vars(&vars).unwrap();
        let clock = Clock::system();
        let tally = SendTally::new(clock.clone());
        build_delivery(&config.sms, reqwest::Client::new(), clock, &tally)
    }

    #[test]
    fn provider_lists_build_a_chain_or_a_verifier() {
        let chain = [
            ("SESAME_SMS_PROVIDER", "webhook,console"),
            ("SESAME_SMS_WEBHOOK_URL", "http://127.0.0.1:9/"),
        ];
        assert!(matches!(build(&chain), Delivery::Sesame { .. }));
        let verify = [
            ("SESAME_SMS_PROVIDER", "twilio_verify"),
            ("SESAME_TWILIO_ACCOUNT_SID", "AC1"),
            ("SESAME_TWILIO_AUTH_TOKEN", "token"),
            ("SESAME_TWILIO_VERIFY_SERVICE_SID", "VA1"),
        ];
        assert!(matches!(build(&verify), Delivery::Provider(_)));
    }
}
