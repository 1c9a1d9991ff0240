//! Admin console sessions: created at sign-in, found by the SHA-256 of the cookie's id, ended
//! by sign-out, idleness or the revocation of the API key they were opened with, and holding
//! that key's current role.

use sqlx::Row;

use super::{ApiKeyRole, Database, Result};

/// A console session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSession {
    /// SHA-256 (hex) of the random id the cookie holds.
    pub id_hash: String,
    /// The stored API key signed in with; `None` for `SESAME_ADMIN_API_KEY`.
    pub key_id: Option<String>,
    pub key_name: String,
    /// For a session of `SESAME_ADMIN_API_KEY`, what binds it to that key (`bootstrap_binding`
    /// in `src/admin/console_sessions.rs`); `None` for a stored key.
    pub bootstrap_binding: Option<String>,
    pub role: ApiKeyRole,
    pub csrf_token: String,
    pub created_at: i64,
    pub last_seen_at: i64,
}

impl Database {
    /// Stores `session`, first deleting sessions idle since before `idle_since` (sign-ins are
    /// rare, so they sweep the table).
    pub async fn create_console_session(
        &self,
        session: &ConsoleSession,
        idle_since: i64,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("delete from console_sessions where last_seen_at < $1")
            .bind(idle_since)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "insert into console_sessions
                (id_hash, key_id, key_name, bootstrap_binding, role, csrf_token, created_at,
                 last_seen_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&session.id_hash)
        .bind(session.key_id.as_deref())
        .bind(&session.key_name)
        .bind(session.bootstrap_binding.as_deref())
        .bind(session.role.as_str())
        .bind(&session.csrf_token)
        .bind(session.created_at)
        .bind(session.last_seen_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The session `id_hash` when it was seen at or after `idle_since` and its stored key (if
    /// it has one) is not revoked, with that key's role now (a key re-roled since sign-in
    /// brings its new role; a session of `SESAME_ADMIN_API_KEY` keeps the one it was given).
    pub async fn console_session(
        &self,
        id_hash: &str,
        idle_since: i64,
    ) -> Result<Option<ConsoleSession>> {
        let row = sqlx::query(
            "select s.id_hash, s.key_id, s.key_name, s.bootstrap_binding,
                    coalesce(k.role, s.role) as role, s.csrf_token, s.created_at, s.last_seen_at
             from console_sessions s left join api_keys k on k.id = s.key_id
             where s.id_hash = $1 and s.last_seen_at >= $2
               and (s.key_id is null or (k.id is not null and k.revoked_at is null))",
        )
        .bind(id_hash)
        .bind(idle_since)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let role: String = row.try_get("role")?;
        let role = ApiKeyRole::parse(&role)
            .ok_or_else(|| sqlx::Error::Decode(format!("unknown console role {role:?}").into()))?;
        Ok(Some(ConsoleSession {
            id_hash: row.try_get("id_hash")?,
            key_id: row.try_get("key_id")?,
            key_name: row.try_get("key_name")?,
            bootstrap_binding: row.try_get("bootstrap_binding")?,
            role,
            csrf_token: row.try_get("csrf_token")?,
            created_at: row.try_get("created_at")?,
            last_seen_at: row.try_get("last_seen_at")?,
        }))
    }

    /// Marks the session seen at `now` (its idle timeout slides).
    pub async fn touch_console_session(&self, id_hash: &str, now: i64) -> Result<()> {
        sqlx::query("update console_sessions set last_seen_at = $2 where id_hash = $1")
            .bind(id_hash)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn delete_console_session(&self, id_hash: &str) -> Result<()> {
        sqlx::query("delete from console_sessions where id_hash = $1")
            .bind(id_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
