//! Deletes for the sweeper (src/sweeper.rs decides what goes when). Each statement deletes at
//! most `batch` rows, so it stays short (SQLite has one connection).

use super::audit::{SESSION_EVENTS, SESSION_EVENTS_FROM};
use super::holders::placeholders;
use super::{Database, Result};

impl Database {
    /// Refresh-token rows whose token, and the access token issued with it, expired before
    /// `expired_before`: until then an admin may still revoke that access token through them.
    pub async fn sweep_expired_tokens(&self, expired_before: i64, batch: i64) -> Result<u64> {
        self.delete_batch(
            "delete from tokens where jti in
                (select jti from tokens
                 where expires_at < $1 and access_expires_at < $1 limit $2)",
            expired_before,
            batch,
        )
        .await
    }

    /// Deny rows of revoked access tokens that expired before `expired_before`.
    pub async fn sweep_revoked_access_tokens(
        &self,
        expired_before: i64,
        batch: i64,
    ) -> Result<u64> {
        self.delete_batch(
            "delete from revoked_access_tokens where jti in
                (select jti from revoked_access_tokens where expires_at < $1 limit $2)",
            expired_before,
            batch,
        )
        .await
    }

    /// Stored successors whose retry window has passed at `now_ms`.
    pub async fn sweep_refresh_successors(&self, now_ms: i64) -> Result<u64> {
        let deleted = sqlx::query("delete from refresh_successors where available_until_ms <= $1")
            .bind(now_ms)
            .execute(&self.pool)
            .await?;
        Ok(deleted.rows_affected())
    }

    /// Sessions revoked before `revoked_before`, with their token and deny rows (`on delete
    /// cascade`); the events kept on them move to `audit_events` (see `sweep_sessions`).
    pub async fn sweep_revoked_sessions(
        &self,
        revoked_before: i64,
        events_kept_since: Option<i64>,
        batch: i64,
    ) -> Result<u64> {
        self.sweep_sessions("revoked_at < $1", revoked_before, events_kept_since, batch)
            .await
    }

    /// Sessions created before `created_before`, with their tokens; the events kept on them
    /// move to `audit_events`.
    pub async fn sweep_sessions_created_before(
        &self,
        created_before: i64,
        events_kept_since: Option<i64>,
        batch: i64,
    ) -> Result<u64> {
        self.sweep_sessions("created_at < $1", created_before, events_kept_since, batch)
            .await
    }

    /// Deletes up to `batch` sessions matching `condition` (`$1` is `before`). In the same
    /// transaction, the events each carries (its login's, its end's: `SESSION_EVENTS`) are
    /// first written to `audit_events` with the ids they are listed under, unless they happened
    /// before `events_kept_since` (the audit sweep would delete them; `None`: events are kept
    /// for good).
    /// Of two nodes sweeping the same sessions, the second finds the event stored (`on
    /// conflict`, which waits for the first's commit) or the session gone.
    async fn sweep_sessions(
        &self,
        condition: &str,
        before: i64,
        events_kept_since: Option<i64>,
        batch: i64,
    ) -> Result<u64> {
        let mut tx = self.pool.begin().await?;
        let ids: Vec<String> = sqlx::query_scalar(&format!(
            "select id from sessions where {condition} limit $2"
        ))
        .bind(before)
        .bind(batch)
        .fetch_all(&mut *tx)
        .await?;
        if ids.is_empty() {
            return Ok(0);
        }
        let listed = placeholders(2, ids.len());
        for kind in SESSION_EVENTS.iter() {
            let sql = format!(
                "insert into audit_events (id, at, actor, action, subject, ip, detail)
                 select {} from {SESSION_EVENTS_FROM}
                 where {} is not null and {} >= $1 and s.id in ({listed})
                 on conflict (id) do nothing",
                kind.columns(),
                kind.id,
                kind.at
            );
            let copy = sqlx::query(&sql).bind(events_kept_since.unwrap_or(i64::MIN));
            ids.iter()
                .fold(copy, |query, id| query.bind(id))
                .execute(&mut *tx)
                .await?;
        }
        let sql = format!(
            "delete from sessions where id in ({})",
            placeholders(1, ids.len())
        );
        let deleted = ids
            .iter()
            .fold(sqlx::query(&sql), |query, id| query.bind(id))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(deleted)
    }

    /// Audit events that happened before `before`.
    pub async fn sweep_audit_events(&self, before: i64, batch: i64) -> Result<u64> {
        self.delete_batch(
            "delete from audit_events where id in
                (select id from audit_events where at < $1 limit $2)",
            before,
            batch,
        )
        .await
    }

    async fn delete_batch(&self, statement: &'static str, before: i64, batch: i64) -> Result<u64> {
        let deleted = sqlx::query(statement)
            .bind(before)
            .bind(batch)
            .execute(&self.pool)
            .await?;
        Ok(deleted.rows_affected())
    }
}
