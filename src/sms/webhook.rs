use std::time::Duration;

use async_trait::async_trait;
use serde_json::json;

use super::{Message, SendError, Sender};

/// POSTs `{"to", "channel", "code", "body"}` as JSON to an operator's endpoint, which delivers
/// the message however it likes.
pub struct WebhookSender {
    http: reqwest::Client,
    url: String,
}

impl WebhookSender {
    pub fn new(http: reqwest::Client, url: String) -> Self {
        Self { http, url }
    }
}

#[async_trait]
impl Sender for WebhookSender {
    fn name(&self) -> &'static str {
        "webhook"
    }

    async fn send(&self, message: &Message) -> Result<(), SendError> {
        let body = json!({
            "to": message.to,
            "channel": message.channel.as_str(),
            "code": message.code,
            "body": message.body,
        });
        let response = self
            .http
            .post(&self.url)
            .timeout(Duration::from_secs(5))
            .json(&body)
            .send()
            .await
            .map_err(|err| SendError::Transient(err.without_url().to_string()))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else if status.as_u16() == 429 || status.is_server_error() {
            Err(SendError::Transient(format!("webhook answered {status}")))
        } else {
            Err(SendError::Rejected(format!("webhook answered {status}")))
        }
    }
}
