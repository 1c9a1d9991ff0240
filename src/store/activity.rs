//! What the admin console's overview counts: logins, refusals and codes sent per hour, read
//! from the rows that record them. Codes sent have no row of their own: nodes add a
//! per-minute tally to `activity` (`crate::sms::SendTally`).

use sqlx::Row;

use super::{Database, Result};
use crate::domain::AuditAction;

/// Rows per upsert: far below both dialects' limits on bound parameters.
const CHUNK: usize = 200;

/// Codes one provider sent with one outcome in the minute starting at `minute`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendCount {
    pub minute: i64,
    pub provider: String,
    pub outcome: String,
    pub count: i64,
}

impl Database {
    /// Adds `counts` to the stored tallies (rows of the same minute, provider and outcome are
    /// summed, whichever node wrote them), and deletes minutes older than `keep_since`.
    pub async fn add_send_counts(&self, counts: &[SendCount], keep_since: i64) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        for chunk in counts.chunks(CHUNK) {
            let values: Vec<String> = (0..chunk.len())
                .map(|row| {
                    let n = row * 4;
                    format!("(${}, ${}, ${}, ${})", n + 1, n + 2, n + 3, n + 4)
                })
                .collect();
            let sql = format!(
                "insert into activity (minute, provider, outcome, count) values {}
                 on conflict (minute, provider, outcome)
                 do update set count = activity.count + excluded.count",
                values.join(", ")
            );
            let query = chunk.iter().fold(sqlx::query(&sql), |query, count| {
                query
                    .bind(count.minute)
                    .bind(&count.provider)
                    .bind(&count.outcome)
                    .bind(count.count)
            });
            query.execute(&mut *tx).await?;
        }
        sqlx::query("delete from activity where minute < $1")
            .bind(keep_since)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sessions opened (logins) per hour since `since`: `(hour, count)` with `hour` the Unix
    /// seconds at the hour's start divided by 3600.
    pub async fn logins_per_hour(&self, since: i64) -> Result<Vec<(i64, i64)>> {
        self.per_hour(
            "select created_at / 3600 as hour, count(*) as n from sessions
             where created_at >= $1 group by created_at / 3600",
            since,
            None,
        )
        .await
    }

    /// Refused login requests (`login.refused`) per hour since `since`.
    pub async fn refusals_per_hour(&self, since: i64) -> Result<Vec<(i64, i64)>> {
        self.per_hour(
            "select at / 3600 as hour, cast(sum(occurrences) as bigint) as n from audit_events
             where at >= $1 and action = $2 group by at / 3600",
            since,
            Some(AuditAction::LoginRefused.as_str()),
        )
        .await
    }

    /// Codes a provider accepted per hour since `since` (stored tallies only).
    pub async fn codes_sent_per_hour(&self, since: i64) -> Result<Vec<(i64, i64)>> {
        self.per_hour(
            "select minute / 3600 as hour, cast(sum(count) as bigint) as n from activity
             where minute >= $1 and outcome = $2 group by minute / 3600",
            since,
            Some("ok"),
        )
        .await
    }

    /// Stored send outcomes since `since`, per provider and outcome.
    pub async fn send_outcomes(&self, since: i64) -> Result<Vec<(String, String, i64)>> {
        let rows = sqlx::query(
            "select provider, outcome, cast(sum(count) as bigint) as n from activity
             where minute >= $1 group by provider, outcome order by provider, outcome",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    row.try_get("provider")?,
                    row.try_get("outcome")?,
                    row.try_get("n")?,
                ))
            })
            .collect()
    }

    async fn per_hour(&self, sql: &str, since: i64, text: Option<&str>) -> Result<Vec<(i64, i64)>> {
        let mut query = sqlx::query(sql).bind(since);
        if let Some(text) = text {
            query = query.bind(text);
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| Ok((row.try_get("hour")?, row.try_get("n")?)))
            .collect()
    }
}
