//! Deletes for the sweeper (src/sweeper.rs decides what goes when). Each statement deletes at
//! most `batch` rows, so it stays short (SQLite has one connection).

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
    /// cascade`).
    pub async fn sweep_revoked_sessions(&self, revoked_before: i64, batch: i64) -> Result<u64> {
        self.delete_batch(
            "delete from sessions where id in
                (select id from sessions where revoked_at < $1 limit $2)",
            revoked_before,
            batch,
        )
        .await
    }

    /// Sessions created before `created_before`, with their tokens.
    pub async fn sweep_sessions_created_before(
        &self,
        created_before: i64,
        batch: i64,
    ) -> Result<u64> {
        self.delete_batch(
            "delete from sessions where id in
                (select id from sessions where created_at < $1 limit $2)",
            created_before,
            batch,
        )
        .await
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
