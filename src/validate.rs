//! Every rule a parsed configuration must meet beyond its own syntax: what production refuses
//! (settings that only suit one development node) and what no environment accepts. Start-up
//! and `sesame check-config` both ask here, before connecting anywhere, so each rule lives in
//! one place and a refusal names every fault at once.

use std::collections::HashMap;
use std::net::IpAddr;

use secrecy::ExposeSecret;

use crate::config::{Config, ConfigError, DatabaseUrl, Environment, Provider, SecretUrl};
use crate::tokens::load_keys;

/// Shortest `SESAME_OTP_SECRET` in bytes: the HMAC key of every stored code. Production asks
/// for 32 (256 bits, the size of the HMAC's hash); development accepts 16.
const MIN_OTP_SECRET: usize = 16;
const MIN_PRODUCTION_OTP_SECRET: usize = 32;

/// Every problem of `config` at `now` (empty when all is well), each naming its variable.
pub fn problems(config: &Config, now: i64) -> Vec<ConfigError> {
    let mut problems = Vec::new();
    let mut problem = |name, reason: String| problems.push(ConfigError::new(name, reason));
    let min_secret = match config.env {
        Environment::Production => MIN_PRODUCTION_OTP_SECRET,
        Environment::Development => MIN_OTP_SECRET,
    };
    if config
        .otp_secret
        .as_ref()
        .is_some_and(|secret| secret.expose_secret().len() < min_secret)
    {
        problem(
            "SESAME_OTP_SECRET",
            format!("must be at least {min_secret} bytes"),
        );
    }
    if let Some(url) = &config.redis_url {
        redis_nodes(url, &mut problem);
    }
    if config.env == Environment::Production {
        production(config, now, &mut problem);
    }
    problems
}

/// Each entry of `SESAME_REDIS_URL`: a list names the nodes of a Redis Cluster, each
/// `redis://` or `rediss://` with a host and a valid port; one URL may also be a Unix socket.
fn redis_nodes(url: &SecretUrl, problem: &mut impl FnMut(&'static str, String)) {
    let nodes = url.list();
    for (index, node) in nodes.iter().enumerate() {
        let which = match nodes.len() {
            1 => String::new(),
            count => format!("node {} of {count} ", index + 1),
        };
        if node.is_empty() {
            problem("SESAME_REDIS_URL", format!("{which}is empty"));
            continue;
        }
        if let Err(reason) = redis_node(node, nodes.len() == 1) {
            let shown = SecretUrl::new(node);
            problem("SESAME_REDIS_URL", format!("{which}({shown}): {reason}"));
        }
    }
}

fn redis_node(node: &str, alone: bool) -> Result<(), String> {
    let url = reqwest::Url::parse(node).map_err(|err| err.to_string())?;
    match url.scheme() {
        "redis" | "rediss" => {}
        "unix" | "redis+unix" if alone => return Ok(()),
        _ => return Err("the scheme is not redis:// or rediss://".into()),
    }
    // The parser refuses a port out of range or not a number, and keeps an empty host.
    if url.host_str().is_none_or(str::is_empty) {
        return Err("empty host".into());
    }
    if url.port() == Some(0) {
        return Err("port 0".into());
    }
    Ok(())
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
    for provider in &config.sms.providers {
        providers(provider, problem);
    }
    if config.ops.cors_origins.iter().any(|origin| origin == "*") {
        problem(
            "SESAME_CORS_ORIGINS",
            "production lists its apps' origins; * lets any web page call Sesame".into(),
        );
    }
    windows(config, problem);
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

/// A provider production cannot trust: one that only prints codes, one that sends them in the
/// clear or unsigned, or one whose endpoint is replaced (the override exists for tests).
fn providers(provider: &Provider, problem: &mut impl FnMut(&'static str, String)) {
    match provider {
        Provider::Console => problem(
            "SESAME_SMS_PROVIDER",
            "the console provider only prints codes; name a real provider".into(),
        ),
        Provider::Webhook { url, secret } => {
            if !is_https_or_loopback(url) {
                problem(
                    "SESAME_SMS_WEBHOOK_URL",
                    "production sends codes over https:// (http:// only to a loopback address)"
                        .into(),
                );
            }
            if secret.is_none() {
                problem(
                    "SESAME_SMS_WEBHOOK_SECRET",
                    "production signs every webhook request; set a secret the receiver checks"
                        .into(),
                );
            }
        }
        Provider::Twilio { account, .. } | Provider::TwilioVerify { account, .. } => {
            if account.base_url.is_some() {
                problem(
                    "SESAME_TWILIO_BASE_URL",
                    "production talks to Twilio itself; the override is for tests".into(),
                );
            }
        }
        Provider::Plivo { base_url, .. } => {
            if base_url.is_some() {
                problem(
                    "SESAME_PLIVO_BASE_URL",
                    "production talks to Plivo itself; the override is for tests".into(),
                );
            }
        }
    }
}

/// `https://…`, or `http://` to this host (a local relay).
fn is_https_or_loopback(url: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(url) else {
        return false;
    };
    let Some(host) = url.host_str() else {
        return false;
    };
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" => true,
        "http" => loopback,
        _ => false,
    }
}

/// The windows that brake guessing and SMS pumping, and the lag that keeps revocations from
/// being skipped, may be lengthened in production but not shortened below their defaults
/// (only tests shorten them).
fn windows(config: &Config, problem: &mut impl FnMut(&'static str, String)) {
    // The parser owns the defaults; they always parse (`config::tests`).
    let Ok(defaults) = Config::from_vars(&HashMap::new()) else {
        return;
    };
    let windows = [
        (
            "SESAME_HOURLY_WINDOW",
            config.limits.hour,
            defaults.limits.hour,
        ),
        (
            "SESAME_DAILY_WINDOW",
            config.limits.day,
            defaults.limits.day,
        ),
        (
            "SESAME_OTP_RESEND_AFTER",
            config.otp.resend_after,
            defaults.otp.resend_after,
        ),
        (
            "SESAME_VERIFY_BACKOFF_BASE",
            config.limits.backoff_base,
            defaults.limits.backoff_base,
        ),
        (
            "SESAME_VERIFY_BACKOFF_MAX",
            config.limits.backoff_max,
            defaults.limits.backoff_max,
        ),
        (
            "SESAME_VERIFY_LOCKOUT_WINDOW",
            config.limits.lockout_window,
            defaults.limits.lockout_window,
        ),
        (
            "SESAME_REVOCATION_FEED_LAG",
            config.revocation_feed_lag,
            defaults.revocation_feed_lag,
        ),
    ];
    for (name, value, default) in windows {
        if value < default {
            problem(
                name,
                format!("{value} is shorter than the default {default}, which production keeps"),
            );
        }
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

    /// What `problems` says of `SESAME_REDIS_URL=url`.
    fn redis_url_problems(url: &str) -> Vec<String> {
        let vars = HashMap::from([("SESAME_REDIS_URL".to_owned(), url.to_owned())]);
        let config = Config::from_vars(&vars).unwrap();
        problems(&config, 1_700_000_000)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn every_node_of_a_redis_url_list_is_checked() {
        for good in [
            "redis://redis:6379",
            "rediss://:pw@redis",
            "redis+unix:///run/redis.sock",
            "redis://10.0.0.1:6379,redis://10.0.0.2:6379, rediss://[::1]:7000",
        ] {
            assert_eq!(redis_url_problems(good), Vec::<String>::new(), "{good}");
        }
        for (bad, says) in [
            (
                "redis://10.0.0.1:6379,http://:pw@10.0.0.2:6379",
                "node 2 of 2 (http://:***@10.0.0.2:6379): the scheme is not redis:// or rediss://",
            ),
            (
                "redis://:pw@10.0.0.1:6379,redis://10.0.0.2:99999",
                "node 2 of 2 (redis://10.0.0.2:99999): invalid port number",
            ),
            (
                "redis://10.0.0.1:0,redis://10.0.0.2",
                "node 1 of 2 (redis://10.0.0.1:0): port 0",
            ),
            (
                "redis://10.0.0.1:6379,redis://:pw@:6379",
                "node 2 of 2 (redis://:***@:6379): empty host",
            ),
            ("redis://10.0.0.1:6379,", "node 2 of 2 is empty"),
            (
                "redis://10.0.0.1,unix:///run/redis.sock",
                "node 2 of 2 (unix:///run/redis.sock): the scheme is not redis:// or rediss://",
            ),
            (
                "redis//redis:6379",
                "(redis//redis:6379): relative URL without a base",
            ),
        ] {
            let problems = redis_url_problems(bad);
            assert_eq!(problems.len(), 1, "{bad}: {problems:?}");
            assert!(
                problems[0].starts_with("SESAME_REDIS_URL") && problems[0].ends_with(says),
                "{bad}: {problems:?}"
            );
            assert!(!problems[0].contains("pw@"), "{problems:?}");
        }
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

    /// A production configuration with no fault but those `pairs` bring.
    fn production_problems(pairs: &[(&str, &str)]) -> Vec<&'static str> {
        let keys_dir = std::env::temp_dir().join(format!("sesame-keys-{}", uuid::Uuid::new_v4()));
        crate::tokens::generate_key(
            &keys_dir,
            crate::domain::SigningAlgorithm::EdDsa,
            1_600_000_000,
        )
        .unwrap();
        let keys_dir = keys_dir.display().to_string();
        let mut all = vec![
            ("SESAME_ENV", "production"),
            ("SESAME_KEYS_DIR", keys_dir.as_str()),
            ("SESAME_DATABASE_URL", "postgres://sesame@db/sesame"),
            ("SESAME_REDIS_URL", "redis://redis:6379"),
            ("SESAME_ISSUER", "https://login.example.com"),
            ("SESAME_OTP_SECRET", "0123456789abcdef0123456789abcdef"),
            ("SESAME_SMS_PROVIDER", "webhook"),
            ("SESAME_SMS_WEBHOOK_URL", "https://sms.example.com/send"),
            ("SESAME_SMS_WEBHOOK_SECRET", "webhook-secret"),
        ];
        all.extend_from_slice(pairs);
        problems_of(&all)
    }

    #[test]
    fn production_sends_codes_only_over_https_or_to_this_host() {
        assert!(production_problems(&[]).is_empty());
        for url in [
            "http://127.0.0.1:9000/send",
            "http://localhost/send",
            "http://[::1]:9000/",
        ] {
            let problems = production_problems(&[("SESAME_SMS_WEBHOOK_URL", url)]);
            assert!(problems.is_empty(), "{url}: {problems:?}");
        }
        for url in [
            "http://sms.example.com/send",
            "http://10.0.0.5/send",
            "ftp://sms.example.com/",
            "not a url",
        ] {
            let problems = production_problems(&[("SESAME_SMS_WEBHOOK_URL", url)]);
            assert_eq!(problems, ["SESAME_SMS_WEBHOOK_URL"], "{url}");
        }
    }

    #[test]
    fn production_needs_a_32_byte_otp_secret() {
        let secret = "0123456789abcdef0123456789abcde";
        assert_eq!(
            production_problems(&[("SESAME_OTP_SECRET", secret)]),
            ["SESAME_OTP_SECRET"]
        );
        assert!(problems_of(&[("SESAME_OTP_SECRET", secret)]).is_empty());
    }

    #[test]
    fn production_accepts_windows_at_or_above_their_defaults() {
        let longer = [
            ("SESAME_OTP_RESEND_AFTER", "60"),
            ("SESAME_VERIFY_BACKOFF_BASE", "60"),
            ("SESAME_VERIFY_BACKOFF_MAX", "3600"),
            ("SESAME_VERIFY_LOCKOUT_WINDOW", "172800"),
            ("SESAME_REVOCATION_FEED_LAG", "10"),
            ("SESAME_HOURLY_WINDOW", "3600"),
            ("SESAME_DAILY_WINDOW", "86400"),
        ];
        assert!(production_problems(&longer).is_empty());
        assert!(problems_of(&[("SESAME_HOURLY_WINDOW", "60")]).is_empty());
    }
}
