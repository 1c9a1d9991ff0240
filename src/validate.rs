//! Every rule a parsed configuration must meet beyond its own syntax: what production refuses
//! (settings that only suit one development node) and what no environment accepts. Start-up
//! and `sesame check-config` both ask here, before connecting anywhere, so each rule lives in
//! one place and a refusal names every fault at once.

use secrecy::ExposeSecret;

use crate::config::{Config, ConfigError, DatabaseUrl, Environment, Provider};
use crate::tokens::load_keys;

/// Shortest `SESAME_OTP_SECRET`: the HMAC key of every stored code.
const MIN_OTP_SECRET: usize = 16;

/// Every problem of `config` at `now` (empty when all is well), each naming its variable.
pub fn problems(config: &Config, now: i64) -> Vec<ConfigError> {
    let mut problems = Vec::new();
    let mut problem = |name, reason: String| problems.push(ConfigError::new(name, reason));
    if config
        .otp_secret
        .as_ref()
        .is_some_and(|secret| secret.expose_secret().len() < MIN_OTP_SECRET)
    {
        problem(
            "SESAME_OTP_SECRET",
            format!("must be at least {MIN_OTP_SECRET} characters"),
        );
    }
    if config.env == Environment::Production {
        production(config, now, &mut problem);
    }
    problems
}

/// What `SESAME_ENV=production` refuses.
fn production(config: &Config, now: i64, problem: &mut impl FnMut(&'static str, String)) {
    if let DatabaseUrl::Sqlite(_) = config.database_url {
        problem(
            "SESAME_DATABASE_URL",
            "production needs postgres:// (SQLite is single-node, for development)".into(),
        );
    }
    if config.redis_url.is_none() {
        problem(
            "SESAME_REDIS_URL",
            "production needs Redis (the in-process store serves one node only)".into(),
        );
    }
    if config
        .sms
        .providers
        .iter()
        .any(|provider| matches!(provider, Provider::Console))
    {
        problem(
            "SESAME_SMS_PROVIDER",
            "the console provider only prints codes; name a real provider".into(),
        );
    }
    if !config.issuer.starts_with("https://") {
        problem(
            "SESAME_ISSUER",
            "production needs an https:// issuer".into(),
        );
    }
    if config.otp_secret.is_none() {
        problem(
            "SESAME_OTP_SECRET",
            "production needs a secret shared by every node".into(),
        );
    }
    if !config.test_numbers.is_empty() && !config.allow_test_numbers_in_production {
        problem(
            "SESAME_TEST_NUMBERS",
            "test numbers log in with a fixed code; production refuses them unless \
             SESAME_ALLOW_TEST_NUMBERS_IN_PRODUCTION=true"
                .into(),
        );
    }
    let alg = config.signing_alg;
    match load_keys(&config.keys_dir) {
        Ok(keys)
            if keys
                .iter()
                .any(|key| key.alg == alg && key.created_at <= now) => {}
        Ok(_) => problem(
            "SESAME_KEYS_DIR",
            format!(
                "no {alg} key signing now in {} (production never generates one: run `sesame keys generate`)",
                config.keys_dir.display()
            ),
        ),
        Err(err) => problem("SESAME_KEYS_DIR", err.to_string()),
    }
}

/// Fails with every problem listed, one per line.
pub fn refuse_problems(config: &Config, now: i64) -> anyhow::Result<()> {
    let problems = problems(config, now);
    if problems.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = problems
        .iter()
        .map(|problem| format!("  - {problem}"))
        .collect();
    let env = match config.env {
        Environment::Development => "development",
        Environment::Production => "production",
    };
    anyhow::bail!("SESAME_ENV={env} refuses to start:\n{}", list.join("\n"))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn problems_of(pairs: &[(&str, &str)]) -> Vec<&'static str> {
        let vars: HashMap<String, String> = pairs
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        let config = Config::from_vars(&vars).unwrap();
        problems(&config, 1_700_000_000)
            .iter()
            .map(|problem| problem.name)
            .collect()
    }

    #[test]
    fn a_short_otp_secret_is_refused_in_every_environment() {
        assert!(problems_of(&[("SESAME_OTP_SECRET", "0123456789abcdef")]).is_empty());
        assert_eq!(
            problems_of(&[("SESAME_OTP_SECRET", "too-short")]),
            ["SESAME_OTP_SECRET"]
        );
        let production = problems_of(&[
            ("SESAME_ENV", "production"),
            ("SESAME_OTP_SECRET", "too-short"),
        ]);
        assert_eq!(
            production
                .iter()
                .filter(|name| **name == "SESAME_OTP_SECRET")
                .count(),
            1,
            "{production:?}"
        );
    }

    #[test]
    fn production_names_every_development_setting() {
        let dir = std::env::temp_dir().join(format!("sesame-no-keys-{}", uuid::Uuid::new_v4()));
        let keys_dir = dir.display().to_string();
        let names = problems_of(&[
            ("SESAME_ENV", "production"),
            ("SESAME_KEYS_DIR", keys_dir.as_str()),
        ]);
        assert_eq!(
            names,
            [
                "SESAME_DATABASE_URL",
                "SESAME_REDIS_URL",
                "SESAME_SMS_PROVIDER",
                "SESAME_ISSUER",
                "SESAME_OTP_SECRET",
                "SESAME_KEYS_DIR"
            ]
        );
        assert!(!dir.exists(), "checking creates nothing");
    }
}
