//! Message delivery. A [`Sender`] puts one code in front of one person; the configured
//! senders are tried in order (`SESAME_SMS_PROVIDER`).

mod console;
mod webhook;

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use console::ConsoleSender;
pub use webhook::WebhookSender;

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
    /// The text a person reads (or hears).
    pub body: String,
}

impl Message {
    pub fn new(to: &str, channel: Channel, code: &str) -> Self {
        Self {
            to: to.to_owned(),
            channel,
            code: code.to_owned(),
            body: format!("Your login code is {code}. Do not share it with anyone."),
        }
    }
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

#[derive(Debug, thiserror::Error)]
#[error("SESAME_SMS_PROVIDER: {0}")]
pub struct SenderConfigError(String);

/// Builds the sender chain named by `SESAME_SMS_PROVIDER`.
pub fn build_sender(
    config: &SmsConfig,
    http: reqwest::Client,
) -> Result<Arc<dyn Sender>, SenderConfigError> {
    let [provider] = config.providers.as_slice() else {
        return Err(SenderConfigError(
            "failover between providers is not supported yet; name one provider".into(),
        ));
    };
    match provider.as_str() {
        "console" => Ok(Arc::new(ConsoleSender)),
        "webhook" => {
            let url = config
                .webhook_url
                .clone()
                .ok_or_else(|| SenderConfigError("webhook needs SESAME_SMS_WEBHOOK_URL".into()))?;
            Ok(Arc::new(WebhookSender::new(http, url)))
        }
        other => Err(SenderConfigError(format!("unknown provider {other:?}"))),
    }
}
