//! Plivo Messaging (SMS only). <https://www.plivo.com/docs/messaging/api/message>

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use super::{Channel, Message, SendError, Sender, provider_error};

const DEFAULT_BASE_URL: &str = "https://api.plivo.com";

pub struct PlivoSender {
    http: reqwest::Client,
    base: String,
    auth_id: String,
    auth_token: SecretString,
    from: String,
}

impl PlivoSender {
    pub fn new(
        auth_id: &str,
        auth_token: &SecretString,
        from: &str,
        base_url: &Option<String>,
        http: reqwest::Client,
    ) -> Self {
        Self {
            http,
            base: super::base_url(base_url, DEFAULT_BASE_URL),
            auth_id: auth_id.to_owned(),
            auth_token: auth_token.clone(),
            from: from.to_owned(),
        }
    }
}

/// Plivo has no numeric error codes: a 4xx whose `error` says the `dst` parameter is invalid
/// (e.g. "invalid dst parameter") is taken as an invalid number.
fn is_invalid_number(body: &Value) -> bool {
    body.get("error")
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase)
        .is_some_and(|error| error.contains("dst") && error.contains("invalid"))
}

#[async_trait]
impl Sender for PlivoSender {
    fn name(&self) -> &'static str {
        "plivo"
    }

    async fn send(&self, message: &Message) -> Result<(), SendError> {
        if message.channel == Channel::Voice {
            // Plivo calls need an answer URL Sesame does not host; the next provider may call.
            return Err(SendError::Rejected("plivo delivers SMS only".into()));
        }
        let body = json!({
            "src": self.from,
            "dst": message.to,
            "text": message.body,
        });
        let response = self
            .http
            .post(format!(
                "{}/v1/Account/{}/Message/",
                self.base, self.auth_id
            ))
            .basic_auth(&self.auth_id, Some(self.auth_token.expose_secret()))
            .json(&body)
            .send()
            .await
            .map_err(provider_error::network)?;
        if response.status().is_success() {
            return Ok(());
        }
        Err(provider_error::failure("plivo", response, &message.code, is_invalid_number).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invalid_dst_is_an_invalid_number() {
        assert!(is_invalid_number(
            &json!({"api_id": "x", "error": "invalid dst parameter"})
        ));
        assert!(!is_invalid_number(
            &json!({"api_id": "x", "error": "authentication failed"})
        ));
    }
}
