//! Message delivery (docs/contract-notes.md, "Messages").

use super::providers::{Provider, providers};
use super::{ConfigError, Vars};

#[derive(Debug, Clone)]
pub struct SmsConfig {
    /// Failover order; the first that delivers wins. `twilio_verify` is always alone.
    pub providers: Vec<Provider>,
    /// `{code}` and `{app}` are replaced; see [`crate::sms::MessageText`].
    pub template: String,
    pub app_name: String,
    /// Origin the code is bound to (WebOTP / SMS Retriever): `@{domain} #{code}` ends the SMS.
    pub webotp_domain: Option<String>,
    /// The 11-character hash of an Android app: the last line of the SMS, so the SMS Retriever
    /// API hands the message to that app without a permission prompt.
    pub android_app_hash: Option<String>,
    /// Per-attempt deadline of a provider request.
    pub timeout_ms: u64,
    /// First retry delay; doubled per attempt, with jitter.
    pub retry_base_ms: u64,
}

/// The default SMS text; `{app}` is `SESAME_APP_NAME`.
pub const DEFAULT_SMS_TEMPLATE: &str = "Your {app} code is {code}. Do not share it with anyone.";

impl SmsConfig {
    pub(super) fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        Ok(Self {
            providers: providers(vars)?,
            template: sms_template(vars)?,
            app_name: vars.text("SESAME_APP_NAME", "Sesame"),
            webotp_domain: webotp_domain(vars)?,
            android_app_hash: android_app_hash(vars)?,
            timeout_ms: vars.parse_in("SESAME_SMS_TIMEOUT_MS", 5_000, 1..=60_000)?,
            retry_base_ms: vars.parse_in("SESAME_SMS_RETRY_BASE_MS", 250, 0..=10_000)?,
        })
    }
}

/// A template without `{code}` would send messages nobody can log in with.
fn sms_template(vars: &Vars) -> Result<String, ConfigError> {
    const NAME: &str = "SESAME_SMS_TEMPLATE";
    let template = vars.text(NAME, DEFAULT_SMS_TEMPLATE);
    if template.contains("{code}") {
        Ok(template)
    } else {
        Err(ConfigError::new(NAME, "must contain {code}"))
    }
}

/// Android's SMS Retriever reads the app hash from the message's last line, and WebOTP reads
/// `@host #code` from the last line too: only one of them can end the message.
fn android_app_hash(vars: &Vars) -> Result<Option<String>, ConfigError> {
    const NAME: &str = "SESAME_ANDROID_APP_HASH";
    let Some(hash) = vars.optional(NAME) else {
        return Ok(None);
    };
    let valid = hash.len() == 11
        && hash
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/');
    if !valid {
        return Err(ConfigError::new(
            NAME,
            "must be the 11-character app hash (letters, digits, + and /) that Android's SMS Retriever API computes",
        ));
    }
    if vars.optional("SESAME_WEBOTP_DOMAIN").is_some() {
        return Err(ConfigError::new(
            NAME,
            "cannot be combined with SESAME_WEBOTP_DOMAIN: each must be the last line of the SMS",
        ));
    }
    Ok(Some(hash))
}

/// A bare host name (`login.example.com`): the WebOTP line is `@host #code`.
fn webotp_domain(vars: &Vars) -> Result<Option<String>, ConfigError> {
    const NAME: &str = "SESAME_WEBOTP_DOMAIN";
    let Some(domain) = vars.optional(NAME) else {
        return Ok(None);
    };
    let valid = domain
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b':')
        && !domain.starts_with('.');
    if valid {
        Ok(Some(domain.to_ascii_lowercase()))
    } else {
        Err(ConfigError::new(
            NAME,
            format!("{domain:?} is not a host name such as login.example.com"),
        ))
    }
}
