//! Twilio Programmable Messaging (SMS) and Programmable Voice (a call reading the code).
//! <https://www.twilio.com/docs/messaging/api/message-resource>,
//! <https://www.twilio.com/docs/voice/api/call-resource>.

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::{Channel, Message, SendError, Sender, provider_error};
use crate::config::TwilioAccount;

const DEFAULT_BASE_URL: &str = "https://api.twilio.com";

/// Twilio error codes meaning the number cannot be reached at all: 21211 invalid `To`,
/// 21614 `To` is not a mobile number, 21217 (calls) number does not appear valid,
/// 21401 invalid phone number. <https://www.twilio.com/docs/api/errors>
const INVALID_NUMBER_CODES: &[i64] = &[21211, 21614, 21217, 21401];

pub struct TwilioSender {
    http: reqwest::Client,
    base: String,
    account_sid: String,
    auth_token: SecretString,
    from: String,
}

impl TwilioSender {
    pub fn new(account: &TwilioAccount, from: &str, http: reqwest::Client) -> Self {
        Self {
            http,
            base: super::base_url(&account.base_url, DEFAULT_BASE_URL),
            account_sid: account.account_sid.clone(),
            auth_token: account.auth_token.clone(),
            from: from.to_owned(),
        }
    }
}

/// Whether a Twilio error body names one of [`INVALID_NUMBER_CODES`].
pub fn is_invalid_number(body: &Value) -> bool {
    body.get("code")
        .and_then(Value::as_i64)
        .is_some_and(|code| INVALID_NUMBER_CODES.contains(&code))
}

/// TwiML that says `text` twice, with a pause, so a listener can write the code down.
fn twiml(text: &str) -> String {
    let text = xml_escape(text);
    format!("<Response><Say>{text}</Say><Pause length=\"1\"/><Say>{text}</Say></Response>")
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

#[async_trait]
impl Sender for TwilioSender {
    fn name(&self) -> &'static str {
        "twilio"
    }

    async fn send(&self, message: &Message) -> Result<(), SendError> {
        let account = &self.account_sid;
        let (resource, form) = match message.channel {
            Channel::Sms => (
                "Messages",
                [
                    ("To", message.to.clone()),
                    ("From", self.from.clone()),
                    ("Body", message.body.clone()),
                ],
            ),
            Channel::Voice => (
                "Calls",
                [
                    ("To", message.to.clone()),
                    ("From", self.from.clone()),
                    ("Twiml", twiml(&message.body)),
                ],
            ),
        };
        let response = self
            .http
            .post(format!(
                "{}/2010-04-01/Accounts/{account}/{resource}.json",
                self.base
            ))
            .basic_auth(account, Some(self.auth_token.expose_secret()))
            .form(&form)
            .send()
            .await
            .map_err(provider_error::network)?;
        if response.status().is_success() {
            return Ok(());
        }
        Err(provider_error::failure("twilio", response, &message.code, is_invalid_number).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twiml_escapes_the_text() {
        assert_eq!(
            twiml("A & <B> 1, 2"),
            "<Response><Say>A &amp; &lt;B&gt; 1, 2</Say><Pause length=\"1\"/><Say>A &amp; &lt;B&gt; 1, 2</Say></Response>"
        );
    }

    #[test]
    fn invalid_number_codes_are_recognised() {
        assert!(is_invalid_number(
            &serde_json::json!({"code": 21211, "status": 400})
        ));
        assert!(!is_invalid_number(
            &serde_json::json!({"code": 20003, "status": 401})
        ));
        assert!(!is_invalid_number(&Value::Null));
    }
}
