//! `SESAME_SMS_PROVIDER` and each provider's settings, parsed into closed types: an unknown
//! name, a duplicate, `twilio_verify` beside another provider or a missing credential is a
//! configuration error naming the variable (docs/contract-notes.md, "Messages").

use secrecy::SecretString;

use super::{ConfigError, Vars};

const PROVIDER: &str = "SESAME_SMS_PROVIDER";

/// One provider of the failover list, with everything it needs to send.
#[derive(Debug, Clone)]
pub enum Provider {
    /// Prints messages on standard output (development only).
    Console,
    /// The operator's endpoint; requests are signed when a secret is set.
    Webhook {
        url: String,
        secret: Option<SecretString>,
    },
    Twilio {
        account: TwilioAccount,
        from: String,
    },
    /// Twilio generates, sends and checks the code: it is always the only provider.
    TwilioVerify {
        account: TwilioAccount,
        service_sid: String,
    },
    Plivo {
        auth_id: String,
        auth_token: SecretString,
        from: String,
        base_url: Option<String>,
    },
}

/// What Twilio's Messaging, Voice and Verify APIs all need.
#[derive(Debug, Clone)]
pub struct TwilioAccount {
    pub account_sid: String,
    pub auth_token: SecretString,
    /// Replaces Twilio's public endpoints (tests, proxies).
    pub base_url: Option<String>,
}

impl Provider {
    /// The name `SESAME_SMS_PROVIDER` uses, also the `provider` label of metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Console => "console",
            Self::Webhook { .. } => "webhook",
            Self::Twilio { .. } => "twilio",
            Self::TwilioVerify { .. } => "twilio_verify",
            Self::Plivo { .. } => "plivo",
        }
    }

    fn parse(name: &str, vars: &Vars) -> Result<Self, ConfigError> {
        let required = |variable: &'static str| {
            vars.optional(variable).ok_or_else(|| {
                ConfigError::new(
                    variable,
                    format!("the {name} provider ({PROVIDER}) needs it"),
                )
            })
        };
        let secret = |variable: &'static str| required(variable).map(SecretString::from);
        let twilio = || -> Result<TwilioAccount, ConfigError> {
            Ok(TwilioAccount {
                account_sid: required("SESAME_TWILIO_ACCOUNT_SID")?,
                auth_token: secret("SESAME_TWILIO_AUTH_TOKEN")?,
                base_url: vars.optional("SESAME_TWILIO_BASE_URL"),
            })
        };
        Ok(match name {
            "console" => Self::Console,
            "webhook" => Self::Webhook {
                url: required("SESAME_SMS_WEBHOOK_URL")?,
                secret: vars.secret("SESAME_SMS_WEBHOOK_SECRET"),
            },
            "twilio" => Self::Twilio {
                account: twilio()?,
                from: required("SESAME_TWILIO_FROM")?,
            },
            "twilio_verify" => Self::TwilioVerify {
                account: twilio()?,
                service_sid: required("SESAME_TWILIO_VERIFY_SERVICE_SID")?,
            },
            "plivo" => Self::Plivo {
                auth_id: required("SESAME_PLIVO_AUTH_ID")?,
                auth_token: secret("SESAME_PLIVO_AUTH_TOKEN")?,
                from: required("SESAME_PLIVO_FROM")?,
                base_url: vars.optional("SESAME_PLIVO_BASE_URL"),
            },
            other => {
                return Err(ConfigError::new(
                    PROVIDER,
                    format!("unknown provider {other:?}"),
                ));
            }
        })
    }
}

/// The providers in failover order (`console` when none is named).
pub(super) fn providers(vars: &Vars) -> Result<Vec<Provider>, ConfigError> {
    let mut names = vars.list(PROVIDER);
    if names.is_empty() {
        names.push("console".to_owned());
    }
    for (index, name) in names.iter().enumerate() {
        if names[..index].contains(name) {
            return Err(ConfigError::new(
                PROVIDER,
                format!("{name} is listed twice"),
            ));
        }
    }
    // Twilio Verify owns the code, so no other provider could deliver the same one.
    if names.len() > 1 && names.iter().any(|name| name == "twilio_verify") {
        return Err(ConfigError::new(
            PROVIDER,
            "twilio_verify issues its own codes and cannot be combined with other providers",
        ));
    }
    names
        .iter()
        .map(|name| Provider::parse(name, vars))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::config::Config;

    fn providers(pairs: &[(&str, &str)]) -> Result<Vec<&'static str>, ConfigError> {
        let vars: HashMap<String, String> = pairs
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        let config = Config::from_vars(&vars)?;
        Ok(config.sms.providers.iter().map(Provider::name).collect())
    }

    const TWILIO: [(&str, &str); 4] = [
        ("SESAME_TWILIO_ACCOUNT_SID", "AC1"),
        ("SESAME_TWILIO_AUTH_TOKEN", "token"),
        ("SESAME_TWILIO_FROM", "+15005550006"),
        ("SESAME_TWILIO_VERIFY_SERVICE_SID", "VA1"),
    ];

    #[test]
    fn provider_lists_keep_their_order() {
        assert_eq!(providers(&[]).unwrap(), ["console"]);
        let mut vars = TWILIO.to_vec();
        vars.push(("SESAME_SMS_PROVIDER", "twilio, console"));
        assert_eq!(providers(&vars).unwrap(), ["twilio", "console"]);
        vars.pop();
        vars.push(("SESAME_SMS_PROVIDER", "twilio_verify"));
        assert_eq!(providers(&vars).unwrap(), ["twilio_verify"]);
    }

    #[test]
    fn impossible_lists_are_refused() {
        let mut vars = TWILIO.to_vec();
        for list in [
            "twilio_verify,twilio",
            "twilio,twilio",
            "twilio,sms-o-matic",
        ] {
            vars.push(("SESAME_SMS_PROVIDER", list));
            assert_eq!(providers(&vars).unwrap_err().name, PROVIDER, "{list}");
            vars.pop();
        }
    }

    #[test]
    fn missing_credentials_name_their_variable() {
        let err = providers(&[("SESAME_SMS_PROVIDER", "plivo")]).unwrap_err();
        assert_eq!(err.name, "SESAME_PLIVO_AUTH_ID");
        let err = providers(&[("SESAME_SMS_PROVIDER", "twilio")]).unwrap_err();
        assert_eq!(err.name, "SESAME_TWILIO_ACCOUNT_SID");
        let err = providers(&[("SESAME_SMS_PROVIDER", "webhook")]).unwrap_err();
        assert_eq!(err.name, "SESAME_SMS_WEBHOOK_URL");
        assert!(err.to_string().contains("webhook"), "{err}");
    }
}
