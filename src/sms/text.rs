//! The words around a code: `SESAME_SMS_TEMPLATE` with `{code}` and `{app}`, plus the
//! domain-bound line of WebOTP / the SMS Retriever when `SESAME_WEBOTP_DOMAIN` is set.

use super::{Channel, Message};
use crate::config::SmsConfig;

#[derive(Debug, Clone)]
pub struct MessageText {
    template: String,
    app: String,
    webotp_domain: Option<String>,
}

impl MessageText {
    pub fn from_config(config: &SmsConfig) -> Self {
        Self {
            template: config.template.clone(),
            app: config.app_name.clone(),
            webotp_domain: config.webotp_domain.clone(),
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
                match &self.webotp_domain {
                    // https://wicg.github.io/web-otp/#message-format: the last line is
                    // `@origin-host #code`, after a blank line.
                    Some(domain) => format!("{body}\n\n@{domain} #{code}"),
                    None => body,
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
        }
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
