//! The words around a code: `SESAME_SMS_TEMPLATE` with `{code}` and `{app}`, plus one last
//! line for the phone's own code reader: the domain-bound line of WebOTP when
//! `SESAME_WEBOTP_DOMAIN` is set, or the app hash of Android's SMS Retriever when
//! `SESAME_ANDROID_APP_HASH` is (configuration refuses both). iOS needs no extra line: its
//! one-time-code autofill finds the code as a run of digits next to the word "code".

use super::{Channel, Message};
use crate::config::SmsConfig;

#[derive(Debug, Clone)]
pub struct MessageText {
    template: String,
    app: String,
    webotp_domain: Option<String>,
    android_app_hash: Option<String>,
}

impl MessageText {
    pub fn from_config(config: &SmsConfig) -> Self {
        Self {
            template: config.template.clone(),
            app: config.app_name.clone(),
            webotp_domain: config.webotp_domain.clone(),
            android_app_hash: config.android_app_hash.clone(),
        }
    }

    /// The message carrying `code` to `to` on `channel`.
    pub fn message(&self, to: &str, channel: Channel, code: &str) -> Message {
        Message {
            to: to.to_owned(),
            channel,
            code: code.to_owned(),
            body: self.render(channel, code),
        }
    }

    fn render(&self, channel: Channel, code: &str) -> String {
        match channel {
            Channel::Sms => {
                let body = self.fill(code);
                match (&self.webotp_domain, &self.android_app_hash) {
                    // https://wicg.github.io/web-otp/#message-format: the last line is
                    // `@origin-host #code`, after a blank line.
                    (Some(domain), _) => format!("{body}\n\n@{domain} #{code}"),
                    // The SMS Retriever API hands a message to the app whose 11-character
                    // hash ends it.
                    (None, Some(hash)) => format!("{body}\n\n{hash}"),
                    (None, None) => body,
                }
            }
            // Digits separated by commas are read one by one, with a pause between them.
            Channel::Voice => {
                let spoken = code
                    .chars()
                    .map(String::from)
                    .collect::<Vec<_>>()
                    .join(", ");
                self.fill(&spoken)
            }
        }
    }

    fn fill(&self, code: &str) -> String {
        // `{app}` first, so an app name containing `{code}` is not expanded.
        self.template
            .replace("{code}", "\u{0}")
            .replace("{app}", &self.app)
            .replace('\u{0}', code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(template: &str, domain: Option<&str>) -> MessageText {
        MessageText {
            template: template.into(),
            app: "Acme".into(),
            webotp_domain: domain.map(str::to_owned),
            android_app_hash: None,
        }
    }

    fn default_text(android_app_hash: Option<&str>) -> MessageText {
        MessageText {
            android_app_hash: android_app_hash.map(str::to_owned),
            ..text(crate::config::DEFAULT_SMS_TEMPLATE, None)
        }
    }

    /// iOS offers a code for autofill when it stands alone as a run of digits (nothing
    /// alphanumeric glued to it) after the word "code".
    fn autofill_ready(body: &str, code: &str) -> bool {
        let Some(at) = body.find(code) else {
            return false;
        };
        let glued = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
        let standalone =
            !glued(body[..at].chars().last()) && !glued(body[at + code.len()..].chars().next());
        standalone && body[..at].to_lowercase().contains("code")
    }

    #[test]
    fn the_default_text_keeps_the_code_ready_for_ios_autofill() {
        let message = default_text(None).message("+447700900123", Channel::Sms, "123456");
        assert_eq!(
            message.body,
            "Your Acme code is 123456. Do not share it with anyone."
        );
        assert!(autofill_ready(&message.body, "123456"), "{}", message.body);
        assert_eq!(message.body.lines().count(), 1);
    }

    #[test]
    fn the_android_app_hash_is_the_last_line() {
        let message =
            default_text(Some("FA+9qCX9VSu")).message("+447700900123", Channel::Sms, "123456");
        assert_eq!(
            message.body,
            "Your Acme code is 123456. Do not share it with anyone.\n\nFA+9qCX9VSu"
        );
        assert_eq!(message.body.lines().last(), Some("FA+9qCX9VSu"));
        // The hash line leaves the code where iOS finds it, and the message fits the
        // SMS Retriever's 140 bytes.
        assert!(autofill_ready(&message.body, "123456"), "{}", message.body);
        assert!(message.body.len() <= 140);
    }

    #[test]
    fn voice_never_gets_the_app_hash() {
        let message =
            default_text(Some("FA+9qCX9VSu")).message("+447700900123", Channel::Voice, "1234");
        assert_eq!(
            message.body,
            "Your Acme code is 1, 2, 3, 4. Do not share it with anyone."
        );
    }

    #[test]
    fn the_template_gets_code_and_app() {
        let message = text("{code} is your {app} code", None).message(
            "+447700900123",
            Channel::Sms,
            "012345",
        );
        assert_eq!(message.body, "012345 is your Acme code");
        assert_eq!(message.code, "012345");
    }

    #[test]
    fn an_origin_appends_the_webotp_line() {
        let message = text("Your {app} code is {code}.", Some("login.example.com")).message(
            "+447700900123",
            Channel::Sms,
            "123456",
        );
        assert_eq!(
            message.body,
            "Your Acme code is 123456.\n\n@login.example.com #123456"
        );
    }

    #[test]
    fn voice_reads_digits_one_by_one_without_the_webotp_line() {
        let message = text("Your {app} code is {code}.", Some("login.example.com")).message(
            "+447700900123",
            Channel::Voice,
            "1234",
        );
        assert_eq!(message.body, "Your Acme code is 1, 2, 3, 4.");
    }

    #[test]
    fn placeholders_in_the_app_name_are_not_expanded() {
        let mut text = text("{app}: {code}", None);
        text.app = "{code}".into();
        assert_eq!(text.render(Channel::Sms, "1234"), "{code}: 1234");
    }
}
