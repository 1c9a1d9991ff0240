//! Twilio Verify: Twilio generates, sends and checks the code.
//! <https://www.twilio.com/docs/verify/api/verification>,
//! <https://www.twilio.com/docs/verify/api/verification-check>.

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::{Channel, RetryPolicy, SendError, SendTally, Verifier, provider_error, twilio};
use crate::config::TwilioAccount;

const DEFAULT_BASE_URL: &str = "https://verify.twilio.com";

pub struct TwilioVerify {
    http: reqwest::Client,
    base: String,
    account_sid: String,
    auth_token: SecretString,
    service_sid: String,
    policy: RetryPolicy,
    tally: SendTally,
}

impl TwilioVerify {
    pub fn new(
        account: &TwilioAccount,
        service_sid: &str,
        http: reqwest::Client,
        policy: RetryPolicy,
        tally: SendTally,
    ) -> Self {
        Self {
            http,
            base: super::base_url(&account.base_url, DEFAULT_BASE_URL),
            account_sid: account.account_sid.clone(),
            auth_token: account.auth_token.clone(),
            service_sid: service_sid.to_owned(),
            policy,
            tally,
        }
    }

    async fn post(
        &self,
        resource: &str,
        form: &[(&str, &str)],
    ) -> Result<reqwest::Response, SendError> {
        self.http
            .post(format!(
                "{}/v2/Services/{}/{resource}",
                self.base, self.service_sid
            ))
            .basic_auth(&self.account_sid, Some(self.auth_token.expose_secret()))
            .form(form)
            .send()
            .await
            .map_err(provider_error::network)
    }

    async fn request_verification(&self, to: &str, channel: Channel) -> Result<(), SendError> {
        let channel = match channel {
            Channel::Sms => "sms",
            Channel::Voice => "call",
        };
        let response = self
            .post("Verifications", &[("To", to), ("Channel", channel)])
            .await?;
        if response.status().is_success() {
            return Ok(());
        }
        Err(provider_error::failure(self.name(), response, "", is_invalid_number).await)
    }

    async fn check_once(&self, to: &str, code: &str) -> Result<bool, SendError> {
        let response = self
            .post("VerificationCheck", &[("To", to), ("Code", code)])
            .await?;
        let status = response.status();
        if status.is_success() {
            let body: Value = response.json().await.map_err(provider_error::network)?;
            return Ok(body.get("status").and_then(Value::as_str) == Some("approved"));
        }
        // 404 (error 20404): no pending verification — expired, approved already, or too
        // many wrong codes. That is a wrong code, not a failure.
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(false);
        }
        Err(provider_error::failure(self.name(), response, code, |_| false).await)
    }
}

/// Twilio's messaging codes, 60200 "Invalid parameter: To", and 60205 (the number is a
/// landline that cannot receive SMS).
fn is_invalid_number(body: &Value) -> bool {
    let code = body.get("code").and_then(Value::as_i64);
    let message = body.get("message").and_then(Value::as_str).unwrap_or("");
    twilio::is_invalid_number(body)
        || code == Some(60205)
        || (code == Some(60200) && message.trim_end().ends_with(": To"))
}

#[async_trait]
impl Verifier for TwilioVerify {
    fn name(&self) -> &'static str {
        "twilio_verify"
    }

    async fn start(&self, to: &str, channel: Channel) -> Result<(), SendError> {
        let outcome = self
            .policy
            .run(self.name(), || self.request_verification(to, channel))
            .await;
        self.tally.record(self.name(), &outcome);
        outcome
    }

    /// One attempt only: a check that timed out may have been counted by Twilio, and a retry
    /// would spend another of its attempts.
    async fn check(&self, to: &str, code: &str) -> Result<bool, SendError> {
        self.policy.once(self.check_once(to, code)).await
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn invalid_to_is_an_invalid_number_but_other_parameters_are_not() {
        assert!(is_invalid_number(
            &json!({"code": 60200, "message": "Invalid parameter: To"})
        ));
        assert!(!is_invalid_number(
            &json!({"code": 60200, "message": "Invalid parameter: Channel"})
        ));
        assert!(is_invalid_number(&json!({"code": 60205})));
        assert!(is_invalid_number(&json!({"code": 21614})));
        assert!(!is_invalid_number(&json!({"code": 20003})));
    }
}
