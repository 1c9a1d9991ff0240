use sqlx::Row;

use super::sessions::insert_pair;
use super::{Backend, Database, NewPair, Query, Result};

/// One refresh rotation: the refresh token spent, the successor pair's row, and the sealed
/// successor kept for retries inside the reuse grace window.
#[derive(Debug, Clone)]
pub struct Rotation<'a> {
    pub spent_jti: &'a str,
    pub session_id: &'a str,
    /// The session's principal as the token carries it: the employee (or none) the session was
    /// opened for, who must still be active and hold `phone_number`.
    pub phone_number: &'a str,
    pub user_id: Option<&'a str>,
    /// Sessions that began at or before this time have outlived their absolute lifetime.
    pub started_before: i64,
    pub successor: NewPair<'a>,
    pub sealed_pair: &'a str,
    pub now: i64,
    /// Until when (Unix milliseconds, exclusive) a retry with the spent token gets the sealed
    /// pair back.
    pub available_until_ms: i64,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

/// A successor pair kept for retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSuccessor {
    pub sealed_pair: String,
    pub issued_at: i64,
}

/// The conditions under which a refresh token may be spent, shared by both dialects (binds: `$1`
/// jti, `$3` session, `$4` principal's employee, `$5` number, `$6` lifetime cut-off): unspent,
/// unrevoked, its session unrevoked and within its absolute lifetime, and the session's
/// principal unchanged (an employee still active and holding the number).
const SPENDABLE: &str = "jti = $1 and session_id = $3
      and spent_at is null and revoked_at is null
      and exists (select 1 from sessions s
                  where s.id = tokens.session_id and s.revoked_at is null and s.created_at > $6
                    and s.user_id is not distinct from $4
                    and (s.user_id is null
                         or exists (select 1 from users u
                                    where u.id = s.user_id and u.disabled_at is null
                                      and u.phone_number = $5)))";

impl Database {
    /// Spends the refresh token and stores its successor, atomically, when the token is
    /// spendable (see [`SPENDABLE`]); otherwise writes nothing and returns `false`. On Postgres
    /// a concurrent rotation of the same token waits on this row lock and then sees it spent.
    pub async fn rotate_refresh(&self, rotation: &Rotation<'_>) -> Result<bool> {
        match self.backend() {
            Backend::Postgres => self.rotate_in_one_statement(rotation).await,
            Backend::Sqlite => self.rotate_in_a_transaction(rotation).await,
        }
    }

    /// Postgres: one statement (one round trip, one commit). Every write hangs off `spent`, so
    /// when the conditional update matches nothing, nothing is written.
    async fn rotate_in_one_statement(&self, rotation: &Rotation<'_>) -> Result<bool> {
        let successor = &rotation.successor;
        let sql = format!(
            "with spent as (
                update tokens set spent_at = $2 where {SPENDABLE}
                returning session_id
             ), issued as (
                insert into tokens (jti, session_id, issued_at, expires_at, access_expires_at)
                select $7, session_id, $2, $8, $9 from spent
             ), kept as (
                insert into refresh_successors
                    (spent_jti, sealed_pair, issued_at, available_until_ms)
                select $1, $10, $2, $11 from spent
             ), touched as (
                update sessions
                   set last_used_at = $2, expires_at = $8,
                       ip = coalesce($12, ip), user_agent = coalesce($13, user_agent)
                 where id in (select session_id from spent)
             )
             select count(*) as spent from spent"
        );
        let spent: i64 = bind_spendable(sqlx::query(&sql), rotation)
            .bind(successor.refresh_jti)
            .bind(successor.expires_at)
            .bind(successor.access_expires_at)
            .bind(rotation.sealed_pair)
            .bind(rotation.available_until_ms)
            .bind(rotation.ip)
            .bind(rotation.user_agent)
            .fetch_one(&self.pool)
            .await?
            .try_get("spent")?;
        Ok(spent == 1)
    }

    /// SQLite (no data-modifying CTEs): the same writes in one transaction.
    async fn rotate_in_a_transaction(&self, rotation: &Rotation<'_>) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let sql = format!("update tokens set spent_at = $2 where {SPENDABLE}");
        let spent = bind_spendable(sqlx::query(&sql), rotation)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if spent != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        insert_pair(&mut tx, rotation.session_id, &rotation.successor).await?;
        sqlx::query(
            "insert into refresh_successors (spent_jti, sealed_pair, issued_at, available_until_ms)
             values ($1, $2, $3, $4)",
        )
        .bind(rotation.spent_jti)
        .bind(rotation.sealed_pair)
        .bind(rotation.now)
        .bind(rotation.available_until_ms)
        .execute(&mut *tx)
        .await?;
        // The session lives as long as its newest refresh token.
        sqlx::query(
            "update sessions
                set last_used_at = $2, expires_at = $3,
                    ip = coalesce($4, ip), user_agent = coalesce($5, user_agent)
             where id = $1",
        )
        .bind(rotation.session_id)
        .bind(rotation.now)
        .bind(rotation.successor.expires_at)
        .bind(rotation.ip)
        .bind(rotation.user_agent)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The successor of spent refresh token `spent_jti`, while still available at `now_ms`.
    pub async fn refresh_successor(
        &self,
        spent_jti: &str,
        now_ms: i64,
    ) -> Result<Option<StoredSuccessor>> {
        let row = sqlx::query(
            "select sealed_pair, issued_at from refresh_successors
             where spent_jti = $1 and available_until_ms > $2",
        )
        .bind(spent_jti)
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(StoredSuccessor {
                sealed_pair: row.try_get("sealed_pair")?,
                issued_at: row.try_get("issued_at")?,
            })
        })
        .transpose()
    }
}

/// Binds `$1`–`$6` of [`SPENDABLE`] (and `$2`, the time of the spend).
fn bind_spendable<'q>(query: Query<'q>, rotation: &Rotation<'q>) -> Query<'q> {
    query
        .bind(rotation.spent_jti)
        .bind(rotation.now)
        .bind(rotation.session_id)
        .bind(rotation.user_id)
        .bind(rotation.phone_number)
        .bind(rotation.started_before)
}
