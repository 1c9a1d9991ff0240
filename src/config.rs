//! Typed configuration, read once from `SESAME_*` environment variables (and `.env`).
//!
//! Values are parsed into closed types here, once: a malformed value stops start-up with a
//! message naming the variable; an unknown `SESAME_*` variable is only warned about, so a typo
//! shows without refusing to start. Rules that depend on where Sesame runs (production) are
//! functions of the parsed configuration, in `crate::validate`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use secrecy::SecretString;

use crate::domain::{PhoneNumber, SigningAlgorithm};

mod limits;
mod ops;
mod providers;
mod sms;
mod urls;
mod vars;

pub use limits::LimitsConfig;
pub use ops::OpsConfig;
pub use providers::{Provider, TwilioAccount};
pub use sms::{DEFAULT_SMS_TEMPLATE, SmsConfig};
pub use urls::{DatabaseUrl, SecretUrl};
use vars::{KNOWN, Vars};

/// A configuration problem, always naming the variable at fault.
#[derive(Debug, thiserror::Error)]
#[error("{name}: {reason}")]
pub struct ConfigError {
    pub name: &'static str,
    pub reason: String,
}

impl ConfigError {
    pub fn new(name: &'static str, reason: impl Into<String>) -> Self {
        Self {
            name,
            reason: reason.into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub env: Environment,
    pub listen: SocketAddr,
    pub database_url: DatabaseUrl,
    /// Postgres connections per node (SQLite always uses one).
    pub database_max_connections: u32,
    pub redis_url: Option<SecretUrl>,
    /// Prefix of every Redis key, so deployments (and test runs) can share one Redis.
    pub redis_key_prefix: String,
    pub issuer: String,
    pub audience: String,
    pub client_id: String,
    pub keys_dir: PathBuf,
    pub signing_alg: SigningAlgorithm,
    pub otp_secret: Option<SecretString>,
    pub access_ttl: i64,
    pub refresh_ttl: i64,
    pub refresh_reuse_grace: i64,
    /// Seconds from login after which a session ends, whatever its refreshes.
    pub session_max_age: i64,
    /// Seconds an expired token's row is kept before the sweeper deletes it.
    pub token_retention: i64,
    /// Seconds an ended session's rows are kept (src/sweeper.rs says when a session ended).
    pub session_retention: i64,
    /// Seconds an audit event is kept; `0` keeps them for good.
    pub audit_retention: i64,
    /// Seconds between two sweeps.
    pub sweep_interval: u64,
    /// Seconds the revocation feed stays behind the clock, so a revocation committed late (or
    /// stamped by a node whose clock is slightly behind) is never skipped by a consumer's cursor.
    pub revocation_feed_lag: i64,
    pub test_numbers: HashMap<String, String>,
    /// Production refuses test numbers unless this is set explicitly.
    pub allow_test_numbers_in_production: bool,
    pub limits: LimitsConfig,
    pub otp: OtpConfig,
    pub allow_anonymous: bool,
    pub admin_api_key: Option<SecretString>,
    pub sms: SmsConfig,
    pub ops: OpsConfig,
    /// Serve the `/demo` login page (on in development, off in production unless asked).
    pub demo: bool,
}

#[derive(Debug, Clone)]
pub struct OtpConfig {
    pub length: u32,
    pub ttl: i64,
    pub max_attempts: u32,
    pub resend_after: i64,
}

impl Config {
    /// Reads the process environment, after loading `.env` when one is present.
    pub fn from_env() -> Result<Self, ConfigError> {
        // A missing `.env` is the normal case in production.
        let _ = dotenvy::dotenv();
        let vars: HashMap<String, String> = std::env::vars()
            .filter(|(name, _)| name.starts_with("SESAME_"))
            .collect();
        Self::from_vars(&vars)
    }

    /// Builds the configuration from a map of `SESAME_*` variables (tests pass their own).
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let vars = Vars(vars);
        let env = match vars.text("SESAME_ENV", "development").as_str() {
            "development" => Environment::Development,
            "production" => Environment::Production,
            other => {
                return Err(ConfigError::new(
                    "SESAME_ENV",
                    format!("expected development or production, got {other:?}"),
                ));
            }
        };
        let otp = OtpConfig {
            length: vars.parse_in("SESAME_OTP_LENGTH", 6, 4..=10)?,
            ttl: vars.parse_in("SESAME_OTP_TTL", 180, 1..=86_400)?,
            max_attempts: vars.parse_in("SESAME_OTP_MAX_ATTEMPTS", 5, 1..=100)?,
            resend_after: vars.parse_in("SESAME_OTP_RESEND_AFTER", 30, 0..=86_400)?,
        };
        let config = Self {
            env,
            listen: vars.parse("SESAME_LISTEN", "127.0.0.1:8080")?,
            database_url: DatabaseUrl::parse(
                "SESAME_DATABASE_URL",
                &vars.text("SESAME_DATABASE_URL", "sqlite://data/sesame.db"),
            )?,
            database_max_connections: vars.parse_in(
                "SESAME_DATABASE_MAX_CONNECTIONS",
                8,
                1..=1_000,
            )?,
            redis_url: vars
                .optional("SESAME_REDIS_URL")
                .map(|url| SecretUrl::new(&url)),
            redis_key_prefix: vars.text("SESAME_REDIS_KEY_PREFIX", "sesame"),
            issuer: vars
                .text("SESAME_ISSUER", "http://127.0.0.1:8080")
                .trim_end_matches('/')
                .to_owned(),
            audience: vars.text("SESAME_AUDIENCE", "sesame"),
            client_id: vars.text("SESAME_CLIENT_ID", "sesame-mobile"),
            keys_dir: PathBuf::from(vars.text("SESAME_KEYS_DIR", "keys")),
            signing_alg: vars.parse("SESAME_SIGNING_ALG", "EdDSA")?,
            otp_secret: vars.secret("SESAME_OTP_SECRET"),
            access_ttl: vars.parse_in("SESAME_ACCESS_TTL", 900, 1..=86_400)?,
            refresh_ttl: vars.parse_in("SESAME_REFRESH_TTL", 2_592_000, 1..=31_536_000)?,
            refresh_reuse_grace: vars.parse_in("SESAME_REFRESH_REUSE_GRACE", 10, 0..=3_600)?,
            session_max_age: vars.parse_in(
                "SESAME_SESSION_MAX_AGE",
                7_776_000,
                60..=315_360_000,
            )?,
            token_retention: vars.parse_in("SESAME_TOKEN_RETENTION", 604_800, 0..=31_536_000)?,
            // At least a day, the longest access token: a revoked session must stay in the
            // revocation feed until every token it issued has expired.
            session_retention: vars.parse_in(
                "SESAME_SESSION_RETENTION",
                2_592_000,
                86_400..=315_360_000,
            )?,
            audit_retention: vars.parse_in(
                "SESAME_AUDIT_RETENTION",
                31_536_000,
                0..=315_360_000,
            )?,
            sweep_interval: vars.parse_in("SESAME_SWEEP_INTERVAL", 300, 1..=86_400)?,
            revocation_feed_lag: vars.parse_in("SESAME_REVOCATION_FEED_LAG", 5, 1..=3_600)?,
            test_numbers: test_numbers(&vars, otp.length)?,
            allow_test_numbers_in_production: vars
                .parse("SESAME_ALLOW_TEST_NUMBERS_IN_PRODUCTION", "false")?,
            limits: LimitsConfig::from_vars(&vars)?,
            otp,
            allow_anonymous: vars.parse("SESAME_ALLOW_ANONYMOUS", "true")?,
            admin_api_key: vars.secret("SESAME_ADMIN_API_KEY"),
            sms: SmsConfig::from_vars(&vars)?,
            ops: OpsConfig::from_vars(&vars)?,
            demo: vars.parse(
                "SESAME_DEMO",
                if env == Environment::Development {
                    "true"
                } else {
                    "false"
                },
            )?,
        };
        if let Some(admin_key) = &config.admin_api_key {
            use secrecy::ExposeSecret;
            if admin_key.expose_secret().len() < 16 {
                return Err(ConfigError::new(
                    "SESAME_ADMIN_API_KEY",
                    "must be at least 16 characters",
                ));
            }
        }
        Ok(config)
    }

    /// `SESAME_*` variables that Sesame does not know: most likely typos.
    pub fn unknown_variables(vars: impl Iterator<Item = String>) -> Vec<String> {
        vars.filter(|name| name.starts_with("SESAME_") && !KNOWN.contains(&name.as_str()))
            .collect()
    }
}

/// `+447700900001=424242,+447700900002=123456`: fixed codes for app-store review and end-to-end tests.
fn test_numbers(vars: &Vars, otp_length: u32) -> Result<HashMap<String, String>, ConfigError> {
    const NAME: &str = "SESAME_TEST_NUMBERS";
    let mut numbers = HashMap::new();
    for entry in vars.list(NAME) {
        let (number, code) = entry
            .split_once('=')
            .ok_or_else(|| ConfigError::new(NAME, format!("{entry:?} is not NUMBER=CODE")))?;
        let number = PhoneNumber::parse(number).map_err(|_| {
            ConfigError::new(NAME, format!("{number:?} is not a valid phone number"))
        })?;
        let code = code.trim();
        if code.len() != otp_length as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ConfigError::new(
                NAME,
                format!("the code for {number} must be {otp_length} digits"),
            ));
        }
        numbers.insert(number.as_str().to_owned(), code.to_owned());
    }
    Ok(numbers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_follow_the_contract() {
        let config = Config::from_vars(&HashMap::new()).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.database_url.to_string(), "sqlite://data/sesame.db");
        assert_eq!(config.otp.length, 6);
        assert_eq!(config.access_ttl, 900);
        assert!(matches!(config.sms.providers[..], [Provider::Console]));
        assert!(config.allow_anonymous);
    }

    #[test]
    fn a_malformed_value_names_its_variable() {
        let err = Config::from_vars(&vars(&[("SESAME_OTP_LENGTH", "12")])).unwrap_err();
        assert_eq!(err.name, "SESAME_OTP_LENGTH");
        let err = Config::from_vars(&vars(&[("SESAME_ACCESS_TTL", "soon")])).unwrap_err();
        assert_eq!(err.name, "SESAME_ACCESS_TTL");
        let err = Config::from_vars(&vars(&[("SESAME_SIGNING_ALG", "HS256")])).unwrap_err();
        assert_eq!(err.name, "SESAME_SIGNING_ALG");
        let err =
            Config::from_vars(&vars(&[("SESAME_TRUSTED_PROXIES", "10.0.0.0/33")])).unwrap_err();
        assert_eq!(err.name, "SESAME_TRUSTED_PROXIES");
        let err = Config::from_vars(&vars(&[("SESAME_LOG_FORMAT", "xml")])).unwrap_err();
        assert_eq!(err.name, "SESAME_LOG_FORMAT");
        let err = Config::from_vars(&vars(&[("SESAME_REQUEST_TIMEOUT", "0")])).unwrap_err();
        assert_eq!(err.name, "SESAME_REQUEST_TIMEOUT");
    }

    #[test]
    fn test_numbers_are_normalised_and_checked() {
        let config =
            Config::from_vars(&vars(&[("SESAME_TEST_NUMBERS", "+44 7700 900001=424242")])).unwrap();
        assert_eq!(config.test_numbers["+447700900001"], "424242");
        let err =
            Config::from_vars(&vars(&[("SESAME_TEST_NUMBERS", "+447700900001=42")])).unwrap_err();
        assert_eq!(err.name, "SESAME_TEST_NUMBERS");
    }

    #[test]
    fn message_text_settings_are_checked() {
        let config = Config::from_vars(&HashMap::new()).unwrap();
        assert_eq!(config.sms.template, DEFAULT_SMS_TEMPLATE);
        assert_eq!(config.sms.app_name, "Sesame");
        assert_eq!(config.sms.webotp_domain, None);
        let err =
            Config::from_vars(&vars(&[("SESAME_SMS_TEMPLATE", "Your {app} code")])).unwrap_err();
        assert_eq!(err.name, "SESAME_SMS_TEMPLATE");
        let config =
            Config::from_vars(&vars(&[("SESAME_WEBOTP_DOMAIN", "Login.Example.com")])).unwrap();
        assert_eq!(
            config.sms.webotp_domain.as_deref(),
            Some("login.example.com")
        );
        for bad in [
            "https://login.example.com",
            "login example.com",
            ".example.com",
        ] {
            let err = Config::from_vars(&vars(&[("SESAME_WEBOTP_DOMAIN", bad)])).unwrap_err();
            assert_eq!(err.name, "SESAME_WEBOTP_DOMAIN", "{bad}");
        }
    }

    #[test]
    fn the_android_app_hash_is_checked_and_excludes_the_webotp_line() {
        let config =
            Config::from_vars(&vars(&[("SESAME_ANDROID_APP_HASH", "FA+9qCX9VSu")])).unwrap();
        assert_eq!(config.sms.android_app_hash.as_deref(), Some("FA+9qCX9VSu"));
        for bad in ["FA+9qCX9VS", "FA+9qCX9VSu1", "FA-9qCX9VSu", "FA 9qCX9VSu"] {
            let err = Config::from_vars(&vars(&[("SESAME_ANDROID_APP_HASH", bad)])).unwrap_err();
            assert_eq!(err.name, "SESAME_ANDROID_APP_HASH", "{bad}");
        }
        let err = Config::from_vars(&vars(&[
            ("SESAME_ANDROID_APP_HASH", "FA+9qCX9VSu"),
            ("SESAME_WEBOTP_DOMAIN", "login.example.com"),
        ]))
        .unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("SESAME_ANDROID_APP_HASH") && message.contains("SESAME_WEBOTP_DOMAIN"),
            "{message}"
        );
    }

    #[test]
    fn the_demo_is_on_in_development_and_off_in_production_unless_asked() {
        assert!(Config::from_vars(&HashMap::new()).unwrap().demo);
        assert!(
            !Config::from_vars(&vars(&[("SESAME_DEMO", "false")]))
                .unwrap()
                .demo
        );
        let production = [("SESAME_ENV", "production")];
        assert!(!Config::from_vars(&vars(&production)).unwrap().demo);
        let asked = [("SESAME_ENV", "production"), ("SESAME_DEMO", "true")];
        assert!(Config::from_vars(&vars(&asked)).unwrap().demo);
        let err = Config::from_vars(&vars(&[("SESAME_DEMO", "yes")])).unwrap_err();
        assert_eq!(err.name, "SESAME_DEMO");
    }

    #[test]
    fn debug_output_shows_no_password_or_secret() {
        let config = Config::from_vars(&vars(&[
            (
                "SESAME_DATABASE_URL",
                "postgres://sesame:db-password@db/sesame",
            ),
            ("SESAME_REDIS_URL", "redis://:redis-password@redis:6379"),
            ("SESAME_OTP_SECRET", "otp-secret-0123456789"),
            ("SESAME_ADMIN_API_KEY", "admin-key-0123456789"),
            ("SESAME_SMS_PROVIDER", "webhook"),
            ("SESAME_SMS_WEBHOOK_URL", "https://sms.example.com/"),
            ("SESAME_SMS_WEBHOOK_SECRET", "webhook-secret"),
        ]))
        .unwrap();
        let debug = format!("{config:?}");
        for secret in [
            "db-password",
            "redis-password",
            "otp-secret",
            "admin-key",
            "webhook-secret",
        ] {
            assert!(!debug.contains(secret), "{secret} in {debug}");
        }
        assert!(debug.contains("postgres://sesame:***@db/sesame"), "{debug}");
    }

    #[test]
    fn unknown_variables_are_reported() {
        let unknown = Config::unknown_variables(
            ["SESAME_LISTEN", "SESAME_LISTN", "PATH"]
                .into_iter()
                .map(String::from),
        );
        assert_eq!(unknown, ["SESAME_LISTN"]);
    }
}
