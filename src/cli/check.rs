//! `sesame check-config`: validates the configuration and the dependencies it names, and
//! prints what it found, one `ok`/`FAIL` line per check. Creates nothing; exits non-zero when
//! anything is wrong.

use std::time::Duration;

use crate::config::{ConfigError, DatabaseUrl, Environment, Provider};
use crate::store::{Database, Ephemeral, RedisEphemeral};
use crate::tokens::load_keys;
use crate::{Clock, Config};

const TIMEOUT: Duration = Duration::from_secs(5);

/// Prints one line per check; fails when any did.
pub async fn run(config: &Config, clock: &Clock) -> anyhow::Result<()> {
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
    // The rules start-up applies, from the one place they live.
    let refused = crate::validate::problems(config, clock.now());
    if refused.is_empty() {
        report(true, "config", format!("every rule of {env} holds"));
    }
    for problem in &refused {
        report(false, "config", problem.to_string());
    }
    let flagged = |name: &str| {
        refused
            .iter()
            .any(|problem: &ConfigError| problem.name == name)
    };

    let url = &config.database_url;
    let (database, test_numbers) = match sqlite_file_to_create(url) {
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
            let answer = tokio::time::timeout(TIMEOUT, async {
                let store = RedisEphemeral::connect(redis, &config.redis_key_prefix).await?;
                store.ping().await
            })
            .await;
            match answer {
                Ok(Ok(())) => report(true, "redis", format!("{redis}: reachable")),
                Ok(Err(err)) => report(false, "redis", format!("{redis}: {err}")),
                Err(_) => report(
                    false,
                    "redis",
                    format!("{redis}: no answer in {}s", TIMEOUT.as_secs()),
                ),
            }
        }
    }

    // A keys folder the rules refused is reported above already.
    let dir = config.keys_dir.display();
    if !flagged("SESAME_KEYS_DIR") {
        match load_keys(&config.keys_dir) {
            Ok(keys) => {
                let now = clock.now();
                let current = keys
                    .iter()
                    .rev()
                    .find(|key| key.alg == config.signing_alg && key.created_at <= now);
                let found = match current {
                    Some(key) => format!(
                        "{} in {dir}; signing with {} ({})",
                        keys.len(),
                        key.kid,
                        key.alg
                    ),
                    None => format!(
                        "no {} key signing now in {dir}: a development key will be generated",
                        config.signing_alg
                    ),
                };
                report(true, "keys", found);
            }
            Err(err) => report(false, "keys", err.to_string()),
        }
    }

    if !flagged("SESAME_OTP_SECRET") {
        let source = match &config.otp_secret {
            Some(_) => "from SESAME_OTP_SECRET".to_owned(),
            None => {
                format!("from {dir}/otp_secret (created when missing): every node must share it")
            }
        };
        report(true, "otp secret", source);
    }

    let providers: Vec<&str> = config.sms.providers.iter().map(Provider::name).collect();
    report(true, "sms", format!("{}: configured", providers.join(",")));

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
fn sqlite_file_to_create(url: &DatabaseUrl) -> Option<String> {
    match url {
        DatabaseUrl::Sqlite(path) if !path.exists() => Some(path.display().to_string()),
        _ => None,
    }
}
