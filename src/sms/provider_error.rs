//! Turning a provider's HTTP failure into a [`SendError`], and logging it without secrets.

use serde_json::Value;

use super::SendError;

/// A request that never got an answer: worth another attempt.
pub fn network(err: reqwest::Error) -> SendError {
    SendError::Transient(err.without_url().to_string())
}

/// Classifies a non-2xx answer: 429 and 5xx are transient, an answer `invalid_number` picks
/// out is [`SendError::InvalidNumber`], any other 4xx is a permanent rejection.
///
/// Only the provider's error code and message are logged, never the raw body (Twilio echoes
/// the message `Body`, which holds the code), and `code` is blanked out of the message too.
pub async fn failure(
    provider: &'static str,
    response: reqwest::Response,
    code: &str,
    invalid_number: impl Fn(&Value) -> bool,
) -> SendError {
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    let error_code = body.get("code").map(Value::to_string);
    let error_message = ["message", "error"]
        .iter()
        .find_map(|field| body.get(*field).and_then(Value::as_str))
        .map(|message| scrub(message, code));
    tracing::warn!(
        provider,
        status = status.as_u16(),
        error_code,
        error_message,
        "provider refused the request"
    );
    if status.as_u16() == 429 || status.is_server_error() {
        SendError::Transient(format!("{provider} answered {status}"))
    } else if status.is_client_error() && invalid_number(&body) {
        SendError::InvalidNumber
    } else {
        SendError::Rejected(format!("{provider} answered {status}"))
    }
}

/// At most 200 characters, without `code`: blanked out before the cut, so a code the cut
/// would split leaves no digits behind.
fn scrub(message: &str, code: &str) -> String {
    let message = if code.is_empty() {
        message.to_owned()
    } else {
        message.replace(code, "[code]")
    };
    message.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_blanked_out_of_messages() {
        assert_eq!(
            scrub("Body 'Your code is 123456' too long", "123456"),
            "Body 'Your code is [code]' too long"
        );
        assert_eq!(scrub("anything", ""), "anything");
        assert_eq!(scrub(&"x".repeat(500), "1").len(), 200);
    }

    #[test]
    fn a_code_across_the_cut_is_blanked_out_before_the_cut() {
        let message = format!("{}123456 echoed", "x".repeat(197));
        let scrubbed = scrub(&message, "123456");
        assert_eq!(scrubbed.chars().count(), 200);
        assert!(
            !scrubbed.contains('1'),
            "part of the code is logged: {scrubbed}"
        );
    }
}
