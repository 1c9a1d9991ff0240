//! The admin console's overview: logins, refusals and codes sent per hour over the last 24
//! hours (from the database), the signing keys' rotation, the API keys, and readiness.

use std::sync::Arc;
use std::time::Duration;

use super::ApiKeys;
use crate::config::Config;
use crate::error::Result;
use crate::store::{ApiKey, Database, Health, Readiness};
use crate::tokens::{KeyStatus, TokenService};

const HOUR: i64 = 3600;
/// Hourly buckets charted: the current hour and the 23 before it.
pub const HOURS: usize = 24;
/// How long readiness waits for each store, as `/readyz` does.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Clone)]
pub struct Overview {
    db: Database,
    config: Arc<Config>,
    health: Health,
    tokens: Arc<TokenService>,
    api_keys: ApiKeys,
}

/// One count per hour, oldest first; `hours[i]` is when bucket `i` starts (Unix seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    pub hours: Vec<i64>,
    pub counts: Vec<i64>,
}

impl Series {
    pub fn total(&self) -> i64 {
        self.counts.iter().sum()
    }
}

#[derive(Debug)]
pub struct Summary {
    /// Sessions opened.
    pub logins: Series,
    /// Login requests refused by an abuse limit (`login.refused`).
    pub refusals: Series,
    /// Codes a provider accepted, as stored by the nodes' per-minute tallies (up to a
    /// minute behind).
    pub codes_sent: Series,
    /// The last 24 hours' send outcomes: (provider, outcome, count).
    pub send_outcomes: Vec<(String, String, i64)>,
    /// `SESAME_SMS_PROVIDER`, in failover order.
    pub providers: Vec<&'static str>,
    pub readiness: Readiness,
    /// Whether the ephemeral store is Redis (otherwise the in-process store).
    pub redis: bool,
    pub signing_keys: Vec<KeyStatus>,
    pub api_keys: Vec<ApiKey>,
}

impl Overview {
    pub fn new(
        db: Database,
        config: Arc<Config>,
        health: Health,
        tokens: Arc<TokenService>,
        api_keys: ApiKeys,
    ) -> Self {
        Self {
            db,
            config,
            health,
            tokens,
            api_keys,
        }
    }

    /// Everything the overview shows, at `now`.
    pub async fn summary(&self, now: i64) -> Result<Summary> {
        let first = now.div_euclid(HOUR) - (HOURS as i64 - 1);
        let since = first * HOUR;
        let series = |rows: Vec<(i64, i64)>| {
            let mut counts = vec![0; HOURS];
            for (hour, count) in rows {
                if let Some(slot) = usize::try_from(hour - first)
                    .ok()
                    .and_then(|index| counts.get_mut(index))
                {
                    *slot += count;
                }
            }
            Series {
                hours: (0..HOURS as i64).map(|i| (first + i) * HOUR).collect(),
                counts,
            }
        };
        Ok(Summary {
            logins: series(self.db.logins_per_hour(since).await?),
            refusals: series(self.db.refusals_per_hour(since).await?),
            codes_sent: series(self.db.codes_sent_per_hour(since).await?),
            send_outcomes: self.db.send_outcomes(since).await?,
            providers: self.config.sms.providers.iter().map(|p| p.name()).collect(),
            readiness: self.health.check(PING_TIMEOUT).await,
            redis: self.config.redis_url.is_some(),
            signing_keys: self.tokens.keys().states(&self.config, now),
            api_keys: self.api_keys.list().await?,
        })
    }
}
