//! The operator's own endpoint: POSTs `{"to", "channel", "code", "body"}` as JSON, signed
//! when `SESAME_SMS_WEBHOOK_SECRET` is set (format in `docs/contract-notes.md`, "Messages").

use async_trait::async_trait;
use aws_lc_rs::hmac;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use super::{Message, SendError, Sender, provider_error};
use crate::clock::Clock;

/// `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>`.
pub const SIGNATURE_HEADER: &str = "x-sesame-signature";
/// Unix seconds when the request was signed; receivers refuse stale ones (replay).
pub const TIMESTAMP_HEADER: &str = "x-sesame-timestamp";

pub struct WebhookSender {
    http: reqwest::Client,
    url: String,
    secret: Option<SecretString>,
    clock: Clock,
}

impl WebhookSender {
    pub fn new(
        url: &str,
        secret: Option<SecretString>,
        http: reqwest::Client,
        clock: Clock,
    ) -> Self {
        Self {
            http,
            url: url.to_owned(),
            secret,
            clock,
        }
    }
}

/// The `X-Sesame-Signature` value for `body` sent at `timestamp`.
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let mut context = hmac::Context::with_key(&key);
    context.update(timestamp.to_string().as_bytes());
    context.update(b".");
    context.update(body);
    format!("sha256={}", hex::encode(context.sign().as_ref()))
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
        })
        .to_string();
        let mut request = self
            .http
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json");
        if let Some(secret) = &self.secret {
            // Signed per attempt, so a retry carries a fresh timestamp.
            let timestamp = self.clock.now();
            request = request.header(TIMESTAMP_HEADER, timestamp).header(
                SIGNATURE_HEADER,
                signature(
                    secret.expose_secret().as_bytes(),
                    timestamp,
                    body.as_bytes(),
                ),
            );
        }
        let response = request
            .body(body)
            .send()
            .await
            .map_err(provider_error::network)?;
        if response.status().is_success() {
            return Ok(());
        }
        Err(provider_error::failure("webhook", response, &message.code, |_| false).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_covers_timestamp_and_body() {
        let signed = signature(b"secret", 1_700_000_000, b"{}");
        assert!(signed.starts_with("sha256="));
        assert_eq!(signed.len(), "sha256=".len() + 64);
        assert_ne!(signed, signature(b"secret", 1_700_000_001, b"{}"));
        assert_ne!(signed, signature(b"secret", 1_700_000_000, b"{ }"));
        assert_ne!(signed, signature(b"other", 1_700_000_000, b"{}"));
    }
}
