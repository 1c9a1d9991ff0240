//! What `SESAME_ENV=production` refuses: settings that only suit one development node
//! (API.md, "Configuration"). Checked before connecting anywhere, so a refusal is quick and
//! names every fault at once.

use crate::config::{Config, ConfigError, Environment};
use crate::tokens::load_keys;

/// Every reason production refuses `config` (empty in development or when all is well).
pub fn refusals(config: &Config) -> Vec<ConfigError> {
    let mut refusals = Vec::new();
    if config.env != Environment::Production {
        return refusals;
    }
    let mut refuse = |name, reason: String| refusals.push(ConfigError::new(name, reason));
    let url = &config.database_url;
    if !(url.starts_with("postgres:") || url.starts_with("postgresql:")) {
        refuse(
            "SESAME_DATABASE_URL",
            "production needs postgres:// (SQLite is single-node, for development)".into(),
        );
    }
    if config.redis_url.is_none() {
        refuse(
            "SESAME_REDIS_URL",
            "production needs Redis (the in-process store serves one node only)".into(),
        );
    }
    if config
        .sms
        .providers
        .iter()
        .any(|provider| provider == "console")
    {
        refuse(
            "SESAME_SMS_PROVIDER",
            "the console provider only prints codes; name a real provider".into(),
        );
    }
    if !config.issuer.starts_with("https://") {
        refuse(
            "SESAME_ISSUER",
            "production needs an https:// issuer".into(),
        );
    }
    if config.otp_secret.is_none() {
        refuse(
            "SESAME_OTP_SECRET",
            "production needs a secret shared by every node".into(),
        );
    }
    if !config.test_numbers.is_empty() && !config.allow_test_numbers_in_production {
        refuse(
            "SESAME_TEST_NUMBERS",
            "test numbers log in with a fixed code; production refuses them unless \
             SESAME_ALLOW_TEST_NUMBERS_IN_PRODUCTION=true"
                .into(),
        );
    }
    let alg = config.signing_alg;
    match load_keys(&config.keys_dir) {
        Ok(keys) if keys.iter().any(|key| key.alg == alg) => {}
        Ok(_) => refuse(
            "SESAME_KEYS_DIR",
            format!(
                "no {alg} signing key in {} (production never generates one: run `sesame keys generate`)",
                config.keys_dir.display()
            ),
        ),
        Err(err) => refuse("SESAME_KEYS_DIR", err.to_string()),
    }
    refusals
}

/// Fails with every refusal listed, one per line.
pub fn refuse_unsafe(config: &Config) -> anyhow::Result<()> {
    let refusals = refusals(config);
    if refusals.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = refusals
        .iter()
        .map(|refusal| format!("  - {refusal}"))
        .collect();
    anyhow::bail!(
        "SESAME_ENV=production refuses to start:\n{}",
        list.join("\n")
    )
}
