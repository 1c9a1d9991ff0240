//! Reading `SESAME_*` values: trimmed, empty = unset, parse errors naming the variable.

use std::collections::HashMap;
use std::fmt::Display;
use std::str::FromStr;

use secrecy::SecretString;

use super::ConfigError;

pub(super) struct Vars<'a>(pub(super) &'a HashMap<String, String>);

impl Vars<'_> {
    pub(super) fn optional(&self, name: &str) -> Option<String> {
        self.0
            .get(name)
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
    }

    pub(super) fn text(&self, name: &str, default: &str) -> String {
        self.optional(name).unwrap_or_else(|| default.to_owned())
    }

    pub(super) fn secret(&self, name: &str) -> Option<SecretString> {
        self.optional(name).map(SecretString::from)
    }

    pub(super) fn list(&self, name: &str) -> Vec<String> {
        self.optional(name)
            .map(|value| {
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    pub(super) fn parse<T>(&self, name: &'static str, default: &str) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: Display,
    {
        let value = self.text(name, default);
        value
            .parse()
            .map_err(|err| ConfigError::new(name, format!("{value:?}: {err}")))
    }

    pub(super) fn parse_in<T>(
        &self,
        name: &'static str,
        default: T,
        range: std::ops::RangeInclusive<T>,
    ) -> Result<T, ConfigError>
    where
        T: FromStr + PartialOrd + Display + Copy,
        T::Err: Display,
    {
        let value = self.parse(name, &default.to_string())?;
        if range.contains(&value) {
            Ok(value)
        } else {
            Err(ConfigError::new(
                name,
                format!("{value} is outside {}..={}", range.start(), range.end()),
            ))
        }
    }
}

/// Every variable Sesame reads; anything else starting with `SESAME_` draws a warning.
pub(super) const KNOWN: &[&str] = &[
    "SESAME_ENV",
    "SESAME_LISTEN",
    "SESAME_DATABASE_URL",
    "SESAME_DATABASE_MAX_CONNECTIONS",
    "SESAME_REDIS_URL",
    "SESAME_REDIS_KEY_PREFIX",
    "SESAME_ISSUER",
    "SESAME_AUDIENCE",
    "SESAME_CLIENT_ID",
    "SESAME_KEYS_DIR",
    "SESAME_SIGNING_ALG",
    "SESAME_OTP_SECRET",
    "SESAME_ACCESS_TTL",
    "SESAME_REFRESH_TTL",
    "SESAME_REFRESH_REUSE_GRACE",
    "SESAME_SESSION_MAX_AGE",
    "SESAME_TOKEN_RETENTION",
    "SESAME_SESSION_RETENTION",
    "SESAME_AUDIT_RETENTION",
    "SESAME_SWEEP_INTERVAL",
    "SESAME_REVOCATION_FEED_LAG",
    "SESAME_TEST_NUMBERS",
    "SESAME_ALLOW_TEST_NUMBERS_IN_PRODUCTION",
    "SESAME_SMS_HOURLY_CAP",
    "SESAME_SMS_DAILY_CAP",
    "SESAME_IP_HOURLY_CAP",
    "SESAME_IP_VERIFY_HOURLY_CAP",
    "SESAME_OTP_LENGTH",
    "SESAME_OTP_TTL",
    "SESAME_OTP_MAX_ATTEMPTS",
    "SESAME_OTP_RESEND_AFTER",
    "SESAME_ALLOW_ANONYMOUS",
    "SESAME_ALLOWED_COUNTRIES",
    "SESAME_SMS_ALLOW_UNKNOWN_LINE_TYPES",
    "SESAME_TRUSTED_PROXIES",
    "SESAME_ADMIN_API_KEY",
    "SESAME_SMS_PROVIDER",
    "SESAME_SMS_WEBHOOK_URL",
    "SESAME_SMS_WEBHOOK_SECRET",
    "SESAME_TWILIO_ACCOUNT_SID",
    "SESAME_TWILIO_AUTH_TOKEN",
    "SESAME_TWILIO_FROM",
    "SESAME_TWILIO_VERIFY_SERVICE_SID",
    "SESAME_TWILIO_BASE_URL",
    "SESAME_PLIVO_AUTH_ID",
    "SESAME_PLIVO_AUTH_TOKEN",
    "SESAME_PLIVO_FROM",
    "SESAME_PLIVO_BASE_URL",
    "SESAME_SMS_TEMPLATE",
    "SESAME_APP_NAME",
    "SESAME_WEBOTP_DOMAIN",
    "SESAME_SMS_TIMEOUT_MS",
    "SESAME_SMS_RETRY_BASE_MS",
    "SESAME_SMS_COUNTRY_HOURLY_BUDGET",
    "SESAME_SMS_GLOBAL_HOURLY_BUDGET",
    "SESAME_HOURLY_WINDOW",
    "SESAME_DAILY_WINDOW",
    "SESAME_VERIFY_BACKOFF_AFTER",
    "SESAME_VERIFY_BACKOFF_BASE",
    "SESAME_VERIFY_BACKOFF_MAX",
    "SESAME_VERIFY_LOCKOUT_AFTER",
    "SESAME_VERIFY_LOCKOUT_WINDOW",
    "SESAME_LOG_FORMAT",
    "SESAME_REQUEST_TIMEOUT",
    "SESAME_CORS_ORIGINS",
    "SESAME_KEYS_RELOAD_INTERVAL",
    "SESAME_SHUTDOWN_TIMEOUT",
    "SESAME_METRICS_LISTEN",
    "SESAME_HEADER_READ_TIMEOUT",
    "SESAME_MAX_CONNECTIONS",
    "SESAME_ANDROID_APP_HASH",
    "SESAME_DEMO",
];
