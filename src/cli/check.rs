//! `sesame check-config`: validates the configuration and the dependencies it names, and
//! prints what it found. Exits non-zero when anything is wrong.

use std::time::Duration;

use secrecy::ExposeSecret;

use crate::Config;
use crate::config::Environment;
use crate::store::{Database, Ephemeral, RedisEphemeral};
use crate::tokens::load_keys;

const TIMEOUT: Duration = Duration::from_secs(5);

/// Prints one line per check; returns how many failed.
pub async fn run(config: &Config) -> anyhow::Result<()> {
    let mut problems = 0;
    let mut report = |ok: bool, what: &str, detail: String| {
        if !ok {
            problems += 1;
        }
        println!("{} {what:<12} {detail}", if ok { "ok  " } else { "FAIL" });
    };
    let env = match config.env {
        Environment::Development => "development",
        Environment::Production => "production",
    };
    report(
        true,
        "environment",
        format!(
            "{env}, listening on {}, issuer {}",
            config.listen, config.issuer
        ),
    );
    for refusal in crate::production::refusals(config) {
        report(false, "production", refusal.to_string());
    }

    let url = redact(&config.database_url);
    let (database, test_numbers) = match sqlite_file_to_create(config) {
        Some(path) => (Ok(format!("{url}: {path} will be created at start")), None),
        None => match tokio::time::timeout(TIMEOUT, check_database(config)).await {
            Ok(Ok(test_numbers)) => (Ok(format!("{url}: reachable")), test_numbers),
            Ok(Err(err)) => (Err(format!("{url}: {err}")), None),
            Err(_) => (
                Err(format!("{url}: no answer in {}s", TIMEOUT.as_secs())),
                None,
            ),
        },
    };
    report(
        database.is_ok(),
        "database",
        database.unwrap_or_else(|err| err),
    );
    if let Some(test_numbers) = test_numbers {
        match test_numbers {
            Ok(()) => report(true, "test numbers", "none is an employee's number".into()),
            Err(err) => report(false, "test numbers", format!("{err:#}")),
        }
    }

    match &config.redis_url {
        None => report(
            true,
            "redis",
            "not configured: in-process store (one node only)".into(),
        ),
        Some(redis) => {
            let shown = redact(redis);
            let answer = tokio::time::timeout(TIMEOUT, async {
                let store = RedisEphemeral::connect(redis, &config.redis_key_prefix).await?;
                store.ping().await
            })
            .await;
            match answer {
                Ok(Ok(())) => report(true, "redis", format!("{shown}: reachable")),
                Ok(Err(err)) => report(false, "redis", format!("{shown}: {err}")),
                Err(_) => report(
                    false,
                    "redis",
                    format!("{shown}: no answer in {}s", TIMEOUT.as_secs()),
                ),
            }
        }
    }

    let dir = config.keys_dir.display();
    match load_keys(&config.keys_dir) {
        Ok(keys) => {
            let now = crate::Clock::system().now();
            let current = keys
                .iter()
                .rev()
                .find(|key| key.alg == config.signing_alg && key.created_at <= now);
            match current {
                Some(key) => report(
                    true,
                    "keys",
                    format!(
                        "{} in {dir}; signing with {} ({})",
                        keys.len(),
                        key.kid,
                        key.alg
                    ),
                ),
                None if config.env == Environment::Development => report(
                    true,
                    "keys",
                    format!(
                        "no {} key in {dir}: a development key will be generated",
                        config.signing_alg
                    ),
                ),
                None => report(
                    false,
                    "keys",
                    format!("no {} key signing now in {dir}", config.signing_alg),
                ),
            }
        }
        Err(err) => report(false, "keys", err.to_string()),
    }

    let otp_secret = match &config.otp_secret {
        Some(secret) if secret.expose_secret().len() < 16 => (
            false,
            "SESAME_OTP_SECRET is shorter than 16 characters".to_owned(),
        ),
        Some(_) => (true, "from SESAME_OTP_SECRET".to_owned()),
        None => (
            true,
            format!("from {dir}/otp_secret (created when missing): every node must share it"),
        ),
    };
    report(otp_secret.0, "otp secret", otp_secret.1);

    let providers = config.sms.providers.join(",");
    match crate::sms::build_delivery(&config.sms, reqwest::Client::new(), crate::Clock::system()) {
        Ok(_) => report(true, "sms", format!("{providers}: configured")),
        Err(err) => report(false, "sms", err.to_string()),
    }

    if problems > 0 {
        anyhow::bail!("{problems} problem(s) found");
    }
    Ok(())
}

/// Connects and pings; then, when the schema exists, checks that no test number is an
/// active employee's (the inner result; `None` without a schema to ask).
async fn check_database(config: &Config) -> anyhow::Result<Option<anyhow::Result<()>>> {
    // A connectivity check needs one connection; it must not migrate (it creates nothing).
    let db = Database::connect(&config.database_url, 1).await?;
    db.ping().await?;
    let test_numbers = if db.has_schema().await {
        Some(crate::login::refuse_shadowed_test_numbers(config, &db).await)
    } else {
        None
    };
    db.close().await;
    Ok(test_numbers)
}

/// A SQLite file that does not exist yet: checking must not create it.
fn sqlite_file_to_create(config: &Config) -> Option<String> {
    let path = config
        .database_url
        .strip_prefix("sqlite:")?
        .trim_start_matches("//")
        .split('?')
        .next()?;
    (!std::path::Path::new(path).exists()).then(|| path.to_owned())
}

/// A URL without its password, for printing.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => match url[scheme + 3..at].split_once(':') {
            Some((user, _password)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
            None => url.to_owned(),
        },
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_in_urls_are_masked() {
        assert_eq!(
            redact("postgres://sesame:hunter2@db:5432/sesame"),
            "postgres://sesame:***@db:5432/sesame"
        );
        assert_eq!(
            redact("redis://:hunter2@redis:6379"),
            "redis://:***@redis:6379"
        );
        assert_eq!(
            redact("postgres://sesame@db/sesame"),
            "postgres://sesame@db/sesame"
        );
        assert_eq!(redact("sqlite://data/sesame.db"), "sqlite://data/sesame.db");
    }
}
