//! Abuse limits (docs/configuration.md, "Abuse limits"; docs/contract-notes.md, "Abuse limits").

use std::net::IpAddr;

use ipnet::IpNet;

use super::{ConfigError, Vars};

#[derive(Debug, Clone)]
pub struct LimitsConfig {
    pub sms_hourly_cap: u32,
    pub sms_daily_cap: u32,
    pub ip_hourly_cap: u32,
    pub ip_verify_hourly_cap: u32,
    /// Codes sent per country calling code per hour, across all numbers: the SMS-pumping brake.
    pub country_hourly_budget: u32,
    /// Codes sent per hour across every number and country: the brake when pumping spreads
    /// over many countries.
    pub global_hourly_budget: u32,
    /// ISO 3166 alpha-2 codes; empty means every country.
    pub allowed_countries: Vec<String>,
    /// Also send codes to non-geographic calling codes and to ranges the numbering metadata
    /// does not assign (both favourites of SMS pumping), refused by default.
    pub allow_unknown_line_types: bool,
    /// Networks whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNet>,
    /// Length in seconds of the "hourly" and "daily" windows (shortened only by tests).
    pub hour: i64,
    pub day: i64,
    /// Consecutive failed checks of one number's codes before each further failure locks
    /// verification for `backoff_base` seconds, doubling up to `backoff_max`.
    pub backoff_after: u32,
    pub backoff_base: i64,
    pub backoff_max: i64,
    /// Consecutive failures that lock the number for `lockout_window` seconds (or until an
    /// admin unlocks it); failures are also forgotten `lockout_window` seconds after the last.
    pub lockout_after: u32,
    pub lockout_window: i64,
}

impl LimitsConfig {
    pub(super) fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        const CAP: std::ops::RangeInclusive<u32> = 1..=10_000_000;
        let limits = Self {
            sms_hourly_cap: vars.parse_in("SESAME_SMS_HOURLY_CAP", 5, CAP)?,
            sms_daily_cap: vars.parse_in("SESAME_SMS_DAILY_CAP", 10, CAP)?,
            ip_hourly_cap: vars.parse_in("SESAME_IP_HOURLY_CAP", 30, CAP)?,
            ip_verify_hourly_cap: vars.parse_in("SESAME_IP_VERIFY_HOURLY_CAP", 100, CAP)?,
            country_hourly_budget: vars.parse_in("SESAME_SMS_COUNTRY_HOURLY_BUDGET", 1_000, CAP)?,
            global_hourly_budget: vars.parse_in("SESAME_SMS_GLOBAL_HOURLY_BUDGET", 2_000, CAP)?,
            allowed_countries: vars
                .list("SESAME_ALLOWED_COUNTRIES")
                .into_iter()
                .map(|code| code.to_ascii_uppercase())
                .collect(),
            allow_unknown_line_types: vars.parse("SESAME_SMS_ALLOW_UNKNOWN_LINE_TYPES", "false")?,
            trusted_proxies: vars
                .list("SESAME_TRUSTED_PROXIES")
                .iter()
                .map(|cidr| network(cidr))
                .collect::<Result<_, _>>()?,
            hour: vars.parse_in("SESAME_HOURLY_WINDOW", 3_600, 1..=3_600)?,
            day: vars.parse_in("SESAME_DAILY_WINDOW", 86_400, 1..=86_400)?,
            backoff_after: vars.parse_in("SESAME_VERIFY_BACKOFF_AFTER", 5, 1..=1_000)?,
            backoff_base: vars.parse_in("SESAME_VERIFY_BACKOFF_BASE", 30, 1..=86_400)?,
            backoff_max: vars.parse_in("SESAME_VERIFY_BACKOFF_MAX", 900, 1..=86_400)?,
            lockout_after: vars.parse_in("SESAME_VERIFY_LOCKOUT_AFTER", 100, 1..=10_000)?,
            lockout_window: vars.parse_in("SESAME_VERIFY_LOCKOUT_WINDOW", 86_400, 1..=2_592_000)?,
        };
        if limits.backoff_max > limits.lockout_window {
            return Err(ConfigError::new(
                "SESAME_VERIFY_BACKOFF_MAX",
                "must not exceed SESAME_VERIFY_LOCKOUT_WINDOW",
            ));
        }
        Ok(limits)
    }
}

/// A CIDR (`10.0.0.0/8`) or a single address (`10.0.0.1`, taken as `/32` or `/128`).
fn network(text: &str) -> Result<IpNet, ConfigError> {
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| {
            ConfigError::new(
                "SESAME_TRUSTED_PROXIES",
                format!("{text:?} is not a CIDR or an IP address"),
            )
        })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use crate::config::Config;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, crate::config::ConfigError> {
        let vars: HashMap<String, String> = pairs
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        Config::from_vars(&vars)
    }

    #[test]
    fn defaults_follow_the_contract_and_nist() {
        let limits = config(&[]).unwrap().limits;
        assert_eq!((limits.sms_hourly_cap, limits.sms_daily_cap), (5, 10));
        assert_eq!(
            (limits.ip_hourly_cap, limits.ip_verify_hourly_cap),
            (30, 100)
        );
        assert_eq!((limits.hour, limits.day), (3_600, 86_400));
        assert_eq!(limits.lockout_after, 100);
        assert!(limits.trusted_proxies.is_empty());
    }

    #[test]
    fn proxies_are_cidrs_or_addresses() {
        let limits = config(&[("SESAME_TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.1, ::1")])
            .unwrap()
            .limits;
        let proxies: Vec<String> = limits
            .trusted_proxies
            .iter()
            .map(|n| n.to_string())
            .collect();
        assert_eq!(proxies, ["10.0.0.0/8", "192.0.2.1/32", "::1/128"]);
        let err = config(&[("SESAME_TRUSTED_PROXIES", "10.0.0.0/8,proxy.local")]).unwrap_err();
        assert_eq!(err.name, "SESAME_TRUSTED_PROXIES");
    }

    #[test]
    fn inconsistent_limits_name_their_variable() {
        let err = config(&[("SESAME_SMS_HOURLY_CAP", "0")]).unwrap_err();
        assert_eq!(err.name, "SESAME_SMS_HOURLY_CAP");
        let err = config(&[("SESAME_VERIFY_LOCKOUT_WINDOW", "60")]).unwrap_err();
        assert_eq!(err.name, "SESAME_VERIFY_BACKOFF_MAX");
    }
}
